"""Chapter 02: activation functions, softmax, cross-entropy and the SGD update.

Conventions checked here (the notebook states them too):

- ``step(x)`` is 1 where x > 0 and 0 where x <= 0, so step(0) = 0 (the study-group notes' formula, and
  the convention of 『ゼロから作るDeep Learning』).
- All three activations work element-wise on arrays of any shape and leave the input alone.
- ``sigmoid`` must not give NaN for x = ±1000 (a RuntimeWarning about overflow is fine).
- ``softmax(x)`` works over the last axis and must survive inputs like 1000.
- ``cross_entropy(p, y)`` takes probabilities ``p`` (N, C) and labels ``y`` as class indices
  (N,) or one-hot (N, C), and returns the mean over the batch. Any tiny epsilon that keeps
  log(0) finite (1e-7, 1e-12, clipping) is accepted.
- ``sgd_step(params, grads, lr)`` updates the arrays of ``params`` in place (same objects).
"""

import numpy as np

from ..i18n import register, t
from .core import (Check, Failure, assert_close, call_unchanged, expect, fail, failure_text, hint, on_repeat,
                   require_callable, seed, to_numpy)

__all__ = ["activations", "softmax", "cross_entropy", "sgd_step"]

CLASSES = ("normal", "polyps", "esophagitis", "colitis")
SOURCE_P = np.array([0.00, 0.97, 0.02, 0.01])

