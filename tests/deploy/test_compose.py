"""deploy/compose.yaml, read (Docker does not run here): its chatserver processes make one
server, and the nginx it runs sends to each of them and believes only its own forwarding."""

from __future__ import annotations

import re
from typing import Any

import yaml

from chatserver.config import Settings
from tests.deploy.conftest import DEPLOY


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def chat_services(services: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each service that runs `chatserver serve`, with its environment."""
    return {name: service["environment"] for name, service in services.items()
            if service.get("build", {}).get("dockerfile") == "deploy/Dockerfile"}


def test_three_processes_share_one_database_and_one_bus_that_the_settings_accept() -> None:
    chats = chat_services(compose()["services"])
    assert len(chats) == 3
    urls = {(env["CHATSERVER_DATABASE_URL"], env["CHATSERVER_BUS_URL"]) for env in chats.values()}
    assert len(urls) == 1
    [(database, bus)] = urls
    environ = {"CHATSERVER_DATABASE_URL": database.replace(
        "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "secret"), "CHATSERVER_BUS_URL": bus}
    settings = Settings.from_env(environ)
    assert settings.database_url.startswith("postgresql://chatserver:secret@postgres:5432/")
    assert settings.bus_url.startswith("redis://redis:6379/")


def test_nginx_sends_to_every_process_and_they_believe_only_nginxs_forwarding() -> None:
    services = compose()["services"]
    upstream = (DEPLOY / "chatserver" / "upstream.compose.conf").read_text()
    assert set(re.findall(r"server (\w+):8000", upstream)) == set(chat_services(services))
    assert "least_conn;" in upstream
    nginx_address = services["nginx"]["networks"]["chat"]["ipv4_address"]
    for env in chat_services(services).values():
        trusted = {"CHATSERVER_FORWARDED_ALLOW_IPS": env["CHATSERVER_FORWARDED_ALLOW_IPS"]}
        assert Settings.from_env(trusted).forwarded_allow_ips == (nginx_address,)
    mounted = {volume.split(":")[1] for volume in services["nginx"]["volumes"]}
    assert "/etc/nginx/chatserver/upstream.conf" in mounted
