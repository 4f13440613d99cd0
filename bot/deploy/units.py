"""Reads deploy/systemd/: which instances lotsen.target wants, and each instance's command
line and environment as systemd would start it, so the local cluster runs exactly what the
unit files say instead of repeating it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT

DEPLOY_DIR = PROJECT_ROOT / "deploy"
SYSTEMD_DIR = DEPLOY_DIR / "systemd"
TARGET = "lotsen.target"
# Where the unit files expect the checkout and the environment file on a server (README,
# "Running in production"); the local cluster substitutes its own paths.
INSTALL_ROOT = "/opt/lotsen"
ENVIRONMENT_FILE = "/etc/lotsen/lotsen.env"
# Unit names are lotsen-<role>@<port>.service.
INSTANCE_PATTERN = re.compile(r"lotsen-(?P<role>[a-z]+)@(?P<port>[0-9]+)\.service")
ROLES = ("app", "rasa", "actions")


class UnitError(ValueError):
    pass


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections and their settings; a setting may repeat (Environment=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        if current is None or "=" not in line:
            raise UnitError(f"line {number}: {raw!r} is not a setting in a section")
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@dataclass(frozen=True)
class Instance:
    role: str
    port: int

    @property
    def name(self) -> str:
        return f"lotsen-{self.role}@{self.port}.service"


def target_instances(systemd_dir: Path = SYSTEMD_DIR) -> list[Instance]:
    """The instances lotsen.target wants, in the order it lists them."""
    target = parse_unit((systemd_dir / TARGET).read_text())
    instances: list[Instance] = []
    for value in target.get("Unit", {}).get("Wants", []):
        for name in value.split():
            match = INSTANCE_PATTERN.fullmatch(name)
            if match is None or match["role"] not in ROLES:
                raise UnitError(f"{TARGET} wants {name!r}, not a lotsen-<role>@<port> unit")
            instances.append(Instance(match["role"], int(match["port"])))
    return instances


def expand_specifiers(value: str, instance: str) -> str:
    """systemd's %i/%I (the instance name) and %% in a setting."""

    def one(match: re.Match[str]) -> str:
        letter = match.group(1)
        if letter in ("i", "I"):
            return instance
        if letter == "%":
            return "%"
        raise UnitError(f"specifier %{letter} is not supported by the local cluster")

    return re.sub(r"%(.)", one, value)


def read_environment_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile= reads them (no shell expansion)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def expand_variables(word: str, environment: Mapping[str, str]) -> str:
    """${NAME} in a command line, as systemd expands it."""
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: environment.get(m[1], ""), word)


@dataclass(frozen=True)
class Command:
    """How systemd would start one instance, with the server's paths replaced by local ones."""

    instance: Instance
    argv: list[str]
    environment: dict[str, str]
    working_directory: Path


def command_for(
    instance: Instance,
    root: Path,
    environment_file: Path,
    base_environment: Mapping[str, str],
    systemd_dir: Path = SYSTEMD_DIR,
) -> Command:
    unit = parse_unit((systemd_dir / f"lotsen-{instance.role}@.service").read_text())
    service = unit.get("Service", {})

    def local(value: str) -> str:
        value = expand_specifiers(value, str(instance.port))
        value = value.replace(ENVIRONMENT_FILE, str(environment_file))
        return value.replace(INSTALL_ROOT, str(root))

    environment = dict(base_environment)
    for name in service.get("EnvironmentFile", []):
        path = local(name)
        optional = path.startswith("-")
        path = path.removeprefix("-")
        if Path(path).exists() or not optional:
            environment.update(read_environment_file(Path(path)))
    for line in service.get("Environment", []):
        for assignment in shlex.split(local(line)):
            key, _, value = assignment.partition("=")
            environment[key] = value
    (exec_start,) = service["ExecStart"]
    argv = [expand_variables(word, environment) for word in shlex.split(local(exec_start))]
    (working_directory,) = service.get("WorkingDirectory", [str(root)])
    return Command(instance, argv, environment, Path(local(working_directory)))
