"""Chapter 01: explore a two-input perceptron against the logic gates."""
import html

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..i18n import register, t
from .base import explorer

__all__ = ["perceptron_explorer", "perceptron_figure"]

register({
    "ch01w.title": {"ja": "パーセプトロン: 重み w1, w2 としきい値 th を動かして、論理ゲートを作ってみましょう",
                    "en": "Perceptron: move the weights w1, w2 and the threshold th to build a logic gate"},
    "ch01w.rule": {"ja": "x1·{w1} + x2·{w2} ≥ {th} のとき y = 1、それ以外は y = 0",
                   "en": "y = 1 when x1·{w1} + x2·{w2} ≥ {th}, else y = 0"},
    "ch01w.target": {"ja": "{gate} の正解", "en": "{gate} target"},
    "ch01w.score": {"ja": "{correct}/4 正解", "en": "{correct}/4 correct"},
    "ch01w.solved": {"ja": " — {gate} ができました!", "en": " — this is {gate}!"},
    "ch01w.xor_note": {"ja": " (XOR は 1 本の直線では 4/4 になりません)",
                       "en": " (no single line gets XOR to 4/4)"},
    "ch01w.fire": {"ja": "y = 1 (発火)", "en": "y = 1 (fires)"},
    "ch01w.line": {"ja": "決定境界", "en": "decision line"},
    "ch01w.plot_title": {"ja": "{gate}: {correct}/4 正解", "en": "{gate}: {correct}/4 correct"},
    "ch01w.right": {"ja": "正解", "en": "right"},
    "ch01w.wrong": {"ja": "不正解", "en": "wrong"},
})

INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
GATES = {
    "AND": (0, 0, 0, 1),
    "OR": (0, 1, 1, 1),
    "NAND": (1, 1, 1, 0),
    "XOR": (0, 1, 1, 0),
}
RIGHT, WRONG = "#c8e6c9", "#ffcdd2"  # light green, light red
# lecture resolution (1280×720): a slider of 400 px with a 48 px label leaves a track of about 280 px (≥ 200 px),
# and min_width stops a row from squeezing it; rows wrap instead
SLIDER_WIDTH, LABEL_WIDTH = "400px", "48px"


def perceptron_outputs(w1: float, w2: float, th: float):
    """Weighted sums X and outputs y (0/1) for the four inputs (0,0), (0,1), (1,0), (1,1).

    Sums and threshold are rounded to 9 decimals so that slider values such as
    0.35000000000000003 still meet a threshold they equal on the screen.
    """
    X = np.round(INPUTS @ np.array([w1, w2], dtype=float), 9)
    y = (X >= round(float(th), 9)).astype(int)
    return X, y


def _compute(w1, w2, th, gate):
    X, y = perceptron_outputs(w1, w2, th)
    targets = GATES[gate]
    right = [int(a == b) for a, b in zip(y, targets)]
    return {"gate": gate, "w1": float(w1), "w2": float(w2), "th": float(th),
            "sums": [float(v) for v in X], "outputs": [int(v) for v in y],
            "targets": list(targets), "right": right, "correct": int(sum(right)),
            "solved": sum(right) == 4}


def truth_table_html(state) -> str:
    """The truth table as HTML: a ``<table class="cu-truth-table">``, rows green/red, a score line."""
    gate = html.escape(state["gate"])
    rule = t("ch01w.rule", w1=f"{state['w1']:.2f}", w2=f"{state['w2']:.2f}", th=f"{state['th']:.2f}")
    head = "".join(f"<th style='padding:2px 10px'>{h}</th>" for h in
                   ("x1", "x2", "X = w·x", "y", html.escape(t("ch01w.target", gate=gate)), ""))
    rows = []
    for (x1, x2), X, y, target, ok in zip(INPUTS, state["sums"], state["outputs"], state["targets"], state["right"]):
        colour, cls, mark = (RIGHT, "cu-right", "✓") if ok else (WRONG, "cu-wrong", "✗")
        cells = (x1, x2, f"{X:.2f}", y, target, f"{mark} {t('ch01w.right' if ok else 'ch01w.wrong')}")
        rows.append(f"<tr class='{cls}' style='background:{colour}'>"
                    + "".join(f"<td style='padding:2px 10px;text-align:center'>{c}</td>" for c in cells)
                    + "</tr>")
    score = t("ch01w.score", correct=state["correct"])
    if state["solved"]:
        score += t("ch01w.solved", gate=gate)
    elif state["gate"] == "XOR":
        score += t("ch01w.xor_note")
    return (f"<div class='cu-truth'><p class='cu-truth-rule'>{html.escape(rule)}</p>"
            f"<table class='cu-truth-table' style='border-collapse:collapse;color:black'>"
            f"<tr>{head}</tr>{''.join(rows)}</table>"
            f"<p class='cu-truth-score'><b>{html.escape(score)}</b></p></div>")


