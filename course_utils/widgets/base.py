"""The one pattern behind every widget: controls → compute → draw into an Output.

:func:`explorer` builds the whole widget: it wires the controls to ``compute`` and ``draw``,
keeps the result in ``box.state`` and places everything on the page from ``layout``. A chapter
says where things go through ``layout`` and never rearranges ``box.children`` afterwards.
"""
import contextlib
import html

import ipywidgets as W
import matplotlib.pyplot as plt


def lecture_layout(label: str, width: str, **style) -> dict:
    """Keyword arguments that size a control for lecture resolution (1280×720): a fixed ``width``
    that a row cannot squeeze (``min_width``) and a ``label`` width that does not cut the
    description. A 400–440 px slider with a 90–120 px label keeps a track of about 240 px."""
    return {"style": {"description_width": label, **style}, "layout": W.Layout(width=width, min_width=width)}


def row(*items, **layout) -> W.HBox:
    """One row of widgets that wraps onto the next line when the page is narrow (it never shrinks
    the controls); ``layout`` adds ``ipywidgets.Layout`` settings, e.g. ``align_items="center"``."""
    return W.HBox(list(items), layout=W.Layout(flex_flow="row wrap", **layout))


def _place(item, controls: dict, output: W.Output):
    if isinstance(item, str):
        if item == "output":
            return output
        if item not in controls:
            raise KeyError(f"layout names {item!r}, which is neither a control ({', '.join(controls)}) nor 'output'")
        return controls[item]
    if isinstance(item, (list, tuple)):
        return row(*(_place(i, controls, output) for i in item), align_items="center")
    if isinstance(item, W.Widget):
        return item
    raise TypeError(f"a layout row is a control's name, 'output', a widget or a list of these, not {item!r}")


def _descendants(widget):
    todo, seen = [widget], []
    while todo:
        w = todo.pop()
        seen.append(w)
        todo.extend(getattr(w, "children", ()))
    return seen


def explorer(controls: dict, compute, draw=None, title: str | None = None, layout=None):
    """Build a widget: ``compute(**values) -> dict`` and ``draw(state)`` to show it.

    ``compute`` returns the numbers the widget is about (kept in ``box.state``, which tests
    read); ``draw(state)`` makes the picture inside the Output (matplotlib figures are shown
    and closed).

    ``layout`` lists the rows under the ``title``, top to bottom. A row is a control's name,
    ``"output"`` (the figure), any other widget (a readout, a grid of controls), or a list of
    these: one row that wraps instead of squeezing its sliders (:func:`row`). The default is
    ``[list(controls), "output"]``: every control in one wrapping row, then the figure. Every
    control must be placed (a ``ValueError`` names the ones left out).

    Returns a VBox with attributes ``controls``, ``output``, ``state``, ``update()`` (compute
    and draw again), ``set(**values)`` (several controls at once, one redraw) and
    ``hold_updates()`` (a context manager for the same).
    """
    output = W.Output()
    rows = [list(controls), "output"] if layout is None else list(layout)
    children = ([W.HTML(f"<b>{html.escape(title)}</b>")] if title else []) + [_place(r, controls, output)
                                                                             for r in rows]
    placed = {id(w) for child in children for w in _descendants(child)}
    missing = [name for name, c in controls.items() if id(c) not in placed]
    if missing:
        raise ValueError(f"layout leaves out the controls {missing}")
    box = W.VBox(children)
    box.controls, box.output, box.state = controls, output, {}
    box._explorer_children = box.children  # what the layout built (tests check that nothing replaced it)
    held = {"depth": 0, "pending": False}

    def update(*_):
        if held["depth"]:
            held["pending"] = True
            return
        values = {name: c.value for name, c in controls.items()}
        box.state.clear()
        box.state.update(compute(**values))
        if draw is None:
            return
        output.clear_output(wait=True)
        with output:
            result = draw(box.state)
            if isinstance(result, plt.Figure):
                plt.show()
                plt.close(result)

    @contextlib.contextmanager
    def hold_updates():
        """Change several controls inside the block: every control's ``hold_trait_notifications()``
        keeps its observers waiting until all the new values are in (so no observer sees half of
        them), and the widget computes and redraws once, at the end, with all of them."""
        held["depth"] += 1
        try:
            with contextlib.ExitStack() as stack:
                for c in controls.values():
                    stack.enter_context(c.hold_trait_notifications())
                yield box
        finally:
            held["depth"] -= 1
        if held["depth"] == 0 and held["pending"]:
            held["pending"] = False
            update()

    def set_values(**values):
        with hold_updates():
            for name, value in values.items():
                controls[name].value = value

    for c in controls.values():
        c.observe(update, names="value")
    box.update, box.hold_updates, box.set = update, hold_updates, set_values
    update()
    return box
