"""Chapter 02: the activation functions and softmax (``activations``, ``softmax``).

Conventions checked here (the notebook states them too):

- ``step(x)`` is 1 where x > 0 and 0 where x <= 0, so step(0) = 0 (the study-group notes' formula, and
  the convention of 『ゼロから作るDeep Learning』).
- All three activations work element-wise on arrays of any shape and leave the input alone.
- ``sigmoid`` must not give NaN for x = ±1000 (a RuntimeWarning about overflow is fine).
- ``softmax(x)`` works over the last axis and must survive inputs like 1000.

Each function is a :class:`Spec`: its cases, the reference (PyTorch), the named mistakes, and
what a failure adds (a hint when the student's code raises, one for NaN / inf, one for a wrong answer
no mistake names). :func:`run_spec` runs one inside the check's ``with Check(...)`` block.
The chapter's loss and update are in ``ch02_loss`` (``cross_entropy``) and ``ch02_sgd`` (``sgd_step``).
"""
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..i18n import register, t
from .core import Case, Check, Mistake, as_array, call_unchanged, compare, expect, hint, on_repeat, require_callable, seed

__all__ = ["activations", "softmax"]


def shown(x) -> str:
    """An array as a case name shows it: four decimals, comma-separated."""
    return np.array2string(np.asarray(x), precision=4, separator=", ")


def text(key: str, form: str | None = None, **values) -> str:
    """The message ``key`` (with ``values``); its ``form`` (the code or formula) only when the same case fails again."""
    return t(key, **values) + (on_repeat(" " + t(form)) if form else "")


@dataclass(frozen=True)
class Spec:
    """What a check tries on one student function: its cases and reference, the named mistakes, and
    what a failure adds.

    ``convert(answer, *args)`` turns the answer into what is compared (failing on what cannot be right);
    ``on_error`` is a ``(key, form)`` pair added when the student's code raises; ``nonfinite(case)``
    the ``(key, form)`` for an answer with NaN or infinity; ``unexplained(answer, *args)`` the text (or
    None) for a wrong answer that no mistake names.
    """
    cases: list
    reference: Callable
    mistakes: tuple = ()
    convert: Callable | None = None
    on_error: tuple | None = None
    nonfinite: Callable | None = None
    unexplained: Callable | None = None
    tol: dict = field(default_factory=lambda: {"rtol": 1e-5, "atol": 1e-8})


def run_spec(c: Check, func, spec: Spec) -> None:
    """Every case of ``spec`` on the student's ``func``, inside the running check ``c``; the
    reference only after the student's call. Overflow warnings are silenced: NaN / inf are judged."""
    for case in spec.cases:
        c.case(case.title)
        with hint(t(case.hint)) if case.hint else contextlib.nullcontext(), np.errstate(all="ignore"):
            got = call_unchanged(func, *case.args, on_error=text(*spec.on_error) if spec.on_error else None)
            got = spec.convert(got, *case.args) if spec.convert else got
            compare(got, spec.reference(*case.args), spec.mistakes, case.args, **spec.tol,
                    nonfinite=text(*spec.nonfinite(case)) if spec.nonfinite else None,
                    unexplained=spec.unexplained(got, *case.args) if spec.unexplained else None)


def _torch(name, x):
    """The reference: PyTorch's ``step`` (heaviside with step(0) = 0), ``sigmoid``, ``relu`` or ``softmax``."""
    import torch

    tensor = torch.as_tensor(np.asarray(x, dtype=np.float64))
    if name == "step":
        return torch.heaviside(tensor, torch.zeros((), dtype=tensor.dtype)).numpy()
    if name == "sigmoid":
        return torch.sigmoid(tensor).numpy()
    if name == "relu":
        return torch.relu(tensor).numpy()
    if name == "softmax":
        return torch.softmax(tensor, dim=-1).numpy()
    raise ValueError(name)


# --- activations -------------------------------------------------------------------------------

def _only_zeros_and_ones(got, x) -> np.ndarray:
    arr = as_array(got, x.shape)
    others = sorted(set(np.unique(arr.astype(np.float64)).tolist()) - {0.0, 1.0})
    expect(not others, t("ch02.step_binary", got=others[:3]))
    return arr


def _between_zero_and_one(got, x) -> np.ndarray:
    arr = as_array(got, x.shape)
    if np.isfinite(arr).all():
        expect(arr.min() >= 0 and arr.max() <= 1, t("ch02.sigmoid_range", lo=arr.min(), hi=arr.max()))
    return arr


def _not_negative(got, x):
    arr = as_array(got)
    if arr.shape == x.shape and np.isfinite(arr).all():
        expect(arr.min() >= 0, t("ch02.relu_negative", lo=arr.min()))
    return arr


