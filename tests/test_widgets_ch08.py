"""Chapter 08 widget: the up-sampling explorer, driven by setting .value and reading .state."""
import ipywidgets as W
import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import course_utils as cu
from course_utils.widgets.ch08 import upsample
from tests.widget_layout import assert_lecture_layout, assert_toggle_buttons_fit

matplotlib.use("Agg")
cu.runtime.set_plot_style()  # the Japanese font, as cu.setup would (no missing-glyph warnings)


pytestmark = pytest.mark.usefixtures("each_language", "close_widgets")  # tests/conftest.py


def test_defaults_show_the_checkerboard():
    w = cu.widgets.upsampling_explorer()
    assert set(w.controls) == {"method", "factor", "kernel"}
    assert isinstance(w.controls["method"], W.ToggleButtons) and isinstance(w.controls["kernel"], W.IntSlider)
    assert "cu-upsampling-explorer" in w._dom_classes
    assert w.state["method"] == "transposed" and w.state["input_shape"] == (6, 6)
    assert w.state["output_shape"] == ((6 - 1) * 2 + 3,) * 2       # (H − 1)·s + k
    assert w.state["inner_counts"] == [1, 2, 4] and w.state["uniform"] is False


def test_kernel_a_multiple_of_the_stride_is_uniform():
    w = cu.widgets.upsampling_explorer()
    w.controls["kernel"].value = 4
    assert w.state["uniform"] is True and w.state["inner_counts"] == [4]
    w.controls["factor"].value = 3
    assert w.state["output_shape"] == (5 * 3 + 4,) * 2
    assert w.state["uniform"] is False
    w.controls["kernel"].value = 6
    assert w.state["uniform"] is True and w.state["inner_counts"] == [4]


def test_interpolation_and_pixel_shuffle_sizes_and_values():
    image = np.random.default_rng(0).random((5, 7)).astype(np.float32)
    w = cu.widgets.upsampling_explorer(image=image, method="nearest")
    assert w.state["output_shape"] == (10, 14) and w.state["counts"] is None
    np.testing.assert_array_equal(w.state["output"], np.kron(image, np.ones((2, 2), dtype=np.float32)))
    w.controls["method"].value = "bilinear"
    expected = F.interpolate(torch.from_numpy(image)[None, None], scale_factor=2, mode="bilinear",
                             align_corners=False)[0, 0].numpy()
    np.testing.assert_allclose(w.state["output"], expected, rtol=1e-6)
    w.controls["method"].value = "pixel_shuffle"
    w.controls["factor"].value = 3
    assert w.state["output_shape"] == (15, 21)
    # the top-left pixel of every 3×3 block is the (unshifted) input pixel
    np.testing.assert_array_equal(w.state["output"][::3, ::3], image)


def test_transposed_output_is_the_stamped_sum():
    image = np.arange(6, dtype=np.float32).reshape(2, 3)
    out, counts = upsample(image, "transposed", factor=2, kernel=3)
    expected = np.zeros((5, 7))
    for i in range(2):
        for j in range(3):
            expected[2 * i:2 * i + 3, 2 * j:2 * j + 3] += image[i, j] / (3 / 2) ** 2
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert counts.max() == 4 and counts.min() == 1
    with pytest.raises(ValueError):
        upsample(image, "cubic", 2)


def test_dilation_explorer_gridding_and_receptive_field():
    w = cu.widgets.dilation_explorer()
    assert set(w.controls) == {"d1", "d2", "d3"}
    assert w.state["receptive_field"] == w.state["measured"] == 13
    assert w.state["gridding"] is True and abs(w.state["coverage"] - 49 / 169) < 1e-12
    w.controls["d1"].value = 1
    w.controls["d3"].value = 4
    assert w.state["dilations"] == [1, 2, 4]
    assert w.state["receptive_field"] == w.state["measured"] == 15
    assert w.state["gridding"] is False and w.state["coverage"] == 1.0
    w.controls["d2"].value = 1
    w.controls["d3"].value = 1
    assert w.state["receptive_field"] == 7 and not w.state["gridding"]


# --- lecture resolution (issue 16 §5): tests/widget_layout.py


def test_lecture_layout():
    upsampling = cu.widgets.upsampling_explorer()
    assert assert_lecture_layout(upsampling) == 2
    assert_toggle_buttons_fit(upsampling)
    assert assert_lecture_layout(cu.widgets.dilation_explorer()) == 3
