"""Charts for the staff console and the partner portal as inline SVG, drawn on the server: no JavaScript,
no CDN, readable in any browser and in screenshots. Values are numbers; every label is escaped by
format_html."""

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 200, 56, 24, 12


def _nice_max(peak: float) -> float:
    """The axis top: the peak rounded up to 1, 2 or 5 × a power of ten (at least 1)."""
    if peak <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(peak))) - 1)
    for step in (1, 2, 5, 10):
        if peak <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def bar_chart(points: Sequence[tuple[str, Decimal | int | float]], *, title: str, colour: str) -> SafeString:
    """A bar per (label, value), with a y axis (0, middle, top) and the first, middle and last labels."""
    # A day with more refunds than charges consumed less than nothing: its bar is drawn at 0, its title
    # still says the real figure.
    values = [float(value) for _, value in points]
    heights = [max(value, 0.0) for value in values]
    top = _nice_max(max(heights, default=0))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(points), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
        (
            (
                _px(LEFT + i * slot + slot * 0.1),
                _px(TOP + plot_h - plot_h * height / top),
                _px(slot * 0.8),
                _px(plot_h * height / top),
                colour,
                label,
                _number(value),
            )
            for i, ((label, _), value, height) in enumerate(zip(points, values, heights, strict=True))
        ),
    )
    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ccc"/>'
        '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#666">{}</text>',
        (
            (
                LEFT,
                WIDTH - 8,
                _px(TOP + plot_h * (1 - f)),
                _px(TOP + plot_h * (1 - f)),
                LEFT - 6,
                _px(TOP + plot_h * (1 - f) + 4),
                _number(top * f),
            )
            for f in (0, 0.5, 1)
        ),
    )
    shown = sorted({0, len(points) // 2, len(points) - 1}) if points else []
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#666">{}</text>',
        ((_px(LEFT + i * slot + slot / 2), HEIGHT - 6, points[i][0]) for i in shown),
    )
    return format_html(
        '<svg class="console-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%" '
        'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title>{}</title>{}{}{}</svg>',
        title,
        WIDTH,
        HEIGHT,
        title,
        grid,
        bars,
        labels,
    )


def sparkline(values: Sequence[int | float], *, title: str, width: int = 120, height: int = 24) -> SafeString:
    """A small polyline of `values` (e.g. requests per day), scaled to its own peak."""
    peak = max(values, default=0) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (height - 4) * v / peak:.1f}" for i, v in enumerate(values)
    )
    return format_html(
        '<svg class="console-sparkline" role="img" aria-label="{}" width="{}" height="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title>{}</title>'
        '<polyline points="{}" fill="none" stroke="#417690" stroke-width="1.5"/></svg>',
        title,
        width,
        height,
        title,
        points,
    )


def _px(value: float) -> str:
    return f"{value:.1f}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
