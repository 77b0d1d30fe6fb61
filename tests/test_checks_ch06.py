"""Chapter 06 check ``lenet``: right answers pass, typical wrong answers fail with a useful message."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import course_utils as cu
from course_utils import i18n
from course_utils.checks import ExerciseFailed
from course_utils.checks.ch06 import LENET5_PARAMS, PARAM_BAND


@pytest.fixture(autouse=True, params=["en", "ja"])
def language(request):
    old = i18n.language()
    i18n.set_language(request.param)
    yield request.param
    i18n.set_language(old)


def failure(check, *funcs) -> str:
    with pytest.raises(ExerciseFailed) as info:
        check(*funcs)
    return str(info.value)


# --- correct answers ------------------------------------------------------------------------

class LeNetModules(nn.Module):
    """LeNet-5 with modules: ReLU and max pooling (the usual modern form)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class LeNetFunctional(nn.Module):
    """1998 flavour: tanh and average pooling called functionally, no padding (44,426 params)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.f5 = nn.Linear(16 * 4 * 4, 120)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c3(x)), 2)
        x = torch.tanh(self.f5(x.flatten(1)))
        return self.out(torch.tanh(self.f6(x)))


class LeNetBatchNorm(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.1))


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_reference_count_matches_the_documented_band():
    assert n_params(LeNetModules()) == LENET5_PARAMS == 61_706
    assert n_params(LeNetFunctional()) == 44_426
    assert PARAM_BAND[0] <= 44_426 and LENET5_PARAMS <= PARAM_BAND[1]


@pytest.mark.parametrize("answer", [LeNetModules, LeNetFunctional, LeNetBatchNorm])
def test_correct_answers_pass(answer, capsys):
    cu.checks.lenet(answer)
    out = capsys.readouterr().out
    assert "✓ lenet" in out


def test_check_leaves_global_grad_mode_and_rng_usable():
    cu.checks.lenet(LeNetModules)
    assert torch.is_grad_enabled()


# --- wrong answers --------------------------------------------------------------------------

class FlattenMLP(nn.Module):
    """No convolutions at all: the image flattened into Linear layers."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, num_classes))

    def forward(self, x):
        return self.net(x)


def test_flatten_without_convolutions_fails(language):
    message = failure(cu.checks.lenet, FlattenMLP)
    assert "conv2d" in message
    assert ("畳み込み" in message) if language == "ja" else ("convolution" in message)


class OneConvOnly(LeNetModules):
    def forward(self, x):
        x = self.features[2](F.relu(self.features[0](x)))  # C1 + pool only
        x = F.adaptive_avg_pool2d(x.repeat(1, 3, 1, 1)[:, :16], 5)
        return self.classifier(x)


def test_unused_second_convolution_fails():
    message = failure(cu.checks.lenet, OneConvOnly)
    assert "conv2d" in message and " 1 " in message


class NoPooling(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, stride=2, padding=2)
        self.c3 = nn.Conv2d(6, 16, 5, stride=2)
        self.fc = nn.Linear(16 * 5 * 5, 120)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.relu(self.c3(F.relu(self.c1(x))))
        return self.out(F.relu(self.f6(F.relu(self.fc(x.flatten(1))))))


def test_missing_pooling_fails():
    message = failure(cu.checks.lenet, NoPooling)
    assert "MaxPool2d" in message