register({
    # case names
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
    "ch02.case.sgd_basic": {"ja": "1 ステップ (lr = {lr}、params = W1, b1, W2, b2)",
                            "en": "one step (lr = {lr}, params = W1, b1, W2, b2)"},
    "ch02.case.sgd_torch": {"ja": "torch.optim.SGD と比較 (lr = {lr})", "en": "compared with torch.optim.SGD (lr = {lr})"},
    "ch02.case.sgd_float32": {"ja": "float32 の配列、2 ステップ続けて (lr = {lr})",
                              "en": "float32 arrays, two steps in a row (lr = {lr})"},
    # hints
    "ch02.vectorise": {
        "ja": "配列 (NumPy の ndarray) が丸ごと渡されます。if x > 0: のような書き方は配列では使えません。"
              "配列のまま、要素ごとに計算する書き方にしてください。",
        "en": "The whole array is passed in at once; `if x > 0:` does not work on arrays. Compute element-wise, "
              "on the whole array at once."},
    "ch02.vectorise_form": {"ja": " (例: np.where や、配列どうしの比較 x > 0)",
                            "en": " (e.g. np.where, or a comparison such as x > 0 on the array)"},
    "ch02.step_zero": {
        "ja": "step(0) が {got} になっています。このコースでは『勉強会資料』の式どおり x > 0 のときだけ 1、x ≤ 0 は 0 とします "
              "(つまり step(0) = 0)。>= ではなく > を使ってください。",
        "en": "step(0) came out as {got}. In this course (as in the study-group notes' formula) step is 1 only for x > 0 "
              "and 0 for x ≤ 0, so step(0) = 0: use > rather than >=."},
    "ch02.step_binary": {"ja": "step の出力は 0 か 1 だけのはずですが、{got} が含まれています。",
                         "en": "step should output only 0 and 1, but the result contains {got}."},
    "ch02.sigmoid_nan": {
        "ja": "x = ±1000 で NaN か無限大になりました。np.exp(1000) は inf にオーバーフローし (警告が出るだけなら問題ありません)、"
              "inf / inf は NaN です。オーバーフローが分母だけに入る形に書けば、1/inf = 0 になります。",
        "en": "NaN or infinity for x = ±1000. np.exp(1000) overflows to inf (a warning alone is harmless), and "
              "inf / inf is NaN. Write it so that the overflow can only land in a denominator, where 1 / inf = 0."},
    "ch02.sigmoid_form": {"ja": " 形: 1 / (1 + np.exp(-x))", "en": " The form: 1 / (1 + np.exp(-x))"},
    "ch02.sigmoid_range": {"ja": "シグモイドの値は 0 から 1 の間のはずですが、最小 {lo}、最大 {hi} でした。",
                           "en": "Sigmoid values lie between 0 and 1, but yours range from {lo} to {hi}."},
    "ch02.relu_negative": {
        "ja": "ReLU が負の値 (最小 {lo}) を返しました。ReLU は max(0, x) なので、負の入力は 0 になります。",
        "en": "ReLU returned negative values (minimum {lo}). ReLU is max(0, x): negative inputs become 0."},
    "ch02.relu_def": {
        "ja": "ReLU は要素ごとの max(0, x) です。(np.max(x, 0) は軸に沿った最大値で、1 つの数になります。)",
        "en": "ReLU is max(0, x) element by element. (np.max(x, 0) is the maximum along an axis, a single number.)"},
    "ch02.relu_form": {"ja": " 書き方: np.maximum(0, x)", "en": " The form: np.maximum(0, x)"},
    "ch02.softmax_overflow": {
        "ja": "1000 のような大きな入力 (または -1000 のような小さな入力) で NaN になりました。np.exp(1000) は inf に"
              "オーバーフローし、inf / inf = NaN です (np.exp(-1000) = 0 なら 0 / 0 = NaN)。"
              "softmax(x) = softmax(x − c) なので、exp の前に各行の最大値を引いてください。",
        "en": "NaN for large inputs like 1000 (or very negative ones like -1000): np.exp(1000) overflows to inf, "
              "and inf / inf = NaN (and np.exp(-1000) = 0 gives 0 / 0 = NaN). Since softmax(x) = softmax(x − c), "
              "subtract each row's maximum before the exp."},
    "ch02.softmax_max_form": {"ja": " 書き方: x - x.max(axis=-1, keepdims=True)",
                              "en": " The form: x - x.max(axis=-1, keepdims=True)"},
    "ch02.softmax_rowmax": {
        "ja": "行ごとの桁が違うと NaN になりました。配列全体の最大値ではなく、行ごとの最大値を引いてください。",
        "en": "NaN when the rows differ in scale: subtract each row's own maximum, not the maximum of the whole array."},
    "ch02.softmax_span": {
        "ja": "1 行の中の値が数千も違うと NaN か無限大になりました。最小値や平均、最初の値を引いても、exp の中にまだ数千が残ります。"
              "exp の中が 0 以下になる値を、行ごとに引いてください。",
        "en": "NaN or infinity when a row spans thousands: after subtracting the row's minimum, mean or first entry, "
              "exp still sees thousands. Subtract, row by row, the value that makes every exponent ≤ 0."},
    "ch02.softmax_sum": {
        "ja": "最後の軸 (各行) の和が 1 になっていません (和: {sums})。{extra}softmax は最後の軸 (axis=-1) で計算します: "
              "各行をその行の和で割ってください。",
        "en": "The values along the last axis (each row) do not sum to 1 (sums: {sums}). {extra}Softmax works over "
              "the last axis (axis=-1): divide each row by its own sum."},
    "ch02.softmax_sum_form": {"ja": " 書き方: e / np.sum(e, axis=-1, keepdims=True)",
                              "en": " The form: e / np.sum(e, axis=-1, keepdims=True)"},
    "ch02.softmax_axis0": {"ja": "列の和が 1 になっています: axis=0 で計算していませんか? ",
                           "en": "Your columns sum to 1: did you use axis=0? "},
    "ch02.softmax_batch_error": {
        "ja": "x は 1 次元 (C,) のことも、バッチ (N, C) や (N, M, C) のこともあります。和や最大値は最後の軸 (axis=-1) "
              "で取り、その軸を長さ 1 で残すと、元の配列とそのまま引き算・割り算できます。",
        "en": "x may be 1-D (C,) or a batch (N, C) or (N, M, C). Take sums and maxima over the last axis (axis=-1) "
              "and keep that axis with length 1, so the subtraction and division broadcast correctly."},
    "ch02.softmax_batch_form": {"ja": " (keepdims=True)", "en": " (keepdims=True)"},
    "ch02.ce_log0": {
        "ja": "確率 0 のところで log(0) = −∞ になり、0 × (−∞) = NaN や無限大の損失が出ています。"
              "log の中に小さな ε を足してください。",
        "en": "log(0) = −∞ where a probability is 0, and 0 × (−∞) = NaN (or an infinite loss). Add a tiny ε "
              "inside the log."},
    "ch02.ce_log0_form": {"ja": " 書き方: np.log(p + 1e-7)", "en": " The form: np.log(p + 1e-7)"},
    "ch02.ce_sum": {
        "ja": "バッチの和 ({got}) になっているようです。期待値はバッチの平均 {expected} です。N (= {n}) で割ってください。",
        "en": "This looks like the sum over the batch ({got}); the expected value is the mean, {expected}. "
              "Divide by the batch size N (= {n})."},
    "ch02.ce_all_mean": {
        "ja": "N×C 個すべての平均になっているようです ({got})。和はクラス方向にとり、平均はバッチ方向 (N) だけでとります。",
        "en": "This looks like the mean over all N×C entries ({got}). Sum over the classes, and average over "
              "the batch (N) only."},
    "ch02.ce_negative": {"ja": "交差エントロピーは 0 以上のはずですが、{got} でした。マイナス記号を忘れていませんか?",
                         "en": "Cross-entropy is never negative, but you got {got}. Did you forget the minus sign?"},
    "ch02.ce_scalar": {"ja": "バッチ全体で 1 つの数 (平均) を返してください。",
                       "en": "Return one number for the whole batch (the mean)."},
    "ch02.ce_labels": {
        "ja": "y はクラス番号 (形 (N,)) の場合と one-hot (形 (N, C)、float でも int でも) の場合があります。"
              "dtype ではなく y.ndim で見分けて両方に対応してください。",
        "en": "y may be class indices (shape (N,)) or one-hot (shape (N, C), float or integer); tell them apart "
              "by y.ndim, not by the dtype, and handle both."},
    "ch02.ce_labels_code": {"ja": " (例: if y.ndim == p.ndim: y = y.argmax(axis=-1))",
                            "en": " (e.g. if y.ndim == p.ndim: y = y.argmax(axis=-1))"},
    "ch02.ce_zero_small": {
        "ja": "正解クラスの確率が 0 なら損失は非常に大きいはずですが、{got} でした (p = 0.01 でも 4.6 です)。ε が大きすぎませんか?",
        "en": "With probability 0 for the true class the loss should be very large, but you got {got} "
              "(even p = 0.01 gives 4.6). Is your ε too big?"},
    "ch02.sgd_missing": {"ja": "params のキーが変わっています。期待: {expected}、実際: {got}",
                         "en": "The keys of params changed. Expected {expected}, got {got}."},
    "ch02.sgd_replaced": {
        "ja": "params[{name!r}] が新しい配列に置き換わっています (params[k] = params[k] - ... の形)。元の配列そのものを "
              "その場で (in-place) 更新してください。モデルや最適化手法は同じ配列を共有しているので、"
              "置き換えると更新が伝わりません。",
        "en": "params[{name!r}] was replaced by a new array (params[k] = params[k] - ... ). Update the existing array "
              "in place: the model and the optimiser share these arrays, so a new array never reaches them."},
    "ch02.sgd_code": {"ja": " 書き方: params[k] -= lr * grads[k]", "en": " The form: params[k] -= lr * grads[k]"},
    "ch02.sgd_untouched": {
        "ja": "params の配列が変わっていません。新しい配列を返すのではなく、params の配列をその場で (in-place) "
              "更新してください。",
        "en": "The arrays in params did not change. Do not return new arrays: update the arrays of params in place."},
    "ch02.sgd_direction": {
        "ja": "勾配と逆向きに動かします。符号、学習率の掛け忘れ、grads を名前 (キー) で対応させているか"
              " (zip(params.values(), grads.values()) は順番が違うと壊れます) を確かめてください。",
        "en": "Move against the gradient. Check the sign, that lr is used, and that grads are "
              "matched by name (zip(params.values(), grads.values()) breaks when the orders differ)."},
    "ch02.sgd_direction_form": {"ja": " 式: W ← W − η ∂L/∂W", "en": " The rule: W ← W − η ∂L/∂W"},
    "ch02.sgd_grads_changed": {"ja": "grads を書き換えてしまっています。grads はそのままにしてください。",
                               "en": "Your function modified grads; leave the gradients unchanged."},
    "ch02.sgd_dict": {"ja": "params と grads には辞書 (名前 → 配列) が渡されます。",
                      "en": "params and grads are dicts (name → array)."},
})


