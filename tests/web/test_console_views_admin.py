"""The admin page's sections as htmx asks for them: each change answered with its section
re-rendered (a notice, or the refusal in place with its status), every field shown escaped,
and nobody but an admin let in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from chatserver.domain.widget_settings import LENGTHS, PRECHAT
from chatserver.web.admin_acts import LIMITS
from tests.web.conftest import InProcessServer

PASSWORD = "pa55word-long"
MARKUP = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
EMAIL_MARKUP = "<svg/onload=alert(1)>@example.com"  # an email by the server's check
PARTS = "/console/parts/admin"


def console_client(server: InProcessServer, email: str) -> httpx.Client:
    """A browser tab of `email` on the admin page, sending what htmx sends."""
    cookie = server.sign_in(email, PASSWORD)
    assert cookie is not None
    page = httpx.get(server.url + "/console/admin", cookies={"chatserver_session": cookie})
    csrf = re.search(r'hx-headers=\'\{"X-CSRF-Token": "([^"]+)"\}\'', page.text)
    assert csrf is not None, page.status_code
    return httpx.Client(base_url=server.url, cookies={"chatserver_session": cookie},
                        headers={"HX-Request": "true", "X-CSRF-Token": csrf[1]}, timeout=5)


@pytest.fixture
def ada(server: InProcessServer) -> Iterator[httpx.Client]:
    """Ada the admin, signed in beside Ann (an agent) and Sue (a supervisor)."""
    server.staff(("ada@example.com", "Ada", "admin"), ("ann@example.com", "Ann", "agent"),
                 ("sue@example.com", "Sue", "supervisor"), password=PASSWORD)
    with console_client(server, "ada@example.com") as client:
        yield client


def agent_id(client: httpx.Client, email: str) -> str:
    page = client.get("/console/admin").text
    found = re.search(rf'data-agent-id="(\d+)" data-email="{re.escape(email)}"', page)
    assert found is not None
    return found[1]


def notice(html: str) -> str:
    found = re.search(r'<p class="pg-notice" data-notice role="status">([^<]*)</p>', html)
    assert found is not None
    return found[1]


def refusal(html: str) -> str:
    found = re.search(r'<p class="form-error" data-error role="alert">([^<]*)</p>', html)
    assert found is not None, html
    return found[1]


def test_the_page_holds_every_section_as_its_own_htmx_target_with_no_inline_script_or_style(
        ada: httpx.Client) -> None:
    page = ada.get("/console/admin")
    assert page.status_code == 200
    sections = re.findall(r'<section [^>]*data-section="(\w+)"[^>]*hx-target="this" '
                          r'hx-swap="outerHTML"', page.text)
    assert sections == ["agents", "canned", "widget", "origins", "tokens", "webhooks",
                        "payments",
                        "privacy"]
    assert re.findall(r"<script[^>]*>", page.text) == [
        '<script src="/static/vendor/htmx.min.js" defer>',
        '<script type="module" src="/console/assets/admin.js">']
    assert "style=" not in page.text and "hx-on" not in page.text
    assert "data-api-url" not in page.text and "autofocus" not in page.text
    forms = re.findall(r"<form [^>]*>", page.text)
    assert forms and all('method="post"' in form for form in forms)  # nothing typed in a URL


def test_the_fields_are_bounded_by_the_servers_own_limits(ada: httpx.Client) -> None:
    page = ada.get("/console/admin").text
    for field in (f'id="new-agent-name" name="name" required maxlength="{LIMITS.name}"',
                  f'name="capacity" type="number" min="{LIMITS.capacity[0]}" '
                  f'max="{LIMITS.capacity[1]}" value="{LIMITS.default_capacity}"',
                  f'minlength="{LIMITS.password[0]}" maxlength="{LIMITS.password[1]}"',
                  f'name="shortcut" required maxlength="{LIMITS.shortcut}"',
                  f'name="text" required maxlength="{LIMITS.canned_text}"',
                  f'name="label" maxlength="{LIMITS.label}"',
                  f'name="title" required maxlength="{LENGTHS["title"][1]}"',
                  f'name="offline_message" maxlength="{LENGTHS["offline_message"][1]}"'):
        assert field in page, field
    assert re.findall(r'<option value="(\w+)"[^>]*>\w+: ', page) == list(PRECHAT)


def test_a_section_is_read_again_on_its_own(ada: httpx.Client) -> None:
    for name in ("agents", "canned", "widget", "origins", "tokens", "webhooks"):
        part = ada.get(f"{PARTS}/{name}")
        assert part.status_code == 200
        assert part.text.lstrip().startswith(
            f'<section class="pg-card pg-admin-section" id="{name}"')
    assert ada.get(f"{PARTS}/nothing").status_code == 404


def test_every_field_the_sections_show_is_escaped(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(allowed_origins=("*", MARKUP))
    server.staff(("ada@example.com", "Ada", "admin"), password=PASSWORD)
    with console_client(server, "ada@example.com") as ada:
        assert ada.post(f"{PARTS}/agents", data={
            "name": MARKUP, "email": EMAIL_MARKUP, "role": "agent", "capacity": "3"}
        ).status_code == 200
        assert ada.post(f"{PARTS}/canned", data={"shortcut": "x", "text": MARKUP}
                        ).status_code == 200
        assert ada.put(f"{PARTS}/widget", data={
            "color": "#4f46e5", "title": MARKUP, "greeting": MARKUP, "prechat": "off",
            "reply_time": MARKUP, "business_hours": MARKUP, "offline_message": MARKUP}
        ).status_code == 200
        made = ada.post(f"{PARTS}/tokens", data={"label": MARKUP, "integration": "true"})
        assert made.status_code == 200
        page = ada.get("/console/admin").text
        parts = [ada.get(f"{PARTS}/{name}").text
                 for name in ("agents", "canned", "widget", "origins", "tokens")]
        # refused forms show what was typed: escaped too
        refused = [
            ada.post(f"{PARTS}/agents", data={"name": MARKUP, "email": MARKUP}).text,
            ada.post(f"{PARTS}/canned", data={"shortcut": MARKUP, "text": MARKUP}).text,
            ada.put(f"{PARTS}/widget", data={"title": MARKUP, "color": MARKUP}).text,
            ada.put(f"{PARTS}/origins", data={"origins": MARKUP}).text,
        ]
    for html in (page, made.text, *parts, *refused):
        assert MARKUP not in html and "<img" not in html and "<svg" not in html
    assert page.count(ESCAPED) >= 8  # agent (name, row labels, confirm), canned, widget, token
    assert "&lt;svg/onload=alert(1)&gt;@example.com" in page
    assert all(ESCAPED in html for html in refused)


def test_an_added_agent_is_listed_with_a_notice_and_offered_for_tokens(
        ada: httpx.Client) -> None:
    answer = ada.post(f"{PARTS}/agents", data={
        "name": "Nia", "email": "nia@example.com", "role": "supervisor", "capacity": "4",
        "password": "nia's long password"})
    assert answer.status_code == 200
    assert notice(answer.text) == "Agent added."
    assert 'data-email="nia@example.com"' in answer.text
    assert 'id="new-agent-name" name="name" required maxlength="100" autocomplete="off" value=""' \
        in answer.text  # the form is empty again
    oob = re.search(r'<select id="new-token-agent"[^>]*hx-swap-oob="true">(.*?)</select>',
                    answer.text, re.S)
    assert oob is not None and "Nia (supervisor)" in oob[1]
    assert "pa55word" not in answer.text and "nia&#39;s long password" not in answer.text


def test_a_refused_agent_says_why_in_the_form_and_keeps_what_was_typed_but_the_password(
        ada: httpx.Client) -> None:
    answer = ada.post(f"{PARTS}/agents", data={
        "name": "Ann Again", "email": "ann@example.com", "role": "admin", "capacity": "2",
        "password": "a secret password"})
    assert answer.status_code == 409
    assert refusal(answer.text) == "An agent with email ann@example.com exists."
    assert 'value="Ann Again"' in answer.text and 'value="ann@example.com"' in answer.text
    assert '<option value="admin" selected>' in answer.text
    assert "a secret password" not in answer.text
    assert "hx-swap-oob" not in answer.text
    bad = ada.post(f"{PARTS}/agents", data={"name": "Bo", "email": "bo@example.com",
                                             "capacity": "lots"})
    assert bad.status_code == 422
    assert refusal(bad.text) == "Agent: capacity must be a whole number from 0 to 1000."
    assert bad.text.count('data-testid="agent"') == 3


def test_role_capacity_disable_and_enable_each_answer_with_the_agents(
        server: InProcessServer, ada: httpx.Client) -> None:
    ann = agent_id(ada, "ann@example.com")
    saved = ada.put(f"{PARTS}/agents/{ann}", data={"role": "supervisor", "capacity": "5"})
    assert saved.status_code == 200 and notice(saved.text) == "Saved Ann."
    assert f'id="agent-{ann}-capacity" class="pg-input-num" type="number" name="capacity"' \
        in saved.text and 'value="5" form="agent-' + ann in saved.text
    ann_cookie = server.sign_in("ann@example.com", PASSWORD)
    disabled = ada.put(f"{PARTS}/agents/{ann}", data={"disabled": "true"})
    assert notice(disabled.text) == "Ann is disabled and signed out."
    assert 'data-testid="agent-enable"' in disabled.text
    assert "Ann (" not in re.search(r'<select id="new-token-agent".*?</select>', disabled.text,
                                    re.S)[0]  # type: ignore[index]
    page = httpx.get(server.url + "/console", cookies={"chatserver_session": ann_cookie or ""})
    assert page.status_code == 303 or "/console/login" in str(page.url)
    enabled = ada.put(f"{PARTS}/agents/{ann}", data={"disabled": "false"})
    assert notice(enabled.text) == "Ann can sign in again."
    assert server.sign_in("ann@example.com", PASSWORD) is not None


def test_an_admin_cannot_demote_or_disable_themselves(ada: httpx.Client) -> None:
    me = agent_id(ada, "ada@example.com")
    for change in ({"role": "agent", "capacity": "3"}, {"disabled": "true"}):
        answer = ada.put(f"{PARTS}/agents/{me}", data=change)
        assert answer.status_code == 409
        assert refusal(answer.text) == "An admin cannot disable or demote themselves."
        assert '<option value="admin" selected>Admin</option>' in answer.text
    assert ada.put(f"{PARTS}/agents/999999", data={"capacity": "2"}).status_code == 404


def test_canned_responses_are_added_refused_and_deleted_in_place(ada: httpx.Client) -> None:
    added = ada.post(f"{PARTS}/canned", data={"shortcut": "/Refund-Policy", "text": "30 days."})
    assert added.status_code == 200 and notice(added.text) == "Canned response added."
    assert '<code class="pg-shortcut">/refund-policy</code>' in added.text
    again = ada.post(f"{PARTS}/canned", data={"shortcut": "refund-policy", "text": "Again"})
    assert again.status_code == 409
    assert refusal(again.text) == "/refund-policy already exists."
    assert ">Again</textarea>" in again.text
    spaced = ada.post(f"{PARTS}/canned", data={"shortcut": "refund policy", "text": "x"})
    assert spaced.status_code == 422
    assert refusal(spaced.text) == "A shortcut is letters, digits and dashes."
    canned_id = re.search(r'hx-delete="/console/parts/admin/canned/(\d+)"', added.text)
    assert canned_id is not None
    deleted = ada.delete(f"{PARTS}/canned/{canned_id[1]}")
    assert deleted.status_code == 200 and notice(deleted.text) == "/refund-policy deleted."
    assert 'data-testid="canned-empty"' in deleted.text
    assert '<h2 id="canned-h" tabindex="-1" autofocus>' in deleted.text  # its button is gone
    gone = ada.delete(f"{PARTS}/canned/{canned_id[1]}")
    assert gone.status_code == 404 and refusal(gone.text) == "No such canned response."


def test_the_widget_is_saved_or_refused_with_what_was_typed(
        server: InProcessServer, ada: httpx.Client) -> None:
    fields = {"color": "#0F766E", "title": "Talk to Acme", "greeting": "Hello!",
              "prechat": "required", "reply_time": "Soon.", "business_hours": "",
              "offline_message": "Away."}
    saved = ada.put(f"{PARTS}/widget", data=fields)
    assert saved.status_code == 200 and notice(saved.text) == "Widget settings saved."
    assert 'value="#0f766e"' in saved.text and '<option value="required" selected>' in saved.text
    refused = ada.put(f"{PARTS}/widget", data={**fields, "title": "", "greeting": "Typed"})
    assert refused.status_code == 422
    assert "title" in refusal(refused.text)
    assert 'value="Typed"' in refused.text
    assert server.get("/api/widget-settings").json()["widget"]["title"] == "Talk to Acme"


def test_allowed_origins_are_saved_one_a_line_or_refused(
        server: InProcessServer, ada: httpx.Client) -> None:
    refused = ada.put(f"{PARTS}/origins", data={"origins": "shop.example"})
    assert refused.status_code == 422
    assert refusal(refused.text) == ("The allowed origins must be origins like "
                                     "https://shop.example (no path).")
    assert ">shop.example</textarea>" in refused.text
    saved = ada.put(f"{PARTS}/origins",
                    data={"origins": "https://shop.example\r\n\r\nhttps://Blog.Example/\r\n"})
    assert saved.status_code == 200 and notice(saved.text) == "Allowed origins saved."
    assert ">https://shop.example\nhttps://blog.example</textarea>" in saved.text


def test_a_new_tokens_secret_is_shown_once_and_never_stored_by_the_browser(
        server: InProcessServer, ada: httpx.Client) -> None:
    page = ada.get("/console/admin").text
    sue = re.search(r'<option value="(\d+)"[^>]*>Sue \(supervisor\)', page)
    assert sue is not None
    made = ada.post(f"{PARTS}/tokens", data={"agent_id": sue[1], "label": "Reports"})
    assert made.status_code == 200 and notice(made.text) == "Token created."
    assert made.headers["cache-control"] == "no-store"
    secret = re.search(r'value="(cs_[^"]+)" autofocus', made.text)
    assert secret is not None
    assert server.get("/api/reports", secret[1]).status_code == 200
    done = ada.get(f"{PARTS}/tokens?focus").text
    assert secret[1] not in done and '<h2 id="tokens-h" tabindex="-1" autofocus>' in done
    assert secret[1] not in ada.get("/console/admin").text
    shop = ada.post(f"{PARTS}/tokens", data={"integration": "true", "label": "Shop"})
    assert notice(shop.text) == "Integration token created."
    assert "The shop&#39;s systems (integration)" in shop.text
    both = ada.post(f"{PARTS}/tokens", data={"integration": "true", "agent_id": sue[1]})
    assert both.status_code == 422 and "integration token acts for no agent" in refusal(both.text)

    token_id = re.search(r'data-token-id="(\d+)">\s*<th scope="row">Reports', made.text)
    assert token_id is not None
    revoked = ada.delete(f"{PARTS}/tokens/{token_id[1]}")
    assert revoked.status_code == 200 and notice(revoked.text) == "Token revoked."
    assert '<h2 id="tokens-h" tabindex="-1" autofocus>' in revoked.text
    assert server.get("/api/reports", secret[1]).status_code == 401


@pytest.mark.parametrize("email", ["ann@example.com", "sue@example.com"])
def test_only_admins_see_the_page_or_change_anything(
        server: InProcessServer, ada: httpx.Client, email: str) -> None:
    with console_client(server, email) as other:
        page = other.get("/console/admin")
        assert page.status_code == 403 and "Admin is for admins" in page.text
        assert "hx-post" not in page.text and "admin.js" not in page.text
        ann = agent_id(ada, "ann@example.com")
        for method, path, data in (
                ("GET", f"{PARTS}/agents", None),
                ("POST", f"{PARTS}/agents", {"name": "X", "email": "x@example.com"}),
                ("PUT", f"{PARTS}/agents/{ann}", {"role": "admin"}),
                ("POST", f"{PARTS}/canned", {"shortcut": "x", "text": "x"}),
                ("DELETE", f"{PARTS}/canned/1", None),
                ("PUT", f"{PARTS}/widget", {"title": "Mine"}),
                ("PUT", f"{PARTS}/origins", {"origins": "https://evil.example"}),
                ("POST", f"{PARTS}/tokens", {"label": "x"}),
                ("DELETE", f"{PARTS}/tokens/1", None)):
            answer = other.request(method, path, data=data)
            assert answer.status_code == 403, (method, path)
            assert "Admin is for admins" in answer.text
    assert "ann@example.com" in ada.get(f"{PARTS}/agents").text
    assert 'data-testid="agent" data-agent-id="' + ann + '" data-email="ann@example.com">' \
        in ada.get(f"{PARTS}/agents").text


def test_a_change_without_the_session_or_its_csrf_token_changes_nothing(
        server: InProcessServer, ada: httpx.Client) -> None:
    forged = ada.post(f"{PARTS}/canned", data={"shortcut": "x", "text": "x"},
                      headers={"X-CSRF-Token": "forged"})
    assert forged.status_code == 403
    signed_out = httpx.post(server.url + f"{PARTS}/canned", data={"shortcut": "x", "text": "x"},
                            headers={"HX-Request": "true",
                                     "HX-Current-URL": server.url + "/console/admin"})
    assert signed_out.status_code == 401
    assert signed_out.headers["HX-Redirect"] == "/console/login?next=/console/admin"
    assert 'data-testid="canned-empty"' in ada.get(f"{PARTS}/canned").text


def test_the_payments_section_says_which_providers_are_on_and_shows_no_secret(
        serve: Callable[..., InProcessServer]) -> None:
    server = serve(stripe_secret_key="sk_test_never_shown",
                   stripe_webhook_secret="whsec_never_shown")
    server.staff(("ada@example.com", "Ada", "admin"), password=PASSWORD)
    with console_client(server, "ada@example.com") as client:
        page = client.get("/console/admin").text
    assert "On: orders paid through Stripe are refunded through Stripe" in page
    assert "On: <code>/webhooks/stripe</code>" in page
    assert "never_shown" not in page


def test_with_no_stripe_settings_the_payments_section_says_what_turns_it_on(
        ada: httpx.Client) -> None:
    page = ada.get("/console/admin").text
    assert "Off: <code>CHATSERVER_STRIPE_SECRET_KEY</code> is not set" in page
    assert "Off: <code>CHATSERVER_STRIPE_WEBHOOK_SECRET</code> is not set" in page
