"""Chapter 02: the cross-entropy loss (``cross_entropy``).

``cross_entropy(p, y)`` takes probabilities ``p`` (N, C) and labels ``y`` as class indices (N,) or
one-hot (N, C), float or integer, and returns the mean over the batch. Any tiny epsilon that keeps
log(0) finite (1e-7, 1e-12, clipping) is accepted; one so large that probability 0 gives a small loss
is not. The reference is PyTorch's ``nll_loss`` of log p. Named mistakes: the sum over the batch and
the mean over all N×C entries; a wrong answer that is right with the other label format is told that
labels come in both formats.
"""
import numpy as np

from ..i18n import register, t
from .ch02 import shown, text
from .core import Case, Check, Mistake, as_array, call_unchanged, compare, expect, fail, failure_text, require_callable, seed

__all__ = ["cross_entropy"]

CLASSES = ("normal", "polyps", "esophagitis", "colitis")
SOURCE_P = np.array([0.00, 0.97, 0.02, 0.01])  # the endoscopy example of the notebook
TOL = {"rtol": 1e-4, "atol": 1e-6}  # room for the common log(p + 1e-7)


def _indices(y):
    return y if y.ndim == 1 else y.argmax(axis=-1)


def _other_format(p, y):
    """The same labels in the other format: one-hot for class indices, class indices for one-hot."""
    return np.eye(p.shape[1])[y] if y.ndim == 1 else y.argmax(axis=-1)


def _reference(p, y) -> float:
    import torch
    import torch.nn.functional as F

    logp = torch.log(torch.as_tensor(p, dtype=torch.float64).clamp_min(1e-300))
    return float(F.nll_loss(logp, torch.as_tensor(np.asarray(_indices(y), dtype=np.int64))))


MISTAKES = (Mistake(lambda p, y: _reference(p, y) * len(p), "ch02.ce_sum"),
            Mistake(lambda p, y: _reference(p, y) / p.shape[1], "ch02.ce_all_mean"))


def _loss(func, p, y) -> float:
    """The student's loss on one case: one finite, non-negative number, or a clear failure."""
    with np.errstate(all="ignore"):
        arr = as_array(call_unchanged(func, p, y))
    expect(arr.size == 1, t("check.shape", expected=(), got=arr.shape) + "\n" + t("ch02.ce_scalar"))
    value = float(arr.astype(np.float64).reshape(()))
    expect(np.isfinite(value), text("ch02.ce_log0", "ch02.ce_log0_form"))
    expect(value >= 0, t("ch02.ce_negative", got=f"{value:.6g}"))
    return value


def _judge(func, p, y) -> None:
    """The student's loss on ``(p, y)`` against the reference, computed after the call."""
    compare(_loss(func, p, y), _reference(p, y), MISTAKES, (p, y), **TOL)


def _cases() -> list:
    rng = np.random.default_rng(seed(4))
    logits = rng.normal(0, 1, size=(8, 5))
    p_rand = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_rand = rng.integers(0, 5, size=8)
    source, batch, y_batch = SOURCE_P[None, :], np.stack([SOURCE_P, SOURCE_P]), np.array([1, 3])

    def case(key, p, y, **values):
        return Case(key, (p, y), values={"y": shown(y), **values})

    return [
        case("ch02.case.ce_source", source, np.array([1]), label=t("ch02.label.polyps")),
        case("ch02.case.ce_source", source, np.array([3]), label=t("ch02.label.colitis")),
        case("ch02.case.ce_source", source, np.eye(4)[[1]], label=t("ch02.label.polyps")),
        case("ch02.case.ce_batch", batch, y_batch),
        case("ch02.case.ce_batch", batch, np.eye(4)[y_batch]),
        case("ch02.case.ce_random", p_rand, y_rand, kind=t("ch02.kind.index")),
        case("ch02.case.ce_random", p_rand, np.eye(5)[y_rand], kind=t("ch02.kind.onehot")),
        case("ch02.case.ce_random", p_rand, np.eye(5, dtype=int)[y_rand], kind=t("ch02.kind.onehot_int")),
    ]


def _zero_probability_cases() -> list:
    """The true class has probability 0: the loss must be large (an ε as big as 0.01 caps it at 4.6)."""
    return [Case("ch02.case.ce_zero", (SOURCE_P[None, :], y), values={"y": shown(y)}) for y in (np.array([0]), np.eye(4)[[0]])]


