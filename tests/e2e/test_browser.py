"""The course as a student meets it: JupyterLab in a real browser (Chromium via Playwright).

1. ``notebooks/ja/01_perceptron.ipynb``: Run → Run All Cells, find the perceptron explorer,
   move its ``w1`` slider with the arrow keys, and see the truth table and the plot change.
2. Japanese rendering, on the same executed notebook (one kernel run for both cases keeps the
   tests near half a minute): the chapter heading and the plot titles must be drawn with real
   glyphs, not tofu (the empty boxes Chromium and matplotlib draw when no font has a glyph).

   - Browser: the heading's characters are drawn onto a canvas in the heading's own computed
     font (Chromium falls back through fontconfig exactly as for the page text). Every missing
     character is drawn as the same .notdef box, so tofu shows up as bitmaps identical to that
     of a code point no font has (U+10FFFD), or as identical bitmaps for different characters.
     The method is checked on such code points first, so the test cannot pass vacuously.
   - Kernel: a cell appended to the copy draws a figure titled with the heading, asks
     matplotlib which font file the title resolves to (``font_manager.findfont``), checks
     that font has every character (FreeType char index ≠ 0) and that drawing raised no
     "Glyph … missing from font" warning; the same with DejaVu Sans (no Japanese) must find
     the missing glyphs, which proves the check can fail. No output of any cell of the
     notebook may carry such a warning, and the plots must be real, loaded images.
"""
import json
import re
import time
from pathlib import Path

import nbformat
import pytest

from course_utils import i18n

from labserver import TIMINGS, notebook_state, opened_and_run, press_slider, wait_for_idle

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "ja" / "01_perceptron.ipynb"
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")

pytestmark = pytest.mark.e2e

FONT_CHECK_CELL = r'''
import json as _json, re as _re, warnings as _warnings
import matplotlib.pyplot as _plt
from matplotlib import font_manager as _fm, ft2font as _ft2

def _e2e_glyphs(title, family=None):
    fig, ax = _plt.subplots(figsize=(4, 1.2))
    text = ax.set_title(title, **({"fontfamily": family} if family else {}))
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        fig.canvas.draw()
    path = _fm.findfont(text.get_fontproperties(), fallback_to_default=False)
    font = _ft2.FT2Font(path)
    missing = sorted({c for c in title if not c.isspace() and font.get_char_index(ord(c)) == 0})
    warned = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    if family is None:
        _plt.show()
    _plt.close(fig)
    return {"font": path, "family": font.family_name, "missing": missing, "warnings": warned}

_title = TITLE
print("E2E_FONT_REPORT " + _json.dumps({"course": _e2e_glyphs(_title),
                                        "dejavu": _e2e_glyphs(_title, "DejaVu Sans")}, ensure_ascii=False))
'''

# Draw characters on a canvas in a given CSS font; return per character a fingerprint of its pixels.
GLYPHS_JS = r"""
([chars, font]) => {
  const canvas = document.createElement('canvas');
  canvas.width = 96; canvas.height = 96;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const out = {};
  for (const ch of chars) {
    ctx.clearRect(0, 0, 96, 96);
    ctx.font = font; ctx.textBaseline = 'top'; ctx.fillStyle = '#000';
    ctx.fillText(ch, 8, 8);
    const data = ctx.getImageData(0, 0, 96, 96).data;
    let ink = 0, hash = 0;
    for (let i = 3; i < data.length; i += 4) {
      if (data[i]) { ink++; }
      hash = (Math.imul(hash, 31) + data[i]) | 0;
    }
    out[ch] = {ink, hash, width: ctx.measureText(ch).width};
  }
  return out;
}
"""
NO_FONT_HAS = ["\U0010FFFC", "\U0010FFFB", "\U0010FFFA"]  # plane-16 private use: no font covers them


def tofu_characters(page, chars, font):
    """The characters of ``chars`` that Chromium draws as .notdef boxes (or not at all) in ``font``."""
    probe = "\U0010FFFD"
    glyphs = page.evaluate(GLYPHS_JS, [list(dict.fromkeys(chars)) + [probe], font])
    box = glyphs.pop(probe)
    return [c for c, g in glyphs.items() if g["ink"] == 0 or (g["hash"], g["width"]) == (box["hash"], box["width"])]


