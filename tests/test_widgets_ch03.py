"""The chapter 03 computational-graph stepper, driven from Python."""
import math

import ipywidgets as W
import matplotlib
import pytest

matplotlib.use("Agg")

from course_utils import widgets  # noqa: E402
from course_utils.i18n import set_language  # noqa: E402
from course_utils.widgets.ch03 import graph_values  # noqa: E402
from tests.widget_layout import assert_lecture_layout


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


# --- lecture resolution (issue 16 §5): tests/widget_layout.py


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
