"""Chapter 06 widget: driven from Python by setting .value and reading .state."""
import ipywidgets as W
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn as nn

import course_utils as cu
from tests.widget_layout import assert_lecture_layout

matplotlib.use("Agg")
cu.runtime.set_plot_style()  # the Japanese font, as cu.setup would (no missing-glyph warnings)


pytestmark = pytest.mark.usefixtures("each_language", "close_widgets")  # tests/conftest.py


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


# --- lecture resolution (issue 16 §5): tests/widget_layout.py; the legend beside the bars, not over them


def test_lecture_layout(widget):
    assert assert_lecture_layout(widget) == 5
    rows = [child for child in widget.children if isinstance(child, W.HBox)]
    assert max(len(row.children) for row in rows) == 2, "at most two sliders a row"


def test_legend_covers_no_bar(images, monkeypatch):
    figures, close = [], plt.close
    monkeypatch.setattr(plt, "close", figures.append)   # keep the figure the widget draws
    models = {"lr": LeftRight(), "also lr": LeftRight()}
    w = cu.widgets.transform_explorer(models, images, shift_only, class_names=["left", "right"], labels=[0, 1, 0])
    w.controls["index"].value = 1      # the blob on the right: the last class's bar reaches 1.0, under a corner legend
    assert w.state["probs"]["lr"][1] > 0.99 and w.state["probs"]["also lr"][1] > 0.99
    fig = figures[-1]
    fig.canvas.draw()
    ax_bar = fig.axes[1]
    legend = ax_bar.get_legend().get_window_extent()
    bars = [p.get_window_extent() for p in ax_bar.patches]
    assert len(bars) == 4 and max(p.get_height() for p in ax_bar.patches) > 0.99   # a bar reaches the top
    assert not any(legend.overlaps(bar) for bar in bars), "the legend covers a bar"
    assert fig.bbox.contains(legend.x0, legend.y0) and fig.bbox.contains(legend.x1, legend.y1), "legend cut off"
    for f in figures:
        close(f)
