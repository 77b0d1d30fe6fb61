"""Chapter 03: step through forward and backward passes of a small computational graph.

The graph is the composite function of the lecture, f = f3 ∘ f2 ∘ f1 with
f1 = h(W1·x), f2 = W2·f1, f3 = W3·f2 (scalars, h = ReLU or sigmoid). Steps 1–4 fill in
the forward values from left to right, steps 5–8 the gradients ∂f/∂(·) from right to left,
each as "upstream gradient × local derivative".
"""
import math

import ipywidgets as W
import matplotlib.pyplot as plt

from ..i18n import register, t
from .base import explorer

__all__ = ["backprop_graph", "backprop_graph_figure", "graph_values"]

register({
    "ch03w.title": {"ja": "計算グラフ: 順伝播 (青) と逆伝播 (赤) を 1 ステップずつ",
                    "en": "Computational graph: forward (blue) and backward (red), one step at a time"},
    "ch03w.step": {"ja": "ステップ", "en": "step"},
    "ch03w.act": {"ja": "活性化 h", "en": "activation h"},
    "ch03w.s0": {"ja": "ステップ 0: 入力 x と重み W1, W2, W3 だけが決まっています。",
                 "en": "Step 0: only the input x and the weights W1, W2, W3 are known."},
    "ch03w.s1": {"ja": "順伝播 1: u = W1·x = {W1:g} × {x:g} = {u:.4g}",
                 "en": "Forward 1: u = W1·x = {W1:g} × {x:g} = {u:.4g}"},
    "ch03w.s2": {"ja": "順伝播 2: f1 = h(u) = {h}({u:.4g}) = {f1:.4g}",
                 "en": "Forward 2: f1 = h(u) = {h}({u:.4g}) = {f1:.4g}"},
    "ch03w.s3": {"ja": "順伝播 3: f2 = W2·f1 = {W2:g} × {f1:.4g} = {f2:.4g}",
                 "en": "Forward 3: f2 = W2·f1 = {W2:g} × {f1:.4g} = {f2:.4g}"},
    "ch03w.s4": {"ja": "順伝播 4: f = f3 = W3·f2 = {W3:g} × {f2:.4g} = {f:.4g}",
                 "en": "Forward 4: f = f3 = W3·f2 = {W3:g} × {f2:.4g} = {f:.4g}"},
    "ch03w.s5": {"ja": "逆伝播 1: ∂f/∂f = 1 から出発。∂f/∂W3 = 1 × f2 = {gW3:.4g}、∂f/∂f2 = 1 × W3 = {gf2:.4g}",
                 "en": "Backward 1: start from ∂f/∂f = 1. ∂f/∂W3 = 1 × f2 = {gW3:.4g}, ∂f/∂f2 = 1 × W3 = {gf2:.4g}"},
    "ch03w.s6": {"ja": "逆伝播 2: ∂f/∂W2 = ∂f/∂f2 × f1 = {gW2:.4g}、∂f/∂f1 = ∂f/∂f2 × W2 = {gf1:.4g}",
                 "en": "Backward 2: ∂f/∂W2 = ∂f/∂f2 × f1 = {gW2:.4g}, ∂f/∂f1 = ∂f/∂f2 × W2 = {gf1:.4g}"},
    "ch03w.s7": {"ja": "逆伝播 3: ∂f/∂u = ∂f/∂f1 × h'(u) = {gf1:.4g} × {dh:.4g} = {gu:.4g}",
                 "en": "Backward 3: ∂f/∂u = ∂f/∂f1 × h'(u) = {gf1:.4g} × {dh:.4g} = {gu:.4g}"},
    "ch03w.s8": {"ja": "逆伝播 4: ∂f/∂W1 = ∂f/∂u × x = {gW1:.4g}、∂f/∂x = ∂f/∂u × W1 = {gx:.4g} "
                       "(∂f/∂u を共有)",
                 "en": "Backward 4: ∂f/∂W1 = ∂f/∂u × x = {gW1:.4g}, ∂f/∂x = ∂f/∂u × W1 = {gx:.4g} "
                       "(both reuse ∂f/∂u)"},
    "ch03w.legend": {"ja": "青: 順伝播の値 / 赤: 逆伝播の勾配 ∂f/∂(·)",
                     "en": "blue: forward values / red: gradients ∂f/∂(·)"},
})

