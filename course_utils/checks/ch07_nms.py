"""Chapter 07: non-maximum suppression (``nms``), compared with ``torchvision.ops.nms``.

A box is suppressed when its IoU with a kept, higher-scoring box is > the threshold (an IoU equal
to the threshold does not suppress); the kept indices come highest score first. NMS keeps a box
however low its score: a score cut-off is a separate step. The named mistakes (core
:class:`~.core.Mistake` records): a 0/1 mask instead of indices, positions in the sorted order,
the lowest score first, ``>=``, suppressed boxes suppressing others, nothing kept. Read from the
answer itself (:func:`_nms_pattern`): a duplicate index, the right set in another order (sorted
by index), the lowest-scoring kept boxes dropped (a score cut-off or top-k).
"""
from functools import partial

import numpy as np

from ..i18n import register, t
from .ch07_iou import iou_matrix, random_boxes, run_detection_cases
from .core import Case, Mistake, describe_type, fail, seed, to_numpy

__all__ = ["nms"]


def _torchvision_nms(boxes, scores, threshold):
    import torch
    from torchvision.ops import nms as tv_nms

    keep = tv_nms(torch.as_tensor(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)),
                  torch.as_tensor(np.asarray(scores, dtype=np.float64)), float(threshold))
    return keep.numpy().astype(np.int64)


def _nms_variant(boxes, scores, threshold, rule):
    """NMS the way a typical mistake does it, the kept indices in the order it keeps them.

    ``ascending``: lowest score first; ``ge``: suppress when IoU >= threshold; ``chain``:
    a box survives only if no higher-scoring box at all, kept or suppressed, overlaps it.
    """
    ious = iou_matrix(boxes, boxes)
    order = np.argsort(scores, kind="stable") if rule == "ascending" else np.argsort(-scores, kind="stable")
    if rule == "chain":
        return np.array([i for rank, i in enumerate(order) if not (ious[i, order[:rank]] > threshold).any()], dtype=np.int64)
    keep, removed = [], np.zeros(len(boxes), dtype=bool)
    for i in order:
        if not removed[i]:
            keep.append(int(i))
            removed |= ious[i] >= threshold if rule == "ge" else ious[i] > threshold
    return np.array(keep, dtype=np.int64)


def _mask(boxes, scores, threshold):
    """A 0/1 mask per box (keep or not) instead of the indices."""
    mask = np.zeros(len(boxes), dtype=np.int64)
    mask[_torchvision_nms(boxes, scores, threshold)] = 1
    return mask


def _positions(boxes, scores, threshold):
    """The kept boxes' positions in the score order instead of their indices into ``boxes``."""
    rank = np.argsort(np.argsort(-scores, kind="stable"), kind="stable")
    return rank[_torchvision_nms(boxes, scores, threshold)]


NMS_MISTAKES = [Mistake(_mask, "ch07.hint_nms_mask"),
                Mistake(_positions, "ch07.hint_nms_positions", "ch07.formula_nms_positions"),
                Mistake(partial(_nms_variant, rule="ascending"), "ch07.hint_nms_ascending", "ch07.formula_nms_descending"),
                Mistake(partial(_nms_variant, rule="ge"), "ch07.hint_nms_ge"),
                Mistake(partial(_nms_variant, rule="chain"), "ch07.hint_nms_chain"),
                Mistake(lambda *args: np.zeros(0, dtype=np.int64), "ch07.hint_nms_none_kept")]


def _indices(got, boxes, *args):
    """The student's kept indices as an int64 array (list / tuple / array / tensor accepted), or a clear failure."""
    if isinstance(got, (list, tuple)):
        try:
            arr = np.asarray(got)
        except Exception:  # ragged or odd contents
            fail(t("ch07.not_indices", got=type(got).__name__))
        if arr.dtype == object:
            fail(t("ch07.not_indices", got=f"{type(got).__name__} {got!r}"[:80]))
    else:
        arr = to_numpy(got, kind="list / numpy.ndarray of int")
    if arr.ndim != 1:
        fail(t("ch07.not_indices", got=describe_type(arr)))
    if arr.dtype == bool:
        fail(t("ch07.not_indices", got=describe_type(arr)) + "\n" + t("ch07.hint_nms_mask"))
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)  # np.array([]) is float64: harmless when empty
    if not np.issubdtype(arr.dtype, np.integer):
        fail(t("ch07.indices_float", dtype=arr.dtype))
    for i in arr.tolist():
        if not 0 <= i < len(boxes):
            fail(t("ch07.indices_range", index=i, n=len(boxes), last=len(boxes) - 1))
    return arr.astype(np.int64)