class HardCodedTen(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(10)


def test_output_size_hard_coded_to_ten_fails():
    message = failure(cu.checks.lenet, HardCodedTen)
    assert "(5, 7)" in message and "(5, 10)" in message
    assert "num_classes" in message


class WrongOutputSize(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes + 1)


def test_wrong_output_size_fails():
    message = failure(cu.checks.lenet, WrongOutputSize)
    assert "(3, 10)" in message and "(3, 11)" in message


class Unflattened(LeNetModules):
    def forward(self, x):
        return self.features(x)


def test_output_not_logits_matrix_fails():
    message = failure(cu.checks.lenet, Unflattened)
    assert "(3, 10)" in message and "(3, 16, 5, 5)" in message


class UnusedLayer(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.spare = nn.Linear(84, num_classes)


def test_parameters_without_gradient_fail():
    message = failure(cu.checks.lenet, UnusedLayer)
    assert "spare.weight" in message and "spare.bias" in message


class DetachedFeatures(LeNetModules):
    def forward(self, x):
        return self.classifier(self.features(x).detach())


def test_detach_in_the_middle_fails():
    message = failure(cu.checks.lenet, DetachedFeatures)
    assert "features.0.weight" in message and ".detach()" in message


class EverythingNoGrad(LeNetModules):
    def forward(self, x):
        with torch.no_grad():
            return super().forward(x)


def test_forward_under_no_grad_fails():
    message = failure(cu.checks.lenet, EverythingNoGrad)
    assert "features.0.weight" in message and "(+2)" in message


class Frozen(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.features[0].weight.requires_grad_(False)


def test_frozen_parameter_fails():
    message = failure(cu.checks.lenet, Frozen)
    assert "requires_grad=False" in message and "features.0.weight" in message


class ZeroedBranch(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.extra = nn.Linear(84, num_classes)

    def forward(self, x):
        h = self.classifier[:-1](self.features(x))
        return self.classifier[-1](h) + 0.0 * self.extra(h)


def test_all_zero_gradient_fails():
    message = failure(cu.checks.lenet, ZeroedBranch)
    assert "extra.weight" in message


class TooBig(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(128 * 5 * 5, num_classes)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


class TooSmall(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3)
        self.c2 = nn.Conv2d(4, 8, 3)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.adaptive_avg_pool2d(F.relu(self.c2(x)), 1)
        return self.fc(x.flatten(1))


@pytest.mark.parametrize("answer", [TooBig, TooSmall])
def test_parameter_count_outside_band_fails(answer):
    message = failure(cu.checks.lenet, answer)
    assert f"{n_params(answer()):,}" in message and "61,706" in message


class NoParameters(nn.Module):
    def forward(self, x):
        x = F.max_pool2d(F.conv2d(x, torch.ones(6, 1, 5, 5)), 2)
        x = F.conv2d(x, torch.ones(10, 6, 12, 12))
        return x.flatten(1)


def test_no_registered_parameters_fails():
    message = failure(cu.checks.lenet, NoParameters)
    assert "__init__" in message


class RaisesInInit(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        raise ValueError("boom in init")


class RaisesInForward(LeNetModules):
    def forward(self, x):
        raise RuntimeError("boom in forward")


class Stub(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        raise NotImplementedError("write LeNet")


class StubForward(LeNetModules):
    def forward(self, x):
        raise NotImplementedError("write forward")


def test_constructor_that_raises_fails():
    message = failure(cu.checks.lenet, RaisesInInit)
    assert "ValueError" in message and "boom in init" in message


def test_forward_that_raises_fails():
    message = failure(cu.checks.lenet, RaisesInForward)
    assert "RuntimeError" in message and "boom in forward" in message


@pytest.mark.parametrize("answer", [Stub, StubForward])
def test_stubs_fail_with_the_not_implemented_message(answer):
    message = failure(cu.checks.lenet, answer)
    assert "NotImplementedError" in message


class ForgotSuperInit(nn.Module):
    def __init__(self, num_classes=10):
        self.num_classes = num_classes


def test_forgot_super_init_fails_clearly():
    message = failure(cu.checks.lenet, ForgotSuperInit)
    assert "super().__init__()" in message


class NoNumClassesArgument(nn.Module):
    def __init__(self):
        super().__init__()


def test_missing_num_classes_argument_fails():
    message = failure(cu.checks.lenet, NoNumClassesArgument)
    assert "TypeError" in message and "num_classes" in message


def test_not_a_module_fails():
    message = failure(cu.checks.lenet, lambda num_classes=10: (lambda x: torch.zeros(len(x), num_classes)))
    assert "nn.Module" in message


def test_instance_instead_of_class_fails():
    message = failure(cu.checks.lenet, LeNetModules())
    assert "LeNetModules" in message and "cu.checks.lenet(LeNet)" in message


class ReturnsTuple(LeNetModules):
    def forward(self, x):
        return super().forward(x), None


def test_tuple_output_fails():
    message = failure(cu.checks.lenet, ReturnsTuple)
    assert "tuple" in message


class NaNOutput(LeNetModules):
    def forward(self, x):
        return super().forward(x) * float("nan")


def test_nan_output_fails():
    message = failure(cu.checks.lenet, NaNOutput)
    assert "NaN" in message


def test_not_callable_fails():
    message = failure(cu.checks.lenet, 42)
    assert "int" in message


# --- the output contract, shared with chapter 08's unet (checks/modules.py) ------------------

class SoftmaxOut(LeNetModules):
    def forward(self, x):
        return F.softmax(super().forward(x), dim=1)


class SigmoidOut(LeNetModules):
    def forward(self, x):
        return torch.sigmoid(super().forward(x))


class ReLUOut(LeNetModules):
    def forward(self, x):
        return F.relu(super().forward(x))


@pytest.mark.parametrize("answer", [SoftmaxOut, SigmoidOut, ReLUOut])
def test_probabilities_or_relu_out_fail(answer):
    message = failure(cu.checks.lenet, answer)
    assert i18n.t("module.not_logits", extra="").split("?")[0] in message
    assert (i18n.t("module.softmax_out") in message) == (answer is SoftmaxOut)


class NoActivation(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.avg_pool2d(self.c2(F.avg_pool2d(self.c1(x), 2)), 2)
        return self.f3(self.f2(self.f1(x.flatten(1))))


def test_network_without_non_linearity_fails():
    assert i18n.t("module.linear") in failure(cu.checks.lenet, NoActivation)


class SlicedHead(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(10)
        self.k = num_classes

    def forward(self, x):
        return super().forward(x)[:, :self.k]


def test_fixed_ten_way_head_sliced_fails():
    message = failure(cu.checks.lenet, SlicedHead)
    assert i18n.t("module.head_fixed", n=LENET5_PARAMS, model="LeNet(num_classes=10)",
                  other="LeNet(num_classes=7)") in message
