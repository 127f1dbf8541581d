"""The widget for people using a keyboard or a screen reader, and on right-to-left pages:
focus rings, live regions that say each change once, axe-core's WCAG 2.1 AA rules. Every page
is on the host site's origin; the agent is a socket client (helpers in test_widget.py)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser import test_widget
from tests.browser.conftest import axe_faults, screenshot
from tests.browser.test_widget import AgentClient, HostSite, bubble, part, say, write
from tests.conftest import LiveServer

host = test_widget.host
serve = test_widget.serve
agents = test_widget.agents
staffed = test_widget.staffed


# Records what assistive technology is told: each bubble and "Seen" added to the log (or
# removed), and the status line each time it is written.
LISTEN = """() => {
  const root = document.querySelector('chatserver-widget').shadowRoot;
  const status = root.querySelector('.cs-status'), heard = window.__heard = [];
  const name = n => n.classList.contains('cs-seen') ? 'Seen'
    : n.classList.contains('cs-msg') ? 'message: ' + n.querySelector('.cs-text').textContent : null;
  new MutationObserver(records => {
    for (const r of records) {
      for (const n of r.addedNodes) if (n.classList && name(n)) heard.push('added ' + name(n));
      for (const n of r.removedNodes) if (n.classList && name(n)) heard.push('removed ' + name(n));
    }
    if (records.some(r => status.contains(r.target))) heard.push('status: ' + status.textContent);
  }).observe(root, {subtree: true, childList: true, characterData: true});
}"""


def keyboard_open(page: Page) -> None:
    part(page, ".cs-launcher").focus()
    page.keyboard.press("Enter")
    expect(part(page, ".cs-input")).to_be_focused()


def test_the_header_buttons_show_a_focus_ring_unlike_the_header(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = context.new_page()
    page.goto(host.page(server))
    keyboard_open(page)
    say(page, "Hello")
    agent.assigned()
    header = part(page, ".cs-header").evaluate("e => getComputedStyle(e).backgroundColor")
    for button in (".cs-end", ".cs-close"):
        part(page, button).focus()
        ring = part(page, button).evaluate(
            "e => [e.matches(':focus-visible'), getComputedStyle(e).outlineStyle, "
            "getComputedStyle(e).outlineColor]")
        assert ring == [True, "solid", "rgb(255, 255, 255)"] and ring[2] != header, button


def test_screen_readers_hear_each_change_once_and_replies_while_closed(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = host.tab(context, server)
    page.evaluate(LISTEN)
    say(page, "Is the workshop recorded?")
    conversation_id = agent.assigned()
    seq = agent.say(conversation_id, "Yes, every session.")["seq"]
    agent.send("read", conversation_id=conversation_id, seq=seq - 1)
    expect(part(page, ".cs-seen")).to_have_text("Seen")
    expect(part(page, ".cs-status")).to_have_text("Ann is here to help")
    agent.say(conversation_id, "Anything else?")
    expect(bubble(page, "Anything else?", "agent")).to_be_visible()

    heard: list[str] = page.evaluate("window.__heard")
    added = [h for h in heard if h.startswith(("added", "removed"))]
    assert added == ["added message: Is the workshop recorded?",
                     "added message: Ann joined the chat.", "added message: Yes, every session.",
                     "added Seen", "added message: Anything else?"], heard
    # The status is written when it changes, not on every frame, and names the agent.
    statuses = [h for h in heard if h.startswith("status")]
    assert len(statuses) == len(set(statuses)), heard
    assert statuses[-1] == "status: Ann is here to help"

    # With the panel closed, a reply is said by a live region outside it.
    part(page, ".cs-close").click()
    agent.say(conversation_id, "We close at six.")
    expect(part(page, ".cs-badge")).to_have_text("1")
    announce = part(page, "[data-testid=announce]")
    expect(announce).to_have_text("Ann: We close at six.")
    expect(announce).to_have_attribute("aria-live", "polite")


RIGHT_TO_LEFT = '<script>document.documentElement.dir = "rtl";</script>'


def test_on_a_right_to_left_page_the_widget_keeps_its_own_direction(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = context.new_page()
    page.goto(host.page(server, "/rtl", before=RIGHT_TO_LEFT))
    part(page, ".cs-launcher").click()
    direction = "e => getComputedStyle(e).direction"
    greeting = part(page, ".cs-greeting .cs-text")
    expect(greeting).to_have_text("Hi! How can we help?")
    assert greeting.evaluate(direction) == "ltr"  # not "?Hi! How can we help"
    assert part(page, ".cs-title").evaluate(direction) == "ltr"
    # Each message takes the direction of its own words.
    say(page, "Hello")
    conversation_id = agent.assigned()
    agent.say(conversation_id, "مرحبا، كيف أساعدك؟")
    arabic = bubble(page, "مرحبا", "agent").locator(".cs-text")
    assert arabic.evaluate(direction) == "rtl"
    assert bubble(page, "Hello", "visitor").locator(".cs-text").evaluate(direction) == "ltr"
    screenshot(page, "widget-rtl-page")


def contrast(foreground: str, background: str) -> float:
    """WCAG's contrast ratio of two computed `rgb(r, g, b)` colours."""
    def luminance(css: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", css)[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
                   for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


# Every visible, enabled element of the widget with text of its own: its text, the opacity it
# is drawn with (its own times its ancestors'), its colour, the first opaque background behind
# it, and whether the text is large (WCAG: 24px, or 18.66px bold). axe-core cannot tell the
# colours inside this fixed shadow root ("incomplete"), so they are measured here.
TEXTS = r"""() => {
  const root = document.querySelector('chatserver-widget').shadowRoot, found = [];
  for (const e of root.querySelectorAll('*')) {
    const own = [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.data).join('').trim();
    const box = e.getBoundingClientRect();
    if (!own || e.disabled || box.width <= 1 || !e.checkVisibility()) continue;
    let opacity = 1, background = null;
    for (let n = e; n; n = n.parentElement) {
      const style = getComputedStyle(n), fill = style.backgroundColor;
      opacity *= +style.opacity;
      if (!background && !/rgba\(.*, 0\)|transparent/.test(fill)) background = fill;
    }
    const style = getComputedStyle(e), size = parseFloat(style.fontSize);
    found.push([own, opacity, style.color, background || 'rgb(255, 255, 255)',
                size >= 24 || (size >= 18.66 && +style.fontWeight >= 700)]);
  }
  return found;
}"""


def low_contrast(page: Page) -> list[list[Any]]:
    """The widget's texts below WCAG AA contrast (4.5:1, 3:1 when large), or faded."""
    return [[text, opacity, round(contrast(fg, bg), 2)]
            for text, opacity, fg, bg, large in page.evaluate(TEXTS)
            if opacity < 1 or contrast(fg, bg) < (3 if large else 4.5)]


def test_the_open_widget_with_a_conversation_passes_axe(
        staffed: tuple[LiveServer, AgentClient], host: HostSite,
        context: BrowserContext) -> None:
    server, agent = staffed
    page = host.tab(context, server)
    say(page, "Can I pay by invoice? https://example.com/terms")
    conversation_id = agent.assigned()
    seq = agent.say(conversation_id, "Yes, for orders over $500.")["seq"]
    agent.send("read", conversation_id=conversation_id, seq=seq - 1)
    expect(part(page, ".cs-seen")).to_be_visible()
    agent.send("typing", conversation_id=conversation_id, active=True)
    expect(part(page, ".cs-typing")).to_be_visible()
    context.set_offline(True)  # one message waits to be sent, the banner says why
    expect(write(page, "And by card?")).to_have_attribute("data-state", "pending")
    expect(part(page, ".cs-conn")).to_be_visible()
    assert low_contrast(page) == []  # the unsent message too, no longer faded to 2.8:1
    assert axe_faults(page, "chatserver-widget") == []
    context.set_offline(False)

    # The chat ends: the rating form.
    expect(bubble(page, "And by card?", "visitor")).to_have_attribute("data-state", "sent")
    agent.send("close", conversation_id=conversation_id)
    expect(part(page, ".cs-rating")).to_be_visible()
    part(page, ".cs-star").nth(4).click()
    expect(part(page, ".cs-thanks")).to_be_visible()
    assert low_contrast(page) == []
    assert axe_faults(page, "chatserver-widget") == []
