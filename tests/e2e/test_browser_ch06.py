"""Chapter 06 as a student meets it, in English: the whole notebook run in JupyterLab (Chromium via
Playwright), then the transform explorer's rotation slider moved with the keyboard; the plot and
the text readout of every model's prediction must follow the slider.
"""
import re
import time
from pathlib import Path

import pytest

from labserver import TIMINGS, notebook_state, opened_and_run, press_slider, wait_for_idle

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "en" / "06_cnn_classification.ipynb"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cnn_page(lab_server, browser, screenshot_dir):
    """en/06_cnn_classification (a copy) opened in JupyterLab and run top to bottom."""
    with opened_and_run(lab_server, browser, NOTEBOOK, screenshot_dir / "06_after_run_all.png", "06") as page:
        yield page


def test_transform_explorer_follows_the_rotation_slider(cnn_page, tmp_path):
    page = cnn_page
    t0 = time.perf_counter()
    widget = page.locator(".cu-transform-explorer").last
    widget.scroll_into_view_if_needed()
    widget.wait_for(state="visible", timeout=15_000)
    readout = widget.locator(".cu-predictions")
    plot = widget.locator(".widget-output img").first
    plot.wait_for(state="visible", timeout=15_000)
    widget.screenshot(path=str(tmp_path / "transform_before.png"))
    before = {"readout": readout.inner_text(), "plot": plot.get_attribute("src")}
    assert before["plot"].startswith("data:image/png")
    assert "+0°" in before["readout"], before["readout"]
    models = before["readout"].split("·")
    assert len(models) >= 2 and all(re.search(r"\(\d\.\d\d\)", m) for m in models), before["readout"]

    value0, value1 = press_slider(page, widget, re.compile(r"^\s*rotate"), times=6, key="ArrowRight")
    assert value1 > value0
    # The kernel recomputes, redraws and rewrites the readout (elements are replaced: re-query).
    page.wait_for_function(
        """([root, src, angle]) => {
             const img = root.querySelector('.widget-output img'), r = root.querySelector('.cu-predictions');
             return img && r && img.getAttribute('src') !== src && r.innerText.includes(angle); }""",
        arg=[widget.element_handle(), before["plot"], f"{value1:+.0f}°"], timeout=20_000)
    wait_for_idle(page)
    after = {"readout": readout.inner_text(), "plot": plot.get_attribute("src")}
    widget.screenshot(path=str(tmp_path / "transform_after.png"))
    assert after["plot"] != before["plot"], "the plot did not change"
    assert f"{value1:+.0f}°" in after["readout"] and after["readout"] != before["readout"], after["readout"]
    assert not notebook_state(page)["errors"]
    TIMINGS["transform explorer (06)"] = time.perf_counter() - t0
