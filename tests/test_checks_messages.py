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
from course_utils.i18n import language, set_language
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

RIGHT = {name: answers[0] for name, (_, _, answers) in adv.EXERCISES.items()}
RIGHT.update({
    "normalize_image": (lambda img: img / 255.0,),
    "max_pool2d": (ch05t.max_pool2d,), "avg_pool2d": (ch05t.avg_pool2d,),
    "max_pool2d_backward": (ch05t.max_pool2d_backward,),
    "conv_layer": (ch05lt.Conv,), "dropout": (ch05lt.Dropout,), "batchnorm": (ch05lt.BatchNorm,),
    "lenet": (ch06t.LeNetModules,), "miou": (ch08t.miou_loops,), "dice": (ch08t.dice_bool,), "unet": (ch08t.UNet,),
})

WRONG = {name: answers[0] for name, (_, answers, _) in adv.EXERCISES.items()}
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
