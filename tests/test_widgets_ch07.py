"""Chapter 07 widgets: the IoU and NMS explorers, driven by setting .value and reading .state."""
import ipywidgets as W
import matplotlib
import numpy as np
import pytest
import torch
from torchvision.ops import box_iou, nms

import course_utils as cu
from course_utils.timing import nms_candidates
from tests.widget_layout import assert_lecture_layout

matplotlib.use("Agg")
cu.runtime.set_plot_style()  # the Japanese font, as cu.setup would (no missing-glyph warnings)


pytestmark = pytest.mark.usefixtures("each_language", "close_widgets")  # tests/conftest.py


def tv_iou(a, b):
    return box_iou(torch.tensor([a], dtype=torch.float64), torch.tensor([b], dtype=torch.float64)).item()


# ------------------------------------------------------------------------------------- IoU
def test_iou_defaults():
    w = cu.widgets.iou_explorer()
    assert set(w.controls) == {"ax", "ay", "bx", "by", "bw", "bh"}
    assert all(isinstance(c, W.IntSlider) for c in w.controls.values())
    s = w.state
    assert s["box_a"] == (20, 20, 60, 60) and s["box_b"] == (40, 30, 90, 80)
    assert s["inter_box"] == (40, 30, 60, 60) and s["inter"] == 600
    assert s["union"] == 1600 + 2500 - 600
    assert s["iou"] == pytest.approx(600 / 3500)
    assert "cu-iou-readout" in w.readout.value and "0.171" in w.readout.value
    assert "cu-iou-explorer" in w._dom_classes


def test_iou_sliders_move_the_boxes():
    w = cu.widgets.iou_explorer()
    w.controls["bx"].value = 20
    w.controls["by"].value = 20
    w.controls["bw"].value = 40
    w.controls["bh"].value = 40
    assert w.state["iou"] == pytest.approx(1.0)  # B on top of A
    w.controls["ax"].value = 0
    w.controls["ay"].value = 0
    assert w.state["box_a"] == (0, 0, 40, 40)
    assert w.state["iou"] == pytest.approx(tv_iou(w.state["box_a"], w.state["box_b"]))
    assert w.state["iou"] == pytest.approx(400 / 2800)  # the worked example [0,0,2,2] vs [1,1,3,3] scaled ×20
    w.controls["bx"].value = 40  # touching edges: no overlap
    assert w.state["inter"] == 0 and w.state["inter_box"] is None and w.state["iou"] == 0
    w.controls["bx"].value = 70
    assert w.state["iou"] == 0 and w.state["union"] == 1600 + 1600
    before = w.readout.value
    w.controls["bw"].value = 10
    assert w.readout.value != before


def test_iou_random_positions_match_torchvision():
    w = cu.widgets.iou_explorer(canvas=120)
    rng = np.random.default_rng(0)
    for _ in range(5):
        for name in ("ax", "ay", "bx", "by", "bw", "bh"):
            c = w.controls[name]
            c.value = int(rng.integers(c.min, c.max + 1))
        assert w.state["iou"] == pytest.approx(tv_iou(w.state["box_a"], w.state["box_b"]), abs=1e-12)


# ------------------------------------------------------------------------------------- NMS
def test_nms_defaults_match_torchvision():
    w = cu.widgets.nms_explorer()
    assert set(w.controls) == {"score_threshold", "iou_threshold"}
    boxes, scores = nms_candidates(60, seed=1, image=300.0, per_object=12)
    s = w.state
    above = np.flatnonzero(scores >= 0.3)
    expected = above[nms(torch.from_numpy(boxes[above]).double(), torch.from_numpy(scores[above]).double(), 0.5)]
    assert s["kept"] == expected.tolist()
    assert s["n"] == 60 and s["n_above"] == len(above) == s["n_kept"] + s["n_suppressed"]
    assert sorted(s["kept"] + s["suppressed"]) == s["above"]
    assert "cu-nms-readout" in w.readout.value


def test_nms_thresholds():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 12], [30, 30, 40, 40]], dtype=float)
    scores = np.array([0.9, 0.8, 0.4, 0.2])
    w = cu.widgets.nms_explorer(boxes, scores, score_threshold=0.0, iou_threshold=0.5)
    # IoU(0, 1) = 90/110 = 0.82, IoU(0, 2) = 100/120 = 0.83: both suppressed by box 0
    assert w.state["kept"] == [0, 3] and w.state["suppressed"] == [1, 2]
    assert w.state["suppressed_by"] == {1: 0, 2: 0}
    w.controls["iou_threshold"].value = 0.85  # nothing overlaps that much
    assert w.state["kept"] == [0, 1, 2, 3]
    w.controls["score_threshold"].value = 0.5
    assert w.state["above"] == [0, 1] and w.state["kept"] == [0, 1]
    w.controls["iou_threshold"].value = 0.8
    assert w.state["kept"] == [0] and w.state["suppressed"] == [1]
    w.controls["score_threshold"].value = 0.95  # nothing left
    assert w.state["kept"] == [] and w.state["n_above"] == 0


def test_nms_on_an_image_with_truth_and_tensors():
    image = np.zeros((3, 64, 64), dtype=np.float32)
    boxes = torch.tensor([[5.0, 5, 30, 30], [6, 6, 31, 31], [40, 40, 60, 60]])
    scores = torch.tensor([0.7, 0.9, 0.6])
    w = cu.widgets.nms_explorer(boxes, scores, image=image, truth=[[5, 5, 30, 30], [40, 40, 60, 60]])
    assert w.state["kept"] == [1, 2] and w.state["suppressed_by"] == {0: 1}


# --- lecture resolution (issue 16 §5): tests/widget_layout.py


def test_lecture_layout():
    assert assert_lecture_layout(cu.widgets.iou_explorer()) == 6
    assert assert_lecture_layout(cu.widgets.nms_explorer()) == 2
