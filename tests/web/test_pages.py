"""The pages a browser loads: the widget script (light, and the same on any site), the demo."""

from __future__ import annotations

import re

import httpx

from tests.web.conftest import InProcessServer

WIDGET_BUDGET = 12 * 1024  # bytes over the wire, gzipped: 12 KiB at most (Chatwoot's is ~170 KiB)


def test_the_widget_downloads_in_under_12_kb(server: InProcessServer) -> None:
    with httpx.Client() as client:
        response = client.get(server.url + "/widget.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-encoding"] == "gzip"
    assert response.num_bytes_downloaded <= WIDGET_BUDGET, response.num_bytes_downloaded
    assert "Chatserver" in response.text


def test_any_site_may_load_the_widget_script(server: InProcessServer) -> None:
    response = httpx.get(server.url + "/widget.js", headers={"Origin": "https://shop.example"})
    assert response.headers["access-control-allow-origin"] == "*"


def test_the_demo_page_embeds_the_widget_by_its_versioned_url(server: InProcessServer) -> None:
    page = httpx.get(server.url + "/demo")
    assert page.status_code == 200
    versioned = re.search(r'src="(/widget\.js\?v=\w+)"', page.text)
    assert versioned is not None
    pinned = httpx.get(server.url + versioned[1])
    assert pinned.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert pinned.content == httpx.get(server.url + "/widget.js").content


def test_a_browser_revalidates_the_widget_instead_of_downloading_it_again(
        server: InProcessServer) -> None:
    first = httpx.get(server.url + "/widget.js")
    assert first.headers["cache-control"] == "public, max-age=300"
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for validator in ({"If-None-Match": etag}, {"If-Modified-Since": modified},
                      {"If-None-Match": f'"other", {etag}'}):
        again = httpx.get(server.url + "/widget.js", headers=validator)
        assert again.status_code == 304, validator
        assert again.content == b"" and again.headers["etag"] == etag
    # A stale copy, or a date before the script changed, gets the script whole.
    for validator in ({"If-None-Match": '"stale"'},
                      {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
                      {"If-Modified-Since": "not a date"}):
        fresh = httpx.get(server.url + "/widget.js", headers=validator)
        assert fresh.status_code == 200 and fresh.content == first.content, validator


def test_an_old_version_in_the_url_is_not_cached_for_long(server: InProcessServer) -> None:
    old = httpx.get(server.url + "/widget.js?v=0123456789abcdef")
    assert old.status_code == 200
    assert old.headers["cache-control"] == "public, max-age=300"
