"""Chapter 01: the perceptron and logic gates.

Return values: a perceptron outputs 0 or 1. We accept any single number whose value is
exactly 0 or 1 — ``int``, ``bool`` (``True``/``False``), ``0.0``/``1.0``, NumPy scalars,
0-d or one-element arrays or tensors — because ``int(X >= th)``, ``X >= th`` and ``float(...)``
are all fair ways to write it. Anything else (the sum X itself, ``None``, an array of several
values, a string) fails with a message that says what came back.

Named mistakes: an answer of 0 or 1 that is wrong on a case equals *every* typical mistake that is
wrong there (there are only two values), so matching the answer against :class:`.core.Mistake`
records could not tell them apart. Instead each case is built to catch one mistake and carries its
hint (:class:`.core.Case` ``hint``): at the threshold ``>`` instead of ``>=``, with fractions an
``int`` cast, otherwise the rule itself (its code only when the same case fails again). A gate's
hint is the one of its gate (:data:`GATE_HINTS`).
"""
import numbers

import numpy as np

from ..i18n import register, t
from .core import (Case, Check, call, call_unchanged, compare, expect, fail, hint, on_repeat, require_callable, seed,
                   to_numpy)

__all__ = ["perceptron", "logic_gates"]


def _as_binary(value, x=None, w=None) -> int:
    """The student's output as the int 0 or 1, or a failure naming what came back."""
    if value is None:
        fail(t("ch01.not_binary", got="None", extra=t("ch01.none")))
    if isinstance(value, (str, bytes, list, tuple, dict, set)):
        fail(t("ch01.not_binary", got=f"{type(value).__name__} {value!r}"[:80], extra=""))
    arr = to_numpy(value, kind="0 or 1")
    if arr.size != 1:
        fail(t("ch01.not_binary", got=f"ndarray shape {arr.shape}", extra=t("ch01.array_returned")))
    number = arr.reshape(()).item()
    if not isinstance(number, (bool, numbers.Real)):
        fail(t("ch01.not_binary", got=f"{type(number).__name__} {number!r}"[:80], extra=""))
    if number in (0, 1):
        return int(number)
    returned_sum = x is not None and np.isclose(float(number), float(np.dot(x, w)))
    fail(t("ch01.not_binary", got=repr(number), extra=t("ch01.sum_returned") if returned_sum else ""))


def _vector(v) -> str:
    return "(" + ", ".join(f"{float(a):g}" for a in v) + ")"


def _case(key, x, w, th, hint_key, i=0) -> Case:
    x, w = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    return Case(key, (x, w, th), hint_key, values={"x": _vector(x), "w": _vector(w), "th": f"{th:g}", "i": i})


def _perceptron_cases() -> list:
    rng = np.random.default_rng(seed(1))
    cases = [
        _case("ch01.case.source", [5, 2, 3], [0.1, 0.7, 0.2], 3.0, "ch01.hint.source"),  # the worked example
        _case("ch01.case.source_above", [5, 2, 3], [0.1, 0.7, 0.2], 2.0, "ch01.hint.general"),
    ]
    # exactly at the threshold, in numbers that floating point represents exactly: > instead of >=
    for x, w, th in (([1, 1], [0.5, 0.5], 1.0), ([0, 0], [0.5, 0.5], 0.0), ([2, 1, 0], [0.25, 0.5, 4.0], 1.0)):
        cases.append(_case("ch01.case.equal", x, w, th, "ch01.hint.equal"))
    for x, w, th in (([1, 1], [0.5, 0.5], 1.25), ([1, 0], [-0.5, -0.5], -0.75), ([1, 1], [-0.5, -0.5], -0.75),
                     ([0, 3], [2.0, -1.0], -4.0)):
        cases.append(_case("ch01.case.fixed", x, w, th, "ch01.hint.general"))
    # fractions that an int cast of x, w or th would lose; the last one a rounded X misses
    for x, w, th in (([0.5, 0.5], [1.0, 1.0], 1.0), ([1, 1], [0.75, 0.75], 1.5), ([1, 1], [0.625, 0.625], 1.5),
                     ([2, 1], [0.25, 0.25], 0.75), ([1, 1], [0.7, 0.7], 1.2)):
        cases.append(_case("ch01.case.fraction", x, w, th, "ch01.hint.int_cast"))
    for _ in range(6):  # random cases, drawn anew in the instructor's grading run
        n = int(rng.integers(2, 6))
        x, w = np.round(rng.normal(size=n), 2), np.round(rng.normal(size=n), 2)
        th = round(float(np.dot(x, w)) + float(rng.choice([-1, 1])) * float(rng.uniform(0.1, 1.0)), 3)
        cases.append(_case("ch01.case.random", x, w, th, "ch01.hint.general", i=len(cases)))
    return cases


