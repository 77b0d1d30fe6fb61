"""Chapter 09 check ``gan_losses``: right losses pass, typical wrong ones fail with their hint."""
import gc
import math

import pytest
import torch
import torch.nn.functional as F

import course_utils as cu
from course_utils.i18n import t
from tests.check_helpers import assert_fails, hint

pytestmark = pytest.mark.usefixtures("each_language")


REAL, FAKE = [2.0, -1.0, 0.5, 3.0], [-2.0, 0.0, 1.5, -0.5]  # the worked example's logits


def worked(name):
    """The name of the worked example's case of ``name`` (d_loss or g_loss), in the current language."""
    if name == "d_loss":
        return t("ch09.case.worked", name=name, real="[2, -1, 0.5, 3]", fake="[-2, 0, 1.5, -0.5]")
    return t("ch09.case.worked_g", name=name, fake="[-2, 0, 1.5, -0.5]")


def fails(d_loss, g_loss, *fragments):
    return assert_fails(lambda: cu.checks.gan_losses(d_loss, g_loss), fragments)


def large(name):
    """The name of the case with logits of ±100 and ±200, in the current language."""
    return t("ch09.case.large", name=name, values="[100, -100, 200, -200, 0.5]")


def raised(etype):
    return t("check.raised", etype=etype, message="")


def python_number(name, value):
    return t("ch09.python_number", name=name, got=repr(value), kind=type(value).__name__)


# --------------------------------------------------------------------------- correct answers
def bce(x, label, reduction="mean"):
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, label), reduction=reduction)


def d_loss(real_logits, fake_logits):
    return bce(real_logits, 1.0) + bce(fake_logits, 0.0)


def g_loss(fake_logits):
    return bce(fake_logits, 1.0)


def d_loss_module(real_logits, fake_logits):
    criterion = torch.nn.BCEWithLogitsLoss()
    return (criterion(real_logits, torch.ones_like(real_logits))
            + criterion(fake_logits, torch.zeros_like(fake_logits)))


def d_loss_logsigmoid(real_logits, fake_logits):
    # -log σ(r) - log(1 - σ(f)) = -logσ(r) - logσ(-f)
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()


def g_loss_softplus(fake_logits):
    return F.softplus(-fake_logits).mean()          # -log σ(f) = softplus(-f)


def test_worked_example_by_hand():
    real, fake = REAL, FAKE

    def softplus(x):
        return math.log1p(math.exp(x))

    d_by_hand = sum(softplus(-r) for r in real) / 4 + sum(softplus(f) for f in fake) / 4
    g_by_hand = sum(softplus(-f) for f in fake) / 4
    assert float(d_loss(torch.tensor(real), torch.tensor(fake))) == pytest.approx(d_by_hand, rel=1e-6)
    assert float(g_loss(torch.tensor(fake))) == pytest.approx(g_by_hand, rel=1e-6)
    assert d_by_hand == pytest.approx(1.2396049, rel=1e-6)


@pytest.mark.parametrize("d, g", [(d_loss, g_loss), (d_loss_module, g_loss_softplus), (d_loss_logsigmoid, g_loss)])
def test_correct_answers_pass(d, g, capsys):
    cu.checks.gan_losses(d, g)
    out = capsys.readouterr().out
    assert "✓ gan_losses" in out and out.count("\n") == 1


def test_check_leaves_grad_mode_on():
    cu.checks.gan_losses(d_loss, g_loss)
    assert torch.is_grad_enabled()


# --------------------------------------------------------------------------- d_loss mistakes
def test_d_loss_summed_fails():
    fails(lambda r, f: bce(r, 1.0, "sum") + bce(f, 0.0, "sum"), g_loss, worked("d_loss"), hint("ch09.sum"))


def test_d_loss_labels_swapped_fails():
    fails(lambda r, f: bce(r, 0.0) + bce(f, 1.0), g_loss, hint("ch09.swapped"))


def test_d_loss_one_mean_over_the_concatenation_fails():
    def concat(r, f):
        logits = torch.cat([r.flatten(), f.flatten()])
        labels = torch.cat([torch.ones(r.numel()), torch.zeros(f.numel())])
        return F.binary_cross_entropy_with_logits(logits, labels)

    fails(concat, g_loss, hint("ch09.concat"))


def test_d_loss_one_term_only_fails():
    fails(lambda r, f: bce(r, 1.0), g_loss, hint("ch09.one_term"))


def test_d_loss_objective_instead_of_loss_fails():
    fails(lambda r, f: F.logsigmoid(r).mean() + F.logsigmoid(-f).mean(), g_loss, hint("ch09.sign"))


def test_d_loss_naive_log_sigmoid_overflows():
    def naive(r, f):
        return -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())

    fails(naive, g_loss, large("d_loss"), hint("check.nan"), hint("ch09.overflow"))


def test_d_loss_bce_on_probabilities_is_clamped():
    def clamped(r, f):
        return (F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
                + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f)))

    fails(clamped, g_loss, large("d_loss"), hint("ch09.clamped"))


