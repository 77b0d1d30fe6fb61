"""Chapter 09: walk between two latent vectors, and ask a conditional GAN for a digit.

Both widgets take a trained generator from the notebook; they only call it (in eval mode,
under ``torch.no_grad()``, restoring its mode afterwards). Images are expected in [-1, 1]
(a tanh output) and are shown in [0, 1].
"""
import html

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..i18n import register, t
from .base import explorer, lecture_layout

__all__ = ["latent_interpolation", "conditional_explorer"]

register({
    "ch09w.interp_title": {"ja": "潜在空間を歩く: z = (1 − α) z_A + α z_B",
                           "en": "Walk through latent space: z = (1 − α) z_A + α z_B"},
    "ch09w.seed_a": {"ja": "シード A", "en": "seed A"},
    "ch09w.seed_b": {"ja": "シード B", "en": "seed B"},
    "ch09w.alpha": {"ja": "α", "en": "α"},
    "ch09w.steps": {"ja": "A → B の {n} 段階 (枠: 今の α)", "en": "A → B in {n} steps (frame: the current α)"},
    "ch09w.now": {"ja": "α = {alpha:.2f}", "en": "α = {alpha:.2f}"},
    "ch09w.interp_readout": {"ja": "α = {alpha:.2f}、|z| = {norm:.2f}、画像の明るさ (平均) {ink:.3f}",
                             "en": "α = {alpha:.2f}, |z| = {norm:.2f}, image brightness (mean) {ink:.3f}"},
    "ch09w.cond_title": {"ja": "条件付き GAN: 描いてほしい数字とシードを選ぶ",
                         "en": "Conditional GAN: pick the digit you want and a seed"},
    "ch09w.label": {"ja": "数字", "en": "digit"},
    "ch09w.seed": {"ja": "シード", "en": "seed"},
    "ch09w.asked": {"ja": "「{name}」を {n} 枚 (シード {seed})", "en": "{n} × \"{name}\" (seed {seed})"},
    "ch09w.judged": {"ja": "判定 {pred}", "en": "judged {pred}"},
    "ch09w.cond_readout": {"ja": "「{name}」を頼んで、判定器が {k}/{n} 枚を {name} と認識",
                           "en": "asked for \"{name}\": the judge recognises {k}/{n} as {name}"},
    "ch09w.cond_readout_nojudge": {"ja": "「{name}」を {n} 枚生成", "en": "generated {n} × \"{name}\""},
})


def _latent(seed: int, z_dim: int):
    import torch

    return torch.randn(1, z_dim, generator=torch.Generator().manual_seed(int(seed)))


def _generate(generator, z, labels=None):
    """Images (N, H, W) in [0, 1] as NumPy, from a generator giving (N, 1, H, W) in [-1, 1]."""
    import torch

    was_training = generator.training
    generator.eval()
    try:
        device = next(generator.parameters()).device
    except StopIteration:
        device = z.device
    try:
        with torch.no_grad():
            args = (z.to(device),) if labels is None else (z.to(device), labels.to(device))
            out = generator(*args).float()
    finally:
        generator.train(was_training)
    return ((out[:, 0].clamp(-1, 1) + 1) / 2).cpu().numpy()


def _slider(kind, key, **range_):  # 400 px with a 70 px label: a track of about 250 px at 1280×720
    return kind(description=t(key), continuous_update=False, **range_, **lecture_layout("70px", "400px"))


