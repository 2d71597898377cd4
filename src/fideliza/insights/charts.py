"""Server-rendered inline SVG charts: no JavaScript library, no CDN, works offline.

Each function takes plain numbers and labels and returns SVG markup (marked safe; every
label is escaped here). Charts scale with their container through ``viewBox``; colours
are inline attributes so they draw even without the stylesheet. Every chart carries a
``<title>`` and ``aria-label`` for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
PRIMARY = "#2563eb"
SECONDARY = "#dc2626"
TERTIARY = "#16a34a"
FONT = 'font-family="system-ui, sans-serif"'


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _open(width: int, height: int, title: str, css_class: str) -> list[str]:
    t = escape(title)
    return [
        f'<svg class="chart {css_class}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{t}" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f"<title>{t}</title>",
    ]


def _empty(width: int, height: int, title: str, css_class: str, message: str) -> SafeString:
    parts = _open(width, height, title, css_class)
    parts.append(
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{MUTED}" '
        f'font-size="14" {FONT}>{escape(message)}</text></svg>'
    )
    return mark_safe("".join(parts))


def _heat_colour(share: float) -> str:
    """White → deep blue for a share in [0, 1]."""
    share = max(0.0, min(1.0, share))
    r = round(255 - (255 - 29) * share)
    g = round(255 - (255 - 78) * share)
    b = round(255 - (255 - 216) * share)
    return f"rgb({r},{g},{b})"


def line_chart(
    series: Sequence[tuple[str, Sequence[float | None], str]],
    x_labels: Sequence[str],
    *,
    title: str,
    y_max: float | None = None,
    y_format: Callable[[float], str] = lambda v: f"{v:.0%}",
    css_class: str = "chart-line",
    empty_message: str = "Sin datos",
    reference: Sequence[tuple[float | None, float | None, str]] = (),
    x_is_share: bool = False,
) -> SafeString:
    """Lines over shared x positions. `series` = (name, values, colour); None = gap.

    `reference` draws dashed guides at (x share, y value) with a label (e.g. the 80/20
    point of a Pareto curve); `x_is_share` labels the x axis 0 %…100 %.
    """
    width, height = 640, 300
    left, right, top, bottom = 56, 16, 16, 56
    n = len(x_labels)
    values = [v for _, vals, _ in series for v in vals if v is not None]
    if n < 2 or not values:
        return _empty(width, height, title, css_class, empty_message)
    top_value = y_max if y_max is not None else max(values) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(i: float) -> float:
        return left + plot_w * i / (n - 1)

    def py(v: float) -> float:
        return top + plot_h * (1 - v / top_value)

    parts = _open(width, height, title, css_class)
    for k in range(5):
        v = top_value * k / 4
        y = py(v)
        parts.append(f'<line x1="{left}" y1="{_fmt(y)}" x2="{width - right}" y2="{_fmt(y)}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}" {FONT}>{escape(y_format(v))}</text>'
        )
    # Empty labels mean "no tick here"; otherwise about eight ticks.
    step = 1 if any(label == "" for label in x_labels) else max(1, math.ceil(n / 8))
    for i in range(0, n, step):
        if not x_labels[i]:
            continue
        parts.append(
            f'<text x="{_fmt(px(i))}" y="{height - bottom + 18}" text-anchor="middle" '
            f'font-size="11" fill="{MUTED}" {FONT}>{escape(x_labels[i])}</text>'
        )
    for x_share, y_value, label in reference:
        if x_share is not None:
            x = left + plot_w * x_share
            parts.append(f'<line x1="{_fmt(x)}" y1="{top}" x2="{_fmt(x)}" y2="{top + plot_h}" '
                         f'stroke="{MUTED}" stroke-dasharray="4 4"/>')
        if y_value is not None:
            y = py(y_value)
            parts.append(f'<line x1="{left}" y1="{_fmt(y)}" x2="{width - right}" y2="{_fmt(y)}" '
                         f'stroke="{MUTED}" stroke-dasharray="4 4"/>')
        if label:
            lx = left + plot_w * (x_share if x_share is not None else 0.02) + 6
            ly = py(y_value) - 6 if y_value is not None else top + 14
            parts.append(f'<text x="{_fmt(lx)}" y="{_fmt(ly)}" font-size="12" fill="{INK}" '
                         f'{FONT}>{escape(label)}</text>')
    for name, vals, colour in series:
        segments: list[list[str]] = [[]]
        for i, value in enumerate(vals):
            if value is None:
                segments.append([])
                continue
            segments[-1].append(f"{_fmt(px(i))},{_fmt(py(value))}")
        for seg in segments:
            if len(seg) > 1:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" '
                             f'points="{" ".join(seg)}"><title>{escape(name)}</title></polyline>')
            elif len(seg) == 1:
                cx, cy = seg[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
    # Legend.
    lx = left
    for name, _vals, colour in series:
        parts.append(f'<rect x="{lx}" y="{height - 22}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16}" y="{height - 12}" font-size="12" fill="{INK}" '
                     f'{FONT}>{escape(name)}</text>')
        lx += 24 + 7 * len(name)
    parts.append("</svg>")
    return mark_safe("".join(parts))


def heatmap(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    matrix: Sequence[Sequence[float | None]],
    *,
    title: str,
    cell_text: Callable[[float], str] = lambda v: f"{v:.0f}",
    scale_max: float | None = None,
    row_title: str = "",
    col_title: str = "",
    css_class: str = "chart-heatmap",
    empty_message: str = "Sin datos",
) -> SafeString:
    """A grid of coloured cells with their values; None cells stay blank."""
    width = 640
    left, top = 150, 40
    n_rows, n_cols = len(row_labels), len(col_labels)
    flat = [v for row in matrix for v in row if v is not None]
    if not n_rows or not n_cols or not flat:
        return _empty(width, 240, title, css_class, empty_message)
    cell_w = (width - left - 10) / n_cols
    cell_h = max(18.0, min(44.0, 420 / n_rows))
    height = int(top + cell_h * n_rows + 10)
    top_value = scale_max if scale_max is not None else (max(flat) or 1.0)
    parts = _open(width, height, title, css_class)
    if col_title:
        parts.append(f'<text x="{left + (width - left) / 2}" y="12" text-anchor="middle" '
                     f'font-size="12" fill="{MUTED}" {FONT}>{escape(col_title)}</text>')
    if row_title:
        parts.append(f'<text x="4" y="12" font-size="12" fill="{MUTED}" {FONT}>{escape(row_title)}</text>')
    font = max(9, min(13, int(cell_w / 4)))
    for j, label in enumerate(col_labels):
        parts.append(f'<text x="{_fmt(left + cell_w * (j + 0.5))}" y="{top - 8}" text-anchor="middle" '
                     f'font-size="{font}" fill="{INK}" {FONT}>{escape(label)}</text>')
    for i, label in enumerate(row_labels):
        y = top + cell_h * i
        parts.append(f'<text x="{left - 6}" y="{_fmt(y + cell_h / 2 + 4)}" text-anchor="end" '
                     f'font-size="12" fill="{INK}" {FONT}>{escape(label)}</text>')
        for j in range(n_cols):
            v = matrix[i][j] if j < len(matrix[i]) else None
            x = left + cell_w * j
            if v is None:
                parts.append(f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(cell_w - 1)}" '
                             f'height="{_fmt(cell_h - 1)}" fill="#f8fafc"/>')
                continue
            share = v / top_value if top_value else 0.0
            text_colour = "#ffffff" if share > 0.55 else INK
            parts.append(
                f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(cell_w - 1)}" height="{_fmt(cell_h - 1)}" '
                f'fill="{_heat_colour(share)}"><title>{escape(label)} · {escape(col_labels[j])}: '
                f'{escape(cell_text(v))}</title></rect>'
            )
            parts.append(
                f'<text x="{_fmt(x + cell_w / 2)}" y="{_fmt(y + cell_h / 2 + 4)}" text-anchor="middle" '
                f'font-size="{font}" fill="{text_colour}" {FONT}>{escape(cell_text(v))}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    value_format: Callable[[float], str] = lambda v: f"{v:.0f}",
    horizontal: bool = False,
    colour: str = PRIMARY,
    colours: Sequence[str] | None = None,
    x_max: float | None = None,
    css_class: str = "chart-bar",
    empty_message: str = "Sin datos",
) -> SafeString:
    """Bars with their values: vertical (histograms) or horizontal (one per category)."""
    width = 640
    if not labels or not any(v for v in values):
        return _empty(width, 240, title, css_class, empty_message)
    top_value = x_max if x_max is not None else (max(values) or 1.0)
    if horizontal:
        left, right, top = 170, 60, 10
        bar_h = 24
        height = top + bar_h * len(labels) + 10
        parts = _open(width, height, title, css_class)
        plot_w = width - left - right
        for i, (label, v) in enumerate(zip(labels, values, strict=True)):
            y = top + bar_h * i
            w = plot_w * (v / top_value if top_value else 0)
            fill = colours[i] if colours else colour
            parts.append(f'<text x="{left - 6}" y="{y + 16}" text-anchor="end" font-size="12" '
                         f'fill="{INK}" {FONT}>{escape(label)}</text>')
            parts.append(f'<rect x="{left}" y="{y + 3}" width="{_fmt(max(w, 1))}" height="{bar_h - 6}" '
                         f'fill="{fill}"><title>{escape(label)}: {escape(value_format(v))}</title></rect>')
            parts.append(f'<text x="{_fmt(left + w + 4)}" y="{y + 16}" font-size="12" fill="{INK}" '
                         f'{FONT}>{escape(value_format(v))}</text>')
        parts.append("</svg>")
        return mark_safe("".join(parts))
    height = 280
    left, right, top, bottom = 48, 10, 20, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    bar_w = plot_w / len(labels)
    parts = _open(width, height, title, css_class)
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{MUTED}"/>')
    step = max(1, math.ceil(len(labels) / 10))
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * (v / top_value if top_value else 0)
        x = left + bar_w * i
        fill = colours[i] if colours else colour
        parts.append(f'<rect x="{_fmt(x + 1)}" y="{_fmt(top + plot_h - h)}" width="{_fmt(max(bar_w - 2, 1))}" '
                     f'height="{_fmt(h)}" fill="{fill}"><title>{escape(label)}: '
                     f'{escape(value_format(v))}</title></rect>')
        if i % step == 0:
            parts.append(
                f'<text x="{_fmt(x + bar_w / 2)}" y="{top + plot_h + 14}" text-anchor="end" '
                f'font-size="10" fill="{MUTED}" {FONT} transform="rotate(-35 {_fmt(x + bar_w / 2)} '
                f'{top + plot_h + 14})">{escape(label)}</text>'
            )
    parts.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" font-size="11" fill="{MUTED}" '
                 f'{FONT}>{escape(value_format(top_value))}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
