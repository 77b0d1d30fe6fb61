"""Chapter 00: the warm-up exercise."""
import numpy as np

from ..i18n import register, t
from .core import Check, assert_close, call_unchanged, expect, to_numpy

__all__ = ["normalize_image"]

register({
    "ch00.range": {"ja": "結果は [0, 1] に収まるはずですが、最小 {lo}、最大 {hi} でした。255 で割りましたか?",
                   "en": "The result should lie in [0, 1] but ranges from {lo} to {hi}. Did you divide by 255?"},
    "ch00.case.black": {"ja": "真っ黒な画像 (すべて 0)", "en": "all black (every pixel 0)"},
    "ch00.case.white": {"ja": "真っ白な画像 (すべて 255)", "en": "all white (every pixel 255)"},
})


def normalize_image(func):
    """``normalize_image(img)``: a uint8 image (0..255) to float values in [0, 1]."""
    rng = np.random.default_rng(0)
    cases = [
        ("[[0, 255], [51, 102]]", np.array([[0, 255], [51, 102]], dtype=np.uint8)),
        ("RGB 4x5x3", rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)),
        (t("ch00.case.black"), np.zeros((3, 3), dtype=np.uint8)),
        (t("ch00.case.white"), np.full((2, 6), 255, dtype=np.uint8)),
    ]
    with Check("normalize_image") as c:
        for name, img in cases:
            c.case(name)
            got = call_unchanged(func, img)
            arr = to_numpy(got)
            if arr.size and np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all():
                expect(arr.min() >= 0 and arr.max() <= 1, t("ch00.range", lo=arr.min(), hi=arr.max()))
            assert_close(arr, img.astype(np.float64) / 255.0, rtol=1e-6, atol=1e-6, check_dtype="float")