def latent_interpolation(generator, z_dim: int, seed_a: int = 1, seed_b: int = 2, steps: int = 9, labels=None):
    """Sliders for two seeds (z_A, z_B) and α ∈ [0, 1]: the image of (1 − α) z_A + α z_B.

    ``generator(z)`` (or ``generator(z, labels)`` when ``labels`` — a LongTensor of one class —
    is given) maps (N, z_dim) to images (N, 1, H, W) in [-1, 1]. ``widget.state`` holds
    ``alpha``, ``z`` (the mixed latent, NumPy (z_dim,)), ``image`` (H, W) in [0, 1], ``strip``
    (``steps`` images from A to B) and ``ink`` (the image's mean brightness).
    """
    import torch

    controls = {
        "seed_a": _slider(W.IntSlider, "ch09w.seed_a", value=seed_a, min=0, max=99),
        "seed_b": _slider(W.IntSlider, "ch09w.seed_b", value=seed_b, min=0, max=99),
        "alpha": _slider(W.FloatSlider, "ch09w.alpha", value=0.0, min=0.0, max=1.0, step=0.05),
    }

    def compute(seed_a, seed_b, alpha):
        z_a, z_b = _latent(seed_a, z_dim), _latent(seed_b, z_dim)
        weights = torch.linspace(0, 1, steps)[:, None]
        z_all = torch.cat([(1 - weights) * z_a + weights * z_b, (1 - alpha) * z_a + alpha * z_b])
        y = None if labels is None else torch.as_tensor(labels).reshape(-1)[:1].repeat(len(z_all))
        images = _generate(generator, z_all, y)
        return {"alpha": float(alpha), "seeds": (int(seed_a), int(seed_b)), "z": z_all[-1].numpy(),
                "image": images[-1], "strip": images[:-1], "ink": float(images[-1].mean()),
                "norm": float(z_all[-1].norm())}

    readout = W.HTML()

    def draw(state):
        readout.value = ("<p class='cu-latent-readout'>" + html.escape(t(
            "ch09w.interp_readout", alpha=state["alpha"], norm=state["norm"], ink=state["ink"])) + "</p>")
        n = len(state["strip"])
        fig = plt.figure(figsize=(1.1 * n + 2.4, 2.4))
        grid = fig.add_gridspec(1, 2, width_ratios=[2.2, 1.1 * n])
        ax_now = fig.add_subplot(grid[0])
        ax_now.imshow(state["image"], cmap="gray", vmin=0, vmax=1)
        ax_now.set_title(t("ch09w.now", alpha=state["alpha"]), fontsize=9)
        ax_now.axis("off")
        ax_strip = fig.add_subplot(grid[1])
        ax_strip.imshow(np.concatenate(list(state["strip"]), axis=1), cmap="gray", vmin=0, vmax=1)
        width = state["strip"].shape[-1]
        k = int(round(state["alpha"] * (n - 1)))
        ax_strip.add_patch(plt.Rectangle((k * width - 0.5, -0.5), width, state["strip"].shape[1],
                                         fill=False, edgecolor="tab:red", linewidth=2))
        ax_strip.set_title(t("ch09w.steps", n=n), fontsize=9)
        ax_strip.axis("off")
        return fig

    box = explorer(controls, compute, draw, title=t("ch09w.interp_title"),
                   layout=[["seed_a", "seed_b"], ["alpha"], "output", readout])
    box.readout = readout
    box.add_class("cu-latent-interpolation")
    return box


def conditional_explorer(generator, z_dim: int, num_classes: int = 10, n: int = 8, judge=None,
                         class_names=None, label: int = 0, seed: int = 0):
    """Pick a class and a seed: ``n`` samples of ``generator(z, labels)`` for that class.

    ``judge`` (optional) is a classifier returning logits for images in [0, 1] shaped
    (N, 1, H, W); its verdicts go into ``widget.state["pred"]`` and ``state["recognised"]``
    (how many of the ``n`` it reads as the requested class). The same seed gives the same
    z for every class, so the style stays while the digit changes.
    """
    import torch

    controls = {
        "label": _slider(W.IntSlider, "ch09w.label", value=label, min=0, max=num_classes - 1),
        "seed": _slider(W.IntSlider, "ch09w.seed", value=seed, min=0, max=99),
    }

    def name_of(k):
        return str(class_names[k]) if class_names is not None else str(k)

    def compute(label, seed):
        z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(int(seed)))
        y = torch.full((n,), int(label), dtype=torch.long)
        images = _generate(generator, z, y)
        state = {"label": int(label), "seed": int(seed), "images": images}
        if judge is not None:
            was_training = judge.training
            judge.eval()
            try:
                device = next(judge.parameters()).device
            except StopIteration:
                device = torch.device("cpu")
            with torch.no_grad():
                logits = judge(torch.from_numpy(images[:, None]).to(device)).float()
            judge.train(was_training)
            pred = logits.argmax(1).cpu().numpy()
            state["pred"] = [int(p) for p in pred]
            state["recognised"] = int((pred == int(label)).sum())
        return state

    readout = W.HTML()

    def draw(state):
        name = name_of(state["label"])
        text = (t("ch09w.cond_readout", name=name, k=state["recognised"], n=n) if "pred" in state
                else t("ch09w.cond_readout_nojudge", name=name, n=n))
        readout.value = "<p class='cu-conditional-readout'>" + html.escape(text) + "</p>"
        fig, axes = plt.subplots(1, n, figsize=(1.25 * n, 1.7), squeeze=False)
        for i, ax in enumerate(axes[0]):
            ax.imshow(state["images"][i], cmap="gray", vmin=0, vmax=1)
            ax.axis("off")
            if "pred" in state:
                ok = state["pred"][i] == state["label"]
                ax.set_title(t("ch09w.judged", pred=name_of(state["pred"][i])), fontsize=8,
                             color="tab:green" if ok else "tab:red")
        fig.suptitle(t("ch09w.asked", name=name, n=n, seed=state["seed"]), fontsize=10)
        fig.tight_layout()
        return fig

    box = explorer(controls, compute, draw, title=t("ch09w.cond_title"),
                   layout=[list(controls), "output", readout])
    box.readout = readout
    box.add_class("cu-conditional-explorer")
    return box
