"""Helpers for the course 深層学習による画像認識 / Deep Learning for Image Recognition."""
from . import checks, data, viz, widgets  # noqa: F401
from .i18n import t
from . import runtime
from .runtime import device, pick, setup
from .training import evaluate, fit

__all__ = ["setup", "device", "pick", "FAST", "t", "fit", "evaluate", "checks", "data", "viz", "widgets"]


def __getattr__(name):  # ``cu.FAST`` is read from the environment each time
    if name == "FAST":
        return runtime.is_fast()
    raise AttributeError(name)
