"""deploy/: the systemd units and nginx's site file an administrator installs, checked with
the real tools (`nginx -t`, `systemd-analyze verify`) after filling in this checkout's paths,
and read the way the local cluster reads them (bot/deploy/)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.deploy import nginx
from bot.deploy.cluster import self_signed_certificate
from bot.deploy.units import (
    ENVIRONMENT_FILE,
    INSTALL_ROOT,
    SYSTEMD_DIR,
    Instance,
    UnitError,
    command_for,
    parse_unit,
    target_instances,
)
from bot.settings import PROJECT_ROOT

NGINX = Path("/usr/sbin/nginx")


def test_the_target_lists_two_of_each_process() -> None:
    instances = target_instances()
    roles = [instance.role for instance in instances]
    assert sorted(roles) == ["actions", "actions", "app", "app", "rasa", "rasa"]
    assert len({instance.port for instance in instances}) == len(instances)


def test_an_instance_runs_its_units_command_with_the_units_environment(tmp_path: Path) -> None:
    environment_file = tmp_path / "lotsen.env"
    environment_file.write_text("# comment\nDATABASE_URL=postgresql://db/x\nLOTSEN_PORT=1\n")
    command = command_for(
        Instance("app", 8123), tmp_path / "root", environment_file, {"PATH": "/usr/bin"}
    )
    assert command.argv == [str(tmp_path / "root" / "scripts" / "run-app.sh")]
    assert command.working_directory == tmp_path / "root"
    # The unit's Environment= wins over the file, %i is the instance's port.
    assert command.environment["LOTSEN_PORT"] == "8123"
    assert command.environment["DATABASE_URL"] == "postgresql://db/x"
    assert command.environment["LOTSEN_ENV_FILE"] == ""
    assert command.environment["PATH"] == "/usr/bin"

    rasa = command_for(Instance("rasa", 5111), PROJECT_ROOT, environment_file, {})
    assert rasa.argv == [str(PROJECT_ROOT / "scripts" / "run-rasa.sh")]
    assert rasa.environment["RASA_ENDPOINTS"] == "endpoints-cluster.yml"
    assert rasa.environment["RASA_PORT"] == "5111"


def test_a_unit_file_that_is_not_one_is_refused() -> None:
    with pytest.raises(UnitError):
        parse_unit("ExecStart=/bin/true\n")


def test_the_cluster_endpoints_share_locks_and_trackers() -> None:
    import yaml

    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints-cluster.yml").read_text())
    assert endpoints["lock_store"]["type"] == "bot.rasa_lock_store.AtomicRedisLockStore"
    assert endpoints["tracker_store"] == {"type": "SQL", "url": "${RASA_TRACKER_URL}"}
    single = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
    assert "lock_store" not in single  # make run stays one process on SQLite


def rendered_site(tmp_path: Path) -> str:
    certificate, key = self_signed_certificate(tmp_path / "tls")
    site = nginx.Site(
        server_name="lotsen.example.fi",
        public_listen="127.0.0.1:18443",
        tls_certificate=certificate,
        tls_certificate_key=key,
        rasa_listen="127.0.0.1:15005",
        actions_listen="127.0.0.1:15055",
        nlg_listen="127.0.0.1:18009",
    )
    return nginx.render_site(site, target_instances())


def test_the_site_file_names_every_instance_of_the_target(tmp_path: Path) -> None:
    text = rendered_site(tmp_path)
    assert nginx.PLACEHOLDER.search(text) is None  # no placeholder left
    for instance in target_instances():
        assert f"server 127.0.0.1:{instance.port} " in text


def test_a_placeholder_without_a_value_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "t.conf"
    template.write_text("listen @NOT_A_SETTING@;\n")
    site = nginx.Site("x", "1", Path("c"), Path("k"), "1", "2", "3")
    with pytest.raises(nginx.RenderError):
        nginx.render_site(site, target_instances(), template)


@pytest.mark.skipif(not NGINX.exists(), reason="nginx is not installed (make nginx)")
def test_nginx_accepts_the_site_file(tmp_path: Path) -> None:
    site_file = tmp_path / "lotsen.conf"
    site_file.write_text(rendered_site(tmp_path))
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(nginx.main_config(site_file, tmp_path))
    checked = subprocess.run(
        [str(NGINX), "-t", "-c", str(main)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr

    # A broken file fails the same check, so the check above means something.
    site_file.write_text(site_file.read_text().replace("proxy_pass", "proxy_passs", 1))
    broken = subprocess.run(
        [str(NGINX), "-t", "-c", str(main)], capture_output=True, text=True, check=False
    )
    assert broken.returncode != 0


def systemd_analyze() -> str | None:
    path = shutil.which("systemd-analyze")
    if path is None:
        return None
    probe = subprocess.run([path, "--version"], capture_output=True, check=False)
    return path if probe.returncode == 0 else None


def filled_in_units(directory: Path) -> list[Path]:
    """The unit files with this checkout's paths, one file per instance of the target."""
    environment_file = directory / "lotsen.env"
    environment_file.write_text("LOTSEN_ENV=production\n")
    files: list[Path] = []
    for source in sorted(SYSTEMD_DIR.iterdir()):
        text = source.read_text().replace(ENVIRONMENT_FILE, str(environment_file))
        text = text.replace(INSTALL_ROOT, str(PROJECT_ROOT))
        (directory / source.name).write_text(text)
    for instance in target_instances():
        template = directory / f"lotsen-{instance.role}@.service"
        files.append(directory / instance.name)
        files[-1].write_text(template.read_text())
    files.append(directory / "lotsen.target")
    return files


@pytest.mark.skipif(
    systemd_analyze() is None,
    reason="systemd-analyze is not installed here (Debian: package systemd), so the unit "
    "files cannot be verified on this machine",
)
def test_systemd_accepts_the_unit_files(tmp_path: Path) -> None:
    analyze = systemd_analyze()
    assert analyze is not None
    files = filled_in_units(tmp_path)
    verified = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "SYSTEMD_LOG_LEVEL": "warning"},
    )
    # systemd-analyze reports unknown settings as warnings with exit status 0: none allowed.
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == "", verified.stderr

    # A unit whose command does not exist fails, so the check above means something.
    broken = tmp_path / "lotsen-app@9999.service"
    app_unit = next(path for path in files if path.name.startswith("lotsen-app@"))
    broken.write_text(app_unit.read_text().replace("run-app.sh", "no-such-script.sh"))
    refused = subprocess.run(
        [analyze, "verify", "--man=no", str(broken)], capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
