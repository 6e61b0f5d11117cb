"""Charts drawn on the server as SVG: pure functions of their numbers and labels.

No script, no style attribute (the CSP allows neither): geometry is computed here and drawn
with SVG presentation attributes. Every piece of text is escaped. Each chart is an
`<svg role="img">` with a <title>; the same numbers are always in a table next to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 440  # viewBox units: about 1 unit per CSS pixel on a phone, text stays readable
FONT = 13
LABEL_CHARS = 9
MONTH_LABEL_WIDTH = 62  # '2026-03' at FONT, with a gap
COLOURS = {
    "primary": "#0d6efd",
    "primary-light": "#b6d4fe",
    "new": "#0d6efd",
    "won": "#198754",
    "lost": "#dc3545",
    "muted": "#6c757d",
    "grid": "#dee2e6",
}


@dataclass(frozen=True)
class Series:
    """One coloured series of a grouped chart: its key in the data, its label, its colour."""

    key: str
    label: str
    colour: str


def format_count(value: float) -> str:
    """1234 → '1,234'; 2.5 → '2.5'."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5, 5 × 10ⁿ at or above value (at least 1): a round axis end."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover (10 × magnitude always suffices)


def ticks(top: float, count: int = 4) -> list[float]:
    """Evenly spaced axis values from 0 to top (whole numbers when top is small)."""
    if top <= count:
        return [float(n) for n in range(int(top) + 1)]
    return [top * i / count for i in range(count + 1)]


def scale(values: Sequence[float], length: float) -> list[float]:
    """Bar lengths proportional to values, the largest taking `length` (all 0 when none)."""
    top = max((v for v in values if v), default=0)
    if not top:
        return [0.0 for _ in values]
    return [round(length * max(v, 0) / top, 2) for v in values]


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    """Long labels end in … on the chart (the table has them whole)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _n(value: float) -> str:
    """A coordinate without needless decimals."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _open_svg(width: float, height: float, title: str, css_class: str) -> list[str]:
    return [
        f'<svg class="report-chart {escape(css_class)}" viewBox="0 0 {_n(width)} {_n(height)}"'
        f' xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}"'
        f' font-size="{FONT}">',
        f"<title>{escape(title)}</title>",
    ]


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attrs.items())
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _label_text(x: float, y: float, text: str, limit: int = LABEL_CHARS) -> str:
    """A category label, shortened, with the whole text as its tooltip."""
    short = shorten(text, limit)
    if short == text:
        return _text(x, y, text, "end", dominant_baseline="middle")
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="end" dominant-baseline="middle">'
        f"<title>{escape(text)}</title>{escape(short)}</text>"
    )


def _rect(x: float, y: float, width: float, height: float, fill: str) -> str:
    return (
        f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(width)}" height="{_n(height)}"'
        f' fill="{escape(fill)}" rx="2"/>'
    )


