"""Chapter 05 (second part): the layer ``Dropout``.

``dropout(Dropout)``: ``Dropout(ratio=0.5)``, inverted dropout. ``forward(x, train=True)`` zeroes
each unit independently with probability ``ratio`` and scales the kept ones by 1/(1 − ratio);
``forward(x, train=False)`` returns x unchanged; ``backward(dout)`` uses the forward's mask. The
mask is checked statistically (dropped fraction within 6 standard deviations on 100,000 units,
a new mask per call, unit by unit: on x (N, D) neither whole rows nor whole columns, on x (N, C, H, W)
neither whole (H, W) maps, as nn.Dropout2d, nor units shared along any axis) and exactly (kept
values = x/(1 − ratio), every kept unit judged by the same test; dx = dout·out/x).
"""
import numpy as np

from ..i18n import register, t
from .ch05_layers import TOL
from .core import (Case, Check, as_array, assert_close_or_explain, call, call_unchanged, expect, fail,
                   failure_text, require_callable, seed)
from .layers import about, method, with_form

__all__ = ["dropout"]


# --------------------------------------------------------------------------- dropout
def _forward_mask(layer, x):
    """The student's ``forward(x)`` (training) as a float array of x's shape."""
    with about("forward(x)"):
        return as_array(call_unchanged(method(layer, "forward"), x), x.shape).astype(np.float64)


def _drop_case(Dropout, ratio, x, given):
    layer = call(Dropout, ratio=ratio) if given else call(Dropout)
    out = _forward_mask(layer, x)
    dropped = out == 0
    frac, tol = float(dropped.mean()), 6 * np.sqrt(max(ratio * (1 - ratio), 1e-4) / x.size)
    if abs(frac - ratio) > tol:
        expect(not (ratio != 0.5 and abs(frac - (1 - ratio)) <= tol), with_form("ch05n.drop_reversed"))
        fail(t("ch05n.drop_rate", ratio=ratio, got=frac, tol=tol))
    kept = ~dropped
    scale = out[kept] / x[kept]
    off = ~np.isclose(scale, 1 / (1 - ratio), rtol=1e-5)  # one test: the hints and the unit named
    if off.any():
        expect(not np.allclose(scale, 1.0), t("ch05n.not_inverted"))
        expect(not np.allclose(scale, 1 - ratio), with_form("ch05n.times_keep"))
        i = tuple(int(k) for k in np.argwhere(kept)[np.argmax(off)])
        fail(with_form("ch05n.kept_value", index=i, x=x[i], expected=x[i] / (1 - ratio), got=out[i]))
    if ratio == 0.5 and x.ndim == 2:
        mixed_rows, mixed_cols = np.mean(dropped.any(1) & kept.any(1)), np.mean(dropped.any(0) & kept.any(0))
        expect(min(mixed_rows, mixed_cols) > 0.9, t("ch05n.per_unit"))
    if ratio == 0.5 and x.ndim == 4:
        _independent_4d(dropped)
    return layer, out


def _mixed(dropped, axes):
    """The fraction of the slices over ``axes`` (the other axes fixed) holding both dropped and kept units."""
    return float(np.mean(dropped.any(axis=axes) & ~dropped.all(axis=axes)))


def _independent_4d(dropped):
    """x (N, C, H, W), ratio 0.5: units dropped one by one, not whole (H, W) maps (nn.Dropout2d) nor
    shared along one axis. With independent units a slice of n is all dropped or all kept with
    probability 2·0.5ⁿ: the fraction of mixed ones is 1 − 2·0.5ⁿ (0.875 for C = 4), 0.1 below it fails."""
    expect(_mixed(dropped, (2, 3)) > 0.9, t("ch05n.per_map"))
    for axis, name in enumerate("NCHW"):
        n = dropped.shape[axis]
        expect(n < 2 or _mixed(dropped, axis) > 1 - 2 * 0.5 ** n - 0.1, t("ch05n.per_axis", axis=axis, name=name))


def _drop_backward(layer, x, out, ratio, rng):
    """``backward(dout)`` after a forward that gave ``out``: dout·out/x, the forward's mask and scale."""
    dout = rng.normal(size=x.shape)
    dx = call_unchanged(method(layer, "backward"), dout)
    with about("backward(dout)"):
        assert_close_or_explain(dx, dout * out / x, [(dout * (out != 0), with_form("ch05n.backward_scale"))],
                                unexplained=with_form("ch05n.backward_mask") if ratio > 0 else None, **TOL)


