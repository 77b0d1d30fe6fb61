"""Plots that repeat across chapters."""
import matplotlib.pyplot as plt
import numpy as np

BOX_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan")


def to_display(image):
    """A NumPy (H,W), (H,W,3) or (3,H,W) array or torch tensor as something imshow takes."""
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.transpose(image, (1, 2, 0))
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return image


def show_images(images, titles=None, ncols: int = 8, size: float = 1.6, cmap="gray", suptitle=None):
    """A grid of images with optional titles; returns the figure."""
    images = list(images)
    ncols = max(1, min(ncols, len(images)))
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if suptitle else 0)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, image in enumerate(images):
        ax = axes.flat[i]
        ax.imshow(to_display(image), cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def draw_boxes(ax, boxes, labels=None, scores=None, class_names=None, colour=None, linewidth=2):
    """Draw xyxy boxes on ``ax``, with ``label: score`` captions when given."""
    from matplotlib.patches import Rectangle

    boxes = np.asarray(boxes.detach().cpu() if hasattr(boxes, "detach") else boxes, dtype=float).reshape(-1, 4)
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        label = None if labels is None else int(labels[i])
        c = colour or BOX_COLOURS[(label or i) % len(BOX_COLOURS)]
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=c, linewidth=linewidth))
        caption = []
        if label is not None:
            caption.append(class_names[label] if class_names else str(label))
        if scores is not None:
            caption.append(f"{float(scores[i]):.2f}")
        if caption:
            ax.text(x1, y1, " ".join(caption), color="white", fontsize=8, va="bottom",
                    bbox=dict(facecolor=c, alpha=0.8, pad=1, edgecolor="none"))
    return ax


def overlay_mask(image, mask, alpha: float = 0.5, num_classes=None):
    """Blend a class mask (H,W ints) over an image; class 0 (background) stays clear."""
    image = to_display(image).astype(np.float32)
    if image.max() > 1.0:
        image = image / 255.0
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    mask = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask).astype(int)
    num_classes = num_classes or int(mask.max()) + 1
    colours = plt.get_cmap("tab10")(np.arange(max(num_classes, 1)) % 10)[:, :3]
    coloured = colours[mask]
    blend = np.where(mask[..., None] > 0, (1 - alpha) * image + alpha * coloured, image)
    return np.clip(blend, 0, 1)


def plot_curves(history, keys=None, title=None, ax=None, xlabel="epoch"):
    """Plot lists in a history dict (e.g. from :func:`course_utils.fit`)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    keys = keys or [k for k in history if k != "time"]
    for key in keys:
        values = history[key]
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=key)
    ax.set_xlabel(xlabel)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts ``m[true, pred]``."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def plot_confusion(matrix, class_names=None, ax=None, title=None):
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(matrix, cmap="Blues")
    ax.grid(False)
    n = len(matrix)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ticks = class_names if class_names is not None else range(n)
    ax.set_xticks(range(n), ticks)
    ax.set_yticks(range(n), ticks)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    return ax
