"""Interactive widgets, one module per chapter (``chNN.py``), re-exported here.

Every widget is a function returning an ipywidgets object built with :func:`explorer`:
its ``controls`` (name → widget) can be set from plain Python, and after each change its
``state`` dict holds what was computed, so tests can set ``.value`` and read ``.state``.
"""
import importlib
import pkgutil

from .base import explorer

__all__ = ["explorer"]

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("ch")):
    _mod = importlib.import_module(f"{__name__}.{_module}")
    for _name in _mod.__all__:
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
