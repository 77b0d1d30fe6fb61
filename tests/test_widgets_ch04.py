"""Chapter 04 widgets, driven from plain Python: set .value, read .state."""
import ipywidgets as W
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from course_utils import i18n, widgets  # noqa: E402
from course_utils.runtime import set_plot_style  # noqa: E402
from course_utils.widgets import ch04  # noqa: E402
from tests.widget_layout import assert_lecture_layout

set_plot_style()  # the Japanese font, as cu.setup would (no missing-glyph warnings in the Japanese layout test)


@pytest.fixture(autouse=True)
def english():  # plots in English: no Japanese-font warnings without cu.setup
    before = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


def test_moving_average_explorer_source_examples():
    w = widgets.moving_average_explorer()
    np.testing.assert_allclose(w.state["output"], [3, 3, 4, 5, 6, 7, 6])
    w.controls["weights"].value = "1 0 1"
    np.testing.assert_allclose(w.state["output"], [3.0, 2.5, 5.0, 4.5, 5.5, 8.0, 4.5])
    np.testing.assert_allclose(w.state["normalised"], [0.5, 0, 0.5])
    assert w.state["offset"] == 1


def test_moving_average_explorer_stock_and_errors():
    w = widgets.moving_average_explorer()
    w.controls["signal"].value = "stock"
    w.controls["weights"].value = "1, 1, 1, 1, 1"
    assert len(w.state["x"]) == 250 and len(w.state["output"]) == 246
    assert np.std(np.diff(w.state["output"])) < np.std(np.diff(w.state["x"]))  # smoother
    w.controls["weights"].value = "1, -1"
    assert w.state["error"] and "output" not in w.state
    w.controls["weights"].value = "a, b"
    assert w.state["error"]
    w.controls["signal"].value = "source"
    w.controls["weights"].value = " ".join(["1"] * 12)
    assert w.state["error"]


def test_stock_prices_real_signal():
    prices = ch04.stock_prices()
    assert prices.ndim == 1 and len(prices) > 500 and np.isfinite(prices).all()


def test_conv_stepper_source_values():
    w = widgets.conv_stepper()
    assert (w.state["i"], w.state["j"]) == (0, 0)
    assert abs(w.state["value"] - 6.2) < 1e-9
    w.controls["step"].value = 1
    assert abs(w.state["value"] - 5.9) < 1e-9
    np.testing.assert_allclose(w.state["products"].sum(), 5.9)
    np.testing.assert_allclose(w.state["output"][0, :2], [6.2, 5.9])
    assert np.isnan(w.state["output"][0, 2])
    assert w.state["out_shape"] == (3, 5) and w.controls["step"].max == 14


def test_conv_stepper_stride_padding():
    w = widgets.conv_stepper()
    w.controls["padding"].value = 1
    assert w.state["out_shape"] == (5, 7) and w.controls["step"].max == 34
    w.controls["step"].value = 34
    assert (w.state["i"], w.state["j"]) == (4, 6)
    w.controls["stride"].value = 2
    assert w.state["out_shape"] == (3, 4) and w.controls["step"].max == 11
    assert w.state["step"] == 11 and (w.state["i"], w.state["j"]) == (2, 3)
    full = w.state["output"]
    assert not np.isnan(full).any()
    import torch
    import torch.nn.functional as F
    ref = F.conv2d(torch.tensor(ch04.SOURCE_IMAGE)[None, None], torch.tensor(ch04.SOURCE_FILTER)[None, None],
                   stride=2, padding=1)[0, 0].numpy()
    np.testing.assert_allclose(full, ref)


def test_kernel_editor_presets_and_cells():
    image = np.random.default_rng(0).uniform(size=(20, 24))
    w = widgets.kernel_editor(preset="identity", image=image)
    np.testing.assert_allclose(w.state["output"], image)
    w.preset.value = "box"
    np.testing.assert_allclose(w.state["kernel"], np.ones((3, 3)) / 9, atol=1e-4)
    assert w.state["display"] == "clip"
    np.testing.assert_allclose(w.state["output"][5, 5], image[4:7, 4:7].mean(), atol=1e-3)
    w.preset.value = "edge3"
    assert w.state["display"] == "abs" and abs(w.state["kernel_sum"]) < 1e-9
    import cv2
    ref = cv2.filter2D(image, cv2.CV_64F, ch04.KERNEL_PRESETS["edge3"], borderType=cv2.BORDER_CONSTANT)
    np.testing.assert_allclose(w.state["output"], ref, atol=1e-9)
    w.controls["k11"].value = 9.0  # edit a cell: the preset becomes "custom"
    assert w.preset.value == "custom" and w.state["kernel"][1, 1] == 9.0
    w.preset.value = "sharpen"
    np.testing.assert_allclose(w.state["kernel"], ch04.KERNEL_PRESETS["sharpen"])


def test_kernel_editor_preset_change_redraws_once_with_the_new_kernel(monkeypatch):
    image = np.random.default_rng(1).uniform(size=(12, 14))
    w = widgets.kernel_editor(preset="identity", image=image)
    filtered, drawn = [], []
    real_filter, real_subplots = ch04._filter_same, ch04.plt.subplots
    monkeypatch.setattr(ch04, "_filter_same", lambda im, k: filtered.append(k.copy()) or real_filter(im, k))
    monkeypatch.setattr(ch04.plt, "subplots", lambda *a, **k: drawn.append(1) or real_subplots(*a, **k))
    w.preset.value = "edge2"
    assert len(filtered) == 1 and len(drawn) == 1, "one preset change, one compute and one redraw"
    np.testing.assert_allclose(filtered[0], ch04.KERNEL_PRESETS["edge2"])
    np.testing.assert_allclose(w.state["kernel"], ch04.KERNEL_PRESETS["edge2"])
    assert w.preset.value == "edge2"            # the cells it set did not turn the preset into "custom"
    w.preset.value = "custom"                   # choosing "custom" keeps the kernel and redraws nothing
    assert len(filtered) == 1 and w.preset.value == "custom"
    w.controls["k00"].value = 2.0               # an edit while "custom": one redraw, preset stays "custom"
    assert len(filtered) == 2 and w.preset.value == "custom" and w.state["kernel"][0, 0] == 2.0
    w.preset.value = "box"
    assert len(filtered) == 3 and len(drawn) == 3
    np.testing.assert_allclose(w.state["kernel"], np.ones((3, 3)) / 9, atol=1e-4)


def test_message_keys_use_the_chapter_prefix():
    assert any(key.startswith("ch04w.") for key in i18n.keys())
    assert not [key for key in i18n.keys() if key.startswith("w04.")]


def test_kernel_editor_default_photo():
    w = widgets.kernel_editor()
    assert w.state["output"].shape == (256, 256)
    assert w.preset.value == "sharpen"


# --- lecture resolution (issue 16 §5): tests/widget_layout.py


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_lecture_layout(lang):
    i18n.set_language(lang)
    assert assert_lecture_layout(widgets.conv_stepper()) == 3
    assert assert_lecture_layout(widgets.moving_average_explorer()) == 0
    assert assert_lecture_layout(widgets.kernel_editor()) == 0
    W.Widget.close_all()


def test_static_stepper_figure_matches_the_widget():
    import matplotlib.pyplot as plt

    fig = widgets.conv_stepper_figure(step=1)
    assert len(fig.axes) == 3
    assert "5.90" in fig._suptitle.get_text()   # the second output of the 5×7 example
    plt.close(fig)