def test_d_loss_detached_fails():
    fails(lambda r, f: d_loss(r, f).detach(), g_loss, worked("d_loss"), hint("ch09.detached", name="d_loss"))
    with torch.enable_grad():
        fails(lambda r, f: torch.tensor(d_loss(r, f).item()), g_loss, hint("ch09.detached", name="d_loss"))

    def no_grad(r, f):
        with torch.no_grad():
            return d_loss(r, f)

    fails(no_grad, g_loss, hint("ch09.detached", name="d_loss"))


def test_d_loss_partly_detached_fails():
    fails(lambda r, f: d_loss(r.detach(), f), g_loss, hint("ch09.no_grad_to", name="d_loss", arg="real_logits"))


def test_d_loss_right_value_wrong_gradient_fails():
    fails(lambda r, f: d_loss(r, f).detach() + 0 * (r.sum() + f.sum()), g_loss,
          hint("ch09.grad_wrong", name="d_loss", arg="real_logits"))


def test_d_loss_python_float_fails():
    value = d_loss(torch.tensor(REAL), torch.tensor(FAKE)).item()
    fails(lambda r, f: d_loss(r, f).item(), g_loss, python_number("d_loss", value))
    fails(lambda r, f: math.log(2.0), g_loss, python_number("d_loss", math.log(2.0)))


def test_d_loss_numpy_and_per_sample_fail():
    fails(lambda r, f: d_loss(r, f).detach().numpy(), g_loss, t("ch09.not_tensor", name="d_loss", got="ndarray"))
    fails(lambda r, f: bce(r, 1.0, "none") + bce(f, 0.0, "none"), g_loss, t("ch09.not_scalar", name="d_loss", got=(4,)))


def test_d_loss_bad_code_fails_clearly():
    def stub(r, f):
        raise NotImplementedError

    fails(stub, g_loss, t("check.stub"))
    fails(lambda r: bce(r, 1.0), g_loss, raised("TypeError"))
    fails(lambda r, f: r.sigmoid_().mean(), g_loss, raised("RuntimeError"))       # in place on a leaf
    fails(None, g_loss, t("check.not_callable", what="d_loss", got="NoneType"))


# --------------------------------------------------------------------------- g_loss mistakes
def test_g_loss_saturating_fails():
    fails(d_loss, lambda f: -bce(f, 0.0), worked("g_loss"), hint("ch09.saturating"))
    fails(d_loss, lambda f: F.logsigmoid(-f).mean(), hint("ch09.saturating"))


def test_g_loss_naive_saturating_fails():
    fails(d_loss, lambda f: torch.log(1 - torch.sigmoid(f)).mean(), hint("ch09.saturating"))


def test_g_loss_label_zero_fails():
    fails(d_loss, lambda f: bce(f, 0.0), hint("ch09.g_label"))


def test_g_loss_naive_log_sigmoid_overflows():
    fails(d_loss, lambda f: -torch.log(torch.sigmoid(f)).mean(), large("g_loss"), hint("ch09.overflow"))


def test_g_loss_clamped_fails():
    fails(d_loss, lambda f: F.binary_cross_entropy(torch.sigmoid(f), torch.ones_like(f)), hint("ch09.clamped"))


def test_g_loss_summed_and_sign_fail():
    fails(d_loss, lambda f: bce(f, 1.0, "sum"), hint("ch09.sum"))
    fails(d_loss, lambda f: -bce(f, 1.0), hint("ch09.g_sign"))


def test_g_loss_detached_fails():
    fails(d_loss, lambda f: g_loss(f.detach()), worked("g_loss"), hint("ch09.detached", name="g_loss"))
    fails(d_loss, lambda f: g_loss(f).item(), python_number("g_loss", g_loss(torch.tensor(FAKE)).item()))


def test_g_loss_bad_code_fails_clearly():
    def stub(f):
        raise NotImplementedError

    fails(d_loss, stub, worked("g_loss"), t("check.stub"))
    fails(d_loss, lambda f: None, t("ch09.not_tensor", name="g_loss", got="NoneType"))
    fails(d_loss, lambda f: g_loss(f) * float("nan"), hint("check.nan"))


def test_a_failure_freed_later_is_no_call_into_the_checks(capsys):
    # compare() leaves its generator of mistakes suspended; closed by the garbage collector inside a later
    # student's call, it would count as a call into the checks (ch09._run clears a failure's frames)
    def fail_and_keep():
        try:
            cu.checks.gan_losses(lambda r, f: bce(r, 0.0) + bce(f, 1.0), g_loss)
        except cu.checks.ExerciseFailed as failure:
            kept = failure  # the traceback holds this frame, the frame holds the failure
            return kept is not None
        return False

    calls = []

    def collecting(fake_logits):
        if not calls:  # once: it is slow
            gc.collect()
        calls.append(1)
        return g_loss(fake_logits)

    gc.collect()
    gc.disable()
    try:
        assert fail_and_keep()
        cu.checks.gan_losses(d_loss, collecting)
    finally:
        gc.enable()
    assert "✓ gan_losses" in capsys.readouterr().out