def _drop_eval(c, Dropout, x):
    """forward(x, train=False) and forward(x, False): x unchanged; the case's arguments are (ratio, how)."""
    for case in [Case("ch05n.case_eval", (ratio, how), values=dict(ratio=ratio, how=how))
                 for ratio in (0.5, 0.3) for how in ("train=False", "False")]:
        c.case(case.title)
        ratio, how = case.args
        layer = call(Dropout, ratio=ratio)
        forward = method(layer, "forward")
        got = call_unchanged(forward, x, train=False) if how == "train=False" else call_unchanged(forward, x, False)
        drops = failure_text(as_array, got, x.shape) is None and bool(np.any(as_array(got) == 0))
        with about("forward(x, train=False)"):
            assert_close_or_explain(got, x, [(x * (1 - ratio), t("ch05n.eval_scaled"))],
                                    unexplained=t("ch05n.eval_drops") if drops else t("ch05n.eval_changed"), **TOL)


def dropout(Dropout):
    """Check the class ``Dropout(ratio=0.5)`` (inverted dropout); see the module docstring."""
    rng = np.random.default_rng(seed(13))
    state = np.random.get_state()
    np.random.seed(0)  # students' np.random.rand gives the same masks on every run
    try:
        with Check("dropout") as c:
            c.case(t("ch05l.case_class"))
            require_callable(Dropout, "Dropout")
            x = rng.uniform(0.5, 1.5, size=(400, 250)) * rng.choice([-1.0, 1.0], size=(400, 250))
            trained = [Case("ch05n.case_forward_default", (0.5, False), values={"ratio": 0.5})]  # (ratio, given)
            trained += [Case("ch05n.case_forward", (ratio, True), values={"ratio": ratio}) for ratio in (0.5, 0.2, 0.8, 0.0)]
            for case in trained:
                c.case(case.title)
                ratio, given = case.args
                layer, out = _drop_case(Dropout, ratio, x, given)
                c.case(t("ch05n.case_backward", ratio=ratio))
                _drop_backward(layer, x, out, ratio, rng)
            c.case(t("ch05n.case_two_masks"))
            layer = call(Dropout, ratio=0.5)
            first, second = _forward_mask(layer, x), _forward_mask(layer, x)
            expect(not np.array_equal(first == 0, second == 0), t("ch05n.same_mask"))
            dout = rng.normal(size=x.shape)
            with about("backward(dout)"):
                assert_close_or_explain(call(method(layer, "backward"), dout), dout * second / x,
                                        [(dout * first / x, with_form("ch05n.backward_mask"))], **TOL)
            _drop_eval(c, Dropout, x)
            c.case(t("ch05n.case_4d"))
            x4 = rng.uniform(0.5, 1.5, size=(8, 4, 10, 10))
            layer, out = _drop_case(Dropout, 0.5, x4, True)
            _drop_backward(layer, x4, out, 0.5, rng)
    finally:
        np.random.set_state(state)


