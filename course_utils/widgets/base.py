"""The one pattern behind every widget: controls → compute → draw into an Output."""
import ipywidgets as W
import matplotlib.pyplot as plt


def explorer(controls: dict, compute, draw=None, title: str | None = None):
    """Build a widget: ``compute(**values) -> dict`` and ``draw(state)`` to show it.

    ``compute`` returns the numbers the widget is about (kept in ``box.state``, which tests
    read); ``draw(state)`` makes the picture inside the Output (matplotlib figures are shown
    and closed). Returns a VBox with attributes ``controls``, ``output``, ``state`` and
    ``update()``.
    """
    output = W.Output()
    children = ([W.HTML(f"<b>{title}</b>")] if title else []) + [W.HBox(list(controls.values())), output]
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
