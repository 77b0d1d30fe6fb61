"""Exercise checks: ``cu.checks.<name>(student_function)``.

Each chapter's checks live in ``chNN.py`` and list their public names in ``__all__``;
all of them are re-exported here, so a notebook only needs ``cu.checks.softmax(softmax)``.
"""
import importlib
import pkgutil

from .core import ExerciseFailed

__all__ = ["ExerciseFailed"]

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("ch")):
    _mod = importlib.import_module(f"{__name__}.{_module}")
    for _name in _mod.__all__:
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)


def names() -> list[str]:
    """The names of all exercise checks."""
    return [n for n in __all__ if n != "ExerciseFailed"]