STEPS = 8
# which quantities are known after each step
FORWARD = {1: ["u"], 2: ["f1"], 3: ["f2"], 4: ["f"]}
BACKWARD = {5: ["gf", "gW3", "gf2"], 6: ["gW2", "gf1"], 7: ["gu"], 8: ["gW1", "gx"]}


def _act(name, u):
    if name == "sigmoid":
        y = 1.0 / (1.0 + math.exp(-u))
        return y, y * (1.0 - y)
    return max(u, 0.0), 1.0 if u > 0 else 0.0


def graph_values(x, W1, W2, W3, activation="relu"):
    """Every forward value and gradient of f = W3·W2·h(W1·x) as a dict of floats."""
    u = W1 * x
    f1, dh = _act(activation, u)
    f2 = W2 * f1
    f = W3 * f2
    gf = 1.0
    gW3, gf2 = gf * f2, gf * W3
    gW2, gf1 = gf2 * f1, gf2 * W2
    gu = gf1 * dh
    gW1, gx = gu * x, gu * W1
    return {k: float(v) for k, v in dict(x=x, W1=W1, W2=W2, W3=W3, u=u, f1=f1, dh=dh, f2=f2, f=f, gf=gf,
                                          gW3=gW3, gf2=gf2, gW2=gW2, gf1=gf1, gu=gu, gW1=gW1, gx=gx).items()}


def _compute(x, W1, W2, W3, activation, step):
    v = graph_values(x, W1, W2, W3, activation)
    known = {"x", "W1", "W2", "W3"}
    for s in range(1, step + 1):
        known.update(FORWARD.get(s, []) + BACKWARD.get(s, []))
    h = "ReLU" if activation == "relu" else "σ"
    text = t(f"ch03w.s{step}", h=h, **v)
    return {"step": step, "activation": activation, "values": v, "known": sorted(known),
            "shown": {k: v[k] for k in known}, "text": text}


# node positions: inputs on the left, the output on the right
_POS = {"x": (0.0, 0.5), "W1": (1.5, -0.7), "mul1": (1.5, 0.5), "h": (3.0, 0.5), "W2": (4.5, -0.7),
        "mul2": (4.5, 0.5), "W3": (6.0, -0.7), "mul3": (6.0, 0.5), "out": (7.5, 0.5)}
# edges: (from, to, forward value key, gradient key)
_EDGES = [("x", "mul1", "x", "gx"), ("W1", "mul1", "W1", "gW1"), ("mul1", "h", "u", "gu"),
          ("h", "mul2", "f1", "gf1"), ("W2", "mul2", "W2", "gW2"), ("mul2", "mul3", "f2", "gf2"),
          ("W3", "mul3", "W3", "gW3"), ("mul3", "out", "f", "gf")]
_NAMES = {"x": "x", "W1": "W1", "u": "u", "f1": "f1", "W2": "W2", "f2": "f2", "W3": "W3", "f": "f"}


