"""What a failed check says, in every chapter but 07 (whose checks have their own tests):

- one language per message: an English message holds no Japanese, and a Japanese message names its
  case in Japanese (English words there are code identifiers and terms, never an English case name);
- a hint names the mistake on the first failure and shows the formula or code only when the same
  case fails again (core.on_repeat).
"""
import re

import numpy as np
import pytest

import course_utils as cu
from course_utils.checks import ExerciseFailed, core
from course_utils.i18n import language, set_language, t
from tests import test_adversarial as adv
from tests import test_checks_ch05 as ch05t
from tests import test_checks_ch05_layers as ch05lt
from tests import test_checks_ch06 as ch06t
from tests import test_checks_ch08 as ch08t

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
# English words a Japanese case name may hold: the names of code (functions, classes, arguments,
# dtypes, gates), and terms the course writes in English beside the Japanese (「ポリープ (polyps)」).
IDENTIFIERS = {
    "AND", "OR", "NAND", "XOR", "th", "RGB", "step", "sigmoid", "relu", "softmax", "Affine", "ReLU",
    "SoftmaxWithLoss", "forward", "backward", "dout", "padding", "pad", "stride", "dilation", "groups", "bias",
    "None", "False", "True", "train", "ratio", "eps", "momentum", "gamma", "beta", "lr", "params", "np", "eye",
    "dtype", "float", "int", "bool", "torch", "optim", "PyTorch", "SGD", "NaN", "one-hot", "in-place",
    "depthwise", "pointwise", "same", "VGG", "ResNet", "LeNet", "UNet", "IoU", "mIoU", "Dice", "PASCAL", "VOC",
    "normal", "polyps", "colitis", "real", "fake",
}


def english_words(text: str) -> set:
    """Words of Latin letters, leaving out single letters and names with digits or underscores."""
    return {w for w in re.findall(r"[A-Za-z][A-Za-z0-9_\-]*", text) if len(w) > 1 and not re.search(r"[0-9_]", w)}


def _not_ch07(name):
    return not getattr(cu.checks, name).__module__.startswith("course_utils.checks.ch07")


CHECKS = [name for name in cu.checks.names() if _not_ch07(name)]

RIGHT = {name: answers[0] for name, (_, _, answers) in adv.EXERCISES.items() if _not_ch07(name)}
RIGHT.update({
    "normalize_image": (lambda img: img / 255.0,),
    "max_pool2d": (ch05t.max_pool2d,), "avg_pool2d": (ch05t.avg_pool2d,),
    "max_pool2d_backward": (ch05t.max_pool2d_backward,),
    "conv_layer": (ch05lt.Conv,), "dropout": (ch05lt.Dropout,), "batchnorm": (ch05lt.BatchNorm,),
    "lenet": (ch06t.LeNetModules,), "miou": (ch08t.miou_loops,), "dice": (ch08t.dice_bool,), "unet": (ch08t.UNet,),
})

WRONG = {name: answers[0] for name, (_, answers, _) in adv.EXERCISES.items() if _not_ch07(name)}
WRONG.update({
    "normalize_image": (lambda img: img / 256.0,),
    "max_pool2d": (ch05t.avg_pool2d,), "avg_pool2d": (ch05t.max_pool2d,),
    "max_pool2d_backward": (lambda dout, x, k, stride=None: np.zeros_like(x),),
    "conv_layer": (ch05lt.ConvAssigns,), "dropout": (ch05lt.NotInverted,), "batchnorm": (ch05lt.Unbiased,),
    "miou": (lambda pred, target, k: 0.5,), "dice": (lambda pred, target: np.mean(pred == target),),
    "unet": (ch08t.SoftmaxOut,),
})


def test_every_check_but_chapter_07s_has_answers_here():
    assert set(CHECKS) == set(RIGHT) == set(WRONG)


@pytest.fixture(params=["ja", "en"])
def lang(request):
    before = language()
    set_language(request.param)
    yield request.param
    set_language(before)


def case_names(name):
    """Every case name the check shows, run on a right answer in the current language."""
    seen = []
    case = core.Check.case

    def record(self, description):
        seen.append(description)
        return case(self, description)

    core.Check.case = record
    try:
        with np.errstate(all="ignore"):
            getattr(cu.checks, name)(*RIGHT[name])
    finally:
        core.Check.case = case
    return list(dict.fromkeys(seen))


def assert_one_language(text, lang, what):
    if lang == "en":
        assert not JAPANESE.search(text), f"Japanese in an English {what}: {text!r}"
    else:
        assert not english_words(text) - IDENTIFIERS, f"English words in a Japanese {what}: {text!r}"


@pytest.mark.parametrize("name", CHECKS)
def test_every_case_name_is_in_one_language(name, lang, capsys):
    names = case_names(name)
    assert names and capsys.readouterr().out.startswith("✓")
    for case in names:
        assert_one_language(case, lang, f"case name of {name}")


