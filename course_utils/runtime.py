"""Runtime set-up: seeds, device choice, plot style, FAST/full mode.

The mode, in this order: ``setup(mode="fast"|"full")`` (from inside a running kernel), else
the environment variable ``COURSE_FAST`` (``1`` FAST, ``0`` full), else the hardware: full on a
CUDA GPU, FAST on a CPU or Apple MPS (a laptop, Binder). :func:`mode` says which and why.
"""
import os
import random

import numpy as np

from . import i18n

_device = None
_mode_asked = None  # "fast" | "full" given to setup(mode=...), or None: choose by itself
MODES = ("fast", "full")


def mode() -> tuple[str, str]:
    """``(mode, why)``: ``"fast"`` or ``"full"``, and ``"setup"``, ``"env"`` or ``"hardware"``."""
    if _mode_asked:
        return _mode_asked, "setup"
    env = os.environ.get("COURSE_FAST", "").strip()
    if env in ("1", "0"):
        return ("fast" if env == "1" else "full"), "env"
    return ("full" if device().type == "cuda" else "fast"), "hardware"


def is_fast() -> bool:
    """FAST mode (see :func:`mode`; read each time, so a late ``setup(mode=...)`` or ``%env`` counts)."""
    return mode()[0] == "fast"


def __getattr__(name):  # ``runtime.FAST`` / ``cu.FAST`` follow the mode
    if name == "FAST":
        return is_fast()
    raise AttributeError(name)


def pick(fast, full):
    """The value for the current mode: ``fast`` in FAST mode, else ``full``."""
    return fast if is_fast() else full


def mode_line(lang: str | None = None) -> str:
    """The mode, why it was chosen and how to change it, in one phrase (the first cell prints it)."""
    lang = lang or i18n.language()
    chosen, why = mode()
    other = "full" if chosen == "fast" else "fast"
    reason = {"setup": i18n.text_in(lang, "mode.why_setup", mode=chosen),
              "env": i18n.text_in(lang, "mode.why_env", value=os.environ.get("COURSE_FAST", "").strip()),
              "hardware": i18n.text_in(lang, "mode.why_cuda" if chosen == "full" else "mode.why_no_cuda")}[why]
    how = i18n.text_in(lang, "mode.how", call=f'cu.setup(lang="{lang}", mode="{other}")',
                       other=i18n.text_in(lang, f"mode.{other}"))
    return i18n.text_in(lang, "mode.line", mode=i18n.text_in(lang, f"mode.{chosen}"), why=reason, how=how)


def seed_everything(seed: int = 0) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_reproducible() -> None:
    """The same seed gives the same numbers on a GPU too.

    Without this, two seeded runs on CUDA differ (cuDNN picks algorithms by timing them, and
    some kernels add in a different order each run): deterministic algorithms where PyTorch
    has them (a warning, shown once, names an operation that has none), cuBLAS's fixed
    workspace, and no cuDNN benchmark mode. On the CPU nothing changes. A notebook turns it off
    where an operation's deterministic stand-in is too costly (torchvision's RoI Align in
    chapters 07 and 08 falls back to a pure-PyTorch version that needs tens of GB on a GPU).
    """
    import warnings

    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    torch.use_deterministic_algorithms(True, warn_only=True)
    warnings.filterwarnings("once", message=".*does not have a deterministic implementation.*")


def limit_threads(n: int) -> None:
    """Cap torch's and NumPy's (BLAS) threads: with two kernels on two cores, more threads
    only fight each other (a small NumPy epoch went from 0.035 s to 0.7 s under load)."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)


def best_device():
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device():
    """The device chosen by :func:`setup` (cuda > mps > cpu)."""
    global _device
    if _device is None:
        _device = best_device()
    return _device


def device_name(dev=None) -> str:
    import torch

    dev = dev or device()
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return dev.type


def japanese_font_available() -> bool:
    try:
        import matplotlib_fontja  # noqa: F401
    except ImportError:
        return False
    from matplotlib import font_manager

    return any("IPAex" in f.name for f in font_manager.fontManager.ttflist)


def set_plot_style() -> bool:
    """Matplotlib defaults for the course; returns whether the Japanese font is in use."""
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "image.cmap": "viridis",
    })
    try:
        import matplotlib_fontja

        matplotlib_fontja.japanize()
    except ImportError:
        return False
    return True


def setup(lang: str | None = None, seed: int = 0, mode: str | None = None):
    """Seed everything, pick the device, set the plot style, language and mode; print one line.

    ``lang`` "ja" or "en" (the notebooks always say which); ``None``: :func:`i18n.default_language`.
    ``mode="fast"`` or ``"full"`` fixes the mode for this kernel (``cu.FAST`` and ``cu.pick``
    follow it); ``None`` lets COURSE_FAST, else the hardware, decide (see :func:`mode`)."""
    global _device, _mode_asked
    lang = i18n.default_language() if lang is None else lang
    i18n.set_language(lang)
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES} or None, got {mode!r} / "
                         f"mode は {MODES} のどちらか None にしてください")
    _mode_asked = mode
    seed_everything(seed)
    make_reproducible()
    if os.environ.get("COURSE_THREADS"):
        limit_threads(int(os.environ["COURSE_THREADS"]))
    _device = best_device()
    if not set_plot_style():
        print(i18n.t("font.missing"))
    print(i18n.t("setup.line", device=device_name(_device), mode=mode_line(lang), seed=seed))
    return _device
