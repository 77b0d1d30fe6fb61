"""widgets/base.explorer: the layout is an argument, controls are wired once, several changes redraw once."""
import re
from pathlib import Path

import ipywidgets as W
import matplotlib
import pytest

import course_utils as cu
from course_utils.widgets.base import explorer
from tests.widget_layout import NOT_WIDGETS, assert_lecture_layout, assert_toggle_buttons_fit, every_widget

matplotlib.use("Agg")
cu.runtime.set_plot_style()  # the Japanese font, as cu.setup would (no missing-glyph warnings)

pytestmark = pytest.mark.usefixtures("each_language", "close_widgets")  # tests/conftest.py
WIDGETS = Path(cu.widgets.__file__).parent


def sliders(**values):
    return {name: W.IntSlider(value=v, min=0, max=10, description=name) for name, v in values.items()}


def recorder():
    calls = []

    def compute(**values):
        calls.append(dict(values))
        return {"sum": sum(values.values())}

    return compute, calls


def test_default_layout_is_title_one_wrapping_row_and_the_output():
    controls = sliders(a=1, b=2)
    compute, _ = recorder()
    box = explorer(controls, compute, title="A & B")
    title, controls_row, output = box.children
    assert isinstance(title, W.HTML) and title.value == "<b>A &amp; B</b>"
    assert isinstance(controls_row, W.HBox) and controls_row.layout.flex_flow == "row wrap"
    assert list(controls_row.children) == list(controls.values())
    assert output is box.output and box.state == {"sum": 3}


def test_layout_rows_names_widgets_and_lists():
    controls = sliders(a=1, b=2, c=3)
    readout, grid = W.HTML("readout"), W.GridBox([controls["c"]])
    compute, _ = recorder()
    box = explorer(controls, compute, layout=[["a", "b"], grid, "output", readout])
    first, placed_grid, output, last = box.children
    assert list(first.children) == [controls["a"], controls["b"]] and first.layout.flex_flow == "row wrap"
    assert placed_grid is grid and output is box.output and last is readout
    controls["c"].value = 9
    assert box.state == {"sum": 12}


def test_layout_must_place_every_control_and_only_known_names():
    controls = sliders(a=1, b=2)
    compute, _ = recorder()
    with pytest.raises(ValueError, match=r"\['b'\]"):
        explorer(controls, compute, layout=[["a"], "output"])
    with pytest.raises(KeyError, match="nope"):
        explorer(controls, compute, layout=[["a", "b", "nope"], "output"])


def test_one_change_one_compute_and_hold_updates_redraws_once_with_every_new_value():
    controls = sliders(a=1, b=2, c=3)
    compute, calls = recorder()
    draws = []
    box = explorer(controls, compute, draw=lambda state: draws.append(dict(state)))
    assert len(calls) == len(draws) == 1
    controls["a"].value = 4
    assert calls[-1] == {"a": 4, "b": 2, "c": 3} and len(calls) == len(draws) == 2
    seen = []
    controls["b"].observe(lambda change: seen.append((controls["a"].value, controls["c"].value)), names="value")
    with box.hold_updates():
        controls["a"].value = 5
        controls["b"].value = 6
        controls["c"].value = 7
        assert len(calls) == 2 and box.state == {"sum": 9}   # nothing yet: the values are held
    assert calls[2:] == [{"a": 5, "b": 6, "c": 7}] and draws[2:] == [{"sum": 18}]
    assert seen == [(5, 7)]          # b's observer ran once, after every value was in
    box.set(a=0, c=0)
    assert calls[3:] == [{"a": 0, "b": 6, "c": 0}] and len(draws) == 4
    box.set(a=0)                     # no value changed: no redraw
    assert len(calls) == 4


def test_every_widget_is_covered_and_laid_out_by_explorer_alone():
    """No chapter replaces ``box.children`` after explorer built them from its layout."""
    built = every_widget()
    assert set(built) == set(cu.widgets.__all__) - NOT_WIDGETS
    for name, make in built.items():
        box = make()
        assert box.children is box._explorer_children, f"{name}: children replaced after explorer"
        assert_lecture_layout(box)
        assert_toggle_buttons_fit(box)
    # and in the source: no chapter assigns children to the box it got from explorer
    for path in sorted(WIDGETS.glob("ch*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bbox\.children\s*(\+?=)", text), f"{path.name} rearranges box.children"