@pytest.mark.parametrize("name", CHECKS)
def test_a_failure_message_is_in_one_language(name, lang):
    with np.errstate(all="ignore"), pytest.raises(ExerciseFailed) as info:
        getattr(cu.checks, name)(*WRONG[name])
    message = str(info.value)
    if lang == "en":
        assert not JAPANESE.search(message), message
        assert re.match(rf'✗ {name}: failed on case "(.*)"\.', message), message
    else:
        case = re.match(rf"✗ {name}: ケース「(.*)」で不合格です。", message)
        assert case, message
        assert_one_language(case.group(1), lang, f"case name of {name}")


# ------------------------------------------------------------------- a repeated failure shows the form
def _always(value):
    return lambda *args, **kwargs: value


def _pool_rounded_up(x, k, stride=None):
    s = stride or k
    h, w = x.shape[2:]
    ph, pw = (-(-(h - k) // s)) * s + k - h, (-(-(w - k) // s)) * s + k - w
    return ch05t.max_pool2d(np.pad(x, ((0, 0), (0, 0), (0, ph), (0, pw)), constant_values=-np.inf), k, s)


def _miou_uint8(pred, target, k):
    cm = np.bincount((target * k + pred).ravel(), minlength=k * k)[:k * k].reshape(k, k)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    return (inter[union > 0] / union[union > 0]).mean()


def _dice_bool_plus(pred, target):
    size = (pred + target).sum()
    return float("nan") if size == 0 else 2 * (pred * target).sum() / size


def _softmax_no_max(x):
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def _ce_no_eps(p, y):
    y = np.eye(p.shape[1])[y] if y.ndim == 1 else y
    return -np.sum(y * np.log(p)) / len(p)


# (check, wrong answer, the message key of the form it must show only on a repeated failure, its values)
REPEATS = [
    ("perceptron", (_always(0),), "ch01.hint.general_code", {}),
    ("logic_gates", (adv.GATES_RIGHT[0][0], adv.GATES_RIGHT[0][1], adv.GATES_RIGHT[0][2], adv.GATES_RIGHT[0][1]),
     "ch01.hint.xor_recipe", {}),
    ("activations", (lambda x: 1 if x > 0 else 0, lambda x: 1 / (1 + np.exp(-x)), lambda x: np.maximum(x, 0)),
     "ch02.vectorise_form", {}),
    ("softmax", (_softmax_no_max,), "ch02.softmax_max_form", {}),
    ("cross_entropy", (_ce_no_eps,), "ch02.ce_log0_form", {}),
    ("sgd_step", adv.EXERCISES["sgd_step"][1][0], "ch02.sgd_code", {}),
    ("layers", (adv.AffineDbMean, adv.ReLU, adv.Loss), "ch03.form", {"form": "db = dout.sum(axis=0)"}),
    ("moving_average", (lambda x, k: np.correlate(x, k, mode="valid"),), "ch04.ma_normalise_form", {}),
    ("conv_output_size", (adv.SIZE_WRONG[5],), "ch04.size_formula", {}),
    ("conv_params", (adv.PARAMS_WRONG[0],), "ch04.params_groups_formula", {}),
    ("max_pool2d", (_pool_rounded_up,), "ch05.hint_ceil_form", {}),
    ("max_pool2d_backward", (lambda d, x, k, stride=None: ch05t.backward(d, x, k, stride, accumulate=False),),
     "ch05.hint_overwrite_form", {}),
    ("conv_layer", (ch05lt.ConvAssigns,), "ch05l.overlap_form", {}),
    ("dropout", (ch05lt.TimesKeep,), "ch05n.times_keep_form", {}),
    ("batchnorm", (ch05lt.NoVarTerm,), "ch05n.dx_var_form", {}),
    ("miou", (_miou_uint8,), "ch08.miou_uint8_form", {}),
    ("dice", (_dice_bool_plus,), "ch08.dice_bool_sum_form", {}),
]


@pytest.mark.parametrize("name,answer,form_key,values", REPEATS, ids=[r[0] for r in REPEATS])
def test_the_form_is_shown_only_when_the_same_case_fails_again(name, answer, form_key, values, lang):
    core._failed_cases.clear()
    check = getattr(cu.checks, name)
    form = t(form_key, **values).strip()
    messages = []
    for _ in range(2):
        with np.errstate(all="ignore"), pytest.raises(ExerciseFailed) as info:
            check(*answer)
        messages.append(str(info.value))
    first, again = messages
    assert first.splitlines()[0] == again.splitlines()[0]      # the same case
    assert form not in first, first
    assert form in again, again
    if lang == "en":
        assert_one_language(again, lang, "message")