def _activation_cases(name, source_key, x1, x2, *extra) -> list:
    return [Case(source_key, (x1,), values={"x": shown(x1)}),
            Case("ch02.case.random2d", (x2,), values={"name": name, "shape": x2.shape}), *extra]


def _activation_specs():
    rng = np.random.default_rng(seed(2))
    x1 = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    x2 = np.round(rng.normal(0, 3, size=(3, 4)), 2)
    x2[1, 2] = 0.0
    big = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    close = {"rtol": 1e-6, "atol": 1e-9}
    vectorise = ("ch02.vectorise", "ch02.vectorise_form")
    relu_def = ("ch02.relu_def", "ch02.relu_form")
    step = Spec(_activation_cases("step", "ch02.case.step_source", x1, x2), lambda x: _torch("step", x),
                mistakes=(Mistake(lambda x: (x >= 0).astype(float), "ch02.step_zero"),),
                convert=_only_zeros_and_ones, on_error=vectorise)
    sigmoid = Spec(_activation_cases("sigmoid", "ch02.case.sigmoid_source", x1, x2,
                                     Case("ch02.case.sigmoid_big", (big,), values={"x": shown(big)})),
                   lambda x: _torch("sigmoid", x),
                   mistakes=(Mistake(lambda x: 1 / (1 + np.exp(x)), "ch02.sigmoid_sign", formula="ch02.sigmoid_form"),),
                   convert=_between_zero_and_one, on_error=vectorise,
                   nonfinite=lambda case: ("ch02.sigmoid_nan", "ch02.sigmoid_form"), tol=close)
    relu = Spec(_activation_cases("relu", "ch02.case.relu_source", x1, x2), lambda x: _torch("relu", x),
                mistakes=(Mistake(np.abs, "ch02.relu_abs", formula="ch02.relu_form"),
                          Mistake(lambda x: np.max(x, 0), *relu_def)),
                convert=_not_negative, on_error=relu_def, unexplained=lambda got, x: text(*relu_def), tol=close)
    return step, sigmoid, relu


def activations(step, sigmoid, relu):
    """``step(x)``, ``sigmoid(x)``, ``relu(x)``: element-wise on NumPy arrays of any shape."""
    with Check("activations") as c:
        for func, what in ((step, "step"), (sigmoid, "sigmoid"), (relu, "relu")):
            require_callable(func, what)
        for func, spec in zip((step, sigmoid, relu), _activation_specs()):
            run_spec(c, func, spec)


# --- softmax -----------------------------------------------------------------------------------

# the NaN / inf hint of the cases built for it (each row's own maximum, rows spanning thousands)
SOFTMAX_NONFINITE = {"ch02.case.softmax_rows": "ch02.softmax_rowmax", "ch02.case.softmax_span": "ch02.softmax_span"}


