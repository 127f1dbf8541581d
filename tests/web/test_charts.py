"""The reports' SVG charts: pure functions from figures to markup (chatserver/web/charts.py).

Each chart is parsed as XML, so a test sees what a browser would: the elements, their
attributes and their text, and proof that a hostile label stayed text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from chatserver.web import charts
from chatserver.web.charts import Series

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "Bob" <img src=x onerror=alert(1)>'
DAYS = ["Mar 1", "Mar 2", "Mar 3", "Mar 4"]


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(markup)  # well-formed, or this raises
    assert root.tag == f"{SVG}svg"
    return root


def all_of(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if cls is None or e.get("class") == cls]


def accessible(root: ET.Element, title: str) -> None:
    """role="img", labelled by its own <title> and <desc>."""
    assert root.get("role") == "img"
    title_el, desc_el = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title_el is not None and desc_el is not None
    assert title_el.text == title
    assert root.get("aria-labelledby") == f"{title_el.get('id')} {desc_el.get('id')}"
    assert root.get("viewBox")


def test_a_line_chart_has_a_point_per_value_and_breaks_at_a_missing_day() -> None:
    median = Series("Median", [30, 90, None, 45], "#4f46e5")
    p90 = Series("90th percentile", [60, 300, None, 120], "#0891b2", dashed=True)
    root = parse(charts.line_chart("frt", "First response time", DAYS, [median, p90]))
    accessible(root, "First response time")

    points = all_of(root, "circle", "pg-point")
    by_series = {name: [p for p in points if p.get("data-series") == name]
                 for name in ("Median", "90th percentile")}
    assert [p.get("data-value") for p in by_series["Median"]] == ["30", "90", "45"]
    assert [p.get("data-label") for p in by_series["Median"]] == ["Mar 1", "Mar 2", "Mar 4"]
    assert [p.get("data-value") for p in by_series["90th percentile"]] == ["60", "300", "120"]
    # Left to right by day; higher values higher up (a smaller y).
    xs = [float(p.get("cx") or 0) for p in by_series["Median"]]
    assert xs == sorted(xs)
    ys = {p.get("data-value"): float(p.get("cy") or 0) for p in by_series["90th percentile"]}
    assert ys["300"] < ys["120"] < ys["60"]
    # Each point says its figure when hovered.
    tips = [p.findtext(f"{SVG}title") for p in by_series["Median"]]
    assert tips == ["Mar 1 · Median: 30s", "Mar 2 · Median: 1m 30s", "Mar 4 · Median: 45s"]
    # No value on Mar 3: the line stops there (the run before it has two points, the one
    # after a single point, drawn as a dot only).
    lines = all_of(root, "polyline", "pg-line")
    assert len(lines) == 2
    assert all(len((line.get("points") or "").split()) == 2 for line in lines)
    assert sum(1 for line in lines if line.get("stroke-dasharray")) == 1
    # The y axis goes past the highest value, in round durations.
    axis = [t.text for t in root.iter(f"{SVG}text")
            if t.get("text-anchor") == "end" and t.text]
    assert axis[0] == "0s" and axis[-1] == "5m"
    # The legend and the description name both series; every day is labelled.
    texts = "".join(root.itertext())
    assert "Median" in texts and "90th percentile" in texts
    assert all(day in texts for day in DAYS)
    assert "Mar 2 1m 30s" in (root.findtext(f"{SVG}desc") or "")


def test_a_bar_chart_has_a_bar_per_day_and_series_scaled_to_its_value() -> None:
    root = parse(charts.bar_chart(
        "chats", "Chats", DAYS, [Series("Chats", [2, 4, 0, 8], "#4f46e5"),
                                 Series("Missed", [0, 1, 0, 2], "#f97316")]))
    accessible(root, "Chats")
    bars = all_of(root, "rect", "pg-bar")
    chats = {b.get("data-label"): b for b in bars if b.get("data-series") == "Chats"}
    missed = [b for b in bars if b.get("data-series") == "Missed"]
    assert len(chats) == 4 and len(missed) == 4
    assert {day: b.get("data-value") for day, b in chats.items()} == {
        "Mar 1": "2", "Mar 2": "4", "Mar 3": "0", "Mar 4": "8"}
    height = {day: float(b.get("height") or 0) for day, b in chats.items()}
    assert height["Mar 3"] == 0
    assert height["Mar 2"] == pytest.approx(2 * height["Mar 1"], abs=0.2)
    assert height["Mar 4"] == pytest.approx(4 * height["Mar 1"], abs=0.2)
    # All bars stand on the same baseline; a day's two bars sit side by side.
    bottoms = {round(float(b.get("y") or 0) + float(b.get("height") or 0), 1) for b in bars}
    assert len(bottoms) == 1
    assert float(missed[0].get("x") or 0) > float(chats["Mar 1"].get("x") or 0)
    assert float(missed[0].get("x") or 0) < float(chats["Mar 2"].get("x") or 0)
    assert chats["Mar 4"].findtext(f"{SVG}title") == "Mar 4 · Chats: 8"
    assert not [t for t in root.iter(f"{SVG}text") if t.get("class") == "pg-chart-empty"]


def test_a_rating_chart_keeps_its_scale_and_skips_days_without_ratings() -> None:
    root = parse(charts.bar_chart("sat", "Satisfaction", DAYS,
                                  [Series("Average rating", [4.5, None, 3, 5], "#059669")],
                                  value_format=charts.rating, top=5))
    bars = all_of(root, "rect", "pg-bar")
    assert [b.get("data-label") for b in bars] == ["Mar 1", "Mar 3", "Mar 4"]
    axis = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert axis == ["0.0", "1.0", "2.0", "3.0", "4.0", "5.0"]
    five = next(b for b in bars if b.get("data-value") == "5")
    top_line = min(float(line.get("y1") or 0) for line in all_of(root, "line"))
    assert float(five.get("y") or 0) == pytest.approx(top_line)


def test_chats_per_agent_bars_and_names_that_are_markup_stay_text() -> None:
    items = [("Ann", 12.0), (HOSTILE, 6.0), ("Zoë", 3.0)]
    markup = charts.hbar_chart("agents", "Chats per agent", items)
    assert "<script" not in markup and "<img" not in markup
    assert "&lt;script&gt;" in markup
    root = parse(markup)
    accessible(root, "Chats per agent")
    assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}img"))
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "pg-item"]
    assert [g.get("data-label") for g in groups] == ["Ann", HOSTILE, "Zoë"]
    assert [g.get("data-value") for g in groups] == ["12", "6", "3"]
    widths = [float(bar.get("width") or 0) for g in groups for bar in all_of(g, "rect")]
    assert widths[0] == pytest.approx(2 * widths[1]) == pytest.approx(4 * widths[2])
    hostile = groups[1]
    assert hostile.findtext(f"{SVG}title") == f"{HOSTILE}: 6"  # whole, as text
    shown = [t.text for t in hostile.iter(f"{SVG}text")]
    assert shown[0] == HOSTILE[:19] + "…" and shown[1] == "6"  # a long name is shortened


EMPTY: dict[str, Callable[[list[str]], str]] = {
    "line": lambda labels: charts.line_chart(
        "c", "T", labels, [Series(HOSTILE, [None] * len(labels), "#000")]),
    "bars": lambda labels: charts.bar_chart(
        "c", "T", labels, [Series(HOSTILE, [None] * len(labels), "#000")]),
    "zero-bars": lambda labels: charts.bar_chart(
        "c", "T", labels, [Series(HOSTILE, [0] * len(labels), "#000")]),
}


@pytest.mark.parametrize("kind", list(EMPTY))
@pytest.mark.parametrize("labels", [[], ["Mar 1"], DAYS], ids=["no-days", "one-day", "days"])
def test_no_data_draws_an_empty_chart_that_says_so(kind: str, labels: list[str]) -> None:
    markup = EMPTY[kind](labels)
    root = parse(markup)
    assert root.get("role") == "img"
    assert not all_of(root, "circle") and not all_of(root, "polyline")
    assert all(float(b.get("height") or 0) == 0 for b in all_of(root, "rect", "pg-bar"))
    empty = [t for t in root.iter(f"{SVG}text") if t.get("class") == "pg-chart-empty"]
    assert [t.text for t in empty] == ["No data for this range"]
    assert "<script" not in markup


def test_no_agents_draws_an_empty_bar_list() -> None:
    root = parse(charts.hbar_chart("agents", "Chats per agent", []))
    assert not all_of(root, "rect")
    assert [t.text for t in root.iter(f"{SVG}text")] == ["No chats for this range"]
    assert root.findtext(f"{SVG}desc") == "No data."


def test_titles_and_ids_are_escaped_too() -> None:
    root = parse(charts.line_chart('x" onload="alert(1)', HOSTILE, ["<b>day</b>"],
                                   [Series(HOSTILE, [5], '"red')]))
    assert root.get("onload") is None
    assert root.get("id") == 'x" onload="alert(1)'
    assert root.findtext(f"{SVG}title") == HOSTILE
    [point] = all_of(root, "circle", "pg-point")
    assert point.get("data-label") == "<b>day</b>" and point.get("stroke") == '"red'


def test_many_days_get_thinned_labels_but_every_bar() -> None:
    labels = [f"D{n}" for n in range(90)]
    root = parse(charts.bar_chart("c", "T", labels, [Series("Chats", list(range(90)), "#000")]))
    assert len(all_of(root, "rect", "pg-bar")) == 90
    shown = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"
             and t.get("class") != "pg-chart-empty"]
    assert shown[0] == "D0" and shown[-1] == "D89"
    assert 5 <= len(shown) <= charts.MAX_X_LABELS + 1


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "—"), (0, "0s"), (0.4, "<1s"), (45.4, "45s"), (60, "1m"), (200, "3m 20s"),
    (3600, "1h"), (3900, "1h 5m"), (86400, "1d"), (2 * 86400 + 3 * 3600, "2d 3h")])
def test_durations_read_naturally(seconds: float | None, text: str) -> None:
    assert charts.duration(seconds) == text


@pytest.mark.parametrize(("top", "expected"), [
    (0, [0, 1]), (3, [0, 1, 2, 3]), (47, [0, 10, 20, 30, 40, 50]), (1234, [0, 500, 1000, 1500])])
def test_count_ticks_are_round(top: float, expected: list[float]) -> None:
    assert charts.ticks(top) == expected


def test_duration_ticks_are_round_durations() -> None:
    assert charts.duration_ticks(45) == [0, 10, 20, 30, 40, 50]
    assert charts.duration_ticks(250) == [0, 60, 120, 180, 240, 300]
    assert [charts.duration(t) for t in charts.duration_ticks(5000)] == [
        "0s", "30m", "1h", "1h 30m"]
    assert charts.day_label("2026-03-02") == "Mar 2"
