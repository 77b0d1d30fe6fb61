"""Chapter 06 check ``lenet``: right answers pass, typical wrong answers fail with their hint (both languages)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import course_utils as cu
from course_utils.checks.ch06 import LENET5_PARAMS, PARAM_BAND
from course_utils.i18n import t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")


def failure(check, *funcs, fragments=()) -> str:
    return assert_fails(lambda: check(*funcs), fragments)


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
    assert capsys.readouterr().out.strip() == t("check.passed", name="lenet", n=15)


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


def test_flatten_without_convolutions_fails():
    failure(cu.checks.lenet, FlattenMLP, fragments=[t("ch06.case.conv"), t("ch06.no_conv", n=0)])


class OneConvOnly(LeNetModules):
    def forward(self, x):
        x = self.features[2](F.relu(self.features[0](x)))  # C1 + pool only
        x = F.adaptive_avg_pool2d(x.repeat(1, 3, 1, 1)[:, :16], 5)
        return self.classifier(x)


def test_unused_second_convolution_fails():
    failure(cu.checks.lenet, OneConvOnly, fragments=[t("ch06.no_conv", n=1)])


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
    message = failure(cu.checks.lenet, NoPooling, fragments=[t("ch06.case.pool"), hint("ch06.no_pool")])
    assert "conv2d, relu" in message          # the functions the forward pass called are listed


class HardCodedTen(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(10)


def test_output_size_hard_coded_to_ten_fails():
    failure(cu.checks.lenet, HardCodedTen,
            fragments=[t("ch06.case.forward", inp=(5, 1, 28, 28), c=7),
                       t("ch06.shape", inp=(5, 1, 28, 28), expected=(5, 7), got=(5, 10))])


class WrongOutputSize(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes + 1)


def test_wrong_output_size_fails():
    failure(cu.checks.lenet, WrongOutputSize,
            fragments=[t("ch06.shape", inp=(3, 1, 28, 28), expected=(3, 10), got=(3, 11))])


class Unflattened(LeNetModules):
    def forward(self, x):
        return self.features(x)


def test_output_not_logits_matrix_fails():
    failure(cu.checks.lenet, Unflattened,
            fragments=[t("ch06.shape", inp=(3, 1, 28, 28), expected=(3, 10), got=(3, 16, 5, 5))])


class UnusedLayer(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.spare = nn.Linear(84, num_classes)


def test_parameters_without_gradient_fail():
    failure(cu.checks.lenet, UnusedLayer,
            fragments=[t("module.case.grad"), t("module.no_grad", names="spare.weight, spare.bias")])


class DetachedFeatures(LeNetModules):
    def forward(self, x):
        return self.classifier(self.features(x).detach())


def test_detach_in_the_middle_fails():
    failure(cu.checks.lenet, DetachedFeatures,
            fragments=[hint("module.no_grad"), "features.0.weight, features.0.bias, features.3.weight"])


class EverythingNoGrad(LeNetModules):
    def forward(self, x):
        with torch.no_grad():
            return super().forward(x)


def test_forward_under_no_grad_fails():
    failure(cu.checks.lenet, EverythingNoGrad, fragments=[hint("module.no_grad"), "features.0.weight", "(+2)"])


class Frozen(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.features[0].weight.requires_grad_(False)


def test_frozen_parameter_fails():
    failure(cu.checks.lenet, Frozen, fragments=[t("module.frozen", names="features.0.weight")])


class ZeroedBranch(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.extra = nn.Linear(84, num_classes)

    def forward(self, x):
        h = self.classifier[:-1](self.features(x))
        return self.classifier[-1](h) + 0.0 * self.extra(h)


def test_all_zero_gradient_fails():
    failure(cu.checks.lenet, ZeroedBranch, fragments=[t("module.zero_grad", names="extra.weight, extra.bias")])


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
    lo, hi = PARAM_BAND
    failure(cu.checks.lenet, answer,
            fragments=[t("ch06.case.params"), t("ch06.params", n=n_params(answer()), ref=LENET5_PARAMS, lo=lo, hi=hi)])


class NoParameters(nn.Module):
    """Weights made inside forward: the convolutions run, but nothing is registered as a parameter."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.k = num_classes

    def forward(self, x):
        gen = torch.Generator().manual_seed(0)
        x = F.max_pool2d(F.relu(F.conv2d(x, torch.randn(6, 1, 5, 5, generator=gen))), 2)
        x = F.conv2d(x, torch.randn(self.k, 6, 12, 12, generator=gen))
        return x.flatten(1)