# --- small helpers ---------------------------------------------------------------------------

def _numeric(got, shape) -> np.ndarray:
    """The answer as a float array of ``shape`` (type and shape failures as in assert_close)."""
    arr = to_numpy(got, kind=f"ndarray {shape}" if shape else "number")
    if arr.shape != tuple(shape):
        fail(t("check.shape", expected=tuple(shape), got=arr.shape))
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        fail(t("check.dtype", expected="number", got=arr.dtype))
    return arr.astype(np.float64)


def _fmt(x) -> str:
    return np.array2string(np.asarray(x), precision=4, separator=", ")


def _torch(name, x):
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

def _vectorise() -> str:
    return t("ch02.vectorise") + on_repeat(t("ch02.vectorise_form"))


def activations(step, sigmoid, relu):
    """``step(x)``, ``sigmoid(x)``, ``relu(x)``: element-wise on NumPy arrays of any shape."""
    rng = np.random.default_rng(seed(2))
    x1 = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    x2 = np.round(rng.normal(0, 3, size=(3, 4)), 2)
    x2[1, 2] = 0.0
    big = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with Check("activations") as c:
        for func, what in ((step, "step"), (sigmoid, "sigmoid"), (relu, "relu")):
            require_callable(func, what)

        c.case(t("ch02.case.step_source", x=_fmt(x1)))
        got = _numeric(call_unchanged(step, x1, on_error=_vectorise()), x1.shape)
        if np.isfinite(got).all() and got[2] != 0:
            fail(t("ch02.step_zero", got=_fmt(got[2])))
        extra = sorted(set(np.unique(got).tolist()) - {0.0, 1.0})
        expect(not extra, t("ch02.step_binary", got=extra[:3]))
        assert_close(got, [0, 0, 0, 1, 1])

        c.case(t("ch02.case.random2d", name="step", shape=x2.shape))
        got = _numeric(call_unchanged(step, x2, on_error=_vectorise()), x2.shape)
        assert_close(got, _torch("step", x2))

        c.case(t("ch02.case.sigmoid_source", x=_fmt(x1)))
        assert_close(call_unchanged(sigmoid, x1, on_error=_vectorise()), _torch("sigmoid", x1), rtol=1e-6, atol=1e-9)
        c.case(t("ch02.case.random2d", name="sigmoid", shape=x2.shape))
        assert_close(call_unchanged(sigmoid, x2, on_error=_vectorise()), _torch("sigmoid", x2), rtol=1e-6, atol=1e-9)
        c.case(t("ch02.case.sigmoid_big", x=_fmt(big)))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            got = _numeric(call_unchanged(sigmoid, big, on_error=_vectorise()), big.shape)
        expect(np.isfinite(got).all(), t("ch02.sigmoid_nan") + on_repeat(t("ch02.sigmoid_form")))
        expect(got.min() >= 0 and got.max() <= 1, t("ch02.sigmoid_range", lo=got.min(), hi=got.max()))
        assert_close(got, _torch("sigmoid", big), rtol=1e-6, atol=1e-9)

        for x, case in ((x1, t("ch02.case.relu_source", x=_fmt(x1))),
                        (x2, t("ch02.case.random2d", name="relu", shape=x2.shape))):
            c.case(case)
            relu_def = t("ch02.relu_def") + on_repeat(t("ch02.relu_form"))
            got = call_unchanged(relu, x, on_error=relu_def)
            with hint(relu_def):
                got = _numeric(got, x.shape)
            if np.isfinite(got).all():
                expect(got.min() >= 0, t("ch02.relu_negative", lo=got.min()))
            with hint(relu_def):
                assert_close(got, _torch("relu", x), rtol=1e-6, atol=1e-9)