def _legend(entries: Sequence[tuple[str, str]], x: float, y: float) -> list[str]:
    parts = []
    for text, colour in entries:
        parts.append(_rect(x, y - 9, 12, 12, colour))
        parts.append(_text(x + 17, y + 1, text))
        x += 17 + FONT * max(len(text), 2) * 0.75 + 24
    return parts


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    title: str,
    *,
    colour: str = COLOURS["primary"],
    value_text: Callable[[float], str] = format_count,
    label_width: float = 120,
    label_chars: int = LABEL_CHARS,
    row_height: float = 28,
) -> Markup:
    """Horizontal bars, one per (label, value), largest value the longest bar (None: "—")."""
    value_room = 56
    bar_room = WIDTH - label_width - value_room
    lengths = scale([value or 0 for _label, value in items], bar_room)
    height = max(len(items), 1) * row_height + 8
    parts = _open_svg(WIDTH, height, title, "bar-chart")
    for index, ((text, value), length) in enumerate(zip(items, lengths, strict=True)):
        middle = 4 + index * row_height + row_height / 2
        parts.append(_label_text(label_width - 8, middle, text, label_chars))
        parts.append(_rect(label_width, middle - 9, max(length, 1 if value else 0), 18, colour))
        text_value = "—" if value is None else value_text(value)
        parts.append(
            _text(label_width + length + 6, middle, text_value, dominant_baseline="middle")
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def funnel_chart(
    stages: Sequence[tuple[str, int, int]],
    title: str,
    reached_label: str,
    current_label: str,
) -> Markup:
    """A funnel of centred bars: (label, reached, now in stage) for each stage in order.

    The light bar is how many leads reached the stage, the dark bar inside it how many are in
    it now; the numbers at the right read "reached / now".
    """
    label_width, value_room, row_height, top = 76, 64, 30, 28
    bar_room = WIDTH - label_width - value_room
    reached = scale([r for _label, r, _c in stages], bar_room)
    widest = max((r for _label, r, _c in stages), default=0)
    current = [round(bar_room * c / widest, 2) if widest else 0.0 for _label, _r, c in stages]
    centre = label_width + bar_room / 2
    height = top + max(len(stages), 1) * row_height + 6
    parts = _open_svg(WIDTH, height, title, "funnel-chart")
    parts += _legend(
        [(reached_label, COLOURS["primary-light"]), (current_label, COLOURS["primary"])],
        label_width,
        14,
    )
    for index, ((text, n_reached, n_current), outer, inner) in enumerate(
        zip(stages, reached, current, strict=True)
    ):
        middle = top + index * row_height + row_height / 2
        parts.append(_label_text(label_width - 8, middle, text))
        if n_reached:
            parts.append(
                _rect(centre - outer / 2, middle - 11, outer, 22, COLOURS["primary-light"])
            )
        if n_current:
            parts.append(
                _rect(centre - inner / 2, middle - 7, max(inner, 1), 14, COLOURS["primary"])
            )
        parts.append(
            _text(
                WIDTH - 4,
                middle,
                f"{format_count(n_reached)} / {format_count(n_current)}",
                "end",
                dominant_baseline="middle",
            )
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(
    rows: Sequence[dict],
    series: Sequence[Series],
    title: str,
    month_key: str = "month",
    height: float = 260,
) -> Markup:
    """Grouped vertical bars: for each month one bar per series, with a value axis."""
    left, right, top, bottom = 44, 8, 30, 26
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    top_value = nice_ceiling(max((row[s.key] for row in rows for s in series), default=0))
    parts = _open_svg(WIDTH, height, title, "trend-chart")
    parts += _legend([(s.label, s.colour) for s in series], left, 14)
    for value in ticks(top_value):
        y = top + plot_h - plot_h * value / top_value
        parts.append(
            f'<line x1="{left}" y1="{_n(y)}" x2="{_n(WIDTH - right)}" y2="{_n(y)}"'
            f' stroke="{COLOURS["grid"]}" stroke-width="1"/>'
        )
        parts.append(_text(left - 6, y, format_count(value), "end", dominant_baseline="middle"))
    count = max(len(rows), 1)
    group = plot_w / count
    bar = group * 0.8 / max(len(series), 1)
    every = math.ceil(count * MONTH_LABEL_WIDTH / plot_w)  # labels must not overlap
    for index, row in enumerate(rows):
        x0 = left + index * group + group * 0.1
        for number, s in enumerate(series):
            value = row[s.key]
            bar_h = plot_h * value / top_value
            x = x0 + number * bar
            parts.append(
                f'<rect x="{_n(x)}" y="{_n(top + plot_h - bar_h)}" width="{_n(max(bar - 1, 1))}"'
                f' height="{_n(bar_h)}" fill="{escape(s.colour)}">'
                f"<title>{escape(row[month_key])} · {escape(s.label)}: "
                f"{escape(format_count(value))}</title></rect>"
            )
        if index % every == 0:
            parts.append(
                _text(left + index * group + group / 2, height - 8, str(row[month_key]), "middle")
            )
    parts.append(
        f'<line x1="{left}" y1="{_n(top + plot_h)}" x2="{_n(WIDTH - right)}"'
        f' y2="{_n(top + plot_h)}" stroke="{COLOURS["muted"]}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))
