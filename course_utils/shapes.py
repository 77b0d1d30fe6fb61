"""The synthetic "shapes" data set for detection and segmentation.

Circles, rectangles and triangles of several colours and sizes on textured backgrounds.
Each image comes with boxes (xyxy, pixels, x2/y2 exclusive), labels (1 circle,
2 rectangle, 3 triangle; 0 is the background), one instance mask per object (the visible
part, after occlusion) and a semantic mask. Everything is deterministic from ``seed``.
"""
from dataclasses import dataclass

import numpy as np

from .i18n import register, t

register({"shapes.bad_args": {
    "ja": "n>=1, size>=16, max_objects>=1 にしてください (n={n}, size={size}, max_objects={max_objects})。",
    "en": "Need n >= 1, size >= 16 and max_objects >= 1 (got n={n}, size={size}, max_objects={max_objects}).",
}})

CLASSES = ("background", "circle", "rectangle", "triangle")
PALETTE = np.array([
    [230, 57, 70], [42, 157, 143], [233, 196, 106], [69, 123, 157],
    [244, 162, 97], [131, 56, 236], [255, 255, 255], [20, 20, 20],
], dtype=np.float32) / 255.0


def _background(rng, size):
    """Smooth coloured noise plus fine grain: a texture, not a flat colour."""
    coarse = rng.random((3, 4, 4), dtype=np.float32)
    reps = -(-size // 4)
    smooth = np.kron(coarse, np.ones((reps, reps), dtype=np.float32))[:, :size, :size]
    base = rng.uniform(0.25, 0.75, size=(3, 1, 1)).astype(np.float32)
    grain = rng.normal(0, 0.04, size=(3, size, size)).astype(np.float32)
    return np.clip(base + 0.25 * (smooth - 0.5) + grain, 0, 1)


def _shape_mask(kind, cx, cy, r, yy, xx, rng):
    if kind == 1:  # circle
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    if kind == 2:  # rectangle with a random aspect ratio
        aspect = rng.uniform(0.5, 1.0)
        hw, hh = (r, r * aspect) if rng.random() < 0.5 else (r * aspect, r)
        return (np.abs(xx - cx) <= hw) & (np.abs(yy - cy) <= hh)
    # upward triangle: apex at the top, base at the bottom
    top, bottom = cy - r, cy + r
    half_width = (yy - top) / (2 * r) * r
    return (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= half_width)


def _box_iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def _one_image(rng, size, max_objects, yy, xx):
    image = _background(rng, size)
    n = int(rng.integers(1, max_objects + 1))
    semantic = np.zeros((size, size), dtype=np.int64)
    instance = np.zeros((size, size), dtype=np.int64)  # object index + 1, later ones on top
    kinds, placed = [], []
    for _ in range(n):
        for _try in range(20):
            r = rng.uniform(size * 0.08, size * 0.22)
            cx, cy = rng.uniform(r, size - r, size=2)
            box = (cx - r, cy - r, cx + r, cy + r)
            if all(_box_iou(box, p) < 0.25 for p in placed):
                break
        else:
            continue
        kind = int(rng.integers(1, 4))
        mask = _shape_mask(kind, cx, cy, r, yy, xx, rng)
        if mask.sum() < 4:
            continue
        colour = PALETTE[rng.integers(len(PALETTE))] * rng.uniform(0.85, 1.0)
        image[:, mask] = colour[:, None]
        placed.append(box)
        kinds.append(kind)
        semantic[mask] = kind
        instance[mask] = len(kinds)
    boxes, labels, masks = [], [], []
    for index, kind in enumerate(kinds, start=1):
        visible = instance == index
        if visible.sum() < 4:  # almost hidden behind later objects: not a target
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


def shapes(n: int = 100, size: int = 64, max_objects: int = 4, seed: int = 0) -> Shapes:
    """Generate ``n`` images of ``size`` x ``size`` with 1..``max_objects`` shapes each."""
    if n < 1 or size < 16 or max_objects < 1:
        raise ValueError(t("shapes.bad_args", n=n, size=size, max_objects=max_objects))
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    images = np.empty((n, 3, size, size), dtype=np.float32)
    semantic = np.empty((n, size, size), dtype=np.int64)
    boxes, labels, masks = [], [], []
    for i in range(n):
        images[i], b, l, m, semantic[i] = _one_image(rng, size, max_objects, yy, xx)
        boxes.append(b)
        labels.append(l)
        masks.append(m)
    return Shapes(images, boxes, labels, masks, semantic)
