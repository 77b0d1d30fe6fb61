"""Chapter 02 widgets: activation functions side by side, and the learning rate of gradient descent."""
import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..i18n import register, t
from .base import explorer, lecture_layout

__all__ = ["activation_explorer", "learning_rate_explorer"]

register({
    "ch02w.act.title": {"ja": "活性化関数を比べる: 値と傾き (微分)", "en": "Activation functions: value and slope"},
    "ch02w.act.functions": {"ja": "関数", "en": "functions"},
    "ch02w.act.value": {"ja": "値 h(x)", "en": "value h(x)"},
    "ch02w.act.slope": {"ja": "傾き h'(x)", "en": "slope h'(x)"},
    "ch02w.act.at": {"ja": "x = {x:.2f} での値と接線", "en": "values and tangents at x = {x:.2f}"},
    "ch02w.act.slopes_at": {"ja": "導関数 (x = {x:.2f} の傾きを点で表示)",
                            "en": "derivatives (dots: the slopes at x = {x:.2f})"},
    "ch02w.act.undefined": {"ja": "定義されない", "en": "undefined"},
    "ch02w.gd.title": {"ja": "勾配降下法と学習率", "en": "Gradient descent and the learning rate"},
    "ch02w.gd.lr": {"ja": "学習率 η", "en": "learning rate η"},
    "ch02w.gd.steps": {"ja": "ステップ数", "en": "steps"},
    "ch02w.gd.w0": {"ja": "初期値 w₀", "en": "start w₀"},
    "ch02w.gd.loss": {"ja": "損失", "en": "loss"},
    "ch02w.gd.quadratic": {"ja": "2 次関数 (谷が 1 つ)", "en": "quadratic (one valley)"},
    "ch02w.gd.two_valleys": {"ja": "谷が 2 つ", "en": "two valleys"},
    "ch02w.gd.too_small": {"ja": "小さすぎ: まだ谷底に着かない", "en": "too small: not at the bottom yet"},
    "ch02w.gd.good": {"ja": "ちょうどよい: 谷底に収束", "en": "good: converged to the bottom"},
    "ch02w.gd.oscillating": {"ja": "大きめ: 谷をまたいで振動", "en": "large: oscillates across the valley"},
    "ch02w.gd.diverging": {"ja": "大きすぎ: 発散", "en": "too large: diverges"},
    "ch02w.gd.weight": {"ja": "重み w", "en": "weight w"},
    "ch02w.gd.step": {"ja": "ステップ", "en": "step"},
    "ch02w.gd.loss_axis": {"ja": "損失 L(w)", "en": "loss L(w)"},
    "ch02w.gd.path": {"ja": "w の動き (η = {lr:.3g})", "en": "path of w (η = {lr:.3g})"},
    "ch02w.gd.curve": {"ja": "損失の推移", "en": "loss per step"},
})


def _step(x):
    return np.where(x > 0, 1.0, 0.0)


def _step_slope(x):
    return np.where(x == 0, np.nan, 0.0)  # 0 everywhere, undefined (a jump) at 0


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {
    # name: (function, derivative, colour)
    "step": (_step, _step_slope, "tab:gray"),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x)), "tab:blue"),
    "relu": (lambda x: np.maximum(0.0, x), lambda x: np.where(x > 0, 1.0, 0.0), "tab:red"),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2, "tab:green"),
}


def activation_explorer(x: float = 0.5, functions=("step", "sigmoid", "relu")):
    """Move x: the value h(x), the tangent at x and the slope h'(x) of each chosen activation.

    ``state``: ``x``, ``functions``, ``values`` and ``slopes`` (name → number; the step's slope
    at exactly 0 is NaN, it jumps there).
    """
    controls = {
        "x": W.FloatSlider(value=x, min=-4.0, max=4.0, step=0.1, description="x", continuous_update=False,
                           **lecture_layout("40px", "400px")),
        "functions": W.SelectMultiple(options=list(ACTIVATIONS), value=tuple(functions), rows=4,
                                      description=t("ch02w.act.functions"), **lecture_layout("80px", "260px")),
    }

    def compute(x, functions):
        xv = np.asarray(float(x))
        return {
            "x": float(x),
            "functions": tuple(functions),
            "values": {name: float(ACTIVATIONS[name][0](xv)) for name in functions},
            "slopes": {name: float(ACTIVATIONS[name][1](xv)) for name in functions},
        }

    def draw(state):
        xs = np.linspace(-5, 5, 401)
        fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(10, 3.6))
        x0 = state["x"]
        for name in state["functions"]:
            f, df, colour = ACTIVATIONS[name]
            y0, s0 = state["values"][name], state["slopes"][name]
            ax_f.plot(xs, f(xs), color=colour, label=name)
            ax_f.plot([x0], [y0], "o", color=colour)
            if np.isfinite(s0):
                tangent = np.array([x0 - 1.2, x0 + 1.2])
                ax_f.plot(tangent, y0 + s0 * (tangent - x0), "--", color=colour, linewidth=1)
            ax_d.plot(xs, df(xs), color=colour, label=name)
            ax_d.plot([x0], [0.0 if not np.isfinite(s0) else s0], "o" if np.isfinite(s0) else "x", color=colour)
        ax_f.set_ylim(-1.3, 2.3)
        ax_d.set_ylim(-0.1, 1.2)
        ax_f.set_title(t("ch02w.act.at", x=x0))
        ax_d.set_title(t("ch02w.act.slopes_at", x=x0))
        ax_f.set_xlabel("x")
        ax_d.set_xlabel("x")
        ax_f.set_ylabel(t("ch02w.act.value"))
        ax_d.set_ylabel(t("ch02w.act.slope"))
        for ax in (ax_f, ax_d):
            ax.axvline(x0, color="k", linewidth=0.5)
            if state["functions"]:
                ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        return fig

    return explorer(controls, compute, draw, title=t("ch02w.act.title"))


