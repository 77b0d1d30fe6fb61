"""Chapter 07: object detection — IoU of two boxes (``iou``) and pairwise IoU (``box_iou``).

Boxes are ``xyxy`` in every chapter-07 check: ``(x1, y1, x2, y2)`` in pixels with ``x1 < x2``,
``y1 < y2``; a box's width is ``x2 - x1`` (continuous coordinates as in torchvision, not the old
VOC ``+ 1`` pixel convention). Both checks compare with ``torchvision.ops.box_iou``. The other
chapter-07 modules (``ch07_nms``, ``ch07_yolo``, ``ch07_ap``) take their box geometry from here
(:func:`iou_matrix`, :func:`random_boxes`, the tolerance :data:`RTOL`) and core's run_cases at that tolerance,
:data:`run_detection_cases`.

The named mistakes (core :class:`~.core.Mistake` records): an unclamped overlap, ``+ 1`` widths, a
union without the intersection, boxes read as xywh, the Dice coefficient or GIoU instead of IoU,
and for ``box_iou`` (M, N) instead of (N, M).
"""
from functools import partial

import numpy as np

from ..i18n import register, t
from .core import Case, Mistake, as_number, run_cases, seed

__all__ = ["iou", "box_iou"]

RTOL = 1e-6  # chapter 07 compares in float64 with torchvision: relative tolerance 1e-6


