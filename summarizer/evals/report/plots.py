"""Inline SVG plots for the HTML report: no JavaScript library, no network, nothing to load."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6", "#9D755D", "#BAB0AC")


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _domain(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 1.0
    lo, hi = min(values), max(values)
    if lo >= 0 and hi <= 1:
        return 0.0, 1.0
    lo = min(lo, 0.0)
    return lo, hi if hi > lo else lo + 1.0


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def bar_chart(title: str, bars: Sequence[tuple[str, float | None, float | None, float | None]],
              width: int = 320, row: int = 22) -> str:
    """Horizontal bars (one per system: name, mean, CI low, CI high) with 95 % CI whiskers."""
    label_w, pad = 130, 8
    height = 28 + row * len(bars) + 18
    plot_w = width - label_w - pad - 40
    values = [v for _, m, lo, hi in bars for v in (m, lo, hi) if v is not None]
    d0, d1 = _domain(values)

    def x(v: float) -> float:
        return label_w + (v - d0) / (d1 - d0) * plot_w

    parts = [f'<svg class="plot bars" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="4" y="16" class="title">{escape(title)}</text>']
    for i, (name, mean, lo, hi) in enumerate(bars):
        y = 28 + i * row
        parts.append(f'<text x="{label_w - 6}" y="{y + row * 0.65:.1f}" text-anchor="end" class="label">'
                     f'{escape(name[:22])}</text>')
        if mean is None:
            parts.append(f'<text x="{label_w + 4}" y="{y + row * 0.65:.1f}" class="na">no score</text>')
            continue
        x0 = x(max(d0, 0.0))
        parts.append(f'<rect x="{min(x0, x(mean)):.1f}" y="{y + 3}" width="{max(abs(x(mean) - x0), 1):.1f}" '
                     f'height="{row - 8}" fill="{color(i)}"><title>{escape(name)}: {_fmt(mean)}</title></rect>')
        if lo is not None and hi is not None and hi > lo:
            cy = y + row / 2 - 1
            parts.append(f'<line x1="{x(lo):.1f}" x2="{x(hi):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" class="ci"/>'
                         f'<line x1="{x(lo):.1f}" x2="{x(lo):.1f}" y1="{cy - 4:.1f}" y2="{cy + 4:.1f}" class="ci"/>'
                         f'<line x1="{x(hi):.1f}" x2="{x(hi):.1f}" y1="{cy - 4:.1f}" y2="{cy + 4:.1f}" class="ci"/>')
        parts.append(f'<text x="{x(hi if hi is not None else mean) + 4:.1f}" y="{y + row * 0.65:.1f}" '
                     f'class="value">{_fmt(mean)}</text>')
    axis_y = 28 + row * len(bars) + 12
    parts.append(f'<text x="{label_w}" y="{axis_y}" class="axis">{_fmt(d0)}</text>'
                 f'<text x="{label_w + plot_w}" y="{axis_y}" text-anchor="end" class="axis">{_fmt(d1)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def strip_plot(title: str, series: Sequence[tuple[str, Sequence[float]]], width: int = 320, row: int = 22) -> str:
    """Every case's value as a dot, one row per system (the distribution behind each mean)."""
    label_w, pad = 130, 8
    height = 28 + row * len(series) + 18
    plot_w = width - label_w - pad - 10
    values = [v for _, vs in series for v in vs]
    d0, d1 = _domain(values)
    parts = [f'<svg class="plot dist" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f'<text x="4" y="16" class="title">{escape(title)}</text>']
    for i, (name, vs) in enumerate(series):
        y = 28 + i * row
        parts.append(f'<text x="{label_w - 6}" y="{y + row * 0.65:.1f}" text-anchor="end" class="label">'
                     f'{escape(name[:22])}</text>'
                     f'<line x1="{label_w}" x2="{label_w + plot_w}" y1="{y + row / 2:.1f}" y2="{y + row / 2:.1f}" '
                     f'class="grid"/>')
        for k, v in enumerate(vs):
            jitter = (math.sin(k * 12.9898) * 43758.5453) % 1 * (row - 10) - (row - 10) / 2
            cx = label_w + (v - d0) / (d1 - d0) * plot_w
            parts.append(f'<circle cx="{cx:.1f}" cy="{y + row / 2 + jitter:.1f}" r="3" fill="{color(i)}" '
                         f'fill-opacity="0.6"><title>{_fmt(v)}</title></circle>')
        if not vs:
            parts.append(f'<text x="{label_w + 4}" y="{y + row * 0.65:.1f}" class="na">no score</text>')
    axis_y = 28 + row * len(series) + 12
    parts.append(f'<text x="{label_w}" y="{axis_y}" class="axis">{_fmt(d0)}</text>'
                 f'<text x="{label_w + plot_w}" y="{axis_y}" text-anchor="end" class="axis">{_fmt(d1)}</text>')
    parts.append("</svg>")
    return "".join(parts)