# --- softmax -----------------------------------------------------------------------------------

def softmax(func):
    """``softmax(x)`` over the last axis, stable for inputs like 1000."""
    rng = np.random.default_rng(seed(3))
    small = np.array([1.0, 2.0, 3.0])
    cases = [
        (t("ch02.case.softmax_small", x=_fmt(small)), small, None),
        (t("ch02.case.softmax_big", x="[1000, 1001, 1002]"), np.array([1000.0, 1001.0, 1002.0]), "overflow"),
        (t("ch02.case.softmax_neg", x="[-1000, -1000, -1000]"), np.full(3, -1000.0), "overflow"),
        (t("ch02.case.softmax_batch", x="[[1, 2, 3], [1, 1, 4]]"), np.array([[1.0, 2, 3], [1, 1, 4]]), "batch"),
        (t("ch02.case.softmax_rows", x="[[0, 1, 2], [1000, 1001, 1002]]"),
         np.array([[0.0, 1, 2], [1000, 1001, 1002]]), "rows"),
        (t("ch02.case.softmax_span", x="[[-3000, 0, 2000, 1999], [4000, -1000, 3998, 0], [5, 3000, -2000, 2999]]"),
         np.array([[-3000.0, 0, 2000, 1999], [4000, -1000, 3998, 0], [5, 3000, -2000, 2999]]), "span"),
        (t("ch02.case.softmax_3d"), rng.normal(0, 2, size=(2, 3, 4)), "batch"),
        (t("ch02.case.softmax_random"), rng.normal(0, 5, size=(5, 10)), "batch"),
    ]
    with Check("softmax") as c:
        require_callable(func, "softmax")
        for name, x, kind in cases:
            c.case(name)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                got = call_unchanged(func, x, on_error=t("ch02.softmax_batch_error") + on_repeat(t("ch02.softmax_batch_form")))
            expected = _torch("softmax", x)  # only after the student's call
            arr = _numeric(got, x.shape)
            if not np.isfinite(arr).all():
                fail(t({"rows": "ch02.softmax_rowmax", "span": "ch02.softmax_span"}.get(kind, "ch02.softmax_overflow"))
                     + on_repeat(t("ch02.softmax_max_form")))
            sums = arr.sum(axis=-1)
            if not np.allclose(sums, 1.0, rtol=1e-5, atol=1e-6):
                extra = t("ch02.softmax_axis0") if x.ndim > 1 and np.allclose(arr.sum(axis=0), 1.0) else ""
                fail(t("ch02.softmax_sum", sums=_fmt(sums.ravel()[:4]), extra=extra) + on_repeat(t("ch02.softmax_sum_form")))
            assert_close(arr, expected, rtol=1e-5, atol=1e-7)