# ======================================================================= geometry
def iou_matrix(a, b, rule="correct"):
    """Pairwise IoU (N, M) computed the right way or the way a typical mistake does.

    Rules: ``correct``, ``no_clamp`` (sides not clamped at 0), ``clamp_product`` (only the
    area clamped), ``plus_one`` (VOC's + 1 widths), ``no_subtract`` (union = sum of areas),
    ``xywh`` (boxes read as x, y, w, h), ``dice`` (2|A∩B| / (|A| + |B|)), ``giou`` (IoU minus
    the share of the smallest enclosing box outside the union).
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if rule == "xywh":
        a = np.concatenate([a[:, :2], a[:, :2] + a[:, 2:]], axis=1)
        b = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    one = 1.0 if rule == "plus_one" else 0.0
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    sides = hi - lo + one
    if rule not in ("no_clamp", "clamp_product"):
        sides = np.maximum(sides, 0.0)
    inter = sides[..., 0] * sides[..., 1]
    if rule == "clamp_product":
        inter = np.maximum(inter, 0.0)
    area_a = (a[:, 2] - a[:, 0] + one) * (a[:, 3] - a[:, 1] + one)
    area_b = (b[:, 2] - b[:, 0] + one) * (b[:, 3] - b[:, 1] + one)
    total = area_a[:, None] + area_b[None, :]
    union = total if rule == "no_subtract" else total - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        if rule == "dice":
            return 2 * inter / total
        if rule == "giou":
            enclosing = np.prod(np.maximum(a[:, None, 2:], b[None, :, 2:]) - np.minimum(a[:, None, :2], b[None, :, :2]),
                                axis=-1)
            return inter / union - (enclosing - union) / enclosing
        return inter / union


def torchvision_box_iou(a, b):
    import torch
    from torchvision.ops import box_iou as tv_box_iou

    ta = torch.as_tensor(np.asarray(a, dtype=np.float64).reshape(-1, 4))
    tb = torch.as_tensor(np.asarray(b, dtype=np.float64).reshape(-1, 4))
    return tv_box_iou(ta, tb).numpy()


def random_boxes(rng, n, size=100.0, min_side=2.0):
    """``n`` random xyxy boxes inside a ``size`` square, each side at least ``min_side``."""
    xy = rng.uniform(0, size * 0.7, size=(n, 2))
    wh = rng.uniform(min_side, size * 0.4, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


# core's run_cases at chapter 07's tolerance (float64 against torchvision)
run_detection_cases = partial(run_cases, rtol=RTOL, atol=1e-6)


def one_number(got, *args):
    """The answer as one number (:func:`~.core.as_number`), for ``convert``."""
    return as_number(got)


# (rule of iou_matrix, hint key, formula key shown on a repeated failure)
IOU_RULES = [("no_clamp", "ch07.hint_no_clamp", "ch07.formula_clamp"),
             ("clamp_product", "ch07.hint_no_clamp", "ch07.formula_clamp"),
             ("plus_one", "ch07.hint_plus_one", None), ("no_subtract", "ch07.hint_no_subtract", "ch07.formula_iou"),
             ("xywh", "ch07.hint_xywh", None), ("dice", "ch07.hint_dice", "ch07.formula_iou"),
             ("giou", "ch07.hint_giou", "ch07.formula_iou")]
BOX_IOU_MISTAKES = ([Mistake(lambda a, b: iou_matrix(b, a), "ch07.hint_transposed")]
                    + [Mistake(partial(iou_matrix, rule=rule), key, formula) for rule, key, formula in IOU_RULES])
IOU_MISTAKES = [Mistake(lambda a, b, rule=rule: iou_matrix(a, b, rule)[0, 0], key, formula)
                for rule, key, formula in IOU_RULES]


# ======================================================================= iou
def _iou_cases():
    rng = np.random.default_rng(seed(7))
    arr = lambda *v: np.array(v, dtype=np.float64)
    cases = [
        Case("ch07.case.iou_worked", (arr(0, 0, 2, 2), arr(1, 1, 3, 3))),
        Case("ch07.case.iou_identical", (arr(10, 20, 50, 60), arr(10, 20, 50, 60))),
        Case("ch07.case.iou_side", (arr(0, 0, 1, 1), arr(2, 0, 3, 1))),
        Case("ch07.case.iou_diagonal", (arr(0, 0, 1, 1), arr(2, 2, 3, 3))),
        Case("ch07.case.iou_touching", (arr(0, 0, 1, 1), arr(1, 0, 2, 1))),
        Case("ch07.case.iou_inside", (arr(0, 0, 4, 4), arr(1, 1, 2, 2))),
        Case("ch07.case.iou_cross", (arr(4, 0, 6, 10), arr(0, 4, 10, 6))),
        Case("ch07.case.iou_fractional", (arr(0.5, 1.25, 3.75, 2.5), arr(1.5, 0.25, 2.0, 4.0))),
    ]
    cases += [Case("ch07.case.iou_random", tuple(random_boxes(rng, 2)), values={"i": i + 1}) for i in range(6)]
    return cases + [Case("ch07.case.iou_lists", ([0, 0, 2, 2], (1, 1, 3, 3)), hint="ch07.hint_lists")]


def iou(func):
    """``iou(box_a, box_b) -> float``: the IoU of two xyxy boxes (arrays or sequences of 4 numbers).

    A Python float, a NumPy scalar or a 0-d array / tensor are accepted. Widths are x2 − x1
    (no + 1); boxes that only touch have IoU 0.
    """
    run_detection_cases("iou", func, _iou_cases(), lambda a, b: torchvision_box_iou(a, b)[0, 0], IOU_MISTAKES,
                        convert=one_number)


# ======================================================================= box_iou
def _box_iou_cases():
    rng = np.random.default_rng(seed(70))
    a3 = np.array([[0, 0, 2, 2], [10, 20, 50, 60], [0, 0, 4, 4]], dtype=np.float64)
    b2 = np.array([[1, 1, 3, 3], [2, 0, 3, 1]], dtype=np.float64)
    square = np.array([[0, 0, 2, 2], [1, 0, 5, 3], [4, 4, 6, 9]], dtype=np.float64)
    empty = "ch07.hint_box_iou_empty"
    return [
        Case("ch07.case.box_iou_worked",
             (np.array([[0, 0, 2, 2]], dtype=np.float64), np.array([[1, 1, 3, 3]], dtype=np.float64))),
        Case("ch07.case.box_iou_3x2", (a3, b2)),
        Case("ch07.case.box_iou_square", (square, square + [0.5, -1.0, 0.5, 1.0])),
        Case("ch07.case.box_iou_a_empty", (np.zeros((0, 4)), a3), hint=empty),
        Case("ch07.case.box_iou_b_empty", (b2, np.zeros((0, 4))), hint=empty),
        Case("ch07.case.box_iou_both_empty", (np.zeros((0, 4)), np.zeros((0, 4))), hint=empty),
    ] + [Case("ch07.case.box_iou_random", (random_boxes(rng, n), random_boxes(rng, m)), values={"n": n, "m": m})
         for n, m in ((7, 5), (1, 9), (12, 12))]


def _not_a_matrix(got, expected, a, b):
    """The broadcasting hint for an answer that is not 2-D though neither input is empty (e.g. IoU of a[i]
    with b[i] only: a diagonal)."""
    return t("ch07.hint_broadcast") if len(a) and len(b) and getattr(got, "ndim", 2) != 2 else None


def box_iou(func):
    """``box_iou(a, b) -> (N, M)``: out[i, j] = IoU(a[i], b[j]) for a (N, 4), b (M, 4), like torchvision.

    Empty inputs give an empty (0, M), (N, 0) or (0, 0) array.
    """
    run_detection_cases("box_iou", func, _box_iou_cases(), torchvision_box_iou, BOX_IOU_MISTAKES,
                        unexplained=_not_a_matrix, on_error="ch07.hint_broadcast")


register({
    # --- case names --------------------------------------------------------------------------
    "ch07.case.iou_worked": {"ja": "例題: [0,0,2,2] と [1,1,3,3] → 1/7", "en": "worked example: [0,0,2,2] and [1,1,3,3] → 1/7"},
    "ch07.case.iou_identical": {"ja": "同じ箱 → 1", "en": "identical boxes → 1"},
    "ch07.case.iou_side": {"ja": "重ならない (横にずれる) → 0", "en": "no overlap, side by side → 0"},
    "ch07.case.iou_diagonal": {"ja": "重ならない (斜め) → 0", "en": "no overlap, diagonal → 0"},
    "ch07.case.iou_touching": {"ja": "辺が接する → 0", "en": "touching edges → 0"},
    "ch07.case.iou_inside": {"ja": "一方が他方の中 → 1/16", "en": "one box inside the other → 1/16"},
    "ch07.case.iou_cross": {"ja": "縦長と横長の十字", "en": "a cross of a tall and a wide box"},
    "ch07.case.iou_fractional": {"ja": "小数の座標", "en": "fractional coordinates"},
    "ch07.case.iou_random": {"ja": "乱数の組 {i} (torchvision.ops.box_iou と比較)",
                             "en": "random pair {i}, vs torchvision.ops.box_iou"},
    "ch07.case.iou_lists": {"ja": "箱が Python のリスト [0, 0, 2, 2] とタプル (1, 1, 3, 3)",
                            "en": "boxes as Python lists [0, 0, 2, 2], (1, 1, 3, 3)"},
    "ch07.case.box_iou_worked": {"ja": "例題: a = [[0,0,2,2]], b = [[1,1,3,3]] → [[1/7]]",
                                 "en": "worked example: a = [[0,0,2,2]], b = [[1,1,3,3]] → [[1/7]]"},
    "ch07.case.box_iou_3x2": {"ja": "N=3, M=2: 重なり・接触・内包", "en": "N=3, M=2: overlap, touching, inside"},
    "ch07.case.box_iou_square": {"ja": "N=M=3, 非対称: a と、a をずらした箱", "en": "N=M=3, not symmetric: a vs a shifted"},
    "ch07.case.box_iou_a_empty": {"ja": "a が空: (0, 4) と (3, 4) → (0, 3)", "en": "a empty: (0, 4) vs (3, 4) → (0, 3)"},
    "ch07.case.box_iou_b_empty": {"ja": "b が空: (2, 4) と (0, 4) → (2, 0)", "en": "b empty: (2, 4) vs (0, 4) → (2, 0)"},
    "ch07.case.box_iou_both_empty": {"ja": "両方が空 → (0, 0)", "en": "both empty → (0, 0)"},
    "ch07.case.box_iou_random": {"ja": "乱数 N={n}, M={m} (torchvision.ops.box_iou と比較)",
                                 "en": "random N={n}, M={m}, vs torchvision.ops.box_iou"},
    # --- hints -------------------------------------------------------------------------------
    "ch07.hint_no_clamp": {
        "ja": "ヒント: 重ならない箱で交差 (intersection) が 0 になっていません。交差の幅と高さは、それぞれ 0 で下を"
              "切ってから掛けてください (掛けたあとで切ると、幅と高さが両方負のとき正になってしまいます)。",
        "en": "Hint: boxes that do not overlap must have an intersection of 0. Clamp the intersection's width and "
              "height at 0 each before multiplying them (clamping the product is not enough: two negative sides "
              "give a positive area).",
    },
    "ch07.formula_clamp": {"ja": "交差の幅 = max(0, min(x2_a, x2_b) − max(x1_a, x1_b))、高さも同様です。",
                           "en": "Intersection width = max(0, min(x2_a, x2_b) − max(x1_a, x1_b)); the height likewise."},
    "ch07.hint_plus_one": {
        "ja": "ヒント: 幅を x2 − x1 + 1 としているようです (古い VOC の画素単位の流儀)。ここでは torchvision と同じく"
              "座標は連続値で、幅は x2 − x1、高さは y2 − y1 です。",
        "en": "Hint: you seem to use widths of x2 − x1 + 1 (the old VOC pixel convention). Here coordinates are "
              "continuous, as in torchvision: the width is x2 − x1 and the height y2 − y1.",
    },
    "ch07.hint_no_subtract": {
        "ja": "ヒント: 和集合 (union) が area_a + area_b になっています。これでは重なった部分を 2 回数えています。",
        "en": "Hint: your union is area_a + area_b, which counts the overlap twice.",
    },
    "ch07.formula_iou": {"ja": "IoU = 交差 / (area_a + area_b − 交差) です。",
                         "en": "IoU = intersection / (area_a + area_b − intersection)."},
    "ch07.hint_dice": {
        "ja": "ヒント: あなたの値は IoU ではなく Dice 係数 2|A∩B| / (|A| + |B|) (F1 スコアと同じもの) に一致します。"
              "分母が和集合になっていません。Dice と IoU が一致するのは、同じ箱か重ならない箱のときだけです。",
        "en": "Hint: your value equals the Dice coefficient 2|A∩B| / (|A| + |B|) (the F1 score), not IoU: the "
              "denominator is not the union. Dice and IoU agree only for identical or disjoint boxes.",
    },
    "ch07.hint_giou": {
        "ja": "ヒント: あなたの値は GIoU (IoU から、2 つの箱を囲む最小の箱のうち和集合の外の割合を引いたもの) に一致します。"
              "GIoU は箱の回帰の損失に使う量で、負にもなります。ここで求めるのは普通の IoU (0 以上) です。",
        "en": "Hint: your value equals GIoU (IoU minus the share of the smallest enclosing box outside the union), "
              "a quantity for box-regression losses that can be negative. The exercise asks for plain IoU, never "
              "below 0.",
    },
    "ch07.hint_xywh": {
        "ja": "ヒント: 箱を (x, y, 幅, 高さ) として読んでいるようです。ここでの箱は xyxy 形式 "
              "(x1, y1, x2, y2): 左上と右下の角の座標です。",
        "en": "Hint: you seem to read the boxes as (x, y, width, height). The boxes are xyxy: (x1, y1, x2, y2), "
              "the top-left and bottom-right corners.",
    },
    "ch07.hint_lists": {
        "ja": "ヒント: 箱は NumPy 配列とは限らず、4 つの数のリストやタプルのこともあります。"
              "最初に np.asarray(..., dtype=float) で配列にしておくと安全です。",
        "en": "Hint: a box may be a list or tuple of 4 numbers, not only a NumPy array. "
              "Turn it into an array first with np.asarray(..., dtype=float).",
    },
    "ch07.hint_transposed": {
        "ja": "ヒント: 結果が転置されています。out[i, j] は a の i 番目と b の j 番目の IoU で、形は (N, M) = "
              "(len(a), len(b)) です。",
        "en": "Hint: the result is transposed. out[i, j] is the IoU of a[i] and b[j]; the shape is (N, M) = "
              "(len(a), len(b)).",
    },
    "ch07.hint_broadcast": {
        "ja": "ヒント: a (N, 4) と b (M, 4) の全ての組を作るには、a[:, None, :] (N, 1, 4) と b[None, :, :] (1, M, 4) "
              "のようにブロードキャストします。N と M が違うときにも動くか確かめてください。",
        "en": "Hint: to pair every box of a (N, 4) with every box of b (M, 4), broadcast a[:, None, :] (N, 1, 4) "
              "against b[None, :, :] (1, M, 4). Make sure it works when N and M differ.",
    },
    "ch07.hint_box_iou_empty": {
        "ja": "ヒント: 箱が 0 個のこともあります。a が (0, 4) なら結果は (0, M)、b が (0, 4) なら (N, 0) です。"
              "リスト内包表記で作ると空のとき形 (0,) になるので、形 (N, M) の配列を用意して埋める"
              "かブロードキャストで計算してください。",
        "en": "Hint: there may be no boxes. For a of shape (0, 4) the result is (0, M); for b of shape (0, 4), (N, 0). "
              "A list comprehension gives shape (0,) when empty: allocate an (N, M) array and fill it, or broadcast.",
    },
})
