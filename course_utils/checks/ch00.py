"""Chapter 00: the warm-up exercise, ``normalize_image``.

A uint8 image (0..255) becomes float values in [0, 1]: every pixel divided by 255. The answer must
be a float array of the image's shape; a result outside [0, 1] is named before the values are compared.
"""
import numpy as np

from ..i18n import register, t
from .core import Case, Mistake, as_array, expect, run_cases, seed

__all__ = ["normalize_image"]

MISTAKES = [
    Mistake(lambda img: img / 256.0, "ch00.hint.256"),
    Mistake(lambda img: (img - img.min()) / np.ptp(img) if np.ptp(img) else None, "ch00.hint.minmax"),
]


def _in_unit_range(value, *_case_args) -> np.ndarray:
    """The answer as an array whose values lie in [0, 1] and whose dtype is a float, else a failure."""
    arr = as_array(value)
    if arr.size and np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all():
        expect(arr.min() >= 0 and arr.max() <= 1, t("ch00.range", lo=arr.min(), hi=arr.max()))
    expect(np.issubdtype(arr.dtype, np.floating), t("check.dtype", expected="float", got=arr.dtype))
    return arr


def normalize_image(func):
    """``normalize_image(img)``: a uint8 image (0..255) to float values in [0, 1]."""
    rng = np.random.default_rng(seed(0))
    cases = [
        Case("ch00.case.worked", (np.array([[0, 255], [51, 102]], dtype=np.uint8),)),
        Case("ch00.case.rgb", (rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8),)),
        Case("ch00.case.black", (np.zeros((3, 3), dtype=np.uint8),)),
        Case("ch00.case.white", (np.full((2, 6), 255, dtype=np.uint8),)),
    ]
    run_cases("normalize_image", func, cases, reference=lambda img: img.astype(np.float64) / 255.0,
              mistakes=MISTAKES, rtol=1e-6, atol=1e-6, convert=_in_unit_range)


register({
    "ch00.case.worked": {"ja": "[[0, 255], [51, 102]]", "en": "[[0, 255], [51, 102]]"},
    "ch00.case.rgb": {"ja": "RGB 4x5x3", "en": "RGB 4x5x3"},
    "ch00.case.black": {"ja": "真っ黒な画像 (すべて 0)", "en": "all black (every pixel 0)"},
    "ch00.case.white": {"ja": "真っ白な画像 (すべて 255)", "en": "all white (every pixel 255)"},
    "ch00.range": {"ja": "結果は [0, 1] に収まるはずですが、最小 {lo}、最大 {hi} でした。255 で割りましたか?",
                   "en": "The result should lie in [0, 1] but ranges from {lo} to {hi}. Did you divide by 255?"},
    "ch00.hint.256": {"ja": "ヒント: 256 で割っています。画素値の最大は 255 なので、255 で割ると白が 1 になります。",
                      "en": "Hint: you divided by 256. The largest pixel value is 255: dividing by 255 makes white 1."},
    "ch00.hint.minmax": {"ja": "ヒント: 画像ごとの最小値と最大値で正規化しています。どの画像も同じ 255 で割ります。",
                         "en": "Hint: you scaled by this image's own minimum and maximum; divide every image by the "
                               "same 255."},
})
