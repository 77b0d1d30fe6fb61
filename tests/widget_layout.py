"""Widgets at lecture resolution (issue 16 §5): every slider track ≥ 200 px at 1280×720, labels not cut off.

Shared by the widget tests of every chapter: the widths come from the widgets' ipywidgets layouts.
"""
import ipywidgets as W

# ipywidgets 8 in Chromium (tests/e2e/test_browser_widgets.py measures it): the readout box and the margins
# around the track; a 440 px slider with a 120 px label has a 224 px track
READOUT_PX, MARGIN_PX = 72, 24


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


def assert_toggle_buttons_fit(widget):
    """Every ToggleButtons row: the label and all its buttons fit its width, and no button's text is cut."""
    for control in controls(widget):
        if isinstance(control, W.ToggleButtons):
            width, label = px(control.layout.width), px(control.style.description_width)
            button = px(control.style.button_width)
            assert label + button * len(control.options) <= width, f"{control.description}: buttons do not fit"
            for name, _ in control.options:
                assert label_px(name) <= button - 16, f"button {name!r} cut off at {button} px"


# --- every widget of the course, built with small stand-ins where a chapter passes its trained models

NOT_WIDGETS = {"explorer", "perceptron_figure", "backprop_graph_figure", "graph_values", "conv_stepper_figure",
               "pooling_figure", "upsample", "dilated_footprint"}   # figures and helpers in cu.widgets.__all__


def _stand_ins():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    digits = torch.rand(6, 1, 28, 28)
    classifiers = {name: nn.Sequential(nn.Flatten(), nn.Linear(784, 10)) for name in ("baseline", "augmented")}

    def affine(x, shift=(0.0, 0.0), angle=0.0, scale=1.0):  # rotate and scale about the centre, then shift
        import math

        a = math.radians(angle)
        cos, sin = math.cos(a) / scale, math.sin(a) / scale
        tx, ty = 2 * shift[0] / x.shape[-1], 2 * shift[1] / x.shape[-2]
        theta = torch.tensor([[[cos, -sin, -(cos * tx - sin * ty)], [sin, cos, -(sin * tx + cos * ty)]]])
        grid = F.affine_grid(theta.expand(len(x), 2, 3), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)

    class Generator(nn.Module):  # z (and a class) → a 28×28 image in [-1, 1]
        def __init__(self, z_dim, conditional):
            super().__init__()
            self.embed = nn.Embedding(10, z_dim) if conditional else None
            self.net = nn.Sequential(nn.Linear(z_dim, 784), nn.Tanh())

        def forward(self, z, labels=None):
            z = z if self.embed is None else z + self.embed(labels)
            return self.net(z).view(-1, 1, 28, 28)

    judge = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    return digits, classifiers, affine, Generator(8, False), Generator(8, True), judge


def every_widget() -> dict:
    """Name → a function that builds that widget (chapters 01–09), in the current language."""
    import course_utils as cu

    w = cu.widgets
    digits, classifiers, affine, generator, conditional, judge = _stand_ins()
    return {
        "perceptron_explorer": w.perceptron_explorer,
        "activation_explorer": w.activation_explorer,
        "learning_rate_explorer": w.learning_rate_explorer,
        "backprop_graph": w.backprop_graph,
        "moving_average_explorer": w.moving_average_explorer,
        "conv_stepper": w.conv_stepper,
        "kernel_editor": w.kernel_editor,
        "pooling_explorer": w.pooling_explorer,
        "transform_explorer": lambda: w.transform_explorer(classifiers, digits, affine,
                                                           class_names=[str(k) for k in range(10)],
                                                           labels=[0, 1, 2, 3, 4, 5]),
        "iou_explorer": w.iou_explorer,
        "nms_explorer": w.nms_explorer,
        "upsampling_explorer": w.upsampling_explorer,
        "dilation_explorer": w.dilation_explorer,
        "latent_interpolation": lambda: w.latent_interpolation(generator, 8),
        "conditional_explorer": lambda: w.conditional_explorer(conditional, 8, judge=judge),
    }
