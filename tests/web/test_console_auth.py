"""Console sign-in and the cookie-authenticated agent socket."""

from __future__ import annotations

import re

import httpx
import pytest
import websockets

from tests.web.conftest import InProcessServer, Peer


def sign_in(server: InProcessServer, email: str, password: str) -> str | None:
    return server.sign_in(email, password)


def console(server: InProcessServer, cookie: str | None) -> httpx.Response:
    return httpx.get(server.url + "/console", cookies={"chatserver_session": cookie or ""})


def test_the_console_asks_to_sign_in_first(server: InProcessServer) -> None:
    response = httpx.get(server.url + "/console")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login")


def test_sign_in_with_the_right_password_opens_the_console(server: InProcessServer) -> None:
    server.agent("ann@example.com", "Ann", password="pa55word")
    cookie = sign_in(server, "ann@example.com", "pa55word")
    page = console(server, cookie)
    assert page.status_code == 200 and "Ann" in page.text
    assert cookie and "pa55word" not in cookie
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_a_wrong_password_or_a_missing_csrf_token_is_refused(server: InProcessServer) -> None:
    server.agent("ann@example.com", "Ann", password="pa55word")
    assert sign_in(server, "ann@example.com", "wrong") is None
    assert console(server, "forged").status_code == 303
    forged = httpx.post(server.url + "/console/login",
                        data={"email": "ann@example.com", "password": "pa55word"})
    assert forged.status_code == 403 and "chatserver_session" not in forged.cookies


def sign_in_asking_for(server: InProcessServer, asked: str) -> httpx.Response:
    """Open the sign-in page at `?next=asked` and sign in from it, as a browser would."""
    with httpx.Client(base_url=server.url) as client:
        page = client.get("/console/login", params={"next": asked})
        fields = dict(re.findall(r'name="(csrf|next)" value="([^"]*)"', page.text))
        return client.post("/console/login", data={**fields, "email": "ann@example.com",
                                                   "password": "pa55word"})


def test_sign_in_opens_the_console_page_that_was_asked_for(server: InProcessServer) -> None:
    server.agent("ann@example.com", "Ann", password="pa55word")
    asked = httpx.get(server.url + "/console/reports")
    assert asked.headers["location"] == "/console/login?next=/console/reports"
    for page in ("/console/reports", "/console/admin", "/console/reports?from=2026-03-01"):
        signed_in = sign_in_asking_for(server, page)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == page


@pytest.mark.parametrize("elsewhere", [
    "//evil.example", "https://evil", "/\\evil", "/console/../evil", "/console//evil.example",
    "/console@evil.example", "javascript:alert(1)", "/console/\\evil.example", ""])
def test_sign_in_never_leads_off_the_console(server: InProcessServer, elsewhere: str) -> None:
    server.agent("ann@example.com", "Ann", password="pa55word")
    signed_in = sign_in_asking_for(server, elsewhere)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/console"


async def test_the_session_cookie_opens_the_agent_socket_only_from_the_console_origin(
        server: InProcessServer) -> None:
    server.agent("ann@example.com", "Ann", password="pa55word")
    cookie = sign_in(server, "ann@example.com", "pa55word")
    headers = {"Cookie": f"chatserver_session={cookie}"}
    ws = await websockets.connect(server.ws + "/ws/agent", origin=server.url,  # type: ignore[arg-type]
                                  additional_headers=headers)
    assert (await Peer(ws).expect("welcome"))["agent"]["name"] == "Ann"
    for origin in ("https://evil.example", None):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(server.ws + "/ws/agent", origin=origin,  # type: ignore[arg-type]
                                     additional_headers=headers)
        assert refused.value.response.status_code == 403


async def test_signing_out_ends_the_session_and_closes_its_sockets(
        server: InProcessServer) -> None:
    token = server.agent("ann@example.com", "Ann", password="pa55word")
    cookie = sign_in(server, "ann@example.com", "pa55word")
    headers = {"Cookie": f"chatserver_session={cookie}"}
    console_socket = Peer(await websockets.connect(
        server.ws + "/ws/agent", origin=server.url, additional_headers=headers))  # type: ignore[arg-type]
    await console_socket.expect("welcome")
    integration = Peer(await websockets.connect(
        server.ws + "/ws/agent", additional_headers={"Authorization": f"Bearer {token}"}))
    await integration.expect("welcome")
    page = console(server, cookie)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    httpx.post(server.url + "/console/logout", data={"csrf": csrf.group(1)},
               cookies={"chatserver_session": cookie or ""})
    assert (await console_socket.expect("signed_out"))["session_id"] is not None
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await console_socket.ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    assert console(server, cookie).status_code == 303  # a copied cookie is worthless now
    await integration.send("ping")
    await integration.expect("pong")  # the API token's socket is another matter


async def test_revoking_a_token_closes_the_sockets_opened_with_it(
        server: InProcessServer) -> None:
    kept = server.agent("ann@example.com", "Ann")
    created = httpx.post(server.url + "/api/tokens", json={"label": "zapier"},
                         headers={"Authorization": f"Bearer {kept}"}).json()["token"]
    revoked = created["token"]
    doomed = Peer(await websockets.connect(
        server.ws + "/ws/agent", additional_headers={"Authorization": f"Bearer {revoked}"}))
    other = Peer(await websockets.connect(
        server.ws + "/ws/agent", additional_headers={"Authorization": f"Bearer {kept}"}))
    await doomed.expect("welcome")
    await other.expect("welcome")
    response = httpx.delete(server.url + f"/api/tokens/{created['id']}",
                            headers={"Authorization": f"Bearer {kept}"})
    assert response.status_code == 204
    await doomed.expect("signed_out")
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await doomed.ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    await other.send("ping")
    await other.expect("pong")  # the agent's other token still works


def test_console_pages_load_htmx_under_the_strict_policy_with_the_csrf_header_set_once(
        server: InProcessServer) -> None:
    server.agent("ann@example.com", "Ann", password="pa55word", role="admin")
    cookie = sign_in(server, "ann@example.com", "pa55word")
    for path in ("/console", "/console/admin", "/console/reports"):
        page = httpx.get(server.url + path, cookies={"chatserver_session": cookie or ""})
        assert '<script src="/static/vendor/htmx.min.js" defer></script>' in page.text, path
        config = re.search(r'<meta name="htmx-config" content=\'([^\']*)\'>', page.text)
        assert config is not None, path
        assert '"allowEval":false' in config[1] and '"includeIndicatorStyles":false' in config[1]
        headers = re.search(r'hx-headers=\'\{"X-CSRF-Token": "([^"]+)"\}\'', page.text)
        assert headers is not None and f'name="csrf" value="{headers[1]}"' in page.text, path
