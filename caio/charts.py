"""Small charts drawn on the server as inline SVG: nothing is fetched from the internet, nothing runs in the browser.

Each function returns markup safe to put in a template as is (every label is
escaped here). The figures themselves are printed in each chart's <title>
elements and in a visually hidden table, so a screen reader and a test can
read what the picture shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# outreach/static/outreach/charts.css repeats these as .swatch-0 … .swatch-7 for the legends.
PALETTE = ("#417690", "#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#00838f", "#8d6e63", "#546e7a")


def _table(caption: str, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[object]]]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr><th>" + escape(label) + "</th>" + "".join(f"<td>{escape(v)}</td>" for v in values) + "</tr>" for label, values in rows
    )
    return (
        # In a hidden box, not a hidden table: a table grows to its content whatever its width,
        # and thirty columns made the whole index scroll sideways.
        f'<div class="visually-hidden"><table class="chart-data"><caption>{escape(caption)}</caption>'
        f"<tr><th></th>{head}</tr>{body}</table></div>"
    )


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 640,
    height: int = 180,
) -> SafeString:
    """Lines over `labels` (e.g. days), one per named series, on one shared scale from 0."""
    left, right, top, bottom = 34, 10, 10, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1] + [max(values, default=0) for _, values in series])
    step = plot_w / max(1, len(labels) - 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: int) -> float:
        return top + plot_h - (v / peak) * plot_h

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    if labels:
        parts.append(f'<text x="{left}" y="{height - 6}" font-size="10">{escape(labels[0])}</text>')
        parts.append(f'<text x="{left + plot_w}" y="{height - 6}" font-size="10" text-anchor="end">{escape(labels[-1])}</text>')
    for index, (name, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"><title>{escape(name)}</title></polyline>')
        for i, v in enumerate(values):
            if v:
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                    f"<title>{escape(name)} {escape(labels[i])}: {v}</title></circle>"
                )
    parts.append("</svg>")
    legend = "".join(
        format_html('<span class="legend-item"><span class="swatch swatch-{}"></span>{} {}</span>', i % len(PALETTE), name, sum(values))
        for i, (name, values) in enumerate(series)
    )
    table = _table(title, list(labels), [(name, list(values)) for name, values in series])
    return mark_safe(f'<figure class="chart-figure">{"".join(parts)}<figcaption>{legend}</figcaption>{table}</figure>')


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 640,
    bar_height: int = 12,
) -> SafeString:
    """Horizontal grouped bars: for each category one bar per series (e.g. rejection reasons by version)."""
    label_w, right, gap = 200, 40, 10
    group_h = bar_height * max(1, len(series)) + gap
    height = max(40, group_h * max(1, len(categories)) + 10)
    peak = max([1] + [max(values, default=0) for _, values in series])
    plot_w = width - label_w - right
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for c, category in enumerate(categories):
        top = 5 + c * group_h
        parts.append(f'<text x="{label_w - 6}" y="{top + group_h / 2:.1f}" font-size="11" text-anchor="end">{escape(category)}</text>')
        for s, (name, values) in enumerate(series):
            value = values[c] if c < len(values) else 0
            y = top + s * bar_height
            w = (value / peak) * plot_w
            colour = PALETTE[s % len(PALETTE)]
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height - 2}" fill="{colour}">'
                f"<title>{escape(name)} · {escape(category)}: {value}</title></rect>"
            )
            if value:
                parts.append(f'<text x="{label_w + w + 3:.1f}" y="{y + bar_height - 3}" font-size="10">{value}</text>')
    parts.append("</svg>")
    legend = "".join(
        format_html('<span class="legend-item"><span class="swatch swatch-{}"></span>{}</span>', i % len(PALETTE), name)
        for i, (name, _) in enumerate(series)
    )
    table = _table(title, list(categories), [(name, list(values)) for name, values in series])
    return mark_safe(f'<figure class="chart-figure">{"".join(parts)}<figcaption>{legend}</figcaption>{table}</figure>')


def progress(title: str, done: int, needed: int, *, width: int = 240, height: int = 18, fill: str = "#2e7d32") -> SafeString:
    """A bar `done` of `needed` long (e.g. clean days toward graduation), with the figures in its title."""
    share = 0 if not needed else min(1.0, done / needed)
    return format_html(
        '<svg class="chart progress" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
        '<title>{title}: {done} of {needed}</title>'
        '<rect x="0" y="0" width="{w}" height="{h}" rx="4" fill="#e0e0e0"/>'
        '<rect x="0" y="0" width="{filled}" height="{h}" rx="4" fill="{fill}"/>'
        '<text x="{mid}" y="{ty}" font-size="11" text-anchor="middle">{done} / {needed}</text></svg>',
        w=width, h=height, title=title, done=done, needed=needed, filled=f"{share * width:.1f}", fill=fill, mid=width / 2, ty=height - 5,
    )


def step_chart(title: str, points: Sequence[tuple[str, int]], *, width: int = 640, height: int = 160) -> SafeString:
    """A value that changes in steps over time (e.g. the daily cap): one horizontal run per point."""
    if not points:
        return format_html('<p class="chart-empty">{}: nothing yet.</p>', title)
    labels = [label for label, _ in points]
    values = [value for _, value in points]
    left, right, top, bottom = 34, 10, 10, 22
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *values])
    step = plot_w / max(1, len(points))

    def y(v: int) -> float:
        return top + plot_h - (v / peak) * plot_h

    path = []
    for i, v in enumerate(values):
        path.append(f"{'M' if i == 0 else 'L'}{left + i * step:.1f},{y(v):.1f} L{left + (i + 1) * step:.1f},{y(v):.1f}")
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>',
        f'<path d="{" ".join(path)}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>',
        f'<text x="{left}" y="{height - 6}" font-size="10">{escape(labels[0])}</text>',
        f'<text x="{left + plot_w}" y="{height - 6}" font-size="10" text-anchor="end">{escape(labels[-1])}</text>',
    ]
    for i, (label, v) in enumerate(points):
        parts.append(f'<circle cx="{left + i * step:.1f}" cy="{y(v):.1f}" r="2.5" fill="{PALETTE[0]}"><title>{escape(label)}: {v}</title></circle>')
    parts.append("</svg>")
    table = _table(title, labels, [("value", values)])
    return mark_safe(f'<figure class="chart-figure">{"".join(parts)}{table}</figure>')
