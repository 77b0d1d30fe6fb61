"""The one pattern behind every widget: controls → compute → draw into an Output."""
import ipywidgets as W
import matplotlib.pyplot as plt


def lecture_layout(label: str, width: str, **style) -> dict:
    """Keyword arguments that size a control for lecture resolution (1280×720): a fixed ``width``
    that a row cannot squeeze (``min_width``) and a ``label`` width that does not cut the
    description. A 400–440 px slider with a 90–120 px label keeps a track of about 240 px."""
    return {"style": {"description_width": label, **style}, "layout": W.Layout(width=width, min_width=width)}


def explorer(controls: dict, compute, draw=None, title: str | None = None):
    """Build a widget: ``compute(**values) -> dict`` and ``draw(state)`` to show it.

    ``compute`` returns the numbers the widget is about (kept in ``box.state``, which tests
    read); ``draw(state)`` makes the picture inside the Output (matplotlib figures are shown
    and closed). Returns a VBox with attributes ``controls``, ``output``, ``state`` and
    ``update()``.
    """
    output = W.Output()
    row = W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap"))  # wrap rather than shrink sliders
    children = ([W.HTML(f"<b>{title}</b>")] if title else []) + [row, output]
    box = W.VBox(children)
    box.controls, box.output, box.state = controls, output, {}

    def update(*_):
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

    for c in controls.values():
        c.observe(update, names="value")
    box.update = update
    update()
    return box