# --- cross-entropy -----------------------------------------------------------------------------

def _onehot(y, num_classes):
    return np.eye(num_classes)[y]


def _expected_ce(p, y_index):
    import torch
    import torch.nn.functional as F

    logp = torch.log(torch.as_tensor(p, dtype=torch.float64).clamp_min(1e-300))
    return float(F.nll_loss(logp, torch.as_tensor(np.asarray(y_index, dtype=np.int64))))


def _ce_call(func, p, y) -> float:
    """Run the student's cross-entropy on one case: the value as a float, or a clear failure."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        got = call_unchanged(func, p, y)
    arr = to_numpy(got, kind="number")
    if arr.size != 1:
        fail(t("check.shape", expected=(), got=arr.shape) + "\n" + t("ch02.ce_scalar"))
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        fail(t("check.dtype", expected="number", got=arr.dtype))
    value = float(np.asarray(arr, dtype=np.float64).reshape(()))
    if not np.isfinite(value):
        fail(t("ch02.ce_log0") + on_repeat(t("ch02.ce_log0_form")))
    if value < 0:
        fail(t("ch02.ce_negative", got=f"{value:.6g}"))
    return value


def _ce_compare(value, expected, n, num_classes) -> None:
    if n > 1 and np.isclose(value, expected * n, rtol=1e-4):
        fail(t("ch02.ce_sum", got=f"{value:.6g}", expected=f"{expected:.6g}", n=n))
    if np.isclose(value, expected / num_classes, rtol=1e-4):
        fail(t("ch02.ce_all_mean", got=f"{value:.6g}"))
    assert_close(value, expected, rtol=1e-4, atol=1e-6)


def _ce_case(func, p, y, y_other, y_index) -> None:
    """One case: the student's value first, the expected one after; when the answer is wrong but
    right with the other label format, say that labels come in both formats."""
    n, num_classes = p.shape
    value, message = None, None
    try:
        value = _ce_call(func, p, y)
    except Failure as failure:
        message = str(failure)
    expected = _expected_ce(p, y_index)
    if message is None:
        message = failure_text(_ce_compare, value, expected, n, num_classes)
    if message is None:
        return
    other = failure_text(lambda: _ce_compare(_ce_call(func, p, y_other), expected, n, num_classes))
    fail(f"{message}\n{t('ch02.ce_labels')}{on_repeat(t('ch02.ce_labels_code'))}" if other is None else message)


def cross_entropy(func):
    """``cross_entropy(p, y)``: mean over the batch; ``y`` class indices (N,) or one-hot (N, C)."""
    rng = np.random.default_rng(seed(4))
    logits = rng.normal(0, 1, size=(8, 5))
    p_rand = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y_rand = rng.integers(0, 5, size=8)
    source = SOURCE_P[None, :]
    batch = np.stack([SOURCE_P, SOURCE_P])
    y_batch = np.array([1, 3])
    plan = [
        ("ch02.case.ce_source", dict(label=t("ch02.label.polyps")), source, np.array([1]), "index"),
        ("ch02.case.ce_source", dict(label=t("ch02.label.colitis")), source, np.array([3]), "index"),
        ("ch02.case.ce_source", dict(label=t("ch02.label.polyps")), source, _onehot(np.array([1]), 4), "onehot"),
        ("ch02.case.ce_batch", {}, batch, y_batch, "index"),
        ("ch02.case.ce_batch", {}, batch, _onehot(y_batch, 4), "onehot"),
        ("ch02.case.ce_random", dict(kind=t("ch02.kind.index")), p_rand, y_rand, "index"),
        ("ch02.case.ce_random", dict(kind=t("ch02.kind.onehot")), p_rand, _onehot(y_rand, 5), "onehot"),
        ("ch02.case.ce_random", dict(kind=t("ch02.kind.onehot_int")), p_rand, np.eye(5, dtype=int)[y_rand], "onehot"),
    ]
    with Check("cross_entropy") as c:
        require_callable(func, "cross_entropy")
        for key, values, p, y, kind in plan:
            c.case(t(key, y=_fmt(y), **values))
            y_index = y if kind == "index" else y.argmax(axis=-1)
            y_other = _onehot(y, p.shape[1]) if kind == "index" else y.argmax(axis=-1)
            _ce_case(func, p, y, y_other, y_index)

        for y in (np.array([0]), _onehot(np.array([0]), 4)):
            c.case(t("ch02.case.ce_zero", y=_fmt(y)))
            value = _ce_call(func, source, y)
            expect(value > -np.log(0.01), t("ch02.ce_zero_small", got=f"{value:.6g}"))


# --- the SGD update ----------------------------------------------------------------------------

def _params(rng, dtype=np.float64):
    shapes = {"W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,)}
    params = {k: rng.normal(0, 1, size=s).astype(dtype) for k, s in shapes.items()}
    grads = {k: rng.normal(0, 1, size=s).astype(dtype) for k, s in reversed(shapes.items())}  # other order
    return params, grads


def _sgd_once(func, params, grads, reference, lr):
    """One call; checks identity, in-place values, unchanged grads and the new values.

    ``reference(old_params, grads)`` gives the expected arrays; it runs after the student's call."""
    before = dict(params)
    old = {k: v.copy() for k, v in params.items()}
    grads_copy = {k: v.copy() for k, v in grads.items()}
    direction = t("ch02.sgd_direction") + on_repeat(t("ch02.sgd_direction_form"))
    call_unchanged(func, params, grads, lr, on_error=direction)
    expected = reference(old, grads_copy)
    if not isinstance(params, dict) or sorted(params) != sorted(before):
        fail(t("ch02.sgd_missing", expected=sorted(before), got=sorted(params) if isinstance(params, dict) else params))
    if not isinstance(grads, dict) or sorted(grads) != sorted(grads_copy) \
            or any(not isinstance(grads[k], np.ndarray) or not np.array_equal(grads[k], grads_copy[k]) for k in grads):
        fail(t("ch02.sgd_grads_changed"))
    untouched = all(np.array_equal(before[k], old[k]) for k in before)
    for k in before:
        if params[k] is not before[k]:
            fail(t("ch02.sgd_replaced", name=k) + on_repeat(t("ch02.sgd_code")))
    if untouched:
        fail(t("ch02.sgd_untouched") + on_repeat(t("ch02.sgd_code")))
    with hint(direction):
        for k in before:
            assert_close(params[k], expected[k], rtol=1e-5, atol=1e-6)


