"""The SVG chart helpers: escaped labels, scale, empty states."""

from __future__ import annotations

from fideliza.insights import charts


def test_labels_are_escaped():
    svg = charts.bar_chart(["<script>x</script>"], [3], title='a "title" & more')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'aria-label="a &quot;title&quot; &amp; more"' in svg


def test_empty_charts_say_so():
    assert "Sin datos" in charts.line_chart([("a", [], "#000")], [], title="t")
    assert "nada" in charts.heatmap([], [], [], title="t", empty_message="nada")
    assert "nada" in charts.bar_chart(["a"], [0], title="t", empty_message="nada")


def test_heatmap_cells_and_blank_cells():
    svg = charts.heatmap(["r1", "r2"], ["c1", "c2"], [[1, None], [0, 4]], title="t")
    assert svg.count("<rect") == 4
    assert "r2 · c2: 4" in svg


def test_line_chart_gaps_and_reference():
    svg = charts.line_chart([("s", [0.1, None, 0.3, 0.4], "#000")], ["a", "b", "c", "d"],
                            title="t", y_max=1.0, reference=[(0.2, 0.8, "20 %")])
    assert svg.count("<polyline") == 1 and svg.count("<circle") == 1
    assert "stroke-dasharray" in svg and "20 %" in svg