def test_no_registered_parameters_fails():
    failure(cu.checks.lenet, NoParameters, fragments=[t("module.no_params")])


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
    failure(cu.checks.lenet, RaisesInInit, fragments=[t("ch06.case.build", c=10),
                                                      t("check.raised", etype="ValueError", message="boom in init")])


def test_forward_that_raises_fails():
    failure(cu.checks.lenet, RaisesInForward,
            fragments=[t("check.raised", etype="RuntimeError", message="boom in forward")])


@pytest.mark.parametrize("answer", [Stub, StubForward])
def test_stubs_fail_with_the_not_implemented_message(answer):
    failure(cu.checks.lenet, answer, fragments=[t("check.stub")])


class ForgotSuperInit(nn.Module):
    def __init__(self, num_classes=10):
        self.num_classes = num_classes


def test_forgot_super_init_fails_clearly():
    failure(cu.checks.lenet, ForgotSuperInit, fragments=[t("module.no_super")])


class NoNumClassesArgument(nn.Module):
    def __init__(self):
        super().__init__()


def test_missing_num_classes_argument_fails():
    failure(cu.checks.lenet, NoNumClassesArgument, fragments=[t("check.raised", etype="TypeError", message="").strip(), "num_classes"])


def test_not_a_module_fails():
    failure(cu.checks.lenet, lambda num_classes=10: (lambda x: torch.zeros(len(x), num_classes)),
            fragments=[t("module.not_module", got="function", signature="LeNet(num_classes=...)", cls="LeNet")])


def test_instance_instead_of_class_fails():
    failure(cu.checks.lenet, LeNetModules(), fragments=[t("module.instance", got="LeNetModules", check="lenet", cls="LeNet")])


class ReturnsTuple(LeNetModules):
    def forward(self, x):
        return super().forward(x), None


def test_tuple_output_fails():
    failure(cu.checks.lenet, ReturnsTuple, fragments=[t("ch06.not_tensor", got="tuple")])


class NaNOutput(LeNetModules):
    def forward(self, x):
        return super().forward(x) * float("nan")


def test_nan_output_fails():
    failure(cu.checks.lenet, NaNOutput, fragments=[t("module.nan")])


def test_not_callable_fails():
    failure(cu.checks.lenet, 42, fragments=[t("check.not_callable", what="LeNet", got="int")])


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
    message = failure(cu.checks.lenet, answer, fragments=[t("module.case.logits"), hint("module.not_logits")])
    assert (t("module.softmax_out") in message) == (answer is SoftmaxOut)


class NoActivation(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5, padding=2), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.avg_pool2d(self.c2(F.avg_pool2d(self.c1(x), 2)), 2)
        return self.f3(self.f2(self.f1(x.flatten(1))))


def test_network_without_non_linearity_fails():
    failure(cu.checks.lenet, NoActivation, fragments=[t("module.case.nonlinear"), t("module.linear")])


class SlicedHead(LeNetModules):
    def __init__(self, num_classes=10):
        super().__init__(10)
        self.k = num_classes

    def forward(self, x):
        return super().forward(x)[:, :self.k]


def test_fixed_ten_way_head_sliced_fails():
    failure(cu.checks.lenet, SlicedHead,
            fragments=[t("module.case.head"), t("module.head_fixed", n=LENET5_PARAMS, model="LeNet(num_classes=10)",
                                                other="LeNet(num_classes=7)")])


class LeNetHeadInAList(LeNetModules):
    """The classifier's layers kept in a plain Python list: never registered, never trained."""

    def __init__(self, num_classes=10):
        super().__init__(num_classes)
        self.head = [nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes)]
        del self.classifier

    def forward(self, x):
        x = self.features(x).flatten(1)
        for layer in self.head:
            x = layer(x)
        return x


class LeNetScalesItsInput(LeNetModules):
    def forward(self, x):
        x.mul_(2.0)                                   # changes the caller's batch
        return super().forward(x)


def test_layers_kept_in_a_plain_list_are_refused():
    assert_fails(lambda: cu.checks.lenet(LeNetHeadInAList), [hint("module.unregistered")])


def test_a_forward_that_changes_its_input_is_refused():
    assert_fails(lambda: cu.checks.lenet(LeNetScalesItsInput), [t("module.input_changed")])
