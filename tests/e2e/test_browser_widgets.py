"""Every widget of chapters 01–09 at lecture resolution, measured in JupyterLab (Chromium, 1280×720).

A projector of 1280×720 and JupyterLab as it opens (file browser on the left) leave a cell's
output about 850 px wide. On that page, for every widget in both languages:

- every slider's track (ipywidgets 8 draws it with noUiSlider: ``.widget-hslider .noUi-target``)
  is at least 200 px wide, so that a drag of 40 px moves the value by a fifth of the range at
  most; the number of tracks is the number of sliders the widget has in Python;
- no description label, toggle button or slider readout is cut off (its ``scrollWidth`` is not
  larger than its ``clientWidth``);
- no control reaches past the right edge of the output area.

The widgets are the ones :func:`tests.widget_layout.every_widget` builds (the chapters' own
functions; small stand-in models where a chapter passes its trained ones), each in a cell of a
generated notebook, so a widget added to ``cu.widgets`` without a browser check fails
``tests/test_widgets_base.py``.
"""
import json
import time
from pathlib import Path

import ipywidgets as W
import matplotlib
import nbformat
import pytest

from course_utils import i18n
from course_utils.runtime import set_plot_style

from labserver import TIMINGS, notebook_state, opened_and_run

from tests.widget_layout import controls, every_widget

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e
matplotlib.use("Agg")
set_plot_style()  # the Japanese font for the widgets this process builds to count their sliders

VIEWPORT = (1280, 720)
MIN_TRACK_PX = 200
LANGUAGES = ("ja", "en")
NAMES = sorted(every_widget())

SETUP = f"""import sys
sys.path.insert(0, {str(ROOT)!r})
import course_utils as cu
from course_utils import i18n
from tests.widget_layout import every_widget
cu.setup(lang="ja")"""

SHOW = """i18n.set_language({lang!r})
_w = every_widget()[{name!r}]()
_w.add_class({css!r})
_w"""

MEASURE_JS = r"""
(root) => {
  const area = root.closest('.jp-OutputArea-output') || root.parentElement;
  const right = area.getBoundingClientRect().right;
  const width = e => e.getBoundingClientRect().width;
  const text = e => (e.innerText || e.textContent || '').trim();
  const tracks = [...root.querySelectorAll('.widget-hslider')].map(s => ({
      label: text(s.querySelector('.widget-label') || s), track: width(s.querySelector('.noUi-target'))}));
  const cut = [...root.querySelectorAll('.widget-label, .widget-toggle-button, .widget-readout')]
      .filter(e => text(e) && e.scrollWidth > e.clientWidth + 1)
      .map(e => ({text: text(e), scroll: e.scrollWidth, client: e.clientWidth}));
  const outside = [...root.querySelectorAll('.widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-text, .widget-select-multiple')]
      .filter(e => e.getBoundingClientRect().right > right + 1)
      .map(e => ({text: text(e.querySelector('.widget-label') || e), right: e.getBoundingClientRect().right, edge: right}));
  return {tracks, cut, outside, areaWidth: width(area)};
}
"""


def css_class(lang: str, name: str) -> str:
    return f"e2e-{lang}-{name.replace('_', '-')}"


def python_sliders(lang: str, name: str) -> int:
    before = i18n.language()
    i18n.set_language(lang)
    try:
        widget = every_widget()[name]()
        return sum(isinstance(c, (W.IntSlider, W.FloatSlider, W.FloatLogSlider)) for c in controls(widget))
    finally:
        i18n.set_language(before)
        W.Widget.close_all()


@pytest.fixture(scope="module")
def widgets_page(lab_server, browser, screenshot_dir, tmp_path_factory):
    """A generated notebook showing every widget in Japanese, then in English, run at 1280×720."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SETUP)] + [
        nbformat.v4.new_code_cell(SHOW.format(lang=lang, name=name, css=css_class(lang, name)))
        for lang in LANGUAGES for name in NAMES]
    source = tmp_path_factory.mktemp("widgets") / "every_widget.ipynb"
    nbformat.write(nb, source)
    with opened_and_run(lab_server, browser, source, screenshot_dir / "every_widget.png", "every widget",
                        viewport=VIEWPORT) as page:
        t0 = time.perf_counter()
        for lang in LANGUAGES:   # every widget drawn: its figure (an image in its Output) is in the page
            for name in NAMES:
                page.locator(f".{css_class(lang, name)} .widget-output img").first.wait_for(state="attached",
                                                                                           timeout=30_000)
        TIMINGS["every widget rendered"] = time.perf_counter() - t0
        yield page


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_slider_tracks_and_labels_at_1280x720(widgets_page, lang, name, tmp_path):
    page = widgets_page
    widget = page.locator(f".{css_class(lang, name)}").first
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(tmp_path / f"{lang}-{name}.png"))
    found = widget.evaluate(MEASURE_JS)
    report = json.dumps(found, ensure_ascii=False)
    assert 780 <= found["areaWidth"] <= 950, f"not the page of a 1280×720 window: {report}"
    assert len(found["tracks"]) == python_sliders(lang, name), f"sliders in the page ≠ sliders in Python: {report}"
    short = [t for t in found["tracks"] if t["track"] < MIN_TRACK_PX]
    assert not short, f"slider tracks under {MIN_TRACK_PX} px: {short} (screenshot {tmp_path})"
    assert not found["cut"], f"cut off: {found['cut']} (screenshot {tmp_path})"
    assert not found["outside"], f"past the right edge of the output: {found['outside']}"
    assert not notebook_state(page)["errors"]
