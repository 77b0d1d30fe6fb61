"""How fast is one convolution layer? NumPy loops, NumPy im2col, OpenCV and PyTorch.

The layer of chapter 04: a batch of 64 RGB images of 64×64 pixels, 16 filters of 3×3,
stride 1, no padding ("valid"), with bias, float32. ``run()`` times every variant on the same
data, checks that each agrees with ``torch.nn.functional.conv2d`` and returns a Markdown
section; ``run(quick=True)`` times the naive loops on 2 images and scales the time up
(the loops cost the same per image). Self-contained: its own naive and im2col versions.
"""
import os
import platform
import time

import numpy as np

LAYER = {"N": 64, "C": 3, "H": 64, "W": 64, "F": 16, "k": 3}


def conv2d_naive(x, w, b):
    """Four Python loops (image, filter, row, column); one window × filter sum each."""
    n_img, _, h, wd = x.shape
    n_f, _, kh, kw = w.shape
    ho, wo = h - kh + 1, wd - kw + 1
    out = np.empty((n_img, n_f, ho, wo), dtype=x.dtype)
    for n in range(n_img):
        for f in range(n_f):
            for i in range(ho):
                for j in range(wo):
                    out[n, f, i, j] = np.sum(x[n, :, i:i + kh, j:j + kw] * w[f]) + b[f]
    return out


def conv2d_im2col(x, w, b):
    """im2col: every window becomes a row of a matrix; the convolution is one matrix product."""
    n_img, c, h, wd = x.shape
    n_f, _, kh, kw = w.shape
    ho, wo = h - kh + 1, wd - kw + 1
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))  # N,C,Ho,Wo,kh,kw (a view)
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n_img * ho * wo, c * kh * kw)  # the copy: "im2col"
    out = cols @ w.reshape(n_f, -1).T + b
    return out.reshape(n_img, ho, wo, n_f).transpose(0, 3, 1, 2)


def conv2d_opencv(x, w, b):
    """cv2.filter2D (a 2-D cross-correlation) once per (filter, input channel), summed over channels.

    filter2D filters one 2-D image with one kernel, so the batch is stacked into one tall
    image per channel (N·H × W); with the anchor at the kernel's top-left corner, output row
    r only reads rows r … r + kh − 1, so cropping each image's first Ho rows keeps exactly the
    "valid" result and no window mixes two images.
    """
    import cv2

    n_img, c, h, wd = x.shape
    n_f, _, kh, kw = w.shape
    ho, wo = h - kh + 1, wd - kw + 1
    tall = [np.ascontiguousarray(x[:, ch].reshape(n_img * h, wd)) for ch in range(c)]
    out = np.empty((n_img, n_f, ho, wo), dtype=x.dtype)
    for f in range(n_f):
        acc = np.zeros((n_img * h, wd), dtype=np.float32)
        for ch in range(c):
            acc += cv2.filter2D(tall[ch], cv2.CV_32F, w[f, ch], anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
        out[:, f] = acc.reshape(n_img, h, wd)[:, :ho, :wo] + b[f]
    return out


def _best(fn, repeat):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _torch_timer(x, w, b, device):
    import torch
    import torch.nn.functional as F

    xt, wt, bt = (torch.from_numpy(a).to(device) for a in (x, w, b))

    def go():
        out = F.conv2d(xt, wt, bt)
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    with torch.no_grad():
        go()  # warm-up (cuDNN picks its algorithm, CPU allocates)
        seconds, out = _best(go, 10 if device == "cuda" else 5)
    return seconds, out.cpu().numpy()


def run(quick: bool = False) -> str:
    """Time the variants; return a Markdown section with the table and a note."""
    import torch

    n, c, h, wd, n_f, k = (LAYER[key] for key in ("N", "C", "H", "W", "F", "k"))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, wd), dtype=np.float32)
    w = (rng.standard_normal((n_f, c, k, k), dtype=np.float32) / np.sqrt(c * k * k)).astype(np.float32)
    b = rng.standard_normal(n_f, dtype=np.float32)

    torch_cpu, reference = _torch_timer(x, w, b, "cpu")
    rows = []
    naive_n = 2 if quick else n
    seconds, out = _best(lambda: conv2d_naive(x[:naive_n], w, b), 1)
    rows.append(("NumPy, naive loops (N·F·Ho·Wo window sums)", seconds * n / naive_n,
                 np.abs(out - reference[:naive_n]).max(), naive_n != n))
    seconds, out = _best(lambda: conv2d_im2col(x, w, b), 3)
    rows.append(("NumPy, im2col + one matrix product", seconds, np.abs(out - reference).max(), False))
    try:
        seconds, out = _best(lambda: conv2d_opencv(x, w, b), 3)
        rows.append(("OpenCV, cv2.filter2D per filter × channel, summed", seconds, np.abs(out - reference).max(),
                     False))
    except ImportError:
        pass
    rows.append(("PyTorch CPU, F.conv2d", torch_cpu, 0.0, False))
    if torch.cuda.is_available():
        seconds, out = _torch_timer(x, w, b, "cuda")
        rows.append((f"PyTorch GPU, F.conv2d ({torch.cuda.get_device_name(0)})", seconds,
                     np.abs(out - reference).max(), False))

    lines = [
        "## Convolution layer (chapter 04)",
        "",
        f"One layer: x ({n}, {c}, {h}, {wd}) float32, {n_f} filters of {c}×{k}×{k} with bias, stride 1, "
        f"no padding → output ({n}, {n_f}, {h - k + 1}, {wd - k + 1}).",
        "",
        "| variant | seconds | ratio vs torch CPU | max abs diff vs torch |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds, diff, scaled in rows:
        mark = " *" if scaled else ""
        lines.append(f"| {name}{mark} | {seconds:.4g} | {seconds / torch_cpu:.3g}× | {diff:.1e} |")
    lines += [
        "",
        "Notes: best of several runs (the naive loops: one run). Ratio = seconds / seconds of PyTorch CPU "
        "(above 1 is slower). "
        + (f"\\* timed on {naive_n} images and scaled ×{n // naive_n} (the loops cost the same per image). "
           if naive_n != n else "")
        + "OpenCV has no batched multi-channel convolution in its core API: `cv2.filter2D` filters one 2-D image "
        "with one kernel (cross-correlation, like deep learning's \"convolution\"), so each (filter, input channel) "
        "pair is one call on the batch stacked into one tall N·H × W image (top-left anchor, then each image's "
        "valid rows cropped, so no window straddles two images) and the channels are summed; "
        f"that is F·C = {n_f * c} calls. "
        f"torch threads: {torch.get_num_threads()}; OpenCV threads: {_cv_threads()}; CPU: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} logical cores. Timings on a shared machine are approximate.",
        "",
    ]
    return "\n".join(lines)


def _cv_threads():
    try:
        import cv2

        return cv2.getNumThreads()
    except ImportError:
        return "-"


if __name__ == "__main__":
    print(run())
