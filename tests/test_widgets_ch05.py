"""Chapter 05 widget: the pooling explorer, driven by setting .value and reading .state."""
import ipywidgets as W
import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import course_utils as cu
from tests.widget_layout import assert_lecture_layout, controls, label_px, px

matplotlib.use("Agg")
cu.runtime.set_plot_style()  # the Japanese font, as cu.setup would (no missing-glyph warnings)


pytestmark = pytest.mark.usefixtures("each_language", "close_widgets")  # tests/conftest.py


def reference(image, k, s, mode):
    x = torch.from_numpy(np.transpose(image.astype(np.float32), (2, 0, 1)).copy())[None]
    y = F.max_pool2d(x, k, s) if mode == "max" else F.avg_pool2d(x, k, s)
    return np.transpose(y[0].numpy(), (1, 2, 0))


def test_defaults_on_the_cat():
    w = cu.widgets.pooling_explorer()
    assert set(w.controls) == {"k", "stride", "mode"}
    assert isinstance(w.controls["k"], W.IntSlider) and isinstance(w.controls["mode"], W.ToggleButtons)
    assert w.state["input_shape"] == (300, 451, 3)
    assert w.state["output_shape"] == (150, 225, 3)  # 451 is odd: floor, like torch
    assert w.state["mode"] == "max" and not w.state["overlap"]
    image = cu.data.sample_image("chelsea")
    np.testing.assert_allclose(w.state["output"], reference(image, 2, 2, "max"))


def test_controls_change_the_output():
    w = cu.widgets.pooling_explorer()
    image = cu.data.sample_image("chelsea")
    w.controls["k"].value = 3
    w.controls["stride"].value = 2
    assert w.state["output_shape"] == ((300 - 3) // 2 + 1, (451 - 3) // 2 + 1, 3)
    assert w.state["overlap"] is True
    w.controls["mode"].value = "avg"
    np.testing.assert_allclose(w.state["output"], reference(image, 3, 2, "avg"), rtol=1e-6, atol=1e-4)
    assert abs(w.state["ratio"] - 149 * 225 / (300 * 451)) < 1e-12
    w.controls["stride"].value = 5
    assert w.state["output_shape"][:2] == (60, 90) and w.state["gap"]
    max_out = reference(image, 3, 5, "max")
    assert not np.allclose(w.state["output"], max_out)
    w.controls["mode"].value = "max"
    np.testing.assert_allclose(w.state["output"], max_out)


def test_grey_image_and_array_input():
    w = cu.widgets.pooling_explorer("camera", k=4, stride=4)
    assert w.state["input_shape"] == (512, 512)
    assert w.state["output_shape"] == (128, 128)
    tiny = np.arange(5 * 7, dtype=np.uint8).reshape(5, 7)
    w = cu.widgets.pooling_explorer(tiny, k=2, stride=2)
    assert w.state["output_shape"] == (2, 3)
    assert w.controls["k"].max == 5
    np.testing.assert_array_equal(w.state["output"], [[8, 10, 12], [22, 24, 26]])
    w.controls["k"].value = 5
    w.controls["stride"].value = 1
    assert w.state["output_shape"] == (1, 3)


def test_k1_stride1_is_identity():
    tiny = np.random.default_rng(0).integers(0, 256, size=(6, 9, 3), dtype=np.uint8)
    w = cu.widgets.pooling_explorer(tiny, k=1, stride=1)
    np.testing.assert_array_equal(w.state["output"], tiny.astype(np.float32))
    assert w.state["ratio"] == 1.0


# --- lecture resolution (issue 16 §5): tests/widget_layout.py, plus the toggle buttons of this widget


def test_lecture_layout():
    w = cu.widgets.pooling_explorer()
    for control in controls(w):
        if isinstance(control, (W.HTML, W.Label, W.Output)):
            continue
        assert label_px(control.description) <= px(control.style.description_width), \
            f"label {control.description!r} cut off"
        if isinstance(control, W.ToggleButtons):
            width, label = px(control.layout.width), px(control.style.description_width)
            buttons = px(control.style.button_width) * len(control.options)
            assert label + buttons <= width, "the toggle buttons do not fit their row"
            assert all(label_px(name) <= px(control.style.button_width) - 16 for name, _ in control.options)
    assert sum(isinstance(c, W.IntSlider) for c in controls(w)) == 2
    assert assert_lecture_layout(w) == 2
    assert any(isinstance(child, W.HBox) for child in w.children), "the controls sit in a row that wraps"


def test_static_figure_matches_the_widget():
    import matplotlib.pyplot as plt

    fig = cu.widgets.pooling_figure("chelsea", k=4, stride=4)
    assert len(fig.axes) == 4
    assert "75" in fig._suptitle.get_text() and "112" in fig._suptitle.get_text()   # 300×451 → 75×112
    w = cu.widgets.pooling_explorer("chelsea", k=4, stride=4)
    assert w.state["output_shape"][:2] == (75, 112)
    plt.close(fig)