def _perceptron_reference(x, w, th) -> int:
    return int(float(np.dot(x, w)) >= th)


def _case_hint(key) -> str:
    """A case's hint; the rule's code only when the same case fails again."""
    return t(key) + (on_repeat(t("ch01.hint.general_code")) if key == "ch01.hint.general" else "")


def perceptron(func):
    """``perceptron(x, w, th) -> 0 or 1``: fires (1) when x·w >= th."""
    with Check("perceptron") as c:
        require_callable(func, "perceptron")
        for case in _perceptron_cases():
            c.case(case.title)
            x, w, th = case.args
            got = _as_binary(call_unchanged(func, *case.args), x, w)
            with hint(_case_hint(case.hint)), hint(t("ch01.sums", X=float(np.dot(x, w)), th=th)):
                compare(got, _perceptron_reference(*case.args))  # the reference only after the student's call


_INPUTS = ((0, 0), (0, 1), (1, 0), (1, 1))
_RULES = {"AND": lambda a, b: a & b, "OR": lambda a, b: a | b, "NAND": lambda a, b: 1 - (a & b),
          "XOR": lambda a, b: a ^ b}
# each gate's hint, and what only a repeated failure adds (XOR's wiring)
GATE_HINTS = {"AND": ("ch01.hint.gate_equal", None), "OR": ("ch01.hint.gate_equal", None),
              "NAND": ("ch01.hint.nand", None), "XOR": ("ch01.hint.xor", "ch01.hint.xor_recipe")}


def _table_text(outputs) -> str:
    return "  ".join(f"({a},{b})→{o}" for (a, b), o in zip(_INPUTS, outputs))


def _gate_hint(name) -> str:
    key, repeat = GATE_HINTS[name]
    return t(key) + (on_repeat(t(repeat)) if repeat else "")


def logic_gates(AND, OR, NAND, XOR):
    """``AND(x1, x2)``, ``OR``, ``NAND``, ``XOR``: each returns 0 or 1 for inputs 0/1.

    Each gate's four cases run first; its truth table is compared after, so that a failure shows
    the whole table beside the right one and names the first input where they differ.
    """
    gates = {"AND": AND, "OR": OR, "NAND": NAND, "XOR": XOR}
    with Check("logic_gates") as c:
        for name, func in gates.items():
            require_callable(func, name)
        for name, func in gates.items():
            cases = [Case("ch01.case.gate", (x1, x2), values={"gate": name, "x1": x1, "x2": x2}) for x1, x2 in _INPUTS]
            outputs = []
            for case in cases:
                c.case(case.title)
                outputs.append(_as_binary(call(func, *case.args)))
            want = [_RULES[name](*case.args) for case in cases]  # only after the student's calls
            for case, got, expected in zip(cases, outputs, want):
                c.current = case.title
                expect(got == expected, t("ch01.gate_wrong", gate=name, x1=case.args[0], x2=case.args[1],
                                          expected=expected, got=got, table=_table_text(outputs),
                                          want=_table_text(want), hint=_gate_hint(name)))


