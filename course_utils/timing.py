"""Timing like with like, shared by the notebooks and ``bench/``.

:func:`median_time` times a call the way the course reports speed: warm-up calls first
(caches, lazy initialisation, CUDA kernels), ``torch.cuda.synchronize()`` around every
timed call when the work runs on a GPU (its kernels are asynchronous), and the median of
the repeats (robust to a loaded machine); :func:`threads` is the CPU thread count to print
beside it.

Chapter 07's NMS speed table is measured here too, so that ``bench/nms.py`` and the
notebook report the same thing: :func:`nms_candidates` makes detector-like candidate boxes
and :func:`nms_speed` times several NMS implementations on them, asserting that every one
keeps exactly the boxes (in the same order) that the first one keeps.
"""
import contextlib
import statistics
import time

import numpy as np

__all__ = ["median_time", "threads", "threads_limited", "nms_candidates", "nms_speed", "NMS_SIZES", "NMS_IOU_THRESHOLD"]

NMS_SIZES = (1_000, 10_000)
NMS_IOU_THRESHOLD = 0.5


def _synchronize(device):
    if device is None:
        return
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def median_time(fn, *, repeat: int = 5, warmup: int = 1, device=None) -> float:
    """Median wall time in seconds of ``fn()`` over ``repeat`` calls, after ``warmup`` calls.

    ``device``: where ``fn`` runs its work; when it is a CUDA device the GPU is synchronised
    before the clock starts and before it stops, so the time is the work, not the launch.
    """
    for _ in range(warmup):
        fn()
    _synchronize(device)
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        fn()
        _synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def threads() -> int:
    """The number of CPU threads torch uses (print it beside every CPU timing)."""
    import torch

    return torch.get_num_threads()


@contextlib.contextmanager
def threads_limited(n: int = 1):
    """Inside the block torch and NumPy's BLAS use at most ``n`` threads; the old counts come back after.

    For tiny operations in a Python loop, where waking many threads costs more than the work.
    Cap only such loops: a CPU that is compared with a GPU keeps all its threads.
    """
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(n, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def nms_candidates(n: int, seed: int = 0, image: float = 1000.0, per_object: int = 25):
    """``n`` candidate boxes (n, 4) xyxy float32 as a detector proposes them, and distinct scores (n,).

    ``n // per_object`` objects (sides 20–120 px) anywhere in an ``image`` × ``image`` picture;
    each candidate is one object's box with every edge moved by Gaussian noise (σ = 10 % of
    the side). The scores are a permutation of 1/n, 2/n, ..., 1: distinct, so no tie can be
    broken differently by two implementations.
    """
    rng = np.random.default_rng(seed)
    n_obj = max(1, n // per_object)
    xy = rng.uniform(0, image - 120, size=(n_obj, 2))
    obj = np.concatenate([xy, xy + rng.uniform(20, 120, size=(n_obj, 2))], axis=1)
    which = rng.integers(0, n_obj, size=n)
    side = np.tile(obj[which, 2:] - obj[which, :2], 2)  # (w, h, w, h) for (x1, y1, x2, y2)
    boxes = obj[which] + rng.normal(0, 0.1, size=(n, 4)) * side
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)  # keep x2 > x1, y2 > y1
    scores = (rng.permutation(n) + 1).astype(np.float32) / n
    return boxes.astype(np.float32), scores


def nms_speed(variants: dict, sizes=NMS_SIZES, iou_threshold: float = NMS_IOU_THRESHOLD, repeat: int = 5,
              seed: int = 0):
    """Time NMS implementations on :func:`nms_candidates` of each size; one dict per size.

    ``variants`` maps a name to ``(nms, inputs)``: ``nms(boxes, scores, iou_threshold)``
    returns the kept indices; ``inputs`` is ``"numpy"`` (float32 arrays) or a torch device
    (the arrays become tensors there once, before the clock starts; a CUDA device is also
    synchronised around each call). Each row is ``{"boxes": n, "kept": k, name: seconds}``;
    every variant must keep the same indices in the same order as the first
    (``AssertionError`` otherwise).
    """
    rows = []
    for n in sizes:
        boxes, scores = nms_candidates(n, seed=seed)
        row, reference, first = {"boxes": n}, None, None
        for name, (nms, inputs) in variants.items():
            device = None
            args = (boxes, scores)
            if not (isinstance(inputs, str) and inputs == "numpy"):
                import torch

                device = torch.device(inputs)
                args = (torch.from_numpy(boxes).to(device), torch.from_numpy(scores).to(device))
            keep = np.asarray(_to_numpy(nms(*args, iou_threshold)), dtype=np.int64)
            if reference is None:
                reference, first = keep, name
            np.testing.assert_array_equal(keep, reference, err_msg=f"{name} and {first} keep different boxes ({n})")
            row[name] = median_time(lambda: nms(*args, iou_threshold), repeat=repeat, device=device)
        row["kept"] = len(reference)
        rows.append(row)
    return rows


def _to_numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else x
