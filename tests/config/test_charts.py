import re
from decimal import Decimal

from infrastructure.charts import bar_chart, sparkline


def bar_heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect [^>]*height="([0-9.]+)"', svg)]


def test_bars_scale_to_a_round_axis_top():
    svg = bar_chart(
        [("Jan 01", Decimal("40")), ("Jan 02", 80), ("Jan 03", 0)], title="Sold", colour="#123456"
    )
    heights = bar_heights(svg)
    assert heights[1] == 2 * heights[0] and heights[2] == 0
    assert ">100<" in svg  # axis top: 80 rounded up to 100
    assert "Jan 02: 80" in svg


def test_a_negative_day_is_drawn_at_zero_but_titled_with_its_value():
    svg = bar_chart([("a", -4), ("b", 10)], title="Consumed", colour="#000")
    assert bar_heights(svg)[0] == 0 and "a: -4" in svg


def test_labels_and_titles_are_escaped():
    svg = bar_chart([("<b>x</b>", 1)], title='"><script>', colour="#000")
    assert "<script>" not in svg and "<b>" not in svg


def test_an_empty_chart_still_draws_its_axis():
    assert bar_heights(bar_chart([], title="Nothing", colour="#000")) == []


def test_sparkline_has_one_point_per_value():
    svg = sparkline([0, 3, 1, 0], title="Requests")
    points = re.search(r'points="([^"]+)"', svg).group(1).split()
    assert len(points) == 4
    assert float(points[1].split(",")[1]) < float(points[0].split(",")[1])  # the peak is drawn higher
