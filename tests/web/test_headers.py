"""Every HTTP answer says `X-Content-Type-Options: nosniff`, whatever gave it: a route, a
refusal, an error page, a static file or the server's own 500."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.web.body_limit import MAX_BODY
from tests.web.conftest import InProcessServer, visitor


async def test_every_answer_over_http_says_nosniff(server: InProcessServer) -> None:
    token = server.agent("ann@example.com", "Ann")
    peer, _ = await visitor(server)
    await peer.send("message", client_id="m1", text="hello")
    conversation_id = (await peer.expect("ack"))["conversation_id"]
    auth = {"Authorization": f"Bearer {token}"}
    answers = [
        httpx.get(server.url + "/api/health"),
        server.get(f"/api/conversations/{conversation_id}", token),
        server.get(f"/api/conversations/{conversation_id}/transcript.txt", token),
        server.get("/api/conversations/1"),  # 401
        server.get("/api/conversations/999", token),  # 404 in the API's shape
        httpx.get(server.url + "/api/no-such-thing"),
        httpx.post(server.url + "/api/health"),  # 405
        httpx.post(server.url + "/api/orders", content=b"x" * (MAX_BODY + 1), headers=auth),
        httpx.get(server.url + "/no-such-page"),  # plain-text 404
        httpx.get(server.url + "/widget.js"),
        httpx.get(server.url + "/console/login"),
        httpx.get(server.url + "/console"),  # a redirect to sign in
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 401, 404, 404, 405, 413, 404,
                                                200, 200, 303]
    for answer in answers:
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"], answer.url


def test_the_servers_own_500_says_nosniff_too(server: InProcessServer) -> None:
    async def fault(request: Request) -> Response:
        raise RuntimeError("a fault of ours")

    server.app.router.routes.append(Route("/api/fault", fault))
    answer = httpx.get(server.url + "/api/fault")
    assert answer.status_code == 500
    assert answer.headers["x-content-type-options"] == "nosniff"
