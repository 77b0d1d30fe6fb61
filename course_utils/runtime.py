"""Runtime set-up: seeds, device choice, plot style, FAST/full mode."""
import os
import random

import numpy as np

from . import i18n

_device = None


def is_fast() -> bool:
    """FAST mode: the environment variable COURSE_FAST=1 (read each time, so it can be set late)."""
    return os.environ.get("COURSE_FAST") == "1"


def __getattr__(name):  # ``runtime.FAST`` / ``cu.FAST`` follow the environment
    if name == "FAST":
        return is_fast()
    raise AttributeError(name)


def pick(fast, full):
    """The value for the current mode: ``fast`` when COURSE_FAST=1, else ``full``."""
    return fast if is_fast() else full


def seed_everything(seed: int = 0) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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


def setup(lang: str = "ja", seed: int = 0):
    """Seed everything, pick the device, set the plot style and language; print one line."""
    global _device
    i18n.set_language(lang)
    seed_everything(seed)
    if os.environ.get("COURSE_THREADS"):
        limit_threads(int(os.environ["COURSE_THREADS"]))
    _device = best_device()
    if not set_plot_style():
        print(i18n.t("font.missing"))
    mode = i18n.t("mode.fast" if is_fast() else "mode.full")
    print(i18n.t("setup.line", device=device_name(_device), mode=mode, seed=seed))
    return _device
