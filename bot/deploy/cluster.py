"""The production shape on one machine: nginx in front of the app, Rasa and action server
instances that deploy/systemd/lotsen.target lists, PostgreSQL for the app and Rasa's
trackers, Redis for Rasa's conversation locks and the app's shared counters.

Every process is started with the command line and environment of its systemd unit
(bot/deploy/units.py), with the server's paths (/opt/lotsen, /etc/lotsen/lotsen.env) replaced
by the checkout and the cluster's own state directory; nginx runs with deploy/nginx/lotsen.conf
rendered for the same instances. `make cluster` runs it in the foreground (Ctrl-C stops all);
the cluster system test and `make bench` start their own on free ports.

The cluster runs with LOTSEN_ENV=production, so every refusal of production holds: PostgreSQL,
long random secrets (generated once into the state directory, which git ignores) and an
https:// public address, served by nginx with a self-signed certificate for localhost.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db import migrate
from bot.deploy import nginx
from bot.deploy.units import Command, Instance, command_for, target_instances
from bot.settings import PROJECT_ROOT

NGINX: Final = Path("/usr/sbin/nginx")
POSTGRES_HOST: Final = "127.0.0.1"
POSTGRES_PORT: Final = 5432
REDIS_HOST: Final = "127.0.0.1"
REDIS_PORT: Final = 6379
# The secrets every process shares; generated once per state directory.
SECRET_NAMES: Final = (
    "RASA_API_TOKEN",
    "NLG_TOKEN",
    "RASA_CHANNEL_SECRET",
    "ACTION_SERVER_SECRET",
    "LINK_CODE_SECRET",
)
# What the environment of a unit starts from: systemd gives a service almost nothing.
INHERITED_VARIABLES: Final = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
PR_SET_PDEATHSIG: Final = 1


class PrerequisiteError(RuntimeError):
    pass


def tcp_reachable(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """A Redis PING without a client library: `+PONG` or an authentication demand."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            answer = sock.recv(64)
    except OSError:
        return False
    return answer.startswith((b"+PONG", b"-NOAUTH"))