register({
    "ch05n.drop_rate": {"ja": "ratio={ratio} なのに、0 になった割合が {got:.3f} でした "
                              "(期待 {ratio} ± {tol:.3f})。各要素を確率 ratio で 0 にしてください。",
                        "en": "With ratio={ratio}, a fraction {got:.3f} of the units became 0 (expected {ratio} "
                              "± {tol:.3f}). Zero each unit with probability ratio."},
    "ch05n.drop_reversed": {"ja": "ratio は「捨てる」確率です。ratio の確率で残していませんか?",
                            "en": "ratio is the probability to DROP; you seem to keep units with probability ratio."},
    "ch05n.drop_reversed_form": {"ja": " 書き方: mask = np.random.rand(*x.shape) >= ratio (残す要素が True)",
                                 "en": " The form: mask = np.random.rand(*x.shape) >= ratio (True for the kept units)"},
    "ch05n.not_inverted": {"ja": "残った要素が x のままです。inverted dropout では学習時に 1/(1 − ratio) 倍して"
                                 "期待値をそろえます (こうすると推論時には何もしなくてよくなります)。",
                           "en": "The kept units are unchanged. Inverted dropout scales them by 1/(1 − ratio) "
                                 "during training so that the expected value stays the same (and inference "
                                 "needs nothing)."},
    "ch05n.times_keep": {"ja": "残った要素を (1 − ratio) 倍しています。掛けるのではなく割ります。",
                         "en": "You multiplied the kept units by (1 − ratio); divide by it instead."},
    "ch05n.times_keep_form": {"ja": " 式: x / (1 − ratio)", "en": " The formula: x / (1 − ratio)"},
    "ch05n.kept_value": {"ja": "残った要素の値が違います (位置 {index}: x = {x:.4g}, "
                               "期待 {expected:.8g}, 実際 {got:.8g})。",
                         "en": "A kept unit has the wrong value (at {index}: x = {x:.4g}, expected "
                               "{expected:.8g}, got {got:.8g})."},
    "ch05n.kept_value_form": {"ja": " 残った要素は x / (1 − ratio) です。", "en": " A kept unit is x / (1 − ratio)."},
    "ch05n.per_unit": {"ja": "mask が要素ごとに独立していません (行や列ごとにまとめて 0 になっています)。"
                             "乱数は x と同じ形 x.shape で引いてください。",
                       "en": "The mask is not drawn unit by unit (whole rows or columns are dropped together): "
                             "draw the random numbers with x's shape, x.shape."},
    "ch05n.per_map": {"ja": "x (N, C, H, W) で、チャネルごとの (H, W) マップがまるごと 0 になるか、まるごと残っています "
                            "(nn.Dropout2d の動きです)。この Dropout は要素を 1 つずつ独立に捨てます。"
                            "乱数は x と同じ形 x.shape で引いてください。",
                      "en": "On x (N, C, H, W) each channel map (H, W) is dropped or kept as a whole (what "
                            "nn.Dropout2d does). This Dropout drops every unit independently: draw the random "
                            "numbers with x's shape, x.shape."},
    "ch05n.per_axis": {"ja": "x (N, C, H, W) で、軸 {axis} ({name}) に沿って mask が共有されています (その軸の要素が"
                             "まとめて 0 になっています)。乱数は x と同じ形 x.shape で引いてください。",
                       "en": "On x (N, C, H, W) the mask is shared along axis {axis} ({name}): its units are dropped "
                             "together. Draw the random numbers with x's shape, x.shape."},
    "ch05n.same_mask": {"ja": "forward を 2 回呼んで同じ mask になりました。呼ぶたびに新しい乱数で mask を作ってください "
                              "(forward の中で乱数の seed を固定しないでください)。",
                        "en": "Two forward calls gave the same mask. Draw a new mask on every call "
                              "(don't reseed the random generator inside forward)."},
    "ch05n.backward_mask": {"ja": "backward が forward と同じ mask を使っていません。forward の mask を取っておき、"
                                  "backward で使ってください。",
                            "en": "backward does not use the mask of the forward pass: keep the forward's mask and "
                                  "use it in backward."},
    "ch05n.backward_mask_form": {"ja": " 書き方: dx = dout * self.mask / (1 − ratio)",
                                 "en": " The form: dx = dout * self.mask / (1 − ratio)"},
    "ch05n.backward_scale": {"ja": "backward で、forward が掛けた 1/(1 − ratio) を忘れています。",
                             "en": "backward forgot the factor 1/(1 − ratio) that forward applies."},
    "ch05n.backward_scale_form": {"ja": " forward が out = x·mask/(1 − ratio) なので、勾配は dout·mask/(1 − ratio) です。",
                                  "en": " forward is out = x·mask/(1 − ratio), so the gradient is dout·mask/(1 − ratio)."},
    "ch05n.eval_scaled": {"ja": "train=False で x·(1 − ratio) を返しています。inverted dropout では学習時に"
                                "スケールしてあるので、推論時は x をそのまま返します。",
                          "en": "With train=False you returned x·(1 − ratio). Inverted dropout already scaled during "
                                "training, so inference returns x unchanged."},
    "ch05n.eval_drops": {"ja": "train=False なのに要素を 0 にしています。推論時は何も捨てず x をそのまま返します。",
                         "en": "With train=False units were dropped. At inference nothing is dropped: return x."},
    "ch05n.eval_changed": {"ja": "train=False のときは x をそのまま返してください。",
                           "en": "With train=False return x unchanged."},
    "ch05n.case_forward": {"ja": "forward(x), ratio={ratio}, x (400, 250)", "en": "forward(x), ratio={ratio}, x (400, 250)"},
    "ch05n.case_forward_default": {"ja": "forward(x), ratio={ratio} (既定値), x (400, 250)",
                                   "en": "forward(x), ratio={ratio} (default), x (400, 250)"},
    "ch05n.case_4d": {"ja": "x (N, C, H, W) = (8, 4, 10, 10), ratio=0.5", "en": "x (N, C, H, W) = (8, 4, 10, 10), ratio=0.5"},
    "ch05n.case_backward": {"ja": "forward の後の backward(dout), ratio={ratio}", "en": "backward(dout) after forward, ratio={ratio}"},
    "ch05n.case_two_masks": {"ja": "forward を 2 回 → マスクも 2 通り、backward は最後のマスクで",
                             "en": "two forward calls draw two masks; backward follows the latest"},
    "ch05n.case_eval": {"ja": "forward(x, {how}), ratio={ratio}: x のまま", "en": "forward(x, {how}), ratio={ratio}: x unchanged"},
})
