"""Server-rendered SVG charts for the reports page: pure functions from figures to markup.

Every piece of text that reaches the SVG (labels, series names, titles) is XML-escaped here,
so agent names and anything else typed by a person stay inert. The result is `Markup`, which
Jinja inserts as it is. Colours are presentation attributes, not `style`: the console's
Content-Security-Policy allows no inline style.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

from markupsafe import Markup

Format = Callable[[float], str]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
AXIS = "#9ca3af"
GRID = "#e5e7eb"
LABEL = "#6b7280"
INK = "#374151"
MAX_X_LABELS = 8  # a day label is about 40 units wide; a chart about 500
LABEL_CHARS = 20  # what fits left of a horizontal bar (the full name is in its tooltip)

# Tick steps for durations, in seconds: whole seconds, minutes, hours, days.
DURATION_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
                  21600, 43200, 86400, 172800, 432000, 864000)


@dataclass(frozen=True)
class Series:
    """One line or one set of bars: a value per label (None: nothing that day)."""

    name: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    """A coordinate, short: 12.5 not 12.500000001."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


# --- formats -----------------------------------------------------------------------------
def duration(seconds: float | None) -> str:
    """45s, 3m 20s, 1h 5m, 2d 3h; an em dash for no value."""
    if seconds is None:
        return "—"
    if 0 < seconds < 1:
        return "<1s"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        minutes, rest = divmod(total, 60)
        return f"{minutes}m {rest}s" if rest else f"{minutes}m"
    if total < 86400:
        hours, rest = divmod(total, 3600)
        return f"{hours}h {rest // 60}m" if rest // 60 else f"{hours}h"
    days, rest = divmod(total, 86400)
    return f"{days}d {rest // 3600}h" if rest // 3600 else f"{days}d"


def count(value: float) -> str:
    return f"{round(value):,}"


def rating(value: float) -> str:
    return f"{value:.1f}"


def day_label(day: date | str) -> str:
    """Mar 2."""
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{d:%b} {d.day}"


