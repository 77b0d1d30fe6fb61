"""Chapter 01 widget: driven from Python by setting .value and reading .state / the table."""
import ipywidgets as W
import matplotlib
import pytest

import course_utils as cu
from course_utils import i18n

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


# --- lecture resolution (issue 16 §5): every slider track ≥ 200 px at 1280×720, labels not cut off
READOUT_PX, MARGIN_PX = 64, 16   # ipywidgets 8: the readout box and the margins around the track


def _px(value):
    assert value and str(value).endswith("px"), f"expected a width in px, got {value!r}"
    return float(str(value)[:-2])


def _label_px(text):
    # full-width (Japanese) characters about 14 px at JupyterLab's 13 px font, others about 8 px
    return sum(14 if ord(ch) > 0x2E7F else 8 for ch in text)


def _controls(widget):
    found, todo = [], [widget]
    while todo:
        w = todo.pop()
        if isinstance(w, (W.Box,)):
            todo.extend(w.children)
        elif isinstance(w, W.widgets.widget_description.DescriptionWidget):
            found.append(w)
    return found


def assert_lecture_layout(widget):
    sliders = 0
    for control in _controls(widget):
        slider = isinstance(control, (W.IntSlider, W.FloatSlider, W.FloatLogSlider))
        if isinstance(control, (W.HTML, W.Label, W.Output)) or not (slider or control.description):
            continue
        width, label = _px(control.layout.width), _px(control.style.description_width)
        assert _px(control.layout.min_width) == width, f"{control.description}: a row could squeeze it"
        if control.description:
            assert _label_px(control.description) <= label, f"label {control.description!r} cut off at {label} px"
        if slider:
            sliders += 1
            track = width - label - READOUT_PX - MARGIN_PX
            assert track >= 200, f"{control.description}: slider track {track} px < 200 px"
    for box in [widget] + [w for w in widget.children if isinstance(w, W.HBox)]:
        if isinstance(box, W.HBox):
            assert box.layout.flex_flow == "row wrap", "a row of controls must wrap, not shrink"
    return sliders


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
