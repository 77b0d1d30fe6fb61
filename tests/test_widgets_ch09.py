"""Chapter 09 widgets: driven from Python by setting .value and reading .state."""
import matplotlib
import numpy as np
import pytest
import torch
import torch.nn as nn

import course_utils as cu
from tests.widget_layout import assert_lecture_layout

matplotlib.use("Agg")
cu.runtime.set_plot_style()  # the Japanese font, as cu.setup would (no missing-glyph warnings)

Z_DIM = 4


pytestmark = pytest.mark.usefixtures("each_language", "close_widgets")  # tests/conftest.py


class Brightness(nn.Module):
    """A stand-in generator: an 8×8 image whose brightness is tanh(z[0]) (+ the class's column lit)."""

    def __init__(self, conditional=False):
        super().__init__()
        self.dropout = nn.Dropout(0.5)          # to see that the widget switches to eval mode
        self.conditional = conditional

    def forward(self, z, labels=None):
        assert not self.training
        out = torch.tanh(z[:, :1, None, None]).expand(-1, 1, 8, 8).clone()
        if labels is not None:
            out[torch.arange(len(z)), 0, :, labels] = 1.0
        return self.dropout(out)


class ColumnJudge(nn.Module):
    """Reads the class from the brightest column (the stand-in for the notebook's classifier)."""

    def forward(self, x):
        return x[:, 0].mean(1) * 100


def test_interpolation_ends_are_the_two_seeds():
    gen = Brightness().train()
    w = cu.widgets.latent_interpolation(gen, Z_DIM, seed_a=3, seed_b=7, steps=5)
    assert gen.training                       # mode restored
    assert set(w.controls) == {"seed_a", "seed_b", "alpha"}
    z_a = torch.randn(1, Z_DIM, generator=torch.Generator().manual_seed(3))[0].numpy()
    z_b = torch.randn(1, Z_DIM, generator=torch.Generator().manual_seed(7))[0].numpy()
    np.testing.assert_allclose(w.state["z"], z_a, rtol=1e-6)
    assert w.state["strip"].shape == (5, 8, 8)
    np.testing.assert_allclose(w.state["image"], w.state["strip"][0], atol=1e-6)
    w.controls["alpha"].value = 1.0
    np.testing.assert_allclose(w.state["z"], z_b, rtol=1e-6)
    np.testing.assert_allclose(w.state["image"], w.state["strip"][-1], atol=1e-6)
    assert w.state["alpha"] == 1.0 and w.state["seeds"] == (3, 7)


def test_interpolation_halfway_and_brightness():
    w = cu.widgets.latent_interpolation(Brightness(), Z_DIM, seed_a=0, seed_b=1)
    w.controls["alpha"].value = 0.5
    s = w.state
    z_a = torch.randn(1, Z_DIM, generator=torch.Generator().manual_seed(0))[0]
    z_b = torch.randn(1, Z_DIM, generator=torch.Generator().manual_seed(1))[0]
    np.testing.assert_allclose(s["z"], (0.5 * z_a + 0.5 * z_b).numpy(), rtol=1e-6)
    expected = (np.tanh(s["z"][0]) + 1) / 2
    assert s["ink"] == pytest.approx(expected, rel=1e-5)
    assert np.all((s["strip"] >= 0) & (s["strip"] <= 1))
    assert "0.50" in w.readout.value and "cu-latent-interpolation" in w._dom_classes


def test_interpolation_changing_a_seed():
    w = cu.widgets.latent_interpolation(Brightness(), Z_DIM, seed_a=0, seed_b=1)
    before = w.state["z"].copy()
    w.controls["seed_a"].value = 5
    assert not np.allclose(before, w.state["z"]) and w.state["seeds"] == (5, 1)


def test_interpolation_with_a_class():
    w = cu.widgets.latent_interpolation(Brightness(conditional=True), Z_DIM, labels=torch.tensor([2]))
    assert np.all(w.state["image"][:, 2] == 1.0)


def test_conditional_explorer_with_judge():
    gen = Brightness(conditional=True).train()
    w = cu.widgets.conditional_explorer(gen, Z_DIM, num_classes=8, n=6, judge=ColumnJudge(), label=3, seed=4)
    assert gen.training
    s = w.state
    assert s["label"] == 3 and s["seed"] == 4 and s["images"].shape == (6, 8, 8)
    assert s["pred"] == [3] * 6 and s["recognised"] == 6
    assert "6/6" in w.readout.value and "cu-conditional-explorer" in w._dom_classes
    w.controls["label"].value = 5
    assert w.state["label"] == 5 and w.state["recognised"] == 6
    assert np.all(w.state["images"][:, :, 5] == 1.0)


def test_conditional_explorer_same_seed_same_style():
    w = cu.widgets.conditional_explorer(Brightness(conditional=True), Z_DIM, num_classes=8, n=4)
    before = w.state["images"].copy()                # class 0: column 0 lit
    w.controls["label"].value = 1
    after = w.state["images"]
    assert np.all(after[:, :, 1] == 1.0) and not np.all(after[:, :, 0] == 1.0)
    np.testing.assert_allclose(after[:, :, 3], before[:, :, 3])   # same seed: the rest (z's brightness) stays
    w.controls["seed"].value = 9
    assert w.state["seed"] == 9


def test_conditional_explorer_without_judge():
    w = cu.widgets.conditional_explorer(Brightness(conditional=True), Z_DIM, n=3, class_names=list("abcdefghij"))
    assert "pred" not in w.state and "recognised" not in w.state
    assert "a" in w.readout.value


# --- lecture resolution (issue 16 §5): tests/widget_layout.py


def test_lecture_layout():
    assert assert_lecture_layout(cu.widgets.latent_interpolation(Brightness(), Z_DIM)) == 3
    assert assert_lecture_layout(cu.widgets.conditional_explorer(Brightness(conditional=True), Z_DIM)) == 2
