"""Widgets at lecture resolution (issue 16 §5): every slider track ≥ 200 px at 1280×720, labels not cut off.

Shared by the widget tests of every chapter: the widths come from the widgets' ipywidgets layouts.
"""
import ipywidgets as W

READOUT_PX, MARGIN_PX = 64, 16   # ipywidgets 8: the readout box and the margins around the track


def px(value):
    assert value and str(value).endswith("px"), f"expected a width in px, got {value!r}"
    return float(str(value)[:-2])


def label_px(text):
    # full-width (Japanese) characters about 14 px at JupyterLab's 13 px font, others about 8 px
    return sum(14 if ord(ch) > 0x2E7F else 8 for ch in text)


def controls(widget):
    found, todo = [], [widget]
    while todo:
        w = todo.pop()
        if isinstance(w, (W.Box,)):
            todo.extend(w.children)
        elif isinstance(w, W.widgets.widget_description.DescriptionWidget):
            found.append(w)
    return found


def assert_lecture_layout(widget):
    sliders = 0
    for control in controls(widget):
        slider = isinstance(control, (W.IntSlider, W.FloatSlider, W.FloatLogSlider))
        if isinstance(control, (W.HTML, W.Label, W.Output)) or not (slider or control.description):
            continue
        width, label = px(control.layout.width), px(control.style.description_width)
        assert px(control.layout.min_width) == width, f"{control.description}: a row could squeeze it"
        if control.description:
            assert label_px(control.description) <= label, f"label {control.description!r} cut off at {label} px"
        if slider:
            sliders += 1
            track = width - label - READOUT_PX - MARGIN_PX
            assert track >= 200, f"{control.description}: slider track {track} px < 200 px"
    for box in [widget] + [w for w in widget.children if isinstance(w, W.HBox)]:
        if isinstance(box, W.HBox):
            assert box.layout.flex_flow == "row wrap", "a row of controls must wrap, not shrink"
    return sliders