def cross_entropy(func):
    """``cross_entropy(p, y)``: mean over the batch; ``y`` class indices (N,) or one-hot (N, C)."""
    with Check("cross_entropy") as c:
        require_callable(func, "cross_entropy")
        for case in _cases():
            c.case(case.title)
            message = failure_text(_judge, func, *case.args)
            if message is not None:  # right with the other label format: labels come in both
                if failure_text(_judge, func, case.args[0], _other_format(*case.args)) is None:
                    message += "\n" + text("ch02.ce_labels", "ch02.ce_labels_code")
                fail(message)
        for case in _zero_probability_cases():
            c.case(case.title)
            value = _loss(func, *case.args)
            expect(value > -np.log(0.01), t("ch02.ce_zero_small", got=f"{value:.6g}"))


register({
    "ch02.case.ce_source": {"ja": "内視鏡画像の例 p = (正常 0.00, ポリープ 0.97, 食道炎 0.02, 大腸炎 0.01)、正解 {label}、y = {y}",
                            "en": "the endoscopy example p = (normal 0.00, polyps 0.97, esophagitis 0.02, colitis 0.01), "
                                  "label {label}, y = {y}"},
    "ch02.case.ce_batch": {"ja": "内視鏡画像の例を 2 つ並べたバッチ (正解 ポリープ (polyps) と 大腸炎 (colitis))、y = {y}",
                           "en": "the endoscopy example twice in a batch (labels polyps and colitis), y = {y}"},
    "ch02.case.ce_zero": {"ja": "正解クラスの確率が 0 (正解 正常 (normal)、p = 0.00)、y = {y}",
                          "en": "probability 0 for the true class (label normal, p = 0.00), y = {y}"},
    "ch02.case.ce_random": {"ja": "ランダムなバッチ (8, 5)、{kind} (PyTorch の nll_loss と比較)",
                            "en": "random batch (8, 5), {kind} (compared with PyTorch's nll_loss)"},
    "ch02.label.polyps": {"ja": "ポリープ (polyps)", "en": "polyps"},
    "ch02.label.colitis": {"ja": "大腸炎 (colitis)", "en": "colitis"},
    "ch02.kind.index": {"ja": "クラス番号 y (N,)", "en": "class indices y (N,)"},
    "ch02.kind.onehot": {"ja": "one-hot y (N, C)", "en": "one-hot y (N, C)"},
    "ch02.kind.onehot_int": {"ja": "整数の one-hot y (N, C) (np.eye(C, dtype=int))",
                             "en": "integer one-hot y (N, C) (np.eye(C, dtype=int))"},
    "ch02.ce_log0": {
        "ja": "確率 0 のところで log(0) = −∞ になり、0 × (−∞) = NaN や無限大の損失が出ています。"
              "log の中に小さな ε を足してください。",
        "en": "log(0) = −∞ where a probability is 0, and 0 × (−∞) = NaN (or an infinite loss). Add a tiny ε "
              "inside the log."},
    "ch02.ce_log0_form": {"ja": "書き方: np.log(p + 1e-7)", "en": "The form: np.log(p + 1e-7)"},
    "ch02.ce_sum": {
        "ja": "バッチの和になっているようです。期待値はバッチの平均です。バッチサイズ N で割ってください。",
        "en": "This looks like the sum over the batch; the expected value is the mean: divide by the batch size N."},
    "ch02.ce_all_mean": {
        "ja": "N×C 個すべての平均になっているようです。和はクラス方向にとり、平均はバッチ方向 (N) だけでとります。",
        "en": "This looks like the mean over all N×C entries. Sum over the classes, and average over the batch (N) only."},
    "ch02.ce_negative": {"ja": "交差エントロピーは 0 以上のはずですが、{got} でした。マイナス記号を忘れていませんか?",
                         "en": "Cross-entropy is never negative, but you got {got}. Did you forget the minus sign?"},
    "ch02.ce_scalar": {"ja": "バッチ全体で 1 つの数 (平均) を返してください。",
                       "en": "Return one number for the whole batch (the mean)."},
    "ch02.ce_labels": {
        "ja": "y はクラス番号 (形 (N,)) の場合と one-hot (形 (N, C)、float でも int でも) の場合があります。"
              "dtype ではなく y.ndim で見分けて両方に対応してください。",
        "en": "y may be class indices (shape (N,)) or one-hot (shape (N, C), float or integer); tell them apart "
              "by y.ndim, not by the dtype, and handle both."},
    "ch02.ce_labels_code": {"ja": "(例: if y.ndim == p.ndim: y = y.argmax(axis=-1))",
                            "en": "(e.g. if y.ndim == p.ndim: y = y.argmax(axis=-1))"},
    "ch02.ce_zero_small": {
        "ja": "正解クラスの確率が 0 なら損失は非常に大きいはずですが、{got} でした (p = 0.01 でも 4.6 です)。ε が大きすぎませんか?",
        "en": "With probability 0 for the true class the loss should be very large, but you got {got} "
              "(even p = 0.01 gives 4.6). Is your ε too big?"},
})