register({
    # case names
    "ch01.case.source": {"ja": "『勉強会資料』の例題 A=5, B=2, C=3, w=(0.1, 0.7, 0.2), th=3",
                         "en": "the study-group notes' example A=5, B=2, C=3, w=(0.1, 0.7, 0.2), th=3"},
    "ch01.case.source_above": {"ja": "『勉強会資料』の例題で th=2 (X=2.5 はしきい値以上)",
                               "en": "the study-group notes' example with th=2 (X=2.5 reaches the threshold)"},
    "ch01.case.equal": {"ja": "x·w がちょうど th に等しい: x={x}, w={w}, th={th}",
                        "en": "x·w exactly equal to th: x={x}, w={w}, th={th}"},
    "ch01.case.fixed": {"ja": "x={x}, w={w}, th={th}", "en": "x={x}, w={w}, th={th}"},
    "ch01.case.fraction": {"ja": "小数を含む入力: x={x}, w={w}, th={th}", "en": "fractional values: x={x}, w={w}, th={th}"},
    "ch01.case.random": {"ja": "ランダムな入力 {i}: x={x}, w={w}, th={th}",
                         "en": "random input {i}: x={x}, w={w}, th={th}"},
    "ch01.case.gate": {"ja": "{gate}({x1}, {x2})", "en": "{gate}({x1}, {x2})"},
    # failures
    "ch01.not_binary": {
        "ja": "返り値は 0 か 1 (int。True/False や 0.0/1.0 も可) のはずですが、{got} が返りました。{extra}",
        "en": "The result should be 0 or 1 (an int; True/False or 0.0/1.0 are accepted too), "
              "but your function returned {got}. {extra}"},
    "ch01.none": {"ja": "return を書き忘れていませんか?", "en": "Did you forget the return statement?"},
    "ch01.sum_returned": {"ja": "合計 X = x·w をそのまま返していませんか? X としきい値 th を比べて 0 か 1 を返します。",
                          "en": "Did you return the sum X = x·w itself? Compare X with the threshold th "
                                "and return 0 or 1."},
    "ch01.array_returned": {"ja": "1 つの数を返してください。要素ごとに比べていませんか? まず合計 X = x·w を求めます。",
                            "en": "Return one number. Did you compare element by element? First add up X = x·w."},
    "ch01.sums": {"ja": "(X = x·w = {X:.6g}、th = {th:.6g})", "en": "(X = x·w = {X:.6g}, th = {th:.6g})"},
    "ch01.hint.equal": {
        "ja": "X が th とちょうど等しいときは発火 (1) します: 条件は X ≥ th です。> ではなく >= を使っていますか?",
        "en": "When X equals th exactly the perceptron fires (1): the rule is X ≥ th. "
              "Did you write > instead of >=?"},
    "ch01.hint.source": {
        "ja": "X = 5×0.1 + 2×0.7 + 3×0.2 = 2.5 で、しきい値 3 に届かないので出力は 0 です。",
        "en": "X = 5×0.1 + 2×0.7 + 3×0.2 = 2.5 is below the threshold 3, so the output is 0."},
    "ch01.hint.int_cast": {
        "ja": "x、w、th は小数のこともあります。int() や astype(int) で整数にすると小数部分が消えます。",
        "en": "x, w and th may be fractions; int() or astype(int) drops the fractional part."},
    "ch01.hint.general": {
        "ja": "重み付き和 X = Σ xᵢwᵢ をしきい値 th と比べます: X ≥ th なら 1、そうでなければ 0 です。",
        "en": "Compare the weighted sum X = Σ xᵢwᵢ with the threshold th: 1 when X ≥ th, else 0."},
    "ch01.hint.general_code": {"ja": " (X は np.dot(x, w) で計算できます)", "en": " (np.dot(x, w) computes X)"},
    "ch01.gate_wrong": {
        "ja": "{gate}({x1}, {x2}) は {expected} のはずですが {got} でした。\n"
              "あなたの {gate}: {table}\n正しい {gate}:   {want}{hint}",
        "en": "{gate}({x1}, {x2}) should be {expected} but is {got}.\nyour {gate}:    {table}\n"
              "correct {gate}: {want}{hint}"},
    "ch01.hint.xor": {
        "ja": "\nヒント: XOR は 1 本の直線では分けられないので、1 つのパーセプトロンでは作れません。"
              "作ったゲート (AND, OR, NAND) を組み合わせてください。",
        "en": "\nHint: XOR cannot be drawn with one line, so a single perceptron cannot do it. "
              "Combine the gates you already wrote (AND, OR, NAND)."},
    "ch01.hint.xor_recipe": {"ja": " NAND と OR の出力を AND に入れると…?",
                             "en": " Feed the outputs of NAND and OR into AND…"},
    "ch01.hint.nand": {"ja": "\nヒント: NAND は AND の出力を反転したもの (NOT AND) です。"
                             "重みとしきい値の符号をすべて反転してみましょう。",
                       "en": "\nHint: NAND is AND with the output flipped (NOT AND); try flipping the sign of "
                             "the weights and of the threshold."},
    "ch01.hint.gate_equal": {"ja": "\nヒント: 重み付き和がちょうどしきい値に等しい場合 (例: 0.5+0.5 と 1.0) の "
                                   ">= と > の違いに注意してください。",
                             "en": "\nHint: watch the case where the weighted sum equals the threshold exactly "
                                   "(e.g. 0.5 + 0.5 and 1.0): >= and > differ there."},
})
