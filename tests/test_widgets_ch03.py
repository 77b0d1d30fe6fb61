"""The chapter 03 computational-graph stepper, driven from Python."""
import math

import ipywidgets as W
import matplotlib
import pytest

matplotlib.use("Agg")

from course_utils import widgets  # noqa: E402
from course_utils.i18n import set_language  # noqa: E402
from course_utils.widgets.ch03 import graph_values  # noqa: E402


@pytest.fixture(autouse=True)
def english():
    set_language("en")
    yield
    set_language("ja")


def test_worked_example_of_the_lecture():
    v = graph_values(2.0, 1.5, -2.0, 0.5, "relu")
    assert (v["u"], v["f1"], v["f2"], v["f"]) == (3.0, 3.0, -6.0, -3.0)
    assert (v["gW3"], v["gW2"], v["gW1"], v["gx"]) == (-6.0, 1.5, -2.0, -1.5)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_gradients_match_central_differences(activation):
    args = dict(x=0.7, W1=-1.2, W2=0.9, W3=2.5)
    v = graph_values(activation=activation, **args)
    h = 1e-6
    for name, key in [("x", "gx"), ("W1", "gW1"), ("W2", "gW2"), ("W3", "gW3")]:
        plus = graph_values(activation=activation, **{**args, name: args[name] + h})["f"]
        minus = graph_values(activation=activation, **{**args, name: args[name] - h})["f"]
        assert math.isclose(v[key], (plus - minus) / (2 * h), rel_tol=1e-6, abs_tol=1e-9), name


def test_steps_reveal_forward_then_backward():
    w = widgets.backprop_graph()
    assert w.state["step"] == 0 and set(w.state["shown"]) == {"x", "W1", "W2", "W3"}
    w.controls["step"].value = 4
    assert w.state["shown"]["f"] == -3.0
    assert not any(k.startswith("g") for k in w.state["shown"])
    w.controls["step"].value = 6
    assert w.state["shown"]["gW2"] == 1.5 and "gW1" not in w.state["shown"]
    assert "∂f/∂W2" in w.state["text"]
    w.controls["step"].value = 8
    assert w.state["shown"]["gW1"] == -2.0 and w.state["shown"]["gx"] == -1.5


def test_controls_change_the_numbers():
    w = widgets.backprop_graph(step=8)
    w.controls["x"].value = -1.0  # u = -1.5 < 0: ReLU blocks the gradient
    assert w.state["values"]["gW1"] == 0.0 and w.state["values"]["gx"] == 0.0
    w.controls["activation"].value = "sigmoid"
    y = 1 / (1 + math.exp(1.5))
    assert math.isclose(w.state["values"]["f1"], y)
    assert math.isclose(w.state["values"]["gu"], -2.0 * 0.5 * y * (1 - y))
    w.controls["W3"].value = 1.0
    assert math.isclose(w.state["values"]["gW3"], w.state["values"]["f2"])


def test_japanese_text():
    set_language("ja")
    w = widgets.backprop_graph(step=1)
    assert "順伝播" in w.state["text"]


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
    set_language(lang)
    assert assert_lecture_layout(widgets.backprop_graph()) == 5
    W.Widget.close_all()


def test_static_figure_shows_forward_then_backward():
    import matplotlib.pyplot as plt

    fig = widgets.backprop_graph_figure()
    assert len(fig.axes) == 2
    texts = [[t.get_text() for t in ax.texts] for ax in fig.axes]
    assert not any(s.startswith("∂f/∂") for s in texts[0])          # after the forward pass: no gradient yet
    assert "∂f/∂W1=-2" in texts[1] and "f=-3" in texts[1]           # the worked example, all filled in
    plt.close(fig)
