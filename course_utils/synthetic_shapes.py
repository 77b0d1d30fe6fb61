"""The synthetic "shapes" data set for detection and segmentation.

Circles, rectangles and triangles of many sizes on smooth coloured backgrounds. Each image
comes with boxes (xyxy, pixels, x2/y2 exclusive, of the visible part), labels (1 circle,
2 rectangle, 3 triangle; 0 is the background), one instance mask per object (the visible
part, after occlusion) and a semantic mask. Everything is deterministic from ``seed``.

What makes it a fair detection set (each is a parameter of :func:`shapes`):

- sizes drawn log-uniform over a wide range (``scale``), so small, medium and large objects
  in COCO's sense all occur once the image is large enough (``Shapes.area_bins()``);
- crowds (``crowd``): objects placed next to earlier ones, overlapping up to ``max_iou``, so
  NMS must choose between real objects and two centres can share a grid cell;
- objects cut by the border (``truncate``) and images with no object at all (``empty``);
- rotated rectangles and triangles, shading across each shape, a smooth background.

``shapes(n=5, seed=0)`` is the first five images of ``shapes(n=50, seed=0)``: never build two
splits from one seed; :func:`shapes_splits` gives disjoint train / validation / test sets.
"""
from dataclasses import dataclass

import numpy as np

from .i18n import register, t

register({
    "shapes.bad_args": {
        "ja": "n>=1, size>=16, max_objects>=1 にしてください (n={n}, size={size}, max_objects={max_objects})。",
        "en": "Need n >= 1, size >= 16 and max_objects >= 1 (got n={n}, size={size}, max_objects={max_objects}).",
    },
    "shapes.bad_scale": {
        "ja": "scale は 0 < 最小 <= 最大 <= 1 の組 (最小, 最大) にしてください ({got} が渡されました)。",
        "en": "scale must be a pair (low, high) with 0 < low <= high <= 1 (got {got}).",
    },
    "shapes.bad_share": {
        "ja": "{name} は 0 以上 1 以下にしてください ({got} が渡されました)。",
        "en": "{name} must be between 0 and 1 (got {got}).",
    },
})

CLASSES = ("background", "circle", "rectangle", "triangle")
PALETTE = np.array([
    [230, 57, 70], [42, 157, 143], [233, 196, 106], [69, 123, 157],
    [244, 162, 97], [131, 56, 236], [255, 255, 255], [20, 20, 20],
], dtype=np.float32) / 255.0
MIN_VISIBLE_PIXELS = 6
COCO_SMALL, COCO_LARGE = 32 ** 2, 96 ** 2


def _smooth_basis(size, knots=5):
    """(size, knots) weights: each pixel a Gaussian-weighted blend of ``knots`` evenly spaced values."""
    x = (np.arange(size) + 0.5) / size
    centres = (np.arange(knots) + 0.5) / knots
    weights = np.exp(-(((x[:, None] - centres[None]) * knots) ** 2))
    return (weights / weights.sum(1, keepdims=True)).astype(np.float32)


def _background(rng, size):
    """A smooth colour field (a coarse 5x5 grid blended smoothly: no edges) with a faint grain."""
    coarse = rng.random((3, 5, 5)).astype(np.float32)
    basis = _smooth_basis(size)
    smooth = basis @ coarse @ basis.T
    base = rng.uniform(0.25, 0.75, size=(3, 1, 1)).astype(np.float32)
    grain = rng.normal(0, 0.015, size=(3, size, size)).astype(np.float32)
    return np.clip(base + 0.3 * (smooth - 0.5) + grain, 0, 1)


def _shape_mask(kind, u, v, r, rng):
    """Mask of one shape in its own rotated coordinates (u, v), radius ``r``."""
    if kind == 1:  # circle
        return u * u + v * v <= r * r
    if kind == 2:  # rectangle with a random aspect ratio, its diagonal 2r
        aspect = rng.uniform(0.4, 1.0)
        hw = r / np.sqrt(1 + aspect ** 2)
        return (np.abs(u) <= hw) & (np.abs(v) <= hw * aspect)
    # isosceles triangle: apex at v = -r, base at v = +0.6r
    top, bottom = -r, 0.6 * r
    half_width = (v - top) / (bottom - top) * 0.95 * r
    return (v >= top) & (v <= bottom) & (np.abs(u) <= half_width)