def _numpy_step(lr):
    return lambda old, grads: {k: old[k] - np.asarray(lr, dtype=old[k].dtype) * grads[k] for k in old}


def _torch_step(lr):
    import torch

    def step(old, grads):
        tensors = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in old.items()}
        for k, p in tensors.items():
            p.grad = torch.tensor(grads[k])
        torch.optim.SGD(list(tensors.values()), lr=lr).step()
        return {k: p.detach().numpy().copy() for k, p in tensors.items()}
    return step


def sgd_step(func):
    """``sgd_step(params, grads, lr)``: params[k] -= lr * grads[k] for every name, in place."""

    rng = np.random.default_rng(seed(5))
    with Check("sgd_step") as c:
        require_callable(func, "sgd_step")

        lr = 0.1
        c.case(t("ch02.case.sgd_basic", lr=lr))
        params, grads = _params(rng)
        _sgd_once(func, params, grads, _numpy_step(lr), lr)

        lr = 0.5
        c.case(t("ch02.case.sgd_torch", lr=lr))
        params, grads = _params(rng)
        _sgd_once(func, params, grads, _torch_step(lr), lr)

        lr = 0.01
        c.case(t("ch02.case.sgd_float32", lr=lr))
        params, grads = _params(rng, np.float32)
        for _ in range(2):
            _sgd_once(func, params, grads, _numpy_step(np.float32(lr)), lr)
