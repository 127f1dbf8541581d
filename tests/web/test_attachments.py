"""Attachments over real connections, on each backend: what may be uploaded and by whom,
what is refused and why, and how a kept file is served (inert, by a signed link)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from PIL import Image

from chatserver.store import Store
from tests.attachment_files import GIF_POLYGLOT, GPS_IFD, HTML, PDF, SVG, huge_png, image
from tests.conftest import on_store
from tests.web.conftest import InProcessServer, every_backend, visitor
from tests.web.test_agent_changes import csrf_of

backend = every_backend


def upload(server: InProcessServer, data: bytes, name: str = "file.bin",
           claimed: str = "application/octet-stream", **headers: str) -> httpx.Response:
    return httpx.post(server.url + "/api/attachments", files={"file": (name, data, claimed)},
                      headers=headers, timeout=30)


async def visitor_token(server: InProcessServer) -> str:
    _peer, welcome = await visitor(server)
    return str(welcome["token"])


def kept(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json()["attachment"])


@pytest.mark.parametrize(("name", "make", "kind"), [
    ("a.png", lambda: image("PNG"), "image/png"),
    ("a.jpg", lambda: image("JPEG"), "image/jpeg"),
    ("a.webp", lambda: image("WEBP"), "image/webp"),
    ("a.gif", lambda: image("GIF"), "image/gif"),
    ("receipt.pdf", lambda: PDF, "application/pdf"),
    ("notes.txt", lambda: "Commande n° 1042\n".encode(), "text/plain"),
])
async def test_a_visitor_uploads_each_allowed_type_and_it_is_served_back(
        server: InProcessServer, name: str, make: Callable[[], bytes], kind: str) -> None:
    data = make()
    attachment = kept(upload(server, data, name, "image/svg+xml",
                             **{"X-Visitor-Token": await visitor_token(server)}))
    assert (attachment["name"], attachment["content_type"]) == (name, kind)
    served = httpx.get(server.url + attachment["url"], timeout=5)
    assert served.status_code == 200
    assert served.headers["content-type"].split(";")[0] == kind
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
    inline = kind.startswith("image/")
    assert served.headers["content-disposition"].startswith(
        "inline;" if inline else "attachment;")
    assert len(served.content) == attachment["size"]
    if not inline:
        assert served.content == data  # only images are re-encoded


async def test_an_agent_uploads_with_their_token(server: InProcessServer) -> None:
    token = server.agent("ada@example.com", "Ada")
    attachment = kept(upload(server, PDF, "r.pdf", Authorization=f"Bearer {token}"))
    assert attachment["content_type"] == "application/pdf"


@pytest.mark.parametrize(("name", "data"), [
    ("page.png", HTML), ("logo.svg", SVG), ("cat.gif", GIF_POLYGLOT),
    ("receipt.pdf", PDF + b"<html><script>alert(1)</script>"),
    ("archive.zip", b"PK\x03\x04" + bytes(100)),
])
async def test_hostile_files_are_refused_with_415_and_a_clear_message(
        server: InProcessServer, name: str, data: bytes) -> None:
    refused = upload(server, data, name, "image/png",
                     **{"X-Visitor-Token": await visitor_token(server)})
    assert refused.status_code == 415
    assert refused.json()["error"]["code"] == "unsupported_type"
    assert "PNG, JPEG, WebP, GIF" in refused.json()["error"]["message"]


async def test_an_image_of_billions_of_pixels_is_refused_without_decoding_it(
        server: InProcessServer) -> None:
    refused = upload(server, huge_png(), "bomb.png",
                     **{"X-Visitor-Token": await visitor_token(server)})
    assert refused.status_code == 413
    assert "pixels" in refused.json()["error"]["message"]


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(max_upload_bytes=1024 * 1024)
    token = await visitor_token(server)
    sent = 0

    def chunks() -> Any:  # 200 MB, announced up front: refused on its Content-Length
        nonlocal sent
        for _ in range(200):
            sent += 1
            yield b"x" * (1024 * 1024)
    response = httpx.post(server.url + "/api/attachments", content=chunks(), timeout=30,
                          headers={"X-Visitor-Token": token, "Content-Length": str(200 << 20),
                                   "Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    assert sent < 200
    over = upload(server, b"a" * (1024 * 1024 + 1), "big.txt", **{"X-Visitor-Token": token})
    assert over.status_code == 413


async def test_a_photos_gps_position_is_removed_and_a_thumbnail_made(
        server: InProcessServer) -> None:
    photo = image("JPEG", (1200, 900), gps=True)
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(GPS_IFD)  # the test's premise
    attachment = kept(upload(server, photo, "IMG_0001.JPG",
                             **{"X-Visitor-Token": await visitor_token(server)}))
    served = httpx.get(server.url + attachment["url"], timeout=5)
    cleaned = Image.open(io.BytesIO(served.content))
    assert cleaned.size == (1200, 900)
    assert not cleaned.getexif().get_ifd(GPS_IFD)
    assert b"PhoneMaker" not in served.content
    thumbnail = httpx.get(server.url + attachment["url"] + "&thumbnail=1", timeout=5)
    assert thumbnail.headers["content-type"] == "image/png"
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) == 320


async def test_a_forged_or_expired_link_is_refused_with_403(server: InProcessServer) -> None:
    attachment = kept(upload(server, PDF, "r.pdf",
                             **{"X-Visitor-Token": await visitor_token(server)}))
    url = server.url + attachment["url"]
    other_id = re.sub(r"/(\d+)\?", lambda m: f"/{int(m[1]) + 1}?", url)
    forged = re.sub(r"signature=\w+", "signature=" + "0" * 64, url)
    expired = re.sub(r"expires=\d+", "expires=1000", url)
    for refused in (other_id, forged, expired, url.split("?")[0]):
        response = httpx.get(refused, timeout=5)
        assert response.status_code == 403, refused
        assert response.json()["error"]["code"] == "forbidden"


async def test_an_upload_without_a_valid_token_is_refused_with_401(
        server: InProcessServer) -> None:
    assert upload(server, PDF).status_code == 401
    assert upload(server, PDF, **{"X-Visitor-Token": "nobody"}).status_code == 401
    not_a_form = httpx.post(server.url + "/api/attachments", content=PDF, timeout=5,
                            headers={"X-Visitor-Token": await visitor_token(server)})
    assert not_a_form.status_code == 422


async def test_a_visitor_past_the_hours_quota_is_refused_with_429(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(visitor_uploads_per_hour=2)
    token = await visitor_token(server)
    for _ in range(2):
        kept(upload(server, PDF, "r.pdf", **{"X-Visitor-Token": token}))
    refused = upload(server, PDF, "r.pdf", **{"X-Visitor-Token": token})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_uploads"


async def test_an_agent_uploads_from_the_console_with_its_csrf_token(
        server: InProcessServer) -> None:
    server.staff(("ann@example.com", "Ann", "agent"), password="a-long-password")
    cookie = server.sign_in("ann@example.com", "a-long-password")
    assert cookie is not None
    files = {"file": ("r.pdf", PDF, "application/pdf")}
    without = httpx.post(server.url + "/api/attachments", files=files, timeout=5,
                         cookies={"chatserver_session": cookie})
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "csrf"
    kept(httpx.post(server.url + "/api/attachments", files=files, timeout=5,
                    cookies={"chatserver_session": cookie},
                    headers={"X-CSRF-Token": csrf_of(server, cookie)}))


async def test_a_widget_on_an_allowed_site_may_post_a_file_and_read_the_answer(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(allowed_origins=("https://shop.example",))
    asked = httpx.options(server.url + "/api/attachments", timeout=5, headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-visitor-token"})
    assert asked.status_code == 204
    assert asked.headers["access-control-allow-origin"] == "https://shop.example"
    assert asked.headers["access-control-allow-headers"] == "X-Visitor-Token"
    assert "access-control-allow-credentials" not in asked.headers
    async def new_visitor(store: Store) -> str:
        return (await store.create_visitor({}))[1]
    token = on_store(server.settings.database_url, new_visitor)  # a visitor of the shop's site
    posted = upload(server, PDF, "r.pdf", Origin="https://shop.example",
                    **{"X-Visitor-Token": token})
    assert posted.headers["access-control-allow-origin"] == "https://shop.example"
    elsewhere = httpx.options(server.url + "/api/attachments", timeout=5,
                              headers={"Origin": "https://evil.example",
                                       "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in elsewhere.headers