def _contrasting_colour(rng, behind, min_distance=0.25):
    """A palette colour (dimmed a little at random) that stands out from the mean colour ``behind`` it."""
    for _ in range(8):
        colour = PALETTE[rng.integers(len(PALETTE))] * rng.uniform(0.8, 1.0)
        if np.abs(colour - behind).mean() >= min_distance:
            break
    return colour


def _box_iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def _centre(rng, size, r, placed, crowd, truncate):
    """Where the next object goes: next to an earlier one, over the border, or anywhere inside."""
    if placed and rng.random() < crowd:
        px1, py1, px2, py2 = placed[int(rng.integers(len(placed)))]
        angle = rng.uniform(0, 2 * np.pi)
        distance = ((px2 - px1) / 2 + r) * rng.uniform(0.15, 0.95)
        c = np.array([(px1 + px2) / 2, (py1 + py2) / 2]) + distance * np.array([np.cos(angle), np.sin(angle)])
        return np.clip(c, 0, size)
    c = rng.uniform(r, size - r, size=2) if size > 2 * r else np.full(2, size / 2)
    if rng.random() < truncate:  # one coordinate pushed over a border: 20-75 % of the shape cut off
        axis, side = int(rng.integers(2)), int(rng.integers(2))
        inside = r * rng.uniform(-0.5, 0.6)
        c[axis] = inside if side == 0 else size - inside
    return c


def _one_image(rng, size, max_objects, yy, xx, opts):
    image = _background(rng, size)
    semantic = np.zeros((size, size), dtype=np.int64)
    instance = np.zeros((size, size), dtype=np.int64)  # object index + 1, later ones on top
    n = 0 if rng.random() < opts["empty"] else int(rng.integers(1, max_objects + 1))
    lo, hi = np.log(opts["scale"][0] * size / 2), np.log(opts["scale"][1] * size / 2)
    kinds, placed = [], []
    for _ in range(n):
        for _try in range(20):
            r = float(np.exp(rng.uniform(lo, hi)))
            cx, cy = _centre(rng, size, r, placed, opts["crowd"], opts["truncate"])
            box = (cx - r, cy - r, cx + r, cy + r)
            if all(_box_iou(box, p) <= opts["max_iou"] for p in placed):
                break
        else:
            continue
        kind = int(rng.integers(1, 4))
        angle = rng.uniform(0, 2 * np.pi) if opts["rotate"] and kind != 1 else 0.0
        x0, x1 = max(0, int(cx - r) - 1), min(size, int(cx + r) + 2)
        y0, y1 = max(0, int(cy - r) - 1), min(size, int(cy + r) + 2)
        dx, dy = xx[y0:y1, x0:x1] - cx, yy[y0:y1, x0:x1] - cy
        u, v = np.cos(angle) * dx + np.sin(angle) * dy, -np.sin(angle) * dx + np.cos(angle) * dy
        local = _shape_mask(kind, u, v, r, rng)
        if local.sum() < MIN_VISIBLE_PIXELS:
            continue
        window = image[:, y0:y1, x0:x1]
        colour = _contrasting_colour(rng, window[:, local].mean(axis=1))
        shading = 1.0 + rng.uniform(-0.25, 0.25) * np.clip(u / r, -1, 1)  # light from one side
        window[:, local] = np.clip(colour[:, None] * shading[local][None], 0, 1)
        placed.append(box)
        kinds.append(kind)
        semantic[y0:y1, x0:x1][local] = kind
        instance[y0:y1, x0:x1][local] = len(kinds)
    boxes, labels, masks = [], [], []
    for index, kind in enumerate(kinds, start=1):
        visible = instance == index
        if visible.sum() < MIN_VISIBLE_PIXELS:  # almost hidden behind later objects: not a target
            semantic[visible] = 0
            continue
        ys, xs = np.nonzero(visible)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        labels.append(kind)
        masks.append(visible)
    return (image, np.array(boxes, dtype=np.float32).reshape(-1, 4), np.array(labels, dtype=np.int64),
            np.array(masks, dtype=bool).reshape(-1, size, size), semantic)


