"""Chapter 06 as a student meets it, in English: the whole notebook run in JupyterLab (Chromium via
Playwright), then the transform explorer's rotation slider moved with the keyboard; the plot and
the text readout of every model's prediction must follow the slider.
"""
import os
import re
import time
from pathlib import Path

import pytest

from labserver import TIMINGS, notebook_state, run_all_cells, timed, wait_for_idle, wait_for_notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "en" / "06_cnn_classification.ipynb"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cnn_page(lab_server, browser, screenshot_dir):
    """en/06_cnn_classification (a copy) opened in JupyterLab and run top to bottom."""
    if not NOTEBOOK.exists():
        pytest.fail(f"{NOTEBOOK} is missing", pytrace=False)
    name = lab_server.add_notebook(NOTEBOOK)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        with timed("open notebook (06)"):
            page.goto(lab_server.lab_url(name))
            wait_for_notebook(page)
        lab_server.remember_children()
        with timed("Run All Cells (06, FAST)"):
            state = run_all_cells(page, timeout=float(os.environ.get("E2E_RUN_TIMEOUT", 240)))
        page.screenshot(path=str(screenshot_dir / "06_after_run_all.png"), full_page=True)
        assert not state["errors"], f"errors while running {NOTEBOOK.name}:\n" + "\n".join(state["errors"])
        yield page
    finally:
        page.close()


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

    handle = widget.locator(".widget-slider").filter(
        has=page.locator(".widget-label", has_text=re.compile(r"^\s*rotate"))).locator(".noUi-handle")
    value0 = float(handle.get_attribute("aria-valuenow"))
    handle.focus()
    for _ in range(6):
        handle.press("ArrowRight")
    page.wait_for_function(
        "([el, v0]) => parseFloat(el.getAttribute('aria-valuenow')) !== v0", arg=[handle.element_handle(), value0],
        timeout=10_000)
    value1 = float(handle.get_attribute("aria-valuenow"))
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