@pytest.fixture(scope="module")
def perceptron_page(lab_server, browser, screenshot_dir):
    """ja/01_perceptron (a copy, with the font-check cell appended) opened in JupyterLab and run."""
    if not NOTEBOOK.exists():
        pytest.fail(f"{NOTEBOOK} is missing", pytrace=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    heading = next(line.lstrip("#").strip() for cell in nb.cells if cell.cell_type == "markdown"
                   for line in cell.source.splitlines() if line.startswith("# "))
    cell = nbformat.v4.new_code_cell(FONT_CHECK_CELL.replace("TITLE", json.dumps(heading, ensure_ascii=False)))
    with opened_and_run(lab_server, browser, NOTEBOOK, screenshot_dir / "01_after_run_all.png", "01",
                        extra_cells=[cell]) as page:
        yield page, heading


def test_perceptron_widget_reacts_to_the_keyboard(perceptron_page, tmp_path):
    page, _ = perceptron_page
    t0 = time.perf_counter()
    widget = page.locator(".cu-perceptron-explorer").last
    widget.scroll_into_view_if_needed()
    widget.wait_for(state="visible", timeout=15_000)
    table = widget.locator("table.cu-truth-table")
    plot = widget.locator(".widget-output img").first
    rule = widget.locator(".cu-truth-rule")
    score = widget.locator(".cu-truth-score")
    plot.wait_for(state="visible", timeout=15_000)
    widget.screenshot(path=str(tmp_path / "widget_before.png"))
    before = {"rule": rule.inner_text(), "table": table.inner_html(), "plot": plot.get_attribute("src")}
    assert re.search(r"[0-4]\s*/\s*4", score.inner_text()), score.inner_text()
    assert before["plot"].startswith("data:image/png")

    value0, value1 = press_slider(page, widget, re.compile(r"^\s*w1\s*$"), times=4)
    assert value1 != value0

    # The kernel recomputes and redraws (the Output and the HTML replace their elements: re-query)
    # until the rule shows the slider's final value.
    page.wait_for_function(
        """([root, src, rule]) => {
             const img = root.querySelector('.widget-output img'), r = root.querySelector('.cu-truth-rule');
             return img && r && img.getAttribute('src') !== src && r.innerText.includes(rule); }""",
        arg=[widget.element_handle(), before["plot"], f"{value1:.2f}"], timeout=15_000)
    wait_for_idle(page)  # the last redraw (each key press sends one update) has landed
    after = {"rule": rule.inner_text(), "table": table.inner_html(), "plot": plot.get_attribute("src")}
    widget.screenshot(path=str(tmp_path / "widget_after.png"))
    assert after["plot"] != before["plot"], "the decision-line plot did not change"
    assert after["table"] != before["table"] and after["rule"] != before["rule"], "the truth table did not change"
    assert f"{value1:.2f}" in after["rule"], (value1, after["rule"])
    assert re.search(r"[0-4]\s*/\s*4", score.inner_text())
    assert not notebook_state(page)["errors"]
    TIMINGS["widget interaction"] = time.perf_counter() - t0


def test_japanese_heading_and_plot_titles_render(perceptron_page, tmp_path):
    page, heading = perceptron_page
    t0 = time.perf_counter()
    assert JAPANESE.search(heading), f"the notebook's first heading is not Japanese: {heading!r}"

    # --- the rendered heading in the page
    h1 = page.locator(".jp-RenderedMarkdown h1", has_text=heading[:8]).first
    h1.scroll_into_view_if_needed()
    h1.screenshot(path=str(tmp_path / "heading.png"))
    text = h1.evaluate("el => el.textContent")
    font = h1.evaluate("el => getComputedStyle(el).font")
    japanese = [c for c in text if JAPANESE.match(c)]
    assert len(set(japanese)) >= 2, text
    # the method must recognise tofu: code points that no font has are all flagged
    assert tofu_characters(page, NO_FONT_HAS, font) == NO_FONT_HAS, "the tofu detector does not detect tofu"
    assert tofu_characters(page, japanese, font) == [], f"Chromium draws these as missing glyphs: {font}"
    glyphs = page.evaluate(GLYPHS_JS, [list(dict.fromkeys(japanese)), font])
    assert len({g["hash"] for g in glyphs.values()}) == len(glyphs), "different characters drew the same bitmap"

    # --- matplotlib in the kernel (the appended cell's report)
    outputs = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output")
    texts = outputs.evaluate_all("els => els.map(e => e.innerText)")
    report_line = next((t for t in texts if "E2E_FONT_REPORT" in t), None)
    assert report_line, "the font-check cell printed nothing"
    report = json.loads(report_line.split("E2E_FONT_REPORT", 1)[1].strip().splitlines()[0])
    course, dejavu = report["course"], report["dejavu"]
    assert dejavu["missing"] and dejavu["warnings"], f"the control (DejaVu Sans) found no missing glyph: {dejavu}"
    assert course["missing"] == [] and course["warnings"] == [], f"Japanese plot title has missing glyphs: {course}"
    assert not re.search(r"DejaVu", course["family"]), course
    # no cell of the notebook warned about a missing glyph, and matplotlib found the Japanese font
    no_font = i18n.text_in("ja", "font.missing")
    warned = [t for t in texts if ("missing from font" in t or no_font in t) and "E2E_FONT_REPORT" not in t]
    assert not warned, "missing-glyph warnings in the notebook:\n" + "\n".join(w[:300] for w in warned)

    # --- the plots are real images in the page (the last one is the appended title figure)
    images = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img")
    sizes = images.evaluate_all("els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
    assert sizes and all(ok and w > 0 and h > 0 for ok, w, h in sizes), sizes
    images.last.scroll_into_view_if_needed()
    images.last.screenshot(path=str(tmp_path / "plot_title.png"))
    TIMINGS["font checks"] = time.perf_counter() - t0
