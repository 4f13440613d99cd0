"""Renders deploy/nginx/lotsen.conf: the @NAME@ values and the upstream servers of the
instances lotsen.target lists. Both the administrator and the local cluster use it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.deploy.units import DEPLOY_DIR, Instance

SITE_TEMPLATE = DEPLOY_DIR / "nginx" / "lotsen.conf"
PLACEHOLDER = re.compile(r"@([A-Z_]+)@")
# A replica that refused a connection is left out for this long.
FAIL_TIMEOUT_SECONDS = 5


class RenderError(ValueError):
    pass


@dataclass(frozen=True)
class Site:
    server_name: str
    public_listen: str  # e.g. "443" or "127.0.0.1:8000"
    tls_certificate: Path
    tls_certificate_key: Path
    rasa_listen: str  # internal: the apps' RASA_URL
    actions_listen: str  # internal: Rasa's ACTION_SERVER_URL
    nlg_listen: str  # internal: Rasa's NLG_URL


def upstream_servers(instances: Sequence[Instance], role: str) -> str:
    ports = [instance.port for instance in instances if instance.role == role]
    if not ports:
        raise RenderError(f"no {role} instance to send requests to")
    return "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT_SECONDS}s;"
        for port in ports
    )


def render_site(site: Site, instances: Sequence[Instance], template: Path = SITE_TEMPLATE) -> str:
    values = {
        "APP_SERVERS": upstream_servers(instances, "app"),
        "RASA_SERVERS": upstream_servers(instances, "rasa"),
        "ACTION_SERVERS": upstream_servers(instances, "actions"),
        "PUBLIC_LISTEN": site.public_listen,
        "SERVER_NAME": site.server_name,
        "TLS_CERTIFICATE": str(site.tls_certificate),
        "TLS_CERTIFICATE_KEY": str(site.tls_certificate_key),
        "RASA_LISTEN": site.rasa_listen,
        "ACTIONS_LISTEN": site.actions_listen,
        "NLG_LISTEN": site.nlg_listen,
    }

    def one(match: re.Match[str]) -> str:
        if match[1] not in values:
            raise RenderError(f"{template.name}: no value for @{match[1]}@")
        return values[match[1]]

    return PLACEHOLDER.sub(one, template.read_text())


def main_config(site_file: Path, state_dir: Path, worker_processes: int = 2) -> str:
    """A whole nginx.conf around the site file for an nginx run by an ordinary user: its pid,
    logs and temporary files in `state_dir`, in the foreground."""
    temp = {name: state_dir / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return "\n".join(
        [
            "daemon off;",
            f"worker_processes {worker_processes};",
            f"pid {state_dir / 'nginx.pid'};",
            f"error_log {state_dir / 'error.log'} warn;",
            "events { worker_connections 1024; }",
            "http {",
            "    include /etc/nginx/mime.types;",
            "    default_type application/octet-stream;",
            # Addresses are personal data: the access log keeps none (README, privacy).
            "    log_format lotsen '$time_iso8601 $request_method $uri $status "
            "$request_time $upstream_addr';",
            f"    access_log {state_dir / 'access.log'} lotsen;",
            f"    client_body_temp_path {temp['client_body']};",
            f"    proxy_temp_path {temp['proxy']};",
            f"    fastcgi_temp_path {temp['fastcgi']};",
            f"    uwsgi_temp_path {temp['uwsgi']};",
            f"    scgi_temp_path {temp['scgi']};",
            f"    include {site_file};",
            "}",
            "",
        ]
    )