def draw_graph(state, ax=None):
    """Draw the graph with the values and gradients known at ``state['step']``."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(10.5, 3.0))
    else:
        fig = ax.figure
    shown = state["shown"]
    h = "ReLU" if state["activation"] == "relu" else "σ"
    ops = {"mul1": "×", "h": h, "mul2": "×", "mul3": "×"}
    for name, (px, py) in _POS.items():
        if name in ops:
            ax.add_patch(plt.Circle((px, py), 0.28, facecolor="#f5f5f5", edgecolor="black", zorder=2))
            ax.text(px, py, ops[name], ha="center", va="center", fontsize=12 if name != "h" else 9, zorder=3)
        elif name != "out":
            ax.text(px, py, name, ha="center", va="center", fontsize=11,
                    bbox=dict(boxstyle="round", facecolor="white", edgecolor="grey"))
    for a, b, key, gkey in _EDGES:
        (x0, y0), (x1, y1) = _POS[a], _POS[b]
        vertical = x0 == x1
        if vertical:  # a weight entering its × node from below: value and gradient on its left
            start, end = (x0, y0 + 0.17), (x1, y1 - 0.3)
            value_at, grad_at = dict(x=x0 - 0.08, y=(y0 + y1) / 2 + 0.03, ha="right", va="bottom"), \
                dict(x=x0 - 0.08, y=(y0 + y1) / 2 - 0.03, ha="right", va="top")
        else:  # along the main line: value above, gradient below
            start, end = (x0 + (0.3 if a in ops else 0.2), y0), (x1 - 0.3 if b != "out" else x1, y1)
            value_at, grad_at = dict(x=(x0 + x1) / 2, y=y0 + 0.1, ha="center", va="bottom"), \
                dict(x=(x0 + x1) / 2, y=y0 - 0.1, ha="center", va="top")
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="grey"))
        if key in shown:
            ax.text(s=f"{_NAMES[key]}={shown[key]:.3g}", color="tab:blue", fontsize=9, **value_at)
        if gkey in shown:
            ax.text(s=f"∂f/∂{_NAMES[key]}={shown[gkey]:.3g}", color="tab:red", fontsize=8, **grad_at)
    ax.set_xlim(-0.4, 7.9)
    ax.set_ylim(-1.0, 1.0)
    ax.axis("off")
    ax.set_title(state["text"], fontsize=10)
    ax.text(-0.35, -0.95, t("ch03w.legend"), fontsize=8, color="dimgrey")
    return fig


def backprop_graph(x: float = 2.0, W1: float = 1.5, W2: float = -2.0, W3: float = 0.5,
                   activation: str = "relu", step: int = 0):
    """Step through forward (steps 1–4) and backward (5–8) of f = W3·W2·h(W1·x).

    ``state`` holds ``values`` (all numbers), ``shown`` (those known at this step) and ``text``.
    """
    # lecture resolution (1280×720): 360 px with a 40 px label leaves a track of about 250 px (≥ 200 px);
    # min_width keeps the row from squeezing the sliders, the row wraps instead
    slider = dict(min=-3.0, max=3.0, step=0.5, continuous_update=False, style={"description_width": "40px"},
                  layout=W.Layout(width="360px", min_width="360px"))
    controls = {
        "x": W.FloatSlider(value=x, description="x", **slider),
        "W1": W.FloatSlider(value=W1, description="W1", **slider),
        "W2": W.FloatSlider(value=W2, description="W2", **slider),
        "W3": W.FloatSlider(value=W3, description="W3", **slider),
        "activation": W.Dropdown(options=[("ReLU", "relu"), ("sigmoid", "sigmoid")], value=activation,
                                 description=t("ch03w.act"), style={"description_width": "100px"},
                                 layout=W.Layout(width="240px", min_width="240px")),
        "step": W.IntSlider(value=step, min=0, max=STEPS, description=t("ch03w.step"),
                            style={"description_width": "80px"}, layout=W.Layout(width="400px", min_width="400px")),
    }
    box = explorer(controls, _compute, draw_graph, title=t("ch03w.title"))
    return box


def backprop_graph_figure(x: float = 2.0, W1: float = 1.5, W2: float = -2.0, W3: float = 0.5,
                          activation: str = "relu", steps=(4, STEPS)):
    """A static picture of :func:`backprop_graph`: the graph after each of ``steps`` (default: the
    forward pass done, then the backward pass done), one row each. Returns the Figure."""
    fig, axes = plt.subplots(len(steps), 1, figsize=(10.5, 3.0 * len(steps)), squeeze=False)
    for ax, step in zip(axes[:, 0], steps):
        draw_graph(_compute(x, W1, W2, W3, activation, step), ax=ax)
    fig.tight_layout()
    return fig
