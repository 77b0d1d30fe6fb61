"""Chapter 01 widget: driven from Python by setting .value and reading .state / the table."""
import ipywidgets as W
import matplotlib
import pytest

import course_utils as cu
from course_utils import i18n
from tests.widget_layout import assert_lecture_layout

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def english():
    old = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(old)


@pytest.fixture
def widget():
    w = cu.widgets.perceptron_explorer()
    yield w
    W.Widget.close_all()


def test_controls_and_table_exist(widget):
    assert set(widget.controls) == {"w1", "w2", "th", "gate"}
    for name in ("w1", "w2", "th"):
        assert isinstance(widget.controls[name], W.FloatSlider)
        assert widget.controls[name].description == name
    assert isinstance(widget.controls["gate"], W.Dropdown)
    assert widget.controls["gate"].description == "gate"
    assert list(widget.controls["gate"].options) == ["AND", "OR", "NAND", "XOR"]
    assert isinstance(widget.table, W.HTML)
    assert "cu-truth-table" in widget.table.value
    # the table is one of the displayed children
    shown = [c for box in widget.children for c in getattr(box, "children", [box])]
    assert widget.table in shown and widget.output in shown


def test_defaults_solve_no_gate(widget):
    for gate in ("AND", "OR", "NAND", "XOR"):
        widget.controls["gate"].value = gate
        assert widget.state["gate"] == gate
        assert widget.state["correct"] < 4, gate
    assert widget.state["outputs"] == [0, 0, 0, 0]


def test_default_state(widget):
    s = widget.state
    assert s["gate"] == "AND" and s["outputs"] == [0, 0, 0, 0] and s["correct"] == 3
    assert all(isinstance(v, int) for v in s["outputs"])
    assert "3/4 correct" in widget.table.value
    assert widget.table.value.count("cu-right") == 3 and widget.table.value.count("cu-wrong") == 1


def test_lowering_threshold_makes_and(widget):
    before = widget.table.value
    widget.controls["th"].value = 0.7
    assert widget.state["outputs"] == [0, 0, 0, 1]
    assert widget.state["correct"] == 4 and widget.state["solved"]
    assert widget.table.value != before
    assert "4/4 correct" in widget.table.value and "cu-wrong" not in widget.table.value


def test_threshold_exactly_met_fires(widget):
    # 0.5 + 0.5 = 1.0 >= 1.0, and slider arithmetic like 0.35 + 0.35 vs 0.7 must fire too
    widget.controls["th"].value = 1.0
    assert widget.state["outputs"][3] == 1
    widget.controls["w1"].value = 0.35
    widget.controls["w2"].value = 0.35
    widget.controls["th"].value = 0.7
    assert widget.state["outputs"] == [0, 0, 0, 1]


def test_or_and_nand(widget):
    widget.controls["gate"].value = "OR"
    widget.controls["th"].value = 0.2
    assert widget.state["outputs"] == [0, 1, 1, 1] and widget.state["correct"] == 4
    widget.controls["gate"].value = "NAND"
    assert widget.state["correct"] == 2  # (0,1) and (1,0) agree
    widget.controls["w1"].value = -0.5
    widget.controls["w2"].value = -0.5
    widget.controls["th"].value = -0.7
    assert widget.state["outputs"] == [1, 1, 1, 0] and widget.state["correct"] == 4


def test_xor_never_four(widget):
    widget.controls["gate"].value = "XOR"
    for w1, w2, th in ((0.5, 0.5, 0.2), (-0.5, -0.5, -0.7), (1.0, -1.0, 0.5)):  # OR, NAND, "x1 and not x2"
        widget.controls["w1"].value = w1
        widget.controls["w2"].value = w2
        widget.controls["th"].value = th
        assert widget.state["correct"] == 3
    assert "XOR" in widget.table.value
    # every slider position: at most 3/4 (the compute step alone, without drawing)
    from course_utils.widgets.ch01 import _compute

    grid = [round(-1.5 + 0.05 * i, 2) for i in range(0, 61, 3)]
    best = max(_compute(a, b, c, "XOR")["correct"] for a in grid for b in grid for c in grid)
    assert best == 3


def test_every_control_changes_the_table(widget):
    for name, value in (("w1", 0.3), ("w2", -0.4), ("th", 0.1), ("gate", "OR")):
        before = widget.table.value
        widget.controls[name].value = value
        assert widget.table.value != before, name


def test_japanese_table():
    from course_utils.runtime import set_plot_style

    set_plot_style()  # the Japanese font for the plot title
    i18n.set_language("ja")
    w = cu.widgets.perceptron_explorer()
    assert "3/4 正解" in w.table.value
    w.close()


def test_vertical_line_and_zero_weights_draw():
    w = cu.widgets.perceptron_explorer(w1=1.0, w2=0.0, th=0.5)
    assert w.state["outputs"] == [0, 0, 1, 1]
    w.controls["w1"].value = 0.0
    assert w.state["outputs"] == [0, 0, 0, 0]
    w.controls["th"].value = 0.0
    assert w.state["outputs"] == [1, 1, 1, 1]
    w.close()


# --- lecture resolution (issue 16 §5): tests/widget_layout.py


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_lecture_layout(lang):
    i18n.set_language(lang)
    assert assert_lecture_layout(cu.widgets.perceptron_explorer()) == 3
    W.Widget.close_all()


def test_static_figure():
    import matplotlib.pyplot as plt

    fig = cu.widgets.perceptron_figure()
    assert len(fig.axes) == 3
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == ["AND: 3/4 correct", "AND: 4/4 correct",
                                                                   "AND: 2/4 correct"]
    plt.close(fig)
