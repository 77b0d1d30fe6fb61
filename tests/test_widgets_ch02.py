"""Chapter 02 widgets, driven from Python: set .value, read .state."""
import ipywidgets as W
import matplotlib
import numpy as np
import pytest

import course_utils as cu
from course_utils.widgets.ch02 import gradient_descent
from tests.widget_layout import assert_lecture_layout

matplotlib.use("Agg")
cu.runtime.set_plot_style()  # the Japanese font, as cu.setup would


def test_activation_explorer_values_and_slopes():
    w = cu.widgets.activation_explorer()
    assert isinstance(w, W.VBox)
    w.controls["x"].value = 0.5
    s = w.state
    assert s["x"] == 0.5
    assert s["values"]["step"] == 1.0 and s["slopes"]["step"] == 0.0
    sig = 1 / (1 + np.exp(-0.5))
    assert s["values"]["sigmoid"] == pytest.approx(sig)
    assert s["slopes"]["sigmoid"] == pytest.approx(sig * (1 - sig))
    assert s["values"]["relu"] == 0.5 and s["slopes"]["relu"] == 1.0


def test_activation_explorer_negative_x_and_choice():
    w = cu.widgets.activation_explorer()
    w.controls["functions"].value = ("relu", "tanh")
    w.controls["x"].value = -2.0
    s = w.state
    assert set(s["values"]) == {"relu", "tanh"}
    assert s["values"]["relu"] == 0.0 and s["slopes"]["relu"] == 0.0   # dead side of ReLU
    assert s["values"]["tanh"] == pytest.approx(np.tanh(-2.0))
    assert s["slopes"]["tanh"] == pytest.approx(1 - np.tanh(-2.0) ** 2)


def test_step_slope_is_zero_or_undefined():
    w = cu.widgets.activation_explorer()
    w.controls["functions"].value = ("step",)
    for x in (-3.0, -0.1, 0.1, 3.0):
        w.controls["x"].value = x
        assert w.state["slopes"]["step"] == 0.0
    w.controls["x"].value = 0.0
    assert w.state["values"]["step"] == 0.0            # step(0) = 0, x > 0 convention
    assert np.isnan(w.state["slopes"]["step"])         # a jump: no derivative


@pytest.mark.parametrize("lr, verdict", [(0.01, "too_small"), (0.3, "good"), (0.9, "oscillating"),
                                         (1.2, "diverging")])
def test_learning_rate_explorer_verdicts(lr, verdict):
    w = cu.widgets.learning_rate_explorer()
    w.controls["steps"].value = 20
    w.controls["w0"].value = -1.0
    w.controls["lr"].value = lr
    s = w.state
    assert s["verdict"] == verdict
    assert s["lr"] == pytest.approx(lr)
    assert len(s["ws"]) == 21
    # each step multiplies the distance to the bottom (w = 3) by (1 - 2η)
    gaps = np.array(s["ws"]) - 3.0
    np.testing.assert_allclose(gaps[1:], gaps[:-1] * (1 - 2 * lr), rtol=1e-9, atol=1e-12)


def test_learning_rate_explorer_good_reaches_bottom():
    w = cu.widgets.learning_rate_explorer(lr=0.1, steps=60, w0=-1.0)
    assert w.state["verdict"] == "good"
    assert w.state["final_w"] == pytest.approx(3.0, abs=1e-3)
    assert w.state["final_loss"] == pytest.approx(1.0, abs=1e-6)


def test_two_valleys_local_minimum():
    w = cu.widgets.learning_rate_explorer()
    w.controls["loss"].value = "two_valleys"
    w.controls["steps"].value = 60
    w.controls["lr"].value = 0.1
    w.controls["w0"].value = -4.0
    left = w.state["final_w"]
    w.controls["w0"].value = 1.0
    right = w.state["final_w"]
    assert left < 0 < right                                 # a different valley from each start
    assert w.state["final_loss"] < 1.0                      # the deeper one on the right


def test_gradient_descent_diverges_to_inf_without_error():
    s = gradient_descent(lr=5.0, steps=200, w0=0.0)
    assert s["verdict"] == "diverging"
    assert len(s["ws"]) < 201     # stopped once w ran away


# --- lecture resolution (issue 16 §5): tests/widget_layout.py


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_lecture_layout(lang):
    from course_utils import i18n

    old = i18n.language()
    i18n.set_language(lang)
    try:
        assert assert_lecture_layout(cu.widgets.activation_explorer()) == 1
        assert assert_lecture_layout(cu.widgets.learning_rate_explorer()) == 3
    finally:
        i18n.set_language(old)
        W.Widget.close_all()
