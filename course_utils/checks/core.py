"""What every exercise check is built from: the guide for writing one.

A check is a function ``chNN.name(student_function)`` listed in its module's ``__all__``. Most are
four things and one call:

1. **Cases** — :class:`Case` records: a name (an i18n key, so the failure names the case in the
   course language), the arguments for the student's function, and an optional hint key for what
   is special about the case. Put the source's worked example first, then edge cases, then random
   cases drawn through :func:`seed` (the instructor's grading run re-seeds them: hidden cases).
2. **The reference** — a function of the same arguments; the real library (torch, torchvision,
   OpenCV) where one exists. It runs *after* the student's call, so an answer that walks the call
   stack finds only its inputs.
3. **Named mistakes** — :class:`Mistake` records: what a typical wrong answer returns on the same
   arguments, and the hint key that names it (a ``formula`` key is added only when the same case
   fails again, :func:`on_repeat`: the first failure names the mistake, it does not hand over the
   answer line). A mistake of another shape (transposed, flattened) is recognised the same way.
4. **Messages** — one ``register({...})`` table at the end of the module, ``{"ja": ..., "en": ...}``.

Then ``run_cases(name, func, cases, reference, mistakes)`` calls the student's function on every
case (:func:`call_unchanged`: a stub, an exception, a changed input or a call into the checks
becomes a clear failure), compares with :func:`compare` (type, shape, NaN, values; on a wrong
answer the hint of the first mistake it equals) and prints the success line. A check whose
answer is not one array (a class, a module, a loss with its gradient) writes its own loop inside
``with Check(name) as c:`` with ``c.case(...)``, using the same :func:`call`, :func:`compare`,
:func:`as_number` / :func:`as_array`, :func:`expect` and :func:`fail`.

Any problem becomes :class:`ExerciseFailed` with a one-paragraph message that names the case and
says what was expected and what came back. In IPython / Jupyter the failure shows its message
alone (:meth:`ExerciseFailed._render_traceback_`); a real bug inside course_utils is any other
exception and keeps its traceback. Each finished check leaves an :class:`Outcome` in
:data:`OUTCOMES` (the instructor's grading run reads it from its own private copy of the package).
Fair play (a call into the checks refused, a call to the library operation named) is in
:mod:`.fairplay`; turning answers into arrays in :mod:`.answers`.
"""
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..i18n import register, t



class ExerciseFailed(AssertionError):
    """Raised by a check when the student's answer is wrong. The message says why.

    IPython (Jupyter, JupyterLab, nbclient) calls ``_render_traceback_()`` and shows the lines
    it returns instead of a traceback: the student sees the message alone.
    """

    def _render_traceback_(self):
        return str(self).splitlines() or [type(self).__name__]


@dataclass
class Outcome:
    """How one run of a check ended (read by the instructor's grading run)."""
    check: str
    passed: bool
    cases: int
    reason: str = ""
    notes: list = field(default_factory=list)


OUTCOMES: list = []  # every finished check, in order

_current: list = []  # the Check blocks now running (innermost last)


def current():
    """The :class:`Check` block now running (the innermost), or None."""
    return _current[-1] if _current else None


class Failure(Exception):
    """Why the current case failed; :class:`Check` turns it into ExerciseFailed."""


def fail(detail: str):
    """Stop the current case with a message (inside a :class:`Check` block)."""
    raise Failure(detail)


@contextlib.contextmanager
def hint(detail: str):
    """Add ``detail`` (a targeted hint) to any failure raised inside the block."""
    try:
        yield
    except Failure as failure:
        raise Failure(f"{failure}\n{detail}") from None


def failure_text(block, *args, **kwargs):
    """Run ``block``; the failure message it raises, or None when it passes.

    For checks that try a wrong-but-plausible reading of the answer to choose a hint.
    """
    try:
        block(*args, **kwargs)
    except Failure as failure:
        return str(failure)
    return None


