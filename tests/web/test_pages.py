"""The pages a browser loads: the widget script (light, and the same on any site), the demo."""

from __future__ import annotations

import httpx

from tests.web.conftest import InProcessServer

WIDGET_BUDGET = 12_000  # bytes over the wire, compressed (Chatwoot's is about 170 KiB)


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


def test_the_demo_page_embeds_the_widget(server: InProcessServer) -> None:
    page = httpx.get(server.url + "/demo")
    assert page.status_code == 200 and 'src="/widget.js"' in page.text