@dataclass
class Shapes:
    """The data set: arrays in memory, usable as a torch Dataset and as device tensors.

    images: float32 (N, 3, S, S) in [0, 1]; semantic: int64 (N, S, S) with class ids;
    boxes[i] float32 (k, 4) xyxy; labels[i] int64 (k,); masks[i] bool (k, S, S).
    """

    images: np.ndarray
    boxes: list
    labels: list
    masks: list
    semantic: np.ndarray
    classes: tuple = CLASSES

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        """``(image, target)`` as torchvision's detection models take them."""
        import torch

        target = {
            "boxes": torch.from_numpy(self.boxes[i]),
            "labels": torch.from_numpy(self.labels[i]),
            "masks": torch.from_numpy(self.masks[i]),
            "semantic": torch.from_numpy(self.semantic[i]),
        }
        return torch.from_numpy(self.images[i]), target

    def subset(self, indices) -> "Shapes":
        """The images at ``indices`` (with their targets) as a new set."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        return Shapes(self.images[indices], [self.boxes[i] for i in indices], [self.labels[i] for i in indices],
                      [self.masks[i] for i in indices], self.semantic[indices], self.classes)

    def area_bins(self) -> dict:
        """How many objects fall in COCO's box-area bins: small < 32², medium, large > 96²."""
        areas = np.concatenate([(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) for b in self.boxes] + [np.zeros(0)])
        return {"small": int((areas < COCO_SMALL).sum()),
                "medium": int(((areas >= COCO_SMALL) & (areas <= COCO_LARGE)).sum()),
                "large": int((areas > COCO_LARGE).sum())}

    def tensors(self, device="cpu"):
        """Images (N,3,S,S) and semantic masks (N,S,S) as tensors on ``device``."""
        import torch

        return (torch.from_numpy(self.images).to(device), torch.from_numpy(self.semantic).to(device))

    def as_dataset(self):
        """A ``torch.utils.data.Dataset`` view (for DataLoader with ``collate_fn=tuple_collate``)."""
        import torch.utils.data

        shapes = self

        class _View(torch.utils.data.Dataset):
            def __len__(self):
                return len(shapes)

            def __getitem__(self, i):
                return shapes[i]

        return _View()


def tuple_collate(batch):
    """DataLoader collate for detection: lists of images and targets, not stacked."""
    return tuple(zip(*batch))


def _options(scale, max_iou, crowd, truncate, empty, rotate):
    try:
        low, high = (float(s) for s in scale)
    except (TypeError, ValueError):
        raise ValueError(t("shapes.bad_scale", got=scale)) from None
    if not 0 < low <= high <= 1:
        raise ValueError(t("shapes.bad_scale", got=scale))
    for name, value in (("max_iou", max_iou), ("crowd", crowd), ("truncate", truncate), ("empty", empty)):
        if not 0 <= value <= 1:
            raise ValueError(t("shapes.bad_share", name=name, got=value))
    return {"scale": (low, high), "max_iou": max_iou, "crowd": crowd, "truncate": truncate, "empty": empty,
            "rotate": bool(rotate)}


def shapes(n: int = 100, size: int = 128, max_objects: int = 4, seed=0, *, scale=(0.04, 0.6),
           max_iou: float = 0.5, crowd: float = 0.3, truncate: float = 0.15, empty: float = 0.05,
           rotate: bool = True) -> Shapes:
    """Generate ``n`` images of ``size`` x ``size`` with up to ``max_objects`` shapes each.

    ``scale``: each object's size (the diameter of the circle around it) as a fraction of the
    image side, drawn log-uniform in ``(low, high)``. ``max_iou``: the most a new object's box
    may overlap an earlier one. ``crowd``: probability that an object is placed next to an
    earlier one. ``truncate``: probability that it is pushed over the border. ``empty``: share
    of images without objects. ``rotate``: rotate rectangles and triangles. ``seed`` is an int
    or a ``numpy.random.SeedSequence``.
    """
    if n < 1 or size < 16 or max_objects < 1:
        raise ValueError(t("shapes.bad_args", n=n, size=size, max_objects=max_objects))
    opts = _options(scale, max_iou, crowd, truncate, empty, rotate)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    images = np.empty((n, 3, size, size), dtype=np.float32)
    semantic = np.empty((n, size, size), dtype=np.int64)
    boxes, labels, masks = [], [], []
    for i in range(n):
        images[i], b, lab, m, semantic[i] = _one_image(rng, size, max_objects, yy, xx, opts)
        boxes.append(b)
        labels.append(lab)
        masks.append(m)
    return Shapes(images, boxes, labels, masks, semantic)


def shapes_splits(n_train: int, n_val: int, n_test: int, seed: int = 0, **kwargs):
    """``(train, val, test)``: three :func:`shapes` sets from independent seed streams (disjoint).

    ``kwargs`` go to :func:`shapes` (size, scale, max_objects, ...), the same for all three.
    """
    streams = np.random.SeedSequence(seed).spawn(3)
    return tuple(shapes(n, seed=stream, **kwargs) for n, stream in zip((n_train, n_val, n_test), streams))