class Check:
    """Context for one exercise check.

    ``with Check("softmax") as c:`` then ``c.case("...")`` before each case; a failure
    inside raises ExerciseFailed naming the check and the case; on success it prints one line.
    """

    def __init__(self, name: str):
        self.name = name
        self.current = "-"
        self.count = 0
        self.library_calls: list = []  # library operations the student's code called (LIBRARY_OPS)

    def case(self, description: str) -> "Check":
        self.current = description
        self.count += 1
        return self

    def notes(self) -> list:
        return [t("check.library", ops=", ".join(self.library_calls))] if self.library_calls else []

    def __enter__(self):
        _current.append(self)
        return self

    def __exit__(self, etype, exc, tb):
        if self in _current:
            _current.remove(self)
        if exc is None:
            print(" ".join([t("check.passed", name=self.name, n=self.count)] + self.notes()))
            OUTCOMES.append(Outcome(self.name, True, self.count, "", self.notes()))
            return False
        if isinstance(exc, Failure):
            message = t("check.failed", name=self.name, case=self.current, detail=str(exc))
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _failed_cases.add((self.name, self.current))
            OUTCOMES.append(Outcome(self.name, False, self.count, f"{self.current}: {first}", self.notes()))
            raise ExerciseFailed(message) from None
        OUTCOMES.append(Outcome(self.name, False, self.count, f"{type(exc).__name__}: {exc}"[:200], self.notes()))
        return False


HIDDEN = 0  # set by the instructor's grading run: the random cases are drawn anew, unseen by the student


def seed(n: int) -> int:
    """The seed of a check's random cases: ``n``, or with :data:`HIDDEN` set a hidden one derived from it."""
    return n if not HIDDEN else (n * 1_000_003 + HIDDEN) % (1 << 32)


_failed_cases: set = set()  # (check, case) pairs that failed before in this session


def again() -> bool:
    """Whether the case now running already failed before in this session (a repeated failure)."""
    check = current()
    return check is not None and (check.name, check.current) in _failed_cases


def on_repeat(text: str) -> str:
    """``text`` (e.g. the formula) on a repeated failure of the same case, else "": the first failure
    names the mistake, only a second one hands over the answer."""
    return text if again() else ""


def require_callable(obj, what: str) -> None:
    if not callable(obj):
        fail(t("check.not_callable", what=what, got=type(obj).__name__))


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return repr(x.item()) if isinstance(x, np.generic) else repr(x)