def _nms_pattern(got, expected, *args):
    """Both index lists, and the hint for what the wrong list itself shows (or no hint)."""
    got, expected = got.tolist(), expected.tolist()
    lists = t("ch07.indices_wrong", expected=expected, got=got)
    if len(set(got)) != len(got):
        return f"{lists}\n{t('ch07.hint_nms_duplicates')}"
    if sorted(got) == sorted(expected):
        return f"{lists}\n{t('ch07.hint_nms_order')}"
    if got and got == expected[:len(got)]:  # the right boxes in the right order, but the lowest-scoring ones dropped
        return f"{lists}\n{t('ch07.hint_nms_score_cut')}"
    return lists


def _clustered_boxes(rng, n, threshold, clusters=4):
    """Random boxes jittered around a few centres, so that NMS has something to suppress.

    Drawn again while some IoU lies within 1e-6 of the threshold: there, float32 rounding
    in a correct answer could flip the decision.
    """
    while True:
        centres = random_boxes(rng, clusters, size=200.0, min_side=20.0)
        boxes = centres[rng.integers(0, clusters, size=n)] + rng.normal(0, 4.0, size=(n, 4))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 2.0)
        if np.abs(iou_matrix(boxes, boxes) - threshold).min() > 1e-6:
            return boxes


def _nms_cases():
    rng = np.random.default_rng(seed(77))
    worked = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [0.2, 0.2, 2.2, 2.2], [5, 5, 7, 7], [5.5, 5, 7.5, 7]])
    a = np.array
    cases = [
        Case("ch07.case.nms_worked", (worked, a([0.6, 0.9, 0.8, 0.7, 0.75]), 0.5)),
        Case("ch07.case.nms_equal", (a([[0, 0, 3, 1], [1, 0, 4, 1.0]]), a([0.9, 0.8]), 0.5)),
        Case("ch07.case.nms_chain", (a([[0, 0, 4, 4], [1, 0, 5, 4], [2, 0, 6, 4.0]]), a([0.9, 0.8, 0.7]), 0.5)),
        Case("ch07.case.nms_apart", (a([[0, 0, 1, 1], [2, 2, 3, 3], [5, 0, 6, 2.0]]), a([0.3, 0.9, 0.6]), 0.5)),
        Case("ch07.case.nms_touching", (a([[0, 0, 1, 1], [1, 0, 2, 1.0]]), a([0.8, 0.9]), 0.0)),
        Case("ch07.case.nms_identical", (np.tile([10, 10, 20, 30.0], (3, 1)), a([0.5, 0.7, 0.6]), 0.5)),
        Case("ch07.case.nms_one", (a([[3, 4, 8, 9.0]]), a([0.4]), 0.5)),
        Case("ch07.case.nms_none", (np.zeros((0, 4)), np.zeros(0), 0.5), hint="ch07.hint_nms_empty"),
    ]
    for threshold, n in ((0.3, 20), (0.5, 30), (0.7, 40)):
        cases.append(Case("ch07.case.nms_random", (_clustered_boxes(rng, n, threshold), rng.permutation(n) / n + 0.01,
                                                   threshold), values={"n": n, "threshold": threshold}))
    n = 25  # NMS keeps a box however low its score: a score cut-off is a separate step
    cases.append(Case("ch07.case.nms_low_scores", (_clustered_boxes(rng, n, 0.5), (rng.permutation(n) + 1) / (100.0 * n),
                                                   0.5), values={"n": n}))
    return cases


