"""The web layer's way to the services: app.state holds them, typed here."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from chatserver.service.services import Services


def services(connection: HTTPConnection) -> Services:
    """The services of the app serving this request or socket."""
    found: Services = connection.app.state.services
    return found