def check_prerequisites() -> None:
    problems: list[str] = []
    if not tcp_reachable(POSTGRES_HOST, POSTGRES_PORT):
        problems.append(
            f"PostgreSQL does not answer on {POSTGRES_HOST}:{POSTGRES_PORT} "
            "(Debian: apt install postgresql, then systemctl start postgresql)"
        )
    if not redis_answers(REDIS_HOST, REDIS_PORT):
        problems.append(
            f"Redis does not answer on {REDIS_HOST}:{REDIS_PORT} "
            "(Debian: apt install redis-server, then systemctl start redis-server)"
        )
    if not NGINX.exists():
        problems.append(f"nginx is not installed at {NGINX} (scripts/install-nginx.sh)")
    if not any((PROJECT_ROOT / "models").glob("*.tar.gz")):
        problems.append("no trained model in models/ (make train)")
    if problems:
        raise PrerequisiteError("the cluster cannot start:\n  " + "\n  ".join(problems))


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the cluster's process ends, however it ends,
    so that no server outlives the cluster that started it (Linux prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def postgres_url(database: str) -> str:
    return f"postgresql+psycopg2://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}"


def create_database(url: str) -> None:
    """Creates the URL's database unless it exists (PostgreSQL, as the `postgres` user)."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def load_or_create_secrets(path: Path) -> dict[str, str]:
    """The cluster's secrets: read from `path`, or generated there (mode 0600) the first time."""
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, _, value = line.partition("=")
            if key in SECRET_NAMES and value:
                values[key] = value
    missing = [name for name in SECRET_NAMES if name not in values]
    if missing:
        for name in missing:
            values[name] = secrets.token_urlsafe(48)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("".join(f"{key}={values[key]}\n" for key in SECRET_NAMES))
    return values


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 (made once), so nginx serves https:// as
    production requires; clients of the local cluster trust this file only."""
    certificate, key = directory / "localhost.crt", directory / "localhost.key"
    if certificate.exists() and key.exists():
        return certificate, key
    directory.mkdir(parents=True, exist_ok=True)
    # A fixed command; only the two paths vary.
    subprocess.run(  # noqa: S603
        [
            "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(certificate),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return certificate, key


@dataclass
class ClusterConfig:
    """Where a cluster keeps its state, which ports and databases it uses."""

    state_dir: Path
    public_port: int = 8000
    rasa_port: int = 5005
    actions_port: int = 5055
    nlg_port: int = 8009
    app_database: str = "lotsen_cluster"
    rasa_database: str = "lotsen_cluster_rasa"
    # Rasa's lock keys (alphanumeric, Rasa's rule) and the app's Redis database.
    lock_key_prefix: str = "lotsen"
    redis_db_app: int = 0
    redis_db_locks: int = 1
    # The instances to run; lotsen.target's when None.
    instances: list[Instance] | None = None
    # Settings added to the environment file (tests raise rate limits, for example).
    extra_settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def on_free_ports(cls, state_dir: Path, name: str, **kwargs: object) -> ClusterConfig:
        """A cluster of lotsen.target's shape on free ports with databases named `name`."""
        roles = [instance.role for instance in target_instances()]
        instances = [Instance(role, free_port()) for role in roles]
        return cls(
            state_dir=state_dir,
            public_port=free_port(),
            rasa_port=free_port(),
            actions_port=free_port(),
            nlg_port=free_port(),
            app_database=name,
            rasa_database=f"{name}_rasa",
            lock_key_prefix=name.replace("_", ""),
            # Redis databases apart from those of `make cluster` on the same machine.
            redis_db_app=2,
            redis_db_locks=3,
            instances=instances,
            **kwargs,  # type: ignore[arg-type]
        )


@dataclass
class Cluster:
    config: ClusterConfig
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)

    @property
    def instances(self) -> list[Instance]:
        return self.config.instances or target_instances()

    @property
    def public_url(self) -> str:
        return f"https://localhost:{self.config.public_port}"

    @property
    def rasa_url(self) -> str:
        """Rasa as the apps reach it: through nginx, any Rasa instance."""
        return f"http://127.0.0.1:{self.config.rasa_port}"

    @property
    def app_database_url(self) -> str:
        return postgres_url(self.config.app_database)

    @property
    def rasa_database_url(self) -> str:
        return postgres_url(self.config.rasa_database)

    @property
    def certificate(self) -> Path:
        return self.config.state_dir / "tls" / "localhost.crt"

    @property
    def log_dir(self) -> Path:
        return self.config.state_dir / "logs"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))

    def settings(self) -> dict[str, str]:
        """The environment file's contents: what /etc/lotsen/lotsen.env holds on a server."""
        config = self.config
        values = {
            "LOTSEN_ENV": "production",
            "LOTSEN_PUBLIC_URL": self.public_url,
            "DATABASE_URL": self.app_database_url,
            "LOTSEN_REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{config.redis_db_app}",
            "RASA_URL": self.rasa_url,
            "RASA_MODEL": str(PROJECT_ROOT / "models"),
            "RASA_TRACKER_URL": (
                f"postgresql+psycopg2://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/"
                f"{config.rasa_database}"
            ),
            "RASA_LOCK_REDIS_HOST": REDIS_HOST,
            "RASA_LOCK_REDIS_PORT": str(REDIS_PORT),
            "RASA_LOCK_REDIS_DB": str(config.redis_db_locks),
            "RASA_LOCK_KEY_PREFIX": config.lock_key_prefix,
            "ACTION_SERVER_URL": f"http://127.0.0.1:{config.actions_port}",
            "NLG_URL": f"http://127.0.0.1:{config.nlg_port}/nlg",
            "LOTSEN_TRUSTED_PROXIES": "127.0.0.1,::1",
            # Rasa: how long a conversation's lock lives when its holder dies mid-turn (a
            # crashed server). Shorter than the app's wait for Rasa (RASA_TIMEOUT_SECONDS,
            # 30 s), so the next turn is answered rather than deferred once more.
            "TICKET_LOCK_LIFETIME": "20",
        }
        values.update(load_or_create_secrets(config.state_dir / "secrets.env"))
        values.update(config.extra_settings)
        return values

    def write_environment_file(self) -> Path:
        path = self.config.state_dir / "lotsen.env"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(
                "# Written by bot/deploy/cluster.py; /etc/lotsen/lotsen.env on a server.\n"
            )
            handle.write("".join(f"{key}={value}\n" for key, value in self.settings().items()))
        return path

    def render_nginx(self) -> Path:
        state = self.config.state_dir / "nginx"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (state / name).mkdir(parents=True, exist_ok=True)
        certificate, key = self_signed_certificate(self.config.state_dir / "tls")
        site = nginx.Site(
            server_name="localhost",
            public_listen=f"127.0.0.1:{self.config.public_port}",
            tls_certificate=certificate,
            tls_certificate_key=key,
            rasa_listen=f"127.0.0.1:{self.config.rasa_port}",
            actions_listen=f"127.0.0.1:{self.config.actions_port}",
            nlg_listen=f"127.0.0.1:{self.config.nlg_port}",
        )
        site_file = state / "lotsen.conf"
        site_file.write_text(nginx.render_site(site, self.instances))
        main = state / "nginx.conf"
        main.write_text(nginx.main_config(site_file, state))
        return main

    def prepare(self) -> Path:
        """Databases, migrations, secrets, nginx's files; returns the environment file."""
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        create_database(self.app_database_url)
        create_database(self.rasa_database_url)
        migrate.upgrade(self.app_database_url)
        return self.write_environment_file()

    def base_environment(self) -> dict[str, str]:
        inherited = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
        return inherited | {"PYTHONUNBUFFERED": "1"}

    def start(self, timeout: float = 420.0) -> None:
        check_prerequisites()
        environment_file = self.prepare()
        main = self.render_nginx()
        self._spawn("nginx", [str(NGINX), "-c", str(main)], self.base_environment(), PROJECT_ROOT)
        started_rasa: list[str] = []
        for instance in sorted(self.instances, key=lambda i: i.role == "rasa"):
            command = command_for(instance, PROJECT_ROOT, environment_file, self.base_environment())
            self.commands[instance.name] = command
            if instance.role == "rasa" and started_rasa:
                # Rasa creates its tracker tables when it starts; two servers doing that at
                # once on an empty database collide, so each waits for the one before.
                self.wait_until_ready(timeout, names=started_rasa[-1:], public=False)
            self._spawn(instance.name, command.argv, command.environment, command.working_directory)
            if instance.role == "rasa":
                started_rasa.append(instance.name)
        self.wait_until_ready(timeout)

    def _spawn(
        self, name: str, argv: Sequence[str], environment: Mapping[str, str], cwd: Path
    ) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        # The command lines of the unit files in deploy/systemd/ and of nginx.
        self.processes[name] = subprocess.Popen(  # noqa: S603
            list(argv),
            cwd=cwd,
            env=dict(environment),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        log.close()

    def restart(self, name: str) -> None:
        """Starts a stopped instance again, as systemd's Restart= would."""
        command = self.commands[name]
        self._spawn(name, command.argv, command.environment, command.working_directory)

    def health_url(self, instance: Instance) -> str:
        path = {"app": "/healthz", "rasa": "/", "actions": "/health"}[instance.role]
        return f"http://127.0.0.1:{instance.port}{path}"

    def instance_ready(self, instance: Instance) -> bool:
        try:
            response = httpx.get(self.health_url(instance), timeout=3)
        except httpx.HTTPError:
            return False
        return response.status_code == httpx.codes.OK

    def public_ready(self) -> bool:
        try:
            response = httpx.get(f"{self.public_url}/healthz", verify=self.ssl_context(), timeout=3)
        except httpx.HTTPError:
            return False
        return response.status_code == httpx.codes.OK

    def wait_until_ready(
        self, timeout: float, names: Sequence[str] | None = None, public: bool = True
    ) -> None:
        deadline = time.monotonic() + timeout
        waiting = [i for i in self.instances if names is None or i.name in names]
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log_tail(name)}")
            waiting = [instance for instance in waiting if not self.instance_ready(instance)]
            if not waiting and (not public or self.public_ready()):
                return
            time.sleep(1)
        tails = "\n".join(f"--- {i.name}\n{self.log_tail(i.name)}" for i in waiting)
        raise TimeoutError(f"not ready after {timeout:.0f} s: {[i.name for i in waiting]}\n{tails}")

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Ends one process abruptly (a crash), or with `sig`; it stays down until restart()."""
        process = self.processes.pop(name)
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def pids(self) -> dict[str, list[int]]:
        """Every process's pid and its children's (nginx's workers, a script's exec'd server)."""
        result: dict[str, list[int]] = {}
        for name, process in self.processes.items():
            if process.poll() is None:
                result[name] = [process.pid, *_descendants(process.pid)]
        return result

    def stop(self) -> None:
        # The apps first (they stop taking turns), nginx last.
        for name in sorted(self.processes, key=lambda n: n == "nginx"):
            process = self.processes[name]
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in list(self.processes.items()):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            del self.processes[name]

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _descendants(pid: int) -> list[int]:
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        children = [int(p) for p in children_file.read_text().split()]
    except OSError:
        return []
    return [grandchild for child in children for grandchild in (child, *_descendants(child))]


def rss_mib(pid: int) -> float | None:
    """Resident memory of one process in MiB (Linux /proc), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_foreground(state_dir: Path) -> int:
    cluster = Cluster(ClusterConfig(state_dir=state_dir))
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    print("starting nginx, the apps, the Rasa servers and the action servers ...", flush=True)
    try:
        cluster.start()
    except PrerequisiteError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        cluster.stop()
        return 130
    except Exception as error:
        print(f"the cluster did not start: {error}", file=sys.stderr)
        cluster.stop()
        return 1
    url = cluster.public_url
    print(
        "\n".join(
            [
                "",
                "Lotsen's cluster is running (Ctrl-C stops everything it started):",
                f"  demo page with the chat widget  {url}/",
                f"  conversation API  {url}/api/v1/conversations",
                f"  coordinator app   {url}/coordinator/  (accounts: lotsen user create)",
                f"  the certificate is self-signed for localhost: {cluster.certificate}",
                "  processes: nginx, " + ", ".join(i.name for i in cluster.instances),
                f"  logs in {cluster.log_dir}",
                f"  app database {cluster.config.app_database}, Rasa trackers "
                f"{cluster.config.rasa_database} (PostgreSQL); locks in Redis",
                "",
            ]
        ),
        flush=True,
    )
    try:
        while not stopping:
            for name, process in cluster.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited; restarting it (see {cluster.log_dir})", flush=True)
                    cluster.processes.pop(name)
                    if name == "nginx":
                        raise RuntimeError("nginx exited:\n" + cluster.log_tail(name))
                    cluster.restart(name)
                    break
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping the cluster ...", flush=True)
        cluster.stop()
    return 0


def render_nginx_command(args: argparse.Namespace) -> int:
    site = nginx.Site(
        server_name=args.server_name,
        public_listen=args.listen,
        tls_certificate=Path(args.certificate),
        tls_certificate_key=Path(args.key),
        rasa_listen=args.rasa_listen,
        actions_listen=args.actions_listen,
        nlg_listen=args.nlg_listen,
    )
    sys.stdout.write(nginx.render_site(site, target_instances()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.deploy")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("cluster", help="run the local cluster in the foreground")
    run.add_argument("--state-dir", default=str(PROJECT_ROOT / "var" / "cluster"))
    render = commands.add_parser(
        "render-nginx", help="print deploy/nginx/lotsen.conf for lotsen.target's instances"
    )
    render.add_argument("--server-name", required=True)
    render.add_argument("--listen", default="443", help="the public listen address (TLS)")
    render.add_argument("--certificate", required=True)
    render.add_argument("--key", required=True)
    render.add_argument("--rasa-listen", default="127.0.0.1:5005")
    render.add_argument("--actions-listen", default="127.0.0.1:5055")
    render.add_argument("--nlg-listen", default="127.0.0.1:8009")
    args = parser.parse_args(argv)
    if args.command == "cluster":
        if not Path("/usr/bin/openssl").exists():
            print("openssl is needed for the local certificate", file=sys.stderr)
            return 1
        return run_foreground(Path(args.state_dir))
    return render_nginx_command(args)