# --- scales ------------------------------------------------------------------------------
def ticks(top: float, steps: Sequence[float] | None = None, most: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`: no more than `most` steps above zero."""
    if top <= 0:
        top = 1
    if steps is None:
        magnitude = 10 ** math.floor(math.log10(top / most)) if top / most >= 1 else 1
        steps = [m * magnitude * f for f in (1, 10) for m in (1, 2, 5)]
    step = next((s for s in sorted(steps) if top / s <= most), None)
    if step is None:  # beyond the largest step: multiples of it
        step = max(steps) * math.ceil(top / max(steps) / most)
    return [step * n for n in range(math.ceil(top / step - 1e-9) + 1)]


def duration_ticks(top: float) -> list[float]:
    return ticks(top, DURATION_STEPS)


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]


# --- frame ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float, top: float) -> float:
        return self.top + self.plot_height * (1 - value / top)


def _open(chart_id: str, title: str, description: str, frame: _Frame, kind: str) -> list[str]:
    cid = _text(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pg-chart pg-chart-{kind}" id="{cid}" '
        f'role="img" aria-labelledby="{cid}-title {cid}-desc" '
        f'viewBox="0 0 {frame.width} {frame.height}" width="{frame.width}" '
        f'height="{frame.height}" preserveAspectRatio="xMidYMid meet" '
        f'font-family="{_text(FONT)}" font-size="11">',
        f'<title id="{cid}-title">{_text(title)}</title>',
        f'<desc id="{cid}-desc">{_text(description)}</desc>',
    ]


def _legend(series: Sequence[Series], frame: _Frame, shape: str) -> list[str]:
    parts = ['<g class="pg-legend" aria-hidden="true">']
    x = float(frame.left)
    for s in series:
        if shape == "line":
            dash = ' stroke-dasharray="5 3"' if s.dashed else ""
            parts.append(f'<line x1="{_num(x)}" y1="12" x2="{_num(x + 16)}" y2="12" '
                         f'stroke="{_text(s.color)}" stroke-width="2.5"{dash}/>')
        else:
            parts.append(f'<rect x="{_num(x + 3)}" y="7" width="10" height="10" rx="2" '
                         f'fill="{_text(s.color)}"/>')
        parts.append(f'<text x="{_num(x + 22)}" y="16" fill="{INK}">{_text(s.name)}</text>')
        x += 34 + 6.5 * len(s.name)
    parts.append("</g>")
    return parts


def _y_axis(frame: _Frame, tick_values: Sequence[float], fmt: Format) -> list[str]:
    top = tick_values[-1]
    parts = ['<g class="pg-y-axis" aria-hidden="true">']
    for value in tick_values:
        y = _num(frame.y(value, top))
        parts.append(f'<line x1="{frame.left}" y1="{y}" x2="{frame.width - frame.right}" '
                     f'y2="{y}" stroke="{GRID if value else AXIS}" stroke-width="1"/>')
        parts.append(f'<text x="{frame.left - 8}" y="{y}" dy="0.32em" text-anchor="end" '
                     f'fill="{LABEL}">{_text(fmt(value))}</text>')
    parts.append("</g>")
    return parts


def _x_labels(labels: Sequence[str], frame: _Frame) -> list[str]:
    band = frame.plot_width / len(labels)
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    parts = ['<g class="pg-x-axis" aria-hidden="true">']
    for index, label in enumerate(labels):
        last = index == len(labels) - 1
        if not last and (index % every or len(labels) - 1 - index < every):
            continue  # between labels, or too close to the last one, which is always shown
        x = _num(frame.left + band * (index + 0.5))
        parts.append(f'<text x="{x}" y="{frame.height - frame.bottom + 16}" '
                     f'text-anchor="middle" fill="{LABEL}">{_text(label)}</text>')
    parts.append("</g>")
    return parts


def _empty(frame: _Frame, message: str) -> str:
    return (f'<text class="pg-chart-empty" x="{_num(frame.left + frame.plot_width / 2)}" '
            f'y="{_num(frame.top + frame.plot_height / 2)}" text-anchor="middle" '
            f'fill="{LABEL}" font-size="13">{_text(message)}</text>')


def _describe(labels: Sequence[str], series: Sequence[Series], fmt: Format) -> str:
    if not labels:
        return "No data."
    parts = []
    for s in series:
        shown = [f"{label} {fmt(v)}" for label, v in zip(labels, s.values, strict=False)
                 if v is not None]
        parts.append(f"{s.name}: {', '.join(shown) if shown else 'no data'}.")
    return f"From {labels[0]} to {labels[-1]}. " + " ".join(parts)


# --- charts -----------------------------------------------------------------------------
def line_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series],
               *, value_format: Format = duration, tick_values: Callable[[float], list[float]]
               = duration_ticks, empty: str = "No data for this range", width: int = 560,
               height: int = 230) -> Markup:
    """A line per series over the labels (days); a gap where a value is None, a dot on each
    value (with its figure as a tooltip)."""
    frame = _Frame(width, height, 56, 14, 30, 28)
    parts = _open(chart_id, title, _describe(labels, series, value_format), frame, "line")
    values = [v for s in series for v in _present(s.values)]
    scale = tick_values(max(values, default=0))
    top = scale[-1]
    parts += _legend(series, frame, "line")
    parts += _y_axis(frame, scale, value_format)
    if labels:
        parts += _x_labels(labels, frame)
        band = frame.plot_width / len(labels)
        for s in series:
            name = _text(s.name)
            dash = ' stroke-dasharray="5 3"' if s.dashed else ""
            runs: list[list[str]] = [[]]
            dots: list[str] = []
            for index, (label, value) in enumerate(zip(labels, s.values, strict=False)):
                if value is None:
                    runs.append([])
                    continue
                x, y = _num(frame.left + band * (index + 0.5)), _num(frame.y(value, top))
                runs[-1].append(f"{x},{y}")
                dots.append(
                    f'<circle class="pg-point" cx="{x}" cy="{y}" r="3.5" fill="#fff" '
                    f'stroke="{_text(s.color)}" stroke-width="2" data-series="{name}" '
                    f'data-label="{_text(label)}" data-value="{_num(value)}">'
                    f'<title>{_text(label)} · {name}: {_text(value_format(value))}</title>'
                    f'</circle>')
            parts.append(f'<g class="pg-series" data-series="{name}">')
            parts += [f'<polyline class="pg-line" points="{" ".join(run)}" fill="none" '
                      f'stroke="{_text(s.color)}" stroke-width="2.25" stroke-linejoin="round" '
                      f'stroke-linecap="round"{dash}/>' for run in runs if len(run) > 1]
            parts += dots
            parts.append("</g>")
    if not values:
        parts.append(_empty(frame, empty))
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series],
              *, value_format: Format = count, top: float | None = None,
              tick_values: Callable[[float], list[float]] | None = None,
              empty: str = "No data for this range", width: int = 560,
              height: int = 230) -> Markup:
    """Bars side by side for each label (day), one per series; `top` fixes the scale (5 for
    a rating). None draws no bar; zero draws a flat one."""
    frame = _Frame(width, height, 44, 14, 30, 28)
    parts = _open(chart_id, title, _describe(labels, series, value_format), frame, "bar")
    values = [v for s in series for v in _present(s.values)]
    if tick_values is not None:
        scale = tick_values(top if top is not None else max(values, default=0))
    elif top is not None:
        scale = ticks(top, [1, 2, 5, 10, 20, 50, 100])
    else:
        scale = ticks(max(values, default=0), None)
    high = scale[-1]
    parts += _legend(series, frame, "bar")
    parts += _y_axis(frame, scale, value_format)
    if labels and series:
        parts += _x_labels(labels, frame)
        band = frame.plot_width / len(labels)
        gap = min(8.0, band * 0.2)
        bar = max(1.0, (band - gap) / len(series))
        for offset, s in enumerate(series):
            name = _text(s.name)
            parts.append(f'<g class="pg-series" data-series="{name}">')
            for index, (label, value) in enumerate(zip(labels, s.values, strict=False)):
                if value is None:
                    continue
                x = frame.left + band * index + gap / 2 + bar * offset
                y = frame.y(value, high)
                parts.append(
                    f'<rect class="pg-bar" x="{_num(x)}" y="{_num(y)}" '
                    f'width="{_num(max(0.5, bar - 1))}" '
                    f'height="{_num(frame.top + frame.plot_height - y)}" '
                    f'fill="{_text(s.color)}" rx="{1.5 if bar > 6 else 0}" '
                    f'data-series="{name}" data-label="{_text(label)}" '
                    f'data-value="{_num(value)}">'
                    f'<title>{_text(label)} · {name}: {_text(value_format(value))}</title>'
                    f'</rect>')
            parts.append("</g>")
    if not any(values):
        parts.append(_empty(frame, empty))
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(chart_id: str, title: str, items: Sequence[tuple[str, float]], *,
               color: str = "#4f46e5", value_format: Format = count,
               empty: str = "No chats for this range", width: int = 560,
               row: int = 26) -> Markup:
    """One horizontal bar per item (an agent and their chats), longest first as given;
    the label on the left, the figure at the bar's end."""
    height = max(90, 16 + row * len(items) + 8)
    label_width = 160
    frame = _Frame(width, height, label_width, 60, 8, 8)
    description = ("; ".join(f"{label}: {value_format(value)}" for label, value in items)
                   or "No data.")
    parts = _open(chart_id, title, description, frame, "hbar")
    top = max((v for _, v in items), default=0) or 1
    for index, (label, value) in enumerate(items):
        y = frame.top + row * index
        length = frame.plot_width * value / top
        short = label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"
        text = _text(label)
        parts.append(
            f'<g class="pg-item" data-label="{text}" data-value="{_num(value)}">'
            f'<title>{text}: {_text(value_format(value))}</title>'
            f'<text x="{label_width - 10}" y="{_num(y + row / 2)}" dy="0.32em" '
            f'text-anchor="end" fill="{INK}" font-size="12">{_text(short)}</text>'
            f'<rect class="pg-bar" x="{label_width}" y="{_num(y + 4)}" '
            f'width="{_num(max(length, 1.5))}" height="{row - 8}" rx="3" '
            f'fill="{_text(color)}"/>'
            f'<text x="{_num(label_width + length + 6)}" y="{_num(y + row / 2)}" dy="0.32em" '
            f'fill="{INK}" font-size="12" font-weight="600">{_text(value_format(value))}</text>'
            f'</g>')
    if not items:
        parts.append(_empty(frame, empty))
    parts.append("</svg>")
    return Markup("".join(parts))
