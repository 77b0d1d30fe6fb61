"""Speed of 2x2 max pooling (stride 2): NumPy loops, vectorised NumPy, PyTorch CPU (and GPU).

``run(quick=False)`` returns a Markdown section with a table (variant, seconds, ratio to
PyTorch on the CPU). Self-contained: it does not import the notebooks.
Run: ``python bench/pooling.py``.
"""
import time

import numpy as np


def pool_naive(x, k, s):
    """Every output pixel in Python loops (the first thing one writes)."""
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, ho, wo), dtype=x.dtype)
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    out[b, ch, i, j] = x[b, ch, i * s:i * s + k, j * s:j * s + k].max()
    return out


def pool_positions(x, k, s):
    """Loops over the output positions only; each step works on all images and channels."""
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, c, ho, wo), dtype=x.dtype)
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
    return out


def pool_windows(x, k, s):
    """Vectorised: a strided view of all windows (sliding_window_view), then one max."""
    view = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]
    return view.max(axis=(-2, -1))


def pool_offsets(x, k, s):
    """Vectorised: the maximum of the k*k strided slices (one per position inside the window)."""
    h, w = x.shape[2:]
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = None
    for p in range(k):
        for q in range(k):
            part = x[:, :, p:p + s * (ho - 1) + 1:s, q:q + s * (wo - 1) + 1:s]
            out = part.copy() if out is None else np.maximum(out, part, out=out)
    return out


def _best(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(quick: bool = False) -> str:
    import torch
    import torch.nn.functional as F

    shape = (16, 16, 64, 64) if quick else (64, 32, 64, 64)
    k = s = 2
    repeat = 3 if quick else 5
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    tx = torch.from_numpy(x)
    reference = F.max_pool2d(tx, k, s).numpy()

    rows = []  # (variant, seconds)
    n_small = 1 if quick else 2  # the naive loops see only a slice of the batch; time scaled up
    small = x[:n_small]
    np.testing.assert_allclose(pool_naive(small, k, s), reference[:n_small])
    t_small = _best(lambda: pool_naive(small, k, s), 1)
    rows.append((f"NumPy, Python loops over every output pixel (timed on {n_small} of {shape[0]} images, "
                 f"scaled ×{shape[0] // n_small})", t_small * shape[0] / n_small))
    for name, fn in [("NumPy, loops over output positions (vectorised over N, C)", pool_positions),
                     ("NumPy, sliding_window_view + max", pool_windows),
                     ("NumPy, max of the k×k strided slices", pool_offsets)]:
        np.testing.assert_allclose(fn(x, k, s), reference)
        rows.append((name, _best(lambda fn=fn: fn(x, k, s), repeat)))
    t_cpu = _best(lambda: F.max_pool2d(tx, k, s), repeat * 4)
    rows.append((f"PyTorch CPU, F.max_pool2d ({torch.get_num_threads()} threads)", t_cpu))
    tx_last = tx.contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(F.max_pool2d(tx_last, k, s).numpy(), reference)
    rows.append(("PyTorch CPU, F.max_pool2d on a channels_last tensor", _best(lambda: F.max_pool2d(tx_last, k, s),
                                                                               repeat * 4)))
    if torch.cuda.is_available():
        gx = tx.cuda()

        def on_gpu():
            F.max_pool2d(gx, k, s)
            torch.cuda.synchronize()

        np.testing.assert_allclose(F.max_pool2d(gx, k, s).cpu().numpy(), reference)
        rows.append((f"PyTorch GPU, F.max_pool2d ({torch.cuda.get_device_name()})", _best(on_gpu, repeat * 10)))

    lines = [
        "## Max pooling 2×2, stride 2",
        "",
        f"Input {shape[0]}×{shape[1]}×{shape[2]}×{shape[3]} float32 (N, C, H, W) → "
        f"{shape[0]}×{shape[1]}×{shape[2] // 2}×{shape[3] // 2}; best of {repeat} runs; every variant checked "
        "against `torch.nn.functional.max_pool2d`. Ratio = seconds / PyTorch CPU seconds.",
        "",
        "| variant | seconds | ratio |",
        "|---|---:|---:|",
    ]
    for name, seconds in rows:
        lines.append(f"| {name} | {seconds:.4g} | {seconds / t_cpu:.3g}× |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