def draw_perceptron(ax, w1, w2, th, targets=None, lim=(-0.5, 1.5)):
    """Shade where w1·x1 + w2·x2 ≥ th, draw the decision line and the four input points."""
    grid = np.linspace(lim[0], lim[1], 201)
    g1, g2 = np.meshgrid(grid, grid)
    fires = (np.round(w1 * g1 + w2 * g2, 9) >= round(th, 9)).astype(float)
    ax.contourf(g1, g2, fires, levels=[0.5, 1.5], colors=["#ffe0b2"], alpha=0.8)
    ax.plot([], [], "s", color="#ffe0b2", markersize=10, label=t("ch01w.fire"))
    if abs(w2) > 1e-12:
        ax.plot(grid, (th - w1 * grid) / w2, "k-", lw=2, label=t("ch01w.line"))
    elif abs(w1) > 1e-12:
        ax.axvline(th / w1, color="k", lw=2, label=t("ch01w.line"))
    _, y = perceptron_outputs(w1, w2, th)
    for (x1, x2), out, i in zip(INPUTS, y, range(4)):
        target = out if targets is None else targets[i]
        ax.scatter(x1, x2, s=180, c="tab:blue" if target else "white", edgecolors="tab:blue", linewidths=2,
                   zorder=3)
        if targets is not None and out != target:
            ax.scatter(x1, x2, s=420, facecolors="none", edgecolors="red", linewidths=2.5, zorder=4)
    if targets is not None:
        ax.scatter([], [], s=120, facecolors="none", edgecolors="red", linewidths=2, label=t("ch01w.wrong"))
    ax.set_xlim(*lim)
    ax.set_ylim(*lim)
    ax.set_xticks([0, 1])
    ax.set_yticks([0, 1])
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def perceptron_explorer(w1: float = 0.5, w2: float = 0.5, th: float = 1.2, gate: str = "AND"):
    """Sliders ``w1``, ``w2``, ``th`` and a ``gate`` dropdown; the decision line over the four
    input points and a truth table (``widget.table``, an ``ipywidgets.HTML``) coloured right/wrong.

    The defaults (0.5, 0.5, 1.2) solve none of the gates: lower th to 0.7 to get AND.
    ``widget.state`` holds ``outputs`` (4 ints for (0,0), (0,1), (1,0), (1,1)), ``correct``,
    ``gate``, ``targets``, ``sums``, ``solved`` and the control values.
    """
    def slider(name, value):  # 400 px: a track of about 280 px between the label and the readout
        return W.FloatSlider(value=value, min=-1.5, max=1.5, step=0.05, description=name, readout_format=".2f",
                             continuous_update=False, style={"description_width": LABEL_WIDTH},
                             layout=W.Layout(width=SLIDER_WIDTH, min_width=SLIDER_WIDTH))

    controls = {
        "w1": slider("w1", w1),
        "w2": slider("w2", w2),
        "th": slider("th", th),
        "gate": W.Dropdown(options=list(GATES), value=gate, description="gate", style={"description_width": "48px"},
                           layout=W.Layout(width="180px", min_width="180px")),
    }
    table = W.HTML(layout=W.Layout(min_width="360px", margin="0 0 0 12px"))

    def draw(state):
        table.value = truth_table_html(state)
        fig, ax = plt.subplots(figsize=(4.2, 4.2))
        draw_perceptron(ax, state["w1"], state["w2"], state["th"], targets=state["targets"])
        ax.set_title(t("ch01w.plot_title", gate=state["gate"], correct=state["correct"]))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8, frameon=False)
        fig.tight_layout()
        return fig

    box = explorer(controls, _compute, draw, title=t("ch01w.title"),
                   layout=[["w1", "w2"], ["th", "gate"], ["output", table]])
    box.output.layout.flex = "0 0 auto"  # the plot keeps its size; the table wraps below it when the row is narrow
    box.table = table
    box.add_class("cu-perceptron-explorer")
    return box


def perceptron_figure(settings=((0.5, 0.5, 1.2), (0.5, 0.5, 0.7), (0.5, 0.5, 0.2)), gate: str = "AND"):
    """A static picture of the explorer: one panel per ``(w1, w2, th)`` setting against ``gate``
    (the decision line, the four points, mistakes circled, the score in the title). Returns the Figure."""
    fig, axes = plt.subplots(1, len(settings), figsize=(3.6 * len(settings), 3.9), squeeze=False)
    for ax, (w1, w2, th) in zip(axes[0], settings):
        state = _compute(w1, w2, th, gate)
        draw_perceptron(ax, w1, w2, th, targets=state["targets"])
        ax.set_title(t("ch01w.plot_title", gate=gate, correct=state["correct"])
                     + f"\n(w1, w2, th) = ({w1:g}, {w2:g}, {th:g})", fontsize=10)
    axes[0][0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