def _softmax_axis0(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _rows_not_summing_to_one(got, x):
    """The hint for an answer whose values along the last axis do not sum to 1, else None."""
    sums = got.astype(np.float64).sum(axis=-1)
    if not np.isfinite(sums).all() or np.allclose(sums, 1.0, rtol=1e-5, atol=1e-6):
        return None
    return text("ch02.softmax_sum", "ch02.softmax_sum_form", sums=shown(sums.ravel()[:4]))


def _softmax_cases() -> list:
    rng = np.random.default_rng(seed(3))
    small = np.array([1.0, 2.0, 3.0])
    span = np.array([[-3000.0, 0, 2000, 1999], [4000, -1000, 3998, 0], [5, 3000, -2000, 2999]])
    return [
        Case("ch02.case.softmax_small", (small,), values={"x": shown(small)}),
        Case("ch02.case.softmax_big", (np.array([1000.0, 1001.0, 1002.0]),), values={"x": "[1000, 1001, 1002]"}),
        Case("ch02.case.softmax_neg", (np.full(3, -1000.0),), values={"x": "[-1000, -1000, -1000]"}),
        Case("ch02.case.softmax_batch", (np.array([[1.0, 2, 3], [1, 1, 4]]),), values={"x": "[[1, 2, 3], [1, 1, 4]]"}),
        Case("ch02.case.softmax_rows", (np.array([[0.0, 1, 2], [1000, 1001, 1002]]),),
             values={"x": "[[0, 1, 2], [1000, 1001, 1002]]"}),
        Case("ch02.case.softmax_span", (span,),
             values={"x": "[[-3000, 0, 2000, 1999], [4000, -1000, 3998, 0], [5, 3000, -2000, 2999]]"}),
        Case("ch02.case.softmax_3d", (rng.normal(0, 2, size=(2, 3, 4)),)),
        Case("ch02.case.softmax_random", (rng.normal(0, 5, size=(5, 10)),)),
    ]


def softmax(func):
    """``softmax(x)`` over the last axis, stable for inputs like 1000."""
    spec = Spec(
        _softmax_cases(), lambda x: _torch("softmax", x),
        mistakes=(Mistake(_softmax_axis0, "ch02.softmax_axis0", formula="ch02.softmax_sum_form"),),
        convert=lambda got, x: as_array(got, x.shape),
        on_error=("ch02.softmax_batch_error", "ch02.softmax_batch_form"),
        nonfinite=lambda case: (SOFTMAX_NONFINITE.get(case.name, "ch02.softmax_overflow"), "ch02.softmax_max_form"),
        unexplained=_rows_not_summing_to_one, tol={"rtol": 1e-5, "atol": 1e-7})
    with Check("softmax") as c:
        require_callable(func, "softmax")
        run_spec(c, func, spec)


register({
    "ch02.case.step_source": {"ja": "step: 『勉強会資料』の式 (x > 0 で 1、x ≤ 0 で 0)、x = {x}",
                              "en": "step: the study-group notes' formula (1 for x > 0, 0 for x ≤ 0), x = {x}"},
    "ch02.case.random2d": {"ja": "{name}: 2 次元配列 {shape} (ランダム、PyTorch と比較)",
                           "en": "{name}: 2-D array {shape} (random, compared with PyTorch)"},
    "ch02.case.sigmoid_source": {"ja": "sigmoid: x = {x}", "en": "sigmoid: x = {x}"},
    "ch02.case.sigmoid_big": {"ja": "sigmoid: 極端な入力 x = {x} (オーバーフロー)",
                              "en": "sigmoid: extreme inputs x = {x} (overflow)"},
    "ch02.case.relu_source": {"ja": "relu: x = {x}", "en": "relu: x = {x}"},
    "ch02.case.softmax_small": {"ja": "softmax({x})", "en": "softmax({x})"},
    "ch02.case.softmax_big": {"ja": "大きな入力 softmax({x})", "en": "large inputs softmax({x})"},
    "ch02.case.softmax_neg": {"ja": "とても小さな入力 softmax({x})", "en": "very negative inputs softmax({x})"},
    "ch02.case.softmax_batch": {"ja": "バッチ (2, 3): 各行が 1 つのデータ {x}",
                                "en": "batch (2, 3): one sample per row {x}"},
    "ch02.case.softmax_rows": {"ja": "桁の違う行を含むバッチ {x}", "en": "a batch whose rows differ in scale {x}"},
    "ch02.case.softmax_span": {"ja": "1 行の中で数千も違う入力 {x}", "en": "rows spanning thousands {x}"},
    "ch02.case.softmax_3d": {"ja": "3 次元配列 (2, 3, 4) (最後の軸で softmax、PyTorch と比較)",
                             "en": "3-D array (2, 3, 4) (softmax over the last axis, compared with PyTorch)"},
    "ch02.case.softmax_random": {"ja": "ランダムなバッチ (5, 10) (PyTorch と比較)",
                                 "en": "random batch (5, 10) (compared with PyTorch)"},
    "ch02.vectorise": {
        "ja": "配列 (NumPy の ndarray) が丸ごと渡されます。if x > 0: のような書き方は配列では使えません。"
              "配列のまま、要素ごとに計算する書き方にしてください。",
        "en": "The whole array is passed in at once; `if x > 0:` does not work on arrays. Compute element-wise, "
              "on the whole array at once."},
    "ch02.vectorise_form": {"ja": "(例: np.where や、配列どうしの比較 x > 0)",
                            "en": "(e.g. np.where, or a comparison such as x > 0 on the array)"},
    "ch02.step_zero": {
        "ja": "step(0) が 1 になっています。このコースでは『勉強会資料』の式どおり x > 0 のときだけ 1、x ≤ 0 は 0 とします "
              "(つまり step(0) = 0)。>= ではなく > を使ってください。",
        "en": "step(0) came out as 1. In this course (as in the study-group notes' formula) step is 1 only for x > 0 "
              "and 0 for x ≤ 0, so step(0) = 0: use > rather than >=."},
    "ch02.step_binary": {"ja": "step の出力は 0 か 1 だけのはずですが、{got} が含まれています。",
                         "en": "step should output only 0 and 1, but the result contains {got}."},
    "ch02.sigmoid_nan": {
        "ja": "x = ±1000 で NaN か無限大になりました。np.exp(1000) は inf にオーバーフローし (警告が出るだけなら問題ありません)、"
              "inf / inf は NaN です。オーバーフローが分母だけに入る形に書けば、1/inf = 0 になります。",
        "en": "NaN or infinity for x = ±1000. np.exp(1000) overflows to inf (a warning alone is harmless), and "
              "inf / inf is NaN. Write it so that the overflow can only land in a denominator, where 1 / inf = 0."},
    "ch02.sigmoid_form": {"ja": "形: 1 / (1 + np.exp(-x))", "en": "The form: 1 / (1 + np.exp(-x))"},
    "ch02.sigmoid_range": {"ja": "シグモイドの値は 0 から 1 の間のはずですが、最小 {lo}、最大 {hi} でした。",
                           "en": "Sigmoid values lie between 0 and 1, but yours range from {lo} to {hi}."},
    "ch02.sigmoid_sign": {
        "ja": "x が大きくなるほど値が小さくなっています。シグモイドは x が大きいほど 1 に近づきます。exp の中の符号を確かめてください。",
        "en": "Your values fall as x grows, but the sigmoid rises towards 1 for large x. Check the sign inside the exp."},
    "ch02.relu_negative": {
        "ja": "ReLU が負の値 (最小 {lo}) を返しました。ReLU は max(0, x) なので、負の入力は 0 になります。",
        "en": "ReLU returned negative values (minimum {lo}). ReLU is max(0, x): negative inputs become 0."},
    "ch02.relu_abs": {
        "ja": "負の入力が正の値になっています (絶対値)。ReLU は負の入力を 0 にします: 要素ごとの max(0, x) です。",
        "en": "Negative inputs became positive (an absolute value). ReLU sets them to 0: max(0, x) element by element."},
    "ch02.relu_def": {
        "ja": "ReLU は要素ごとの max(0, x) です。(np.max(x, 0) は軸に沿った最大値で、1 つの数になります。)",
        "en": "ReLU is max(0, x) element by element. (np.max(x, 0) is the maximum along an axis, a single number.)"},
    "ch02.relu_form": {"ja": "書き方: np.maximum(0, x)", "en": "The form: np.maximum(0, x)"},
    "ch02.softmax_overflow": {
        "ja": "1000 のような大きな入力 (または -1000 のような小さな入力) で NaN になりました。np.exp(1000) は inf に"
              "オーバーフローし、inf / inf = NaN です (np.exp(-1000) = 0 なら 0 / 0 = NaN)。"
              "softmax(x) = softmax(x − c) なので、exp の前に各行の最大値を引いてください。",
        "en": "NaN for large inputs like 1000 (or very negative ones like -1000): np.exp(1000) overflows to inf, "
              "and inf / inf = NaN (and np.exp(-1000) = 0 gives 0 / 0 = NaN). Since softmax(x) = softmax(x − c), "
              "subtract each row's maximum before the exp."},
    "ch02.softmax_max_form": {"ja": "書き方: x - x.max(axis=-1, keepdims=True)",
                              "en": "The form: x - x.max(axis=-1, keepdims=True)"},
    "ch02.softmax_rowmax": {
        "ja": "行ごとの桁が違うと NaN になりました。配列全体の最大値ではなく、行ごとの最大値を引いてください。",
        "en": "NaN when the rows differ in scale: subtract each row's own maximum, not the maximum of the whole array."},
    "ch02.softmax_span": {
        "ja": "1 行の中の値が数千も違うと NaN か無限大になりました。最小値や平均、最初の値を引いても、exp の中にまだ数千が残ります。"
              "exp の中が 0 以下になる値を、行ごとに引いてください。",
        "en": "NaN or infinity when a row spans thousands: after subtracting the row's minimum, mean or first entry, "
              "exp still sees thousands. Subtract, row by row, the value that makes every exponent ≤ 0."},
    "ch02.softmax_sum": {
        "ja": "最後の軸 (各行) の和が 1 になっていません (和: {sums})。softmax は最後の軸 (axis=-1) で計算します: "
              "各行をその行の和で割ってください。",
        "en": "The values along the last axis (each row) do not sum to 1 (sums: {sums}). Softmax works over "
              "the last axis (axis=-1): divide each row by its own sum."},
    "ch02.softmax_sum_form": {"ja": "書き方: e / np.sum(e, axis=-1, keepdims=True)",
                              "en": "The form: e / np.sum(e, axis=-1, keepdims=True)"},
    "ch02.softmax_axis0": {"ja": "列の和が 1 になっています: axis=0 で計算していませんか? softmax は最後の軸 (axis=-1) で計算します。",
                           "en": "Your columns sum to 1: did you use axis=0? Softmax works over the last axis (axis=-1)."},
    "ch02.softmax_batch_error": {
        "ja": "x は 1 次元 (C,) のことも、バッチ (N, C) や (N, M, C) のこともあります。和や最大値は最後の軸 (axis=-1) "
              "で取り、その軸を長さ 1 で残すと、元の配列とそのまま引き算・割り算できます。",
        "en": "x may be 1-D (C,) or a batch (N, C) or (N, M, C). Take sums and maxima over the last axis (axis=-1) "
              "and keep that axis with length 1, so the subtraction and division broadcast correctly."},
    "ch02.softmax_batch_form": {"ja": "(keepdims=True)", "en": "(keepdims=True)"},
})