def assert_close(got, expected, rtol: float = 1e-5, atol: float = 1e-8, check_dtype=None) -> np.ndarray:
    """Compare an array-like answer with the expected one: type, shape, NaN, values.

    ``check_dtype`` is "float", "int" or None (any numeric dtype accepted).
    Returns the answer as a NumPy array.
    """
    expected = np.asarray(expected)
    got_arr = to_numpy(got, kind=f"ndarray {expected.shape}" if expected.ndim else "number")
    if got_arr.shape != expected.shape:
        fail(t("check.shape", expected=expected.shape, got=got_arr.shape))
    if not (np.issubdtype(got_arr.dtype, np.number) or got_arr.dtype == bool):
        fail(t("check.dtype", expected="number", got=got_arr.dtype))
    if check_dtype == "float" and not np.issubdtype(got_arr.dtype, np.floating):
        fail(t("check.dtype", expected="float", got=got_arr.dtype))
    if check_dtype == "int" and not np.issubdtype(got_arr.dtype, np.integer):
        fail(t("check.dtype", expected="int", got=got_arr.dtype))
    got_f = got_arr.astype(np.float64)
    bad = ~np.isfinite(got_f) & np.isfinite(expected.astype(np.float64))
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        fail(t("check.nan", count=int(bad.sum()), index=index))
    close = np.isclose(got_f, expected.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
    if not close.all():
        if expected.ndim == 0:
            fail(t("check.scalar", expected=_fmt(expected[()]), got=_fmt(got_arr[()])))
        index = tuple(int(i) for i in np.argwhere(~close)[0])
        fail(t("check.value", count=int((~close).sum()), total=close.size, index=index,
               expected=_fmt(expected[index]), got=_fmt(got_arr[index]), rtol=rtol, atol=atol))
    return got_arr


def _all_finite(value) -> bool:
    """Whether a numeric answer holds no NaN or infinity (True for what is not numeric at all)."""
    try:
        return bool(np.isfinite(np.asarray(to_numpy(value), dtype=np.float64)).all())
    except (Failure, TypeError, ValueError):
        return True


def expect(condition: bool, detail: str) -> None:
    """Fail with ``detail`` unless ``condition`` holds."""
    if not condition:
        fail(detail)


def expect_equal(got, expected) -> None:
    """Exact comparison of scalars or small Python values."""
    if isinstance(got, np.generic):
        got = got.item()
    if got != expected:
        fail(t("check.scalar", expected=_fmt(expected), got=_fmt(got)))


@dataclass(frozen=True)
class Case:
    """One input a check tries: ``name`` an i18n key (``values`` fill its placeholders), ``args`` the
    student function's positional arguments, ``hint`` an i18n key added to any failure of this case."""
    name: str
    args: tuple = ()
    hint: str | None = None
    values: dict = field(default_factory=dict)

    @property
    def title(self) -> str:
        return t(self.name, **self.values)


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: ``answer(*args)`` is what it returns on a case's arguments (None where it
    does not apply), ``hint`` the i18n key naming it, ``formula`` a key shown only on a repeated failure."""
    answer: Callable
    hint: str
    formula: str | None = None

    def text(self) -> str:
        return t(self.hint) + (f"\n{t(self.formula)}" if self.formula and again() else "")


def _explain(got, expected, suspects, rtol, atol, nonfinite, unexplained) -> None:
    """Fail unless ``got`` equals ``expected``; name the first suspect ``(value, text)`` it equals
    (a suspect equal to the right answer is skipped)."""
    message = failure_text(assert_close, got, expected, rtol=rtol, atol=atol)
    if message is None:
        return
    if nonfinite and not _all_finite(got):
        fail(f"{message}\n{nonfinite}")
    for candidate, text in suspects:
        if candidate is None or failure_text(assert_close, candidate, expected, rtol=rtol, atol=atol) is None:
            continue
        if failure_text(assert_close, got, candidate, rtol=rtol, atol=atol) is None:
            fail(f"{message}\n{text}")
    fail(f"{message}\n{unexplained}" if unexplained else message)


def compare(got, expected, mistakes=(), args=(), *, rtol: float = 1e-5, atol: float = 1e-8,
            nonfinite: str | None = None, unexplained: str | None = None) -> None:
    """The one comparator: :func:`assert_close`, and on a wrong answer the hint of the first
    :class:`Mistake` whose answer on ``args`` the student's equals (shape and values); else
    ``nonfinite`` (text) when the answer holds NaN or infinity, else ``unexplained`` (text)."""
    if failure_text(assert_close, got, expected, rtol=rtol, atol=atol) is None:
        return
    # a list, not a generator: a suspended generator of the checks, closed later by the garbage collector
    # while a student's function runs, would look to fair play like a call into the checks
    suspects = [(m.answer(*args), m.text()) for m in mistakes]
    _explain(got, expected, suspects, rtol, atol, nonfinite, unexplained)


def assert_close_or_explain(got, expected, suspects=(), rtol: float = 1e-5, atol: float = 1e-8,
                            nonfinite: str | None = None, unexplained: str | None = None) -> None:
    """:func:`compare` for values already computed: ``suspects`` are ``(value, hint text)`` pairs."""
    _explain(got, expected, suspects, rtol, atol, nonfinite, unexplained)


def run_cases(name: str, func, cases, reference, mistakes=(), *, rtol: float = 1e-5, atol: float = 1e-8,
              convert=None, on_error: str | None = None, unexplained=None, nonfinite: str | None = None) -> None:
    """A whole check: for each :class:`Case`, call the student's ``func`` (:func:`call_unchanged`),
    turn the answer with ``convert(answer, *case.args)`` if given (e.g. into one number; it may fail
    with its own message), compute ``reference(*case.args)`` after the call, :func:`compare` (with
    ``mistakes``); print the success line. ``on_error``: a hint key added when the student's code
    raises in a case without a hint of its own; ``unexplained(answer, expected, *case.args)``: the
    hint (text or None) for a wrong answer no mistake explains, read from the answer itself."""
    with Check(name) as c:
        require_callable(func, name)
        for case in cases:
            c.case(case.title)
            with hint(t(case.hint)) if case.hint else contextlib.nullcontext():
                got = call_unchanged(func, *case.args, on_error=t(on_error) if on_error and not case.hint else None)
                got = convert(got, *case.args) if convert else got
                expected = reference(*case.args)
                compare(got, expected, mistakes, case.args, rtol=rtol, atol=atol, nonfinite=nonfinite,
                        unexplained=unexplained(got, expected, *case.args) if unexplained else None)


# What a check imports from here, though it lives in its own module (see the module docstring)
from .answers import as_array, as_number, describe_type, tensor_to_numpy, to_numpy  # noqa: E402, F401
from .fairplay import LIBRARY_OPS, UNWATCHED, call, call_unchanged, trusted  # noqa: E402, F401


register({
    "check.failed": {"ja": "✗ {name}: ケース「{case}」で不合格です。\n{detail}",
                     "en": "✗ {name}: failed on case \"{case}\".\n{detail}"},
    "check.passed": {"ja": "✓ {name}: 全 {n} ケースに合格しました。",
                     "en": "✓ {name}: all {n} cases passed."},
    "check.stub": {"ja": "まだ実装されていません (NotImplementedError)。演習のセルの「# ここにあなたのコードを書いてください」"
                         "の行と、その下の raise NotImplementedError(...) の行を、あなたのコードで置き換えてください。",
                   "en": "Not implemented yet (NotImplementedError): in the exercise cell, replace the line "
                         "\"# Write your code here\" and the raise NotImplementedError(...) below it with your code."},
    "check.reference": {"ja": "あなたの関数が講座のチェック用のコード ({where}) を呼んでいます。チェックの参照実装は"
                              "答えになりません。自分で実装してください。",
                        "en": "Your function calls the course's own checking code ({where}). The checks' reference "
                              "implementation is not an answer: write the exercise yourself."},
    "check.library": {"ja": "注意: あなたの関数は、比較に使っているライブラリの関数 {ops} を呼んでいます。"
                            "この演習はその計算を自分で書くことです。",
                      "en": "Note: your function calls {ops}, the library operation this check compares with; "
                            "the exercise is to write that computation yourself."},
    "check.raised": {"ja": "あなたの関数が例外 {etype} を出しました: {message}",
                     "en": "Your function raised {etype}: {message}"},
    "check.type": {"ja": "返り値の型が違います。期待: {expected}、実際: {got}",
                   "en": "Wrong return type. Expected {expected}, got {got}."},
    "check.shape": {"ja": "形 (shape) が違います。期待: {expected}、実際: {got}",
                    "en": "Wrong shape. Expected {expected}, got {got}."},
    "check.nan": {"ja": "NaN か無限大が含まれています ({count} 個、最初は位置 {index})。オーバーフローしていませんか?",
                  "en": "The result contains NaN or infinity ({count} values, first at index {index}). Did something overflow?"},
    "check.value": {"ja": "値が違います ({count}/{total} 個が不一致)。位置 {index} で期待 {expected}、実際 {got} (許容誤差 rtol={rtol}, atol={atol})。",
                    "en": "Wrong values ({count}/{total} differ). At index {index} expected {expected}, got {got} (tolerance rtol={rtol}, atol={atol})."},
    "check.scalar": {"ja": "値が違います。期待 {expected}、実際 {got}。",
                     "en": "Wrong value. Expected {expected}, got {got}."},
    "check.dtype": {"ja": "dtype が違います。期待: {expected}、実際: {got}",
                    "en": "Wrong dtype. Expected {expected}, got {got}."},
    "check.inputs_changed": {"ja": "入力の配列を書き換えてしまっています。入力はそのままにしてください。",
                             "en": "Your function modified its input array; leave the inputs unchanged."},
    "check.not_callable": {"ja": "{what} には関数 (またはクラス) を渡してください。渡されたのは {got} です。",
                           "en": "Pass a function (or class) as {what}; got {got}."},
    "check.not_number": {"ja": "返り値は 1 つの数 (float) にしてください。返ってきたのは {got} です。",
                         "en": "Return a single number (a float); got {got}."},
})