def nms(func):
    """``nms(boxes, scores, iou_threshold) -> kept indices, highest score first`` (torchvision.ops.nms).

    A box is suppressed when its IoU with a kept, higher-scoring box is > iou_threshold (an
    IoU equal to the threshold does not suppress). The indices may come as a list, an array
    or a tensor of ints; an empty result may have any dtype.
    """
    run_detection_cases("nms", func, _nms_cases(), _torchvision_nms, NMS_MISTAKES, rtol=0, atol=0, convert=_indices,
                        unexplained=_nms_pattern)


register({
    # --- case names --------------------------------------------------------------------------
    "ch07.case.nms_worked": {"ja": "例題: 5 個の箱、スコア [0.6, 0.9, 0.8, 0.7, 0.75]、しきい値 0.5 → [1, 4, 0]",
                             "en": "worked example: 5 boxes, scores [0.6, 0.9, 0.8, 0.7, 0.75], threshold 0.5 → [1, 4, 0]"},
    "ch07.case.nms_equal": {"ja": "IoU がちょうどしきい値 0.5: 両方残る", "en": "IoU exactly 0.5 = threshold: both kept"},
    "ch07.case.nms_chain": {"ja": "連鎖 A–B–C: B は A に消され、C は B とだけ重なる",
                            "en": "chain A–B–C: B suppressed by A, C overlaps only B"},
    "ch07.case.nms_apart": {"ja": "重ならない箱: 全て残り、スコアの高い順", "en": "no overlap: all kept, highest score first"},
    "ch07.case.nms_touching": {"ja": "辺が接する箱、しきい値 0: IoU 0 は 0 より大きくない",
                               "en": "touching edges, threshold 0: IoU 0 is not > 0"},
    "ch07.case.nms_identical": {"ja": "同じ箱が 3 つ", "en": "three identical boxes"},
    "ch07.case.nms_one": {"ja": "箱が 1 つ", "en": "one box"},
    "ch07.case.nms_none": {"ja": "箱なし: (0, 4)", "en": "no boxes: (0, 4)"},
    "ch07.case.nms_random": {"ja": "乱数: 固まった {n} 個の箱、しきい値 {threshold} (torchvision.ops.nms と比較)",
                             "en": "random {n} clustered boxes, threshold {threshold}, vs torchvision.ops.nms"},
    "ch07.case.nms_low_scores": {"ja": "低いスコアだけ (0.0001〜0.01): 固まった {n} 個の箱、スコアが低くても消さない",
                                 "en": "low scores only (0.0001–0.01): {n} clustered boxes, none dropped for its score"},
    # --- return values -----------------------------------------------------------------------
    "ch07.not_indices": {
        "ja": "nms は残す箱のインデックス (int のリストか 1 次元配列) を返してください。返ってきたのは {got} です。",
        "en": "nms should return the indices of the kept boxes (a list or 1-D array of ints); got {got}.",
    },
    "ch07.indices_float": {
        "ja": "インデックスが整数ではありません (dtype {dtype})。boxes[keep] に使えるよう、整数の配列かリストで返してください。",
        "en": "The indices are not integers (dtype {dtype}). Return an array or list of ints, so that boxes[keep] works.",
    },
    "ch07.indices_range": {
        "ja": "インデックス {index} は範囲外です (箱は {n} 個なので 0〜{last})。",
        "en": "Index {index} is out of range (there are {n} boxes: 0 to {last}).",
    },
    "ch07.indices_wrong": {
        "ja": "残す箱のインデックス: 期待 {expected}、実際 {got}。",
        "en": "Kept indices: expected {expected}, got {got}.",
    },
    # --- hints -------------------------------------------------------------------------------
    "ch07.hint_nms_mask": {
        "ja": "ヒント: 真偽値のマスク (箱ごとに残すかどうか) を返しているようです。返すのはインデックスの並びで、"
              "スコアの高い順です: 例えば [1, 4, 0]。",
        "en": "Hint: you seem to return a mask (keep or not, per box). Return the indices instead, highest score "
              "first: e.g. [1, 4, 0].",
    },
    "ch07.hint_nms_order": {
        "ja": "ヒント: 残す箱の集合は合っていますが、順番が違います。インデックスはスコアの高い順に並べて返してください "
              "(torchvision.ops.nms と同じ)。番号順に並べ替えていませんか?",
        "en": "Hint: the set of kept boxes is right but the order is not. Return the indices highest score first "
              "(as torchvision.ops.nms does); did you sort them by index?",
    },
    "ch07.hint_nms_ascending": {
        "ja": "ヒント: スコアの低い順に処理しているようです。np.argsort は昇順に並べます。最もスコアの高い箱から残していきます。",
        "en": "Hint: you seem to process the boxes from the lowest score up. np.argsort sorts ascending; NMS keeps "
              "the highest-scoring box first.",
    },
    "ch07.formula_nms_descending": {"ja": "高い順: np.argsort(scores)[::-1] (または np.argsort(-scores))。",
                                    "en": "Highest first: np.argsort(scores)[::-1] (or np.argsort(-scores))."},
    "ch07.hint_nms_ge": {
        "ja": "ヒント: IoU がちょうどしきい値に等しい箱まで消しています。torchvision と同じく、消すのは "
              "IoU がしきい値より大きいときだけです (等しいときは残します)。",
        "en": "Hint: you also remove boxes whose IoU equals the threshold. As in torchvision, a box is suppressed "
              "only when its IoU is greater than the threshold (equal is kept).",
    },
    "ch07.hint_nms_chain": {
        "ja": "ヒント: すでに消された箱が、さらに別の箱を消しているようです。比べる相手は「残した」箱だけです: "
              "残す箱を 1 つ選んだら、それと重なりすぎる箱を候補から外し、残りの候補で繰り返します。",
        "en": "Hint: boxes that were already suppressed seem to suppress others too. Compare only with the boxes "
              "you keep: pick the best remaining box, drop the candidates that overlap it too much, repeat with "
              "the candidates left.",
    },
    "ch07.hint_nms_positions": {
        "ja": "ヒント: 並べ替えたあとの位置 (0, 1, 2, ...) を返しているようです。返すのは元の boxes でのインデックスです。",
        "en": "Hint: you seem to return positions in the sorted order (0, 1, 2, ...). Return indices into the "
              "original boxes.",
    },
    "ch07.formula_nms_positions": {"ja": "order = np.argsort(-scores) なら、位置 i の箱のインデックスは order[i] です。",
                                   "en": "With order = np.argsort(-scores), the box at position i has index order[i]."},
    "ch07.hint_nms_score_cut": {
        "ja": "ヒント: 残すべき箱のうち、スコアの低いものが抜けています。NMS が箱を消すのは、残した箱と重なりすぎるときだけです。"
              "スコアが低いことや個数の上限で箱を落とすのは、NMS とは別の段階です。",
        "en": "Hint: the lowest-scoring boxes that should stay are missing. NMS removes a box only because it overlaps a "
              "kept box too much; dropping boxes for a low score or beyond a maximum count is a separate step.",
    },
    "ch07.hint_nms_none_kept": {
        "ja": "ヒント: 箱を 1 つも残していません。NMS は、スコアがどれほど低くても、最もスコアの高い箱を必ず残します。"
              "箱が消えるのは、残した箱と重なりすぎるときだけです。",
        "en": "Hint: you kept no box at all. NMS always keeps the highest-scoring box, however low its score; a box "
              "is removed only because it overlaps a kept box too much.",
    },
    "ch07.hint_nms_duplicates": {
        "ja": "ヒント: 同じインデックスが 2 回以上入っています。各箱は高々 1 回だけ残します。",
        "en": "Hint: an index appears more than once; each box is kept at most once.",
    },
    "ch07.hint_nms_empty": {
        "ja": "ヒント: 箱が 0 個のときは空のインデックスを返してください。先頭の箱を取り出す前に、候補が残っているか確かめます。",
        "en": "Hint: with no boxes, return no indices; check that candidates remain before taking the first one.",
    },
})