# --- gradient descent in one dimension -------------------------------------------------------------

LOSSES = {
    # name: (L(w), dL/dw)
    "quadratic": (lambda w: (w - 3.0) ** 2 + 1.0, lambda w: 2.0 * (w - 3.0)),
    "two_valleys": (lambda w: 0.05 * (w ** 2 - 9.0) ** 2 - 0.5 * w + 2.0,
                    lambda w: 0.2 * w * (w ** 2 - 9.0) - 0.5),
}


def gradient_descent(lr: float, steps: int, w0: float, loss: str = "quadratic") -> dict:
    """Run w ← w − η L'(w) from ``w0``; return the path, the losses and a verdict.

    The verdict is ``"diverging"`` (the loss grew or w ran away), ``"oscillating"`` (w zig-zags
    across the valley: most steps change direction), ``"good"`` (the slope at the end is
    nearly 0) or ``"too_small"`` (still walking downhill in one direction).
    """
    f, df = LOSSES[loss]
    ws = [float(w0)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(steps)):
            w = ws[-1] - lr * df(ws[-1])
            ws.append(float(w))
            if not np.isfinite(w) or abs(w) > 1e6:
                break
        ws_arr = np.array(ws)
        losses = f(ws_arr)
    deltas = np.diff(ws_arr)
    moving = deltas[np.abs(deltas) > 1e-12]
    flips = int(np.sum(np.sign(moving[1:]) != np.sign(moving[:-1]))) if len(moving) > 1 else 0
    final_slope = float(df(ws_arr[-1])) if np.isfinite(ws_arr[-1]) else float("inf")
    if not np.isfinite(losses[-1]) or losses[-1] > losses[0] + 1e-12 or abs(ws_arr[-1]) > 1e6:
        verdict = "diverging"
    elif len(moving) > 1 and flips >= (len(moving) - 1) / 2:
        verdict = "oscillating"
    elif abs(final_slope) < 1e-2:
        verdict = "good"
    else:
        verdict = "too_small"
    return {"ws": ws_arr.tolist(), "losses": losses.tolist(), "verdict": verdict, "flips": flips,
            "final_w": float(ws_arr[-1]), "final_loss": float(losses[-1]), "final_slope": final_slope}


def learning_rate_explorer(lr: float = 0.1, steps: int = 20, w0: float = -1.0, loss: str = "quadratic"):
    """Gradient descent on a 1-D loss: the path of w over the curve and the loss per step.

    ``state`` is :func:`gradient_descent`'s dict plus ``lr``, ``steps``, ``w0``, ``loss``.
    For the quadratic L(w) = (w − 3)² + 1 each step multiplies the distance to the bottom by
    (1 − 2η): η < 0.5 walks down, 0.5 < η < 1 zig-zags in, η > 1 diverges.
    """
    controls = {
        "lr": W.FloatLogSlider(value=lr, base=10, min=-3, max=0.3, step=0.05, description=t("ch02w.gd.lr"),
                               readout_format=".3f", continuous_update=False, **lecture_layout("120px", "440px")),
        "steps": W.IntSlider(value=steps, min=1, max=60, description=t("ch02w.gd.steps"), continuous_update=False,
                             **lecture_layout("120px", "440px")),
        "w0": W.FloatSlider(value=w0, min=-5.0, max=6.0, step=0.1, description=t("ch02w.gd.w0"),
                            continuous_update=False, **lecture_layout("120px", "440px")),
        "loss": W.Dropdown(options=[(t("ch02w.gd.quadratic"), "quadratic"), (t("ch02w.gd.two_valleys"), "two_valleys")],
                           value=loss, description=t("ch02w.gd.loss"), **lecture_layout("60px", "300px")),
    }

    def compute(lr, steps, w0, loss):
        state = gradient_descent(lr, steps, w0, loss)
        state.update(lr=float(lr), steps=int(steps), w0=float(w0), loss=loss)
        return state

    def draw(state):
        f = LOSSES[state["loss"]][0]
        ws, losses = np.array(state["ws"]), np.array(state["losses"])
        visible = np.isfinite(ws) & (np.abs(ws) < 12)
        fig, (ax_p, ax_c) = plt.subplots(1, 2, figsize=(10, 3.6))
        grid = np.linspace(-6, 7, 400)
        ax_p.plot(grid, f(grid), color="k", linewidth=1)
        ax_p.plot(ws[visible], losses[visible], "o-", color="tab:red", markersize=4, linewidth=1)
        ax_p.plot(ws[:1], losses[:1], "s", color="tab:blue", markersize=7)
        ax_p.set_ylim(0, max(12.0, 1.2 * f(np.array(state["w0"]))))
        ax_p.set_xlabel(t("ch02w.gd.weight"))
        ax_p.set_ylabel(t("ch02w.gd.loss_axis"))
        ax_p.set_title(t("ch02w.gd.path", lr=state["lr"]))
        finite = np.isfinite(losses)
        ax_c.semilogy(np.arange(len(losses))[finite], np.maximum(losses[finite], 1e-12), "o-", markersize=3)
        ax_c.set_xlabel(t("ch02w.gd.step"))
        ax_c.set_ylabel(t("ch02w.gd.loss_axis"))
        ax_c.set_title(f"{t('ch02w.gd.curve')}: {t('ch02w.gd.' + state['verdict'])}")
        fig.tight_layout()
        return fig

    return explorer(controls, compute, draw, title=t("ch02w.gd.title"))
