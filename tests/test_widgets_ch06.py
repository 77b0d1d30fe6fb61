"""Chapter 06 widget: driven from Python by setting .value and reading .state."""
import ipywidgets as W
import matplotlib
import numpy as np
import pytest
import torch
import torch.nn as nn

import course_utils as cu
from course_utils import i18n

matplotlib.use("Agg")
cu.runtime.set_plot_style()  # the Japanese font, as cu.setup would (no missing-glyph warnings)


@pytest.fixture(autouse=True, params=["en", "ja"])
def language(request):
    old = i18n.language()
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language(old)


def shift_only(x, shift=(0.0, 0.0), angle=0.0, scale=1.0):
    """A stand-in for the notebook's affine: whole-pixel shifts with torch.roll."""
    return torch.roll(x, shifts=(int(shift[1]), int(shift[0])), dims=(2, 3))


class LeftRight(nn.Module):
    """Class 0 when the left half is brighter, class 1 otherwise."""

    def forward(self, x):
        left, right = x[..., :, :4].sum((1, 2, 3)), x[..., :, 4:].sum((1, 2, 3))
        return torch.stack([left - right, right - left], 1) * 10


@pytest.fixture
def images():
    x = np.zeros((3, 1, 8, 8), np.float32)
    x[0, 0, 3:5, 1:3] = 1.0    # a blob on the left
    x[1, 0, 3:5, 5:7] = 1.0    # a blob on the right
    x[2, 0, 0, 0] = 1.0
    return x


@pytest.fixture
def widget(images):
    models = {"lr": LeftRight(), "linear": nn.Sequential(nn.Flatten(), nn.Linear(64, 2))}
    w = cu.widgets.transform_explorer(models, images, shift_only, class_names=["left", "right"], labels=[0, 1, 0])
    yield w
    W.Widget.close_all()


def test_controls(widget, images):
    assert set(widget.controls) == {"index", "shift_x", "shift_y", "angle", "scale"}
    assert widget.controls["index"].max == len(images) - 1
    assert widget.controls["scale"].value == 1.0


def test_initial_state(widget, images):
    s = widget.state
    assert s["index"] == 0 and s["label"] == 0
    np.testing.assert_array_equal(s["image"], images[0, 0])
    assert set(s["probs"]) == {"lr", "linear"}
    for p in s["probs"].values():
        assert len(p) == 2 and abs(sum(p) - 1) < 1e-5
    assert s["pred"]["lr"] == 0 and s["correct"]["lr"] is True


def test_shifting_changes_the_prediction(widget):
    widget.controls["shift_x"].value = 4.0
    s = widget.state
    assert s["params"][0] == 4.0
    assert s["pred"]["lr"] == 1 and s["correct"]["lr"] is False
    assert s["probs"]["lr"][1] > 0.99


def test_readout_follows_the_prediction(widget):
    before = widget.readout.value
    assert "cu-predictions" in before and "lr: left (1.00) ✓" in before and "+0°" in before
    widget.controls["shift_x"].value = 4.0
    after = widget.readout.value
    assert "lr: right (1.00) ✗" in after and "(+4, +0) px" in after
    assert widget.readout in widget.children and "cu-transform-explorer" in widget._dom_classes


def test_changing_the_image(widget, images):
    widget.controls["index"].value = 1
    s = widget.state
    assert s["index"] == 1 and s["label"] == 1 and s["pred"]["lr"] == 1
    np.testing.assert_array_equal(s["image"], images[1, 0])


def test_model_mode_is_restored(images):
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 3))
    model.train()
    w = cu.widgets.transform_explorer({"m": model}, torch.as_tensor(images), shift_only)
    assert model.training
    assert w.state["label"] is None and "correct" not in w.state
    w.controls["angle"].value = 30.0
    assert w.state["params"][2] == 30.0
    assert "+30°" in w.readout.value and "✓" not in w.readout.value and "✗" not in w.readout.value  # no labels
    W.Widget.close_all()
