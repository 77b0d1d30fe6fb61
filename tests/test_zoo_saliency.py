"""course_utils.zoo (parameters and multiply-adds on the meta device) and course_utils.saliency (hooks)."""
import pytest
import torch
import torchvision
from torch import nn

from course_utils import saliency, zoo


def _small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, groups=4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))


def test_macs_by_the_formula():
    model = _small_cnn()
    x = torch.zeros(2, 3, 10, 10)
    by_hand = 10 * 10 * 8 * 3 * 9 + 8 * 8 * 8 * (8 // 4) * 9 + 8 * 5   # conv, grouped conv (8×8 out), linear
    assert zoo.count_macs(model, x) == by_hand
    assert zoo.count_all_macs(model, x) == by_hand            # FlopCounterMode agrees for a CNN
    assert zoo.count_params(model) == (3 * 9 + 1) * 8 + (2 * 9 + 1) * 8 + 9 * 5


def test_hooks_miss_a_functional_matmul():
    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(4, 4)

        def forward(self, x):            # x (N, T, 4): x xᵀ never passes through an nn.Linear
            return self.proj(x) @ x.transpose(1, 2)

    x = torch.zeros(1, 6, 4)
    assert zoo.count_macs(Attention(), x) == 6 * 4 * 4
    assert zoo.count_all_macs(Attention(), x) == 6 * 4 * 4 + 6 * 6 * 4


def test_meta_device_counts_equal_a_real_model():
    row, = zoo.size_table({"ResNet-18": torchvision.models.resnet18})
    assert row["params"] == 11_689_512 == zoo.count_params(torchvision.models.resnet18(weights=None))
    assert row["macs_hooks"] == row["macs_all"] and round(row["macs_hooks"] / 1e9, 2) == 1.81


def test_capture_records_outputs_and_removes_its_hooks():
    model = _small_cnn()
    with saliency.capture({"first": model[1], "last": model[6]}) as out:
        model(torch.rand(2, 3, 10, 10))
    assert out["first"].shape == (2, 8, 10, 10) and out["last"].shape == (2, 5)
    assert not model[1]._forward_hooks and not model[6]._forward_hooks


def test_hooked_gradients_are_autograd_gradients():
    model = _small_cnn().eval()
    x = torch.rand(3, 3, 10, 10)
    with saliency.FeaturesAndGradients(model[2]) as caught:
        model(x)[:, 1].sum().backward()
    features = model[:3](x).detach().requires_grad_(True)
    grads, = torch.autograd.grad(model[3:](features)[:, 1].sum(), features)
    torch.testing.assert_close(caught.gradients, grads)
    torch.testing.assert_close(caught.features.detach(), features.detach())
    assert not model[2]._forward_hooks
    with saliency.FeaturesAndGradients(model[2]) as caught, torch.no_grad():
        model(x)
    assert caught.gradients is None and caught.features is not None


def test_guided_backprop_keeps_only_positive_gradients_through_relus():
    torch.manual_seed(1)
    lin1, lin2 = nn.Linear(6, 5), nn.Linear(5, 3)
    model = nn.Sequential(lin1, nn.ReLU(), lin2)
    x = torch.randn(4, 6)
    target = torch.tensor([0, 1, 2, 0])
    got = saliency.guided_backprop(model, x, target)
    h = lin1(x)
    g = lin2.weight[target]                              # d score / d relu output (4, 5)
    g = torch.where((h > 0) & (g > 0), g, torch.zeros_like(g))
    torch.testing.assert_close(got, g @ lin1.weight)
    assert all(p.grad is None for p in model.parameters()) and not model[1]._backward_hooks
    plain = x.clone().requires_grad_(True)
    model(plain).gather(1, target[:, None]).sum().backward()
    assert not torch.allclose(got, plain.grad)             # the guidance changed something


@pytest.mark.parametrize("layer", [0, 2])
def test_hooks_are_removed_after_an_exception(layer):
    model = _small_cnn()
    with pytest.raises(RuntimeError):
        with saliency.FeaturesAndGradients(model[layer]):
            model(torch.rand(1, 5, 10, 10))                  # wrong channel count
    assert not model[layer]._forward_hooks
