"""Chapter 07: object detection — IoU, pairwise IoU, NMS, YOLO targets, average precision.

Boxes are ``xyxy`` everywhere: ``(x1, y1, x2, y2)`` in pixels with ``x1 < x2``, ``y1 < y2``;
a box's width is ``x2 - x1`` (continuous coordinates as in torchvision, not the old VOC
``+ 1`` pixel convention). IoU, pairwise IoU and NMS are compared with ``torchvision.ops``;
the YOLO encoding and AP have no library twin here, so their references live in this
module (AP follows pycocotools / torchmetrics: greedy matching, 101-point interpolation).

When an answer is wrong, each check recomputes the answer the typical mistakes give (an
unclamped overlap, ``+ 1`` widths, a union without the intersection, (M, N) instead of
(N, M), NMS sorted the wrong way or with ``>=``, row and column swapped, sizes relative
to the cell, a ground truth matched twice, no precision envelope, 11-point VOC AP, ...)
and names the one the student's answer equals.
"""
import contextlib

import numpy as np

from ..i18n import register, t
from .core import Check, assert_close, assert_close_or_explain, call_unchanged, describe_type, fail, hint, to_numpy

__all__ = ["iou", "box_iou", "nms", "yolo_encode", "average_precision"]

register({
    # --- return values ---------------------------------------------------------------------
    "ch07.not_number": {
        "ja": "返り値は 1 つの数 (float) にしてください。返ってきたのは {got} です。",
        "en": "Return a single number (a float); got {got}.",
    },
    "ch07.not_indices": {
        "ja": "nms は残す箱のインデックス (int のリストか 1 次元配列) を返してください。返ってきたのは {got} です。",
        "en": "nms should return the indices of the kept boxes (a list or 1-D array of ints); got {got}.",
    },
    "ch07.indices_float": {
        "ja": "インデックスが整数ではありません (dtype {dtype})。boxes[keep] に使えるよう、"
              "np.array(keep, dtype=int) のように整数で返してください。",
        "en": "The indices are not integers (dtype {dtype}). Return ints, e.g. np.array(keep, dtype=int), "
              "so that boxes[keep] works.",
    },
    "ch07.indices_range": {
        "ja": "インデックス {index} は範囲外です (箱は {n} 個なので 0〜{last})。",
        "en": "Index {index} is out of range (there are {n} boxes: 0 to {last}).",
    },
    "ch07.indices_wrong": {
        "ja": "残す箱のインデックスが違います。期待 {expected}、実際 {got}。",
        "en": "Wrong kept indices. Expected {expected}, got {got}.",
    },
    # --- iou / box_iou ---------------------------------------------------------------------
    "ch07.hint_no_clamp": {
        "ja": "ヒント: 重ならない箱で交差 (intersection) が 0 になっていません。交差の幅と高さはそれぞれ "
              "max(0, min(x2) − max(x1)) のように 0 で下を切ってから掛けてください "
              "(掛けたあとで切ると、幅と高さが両方負のとき正になってしまいます)。",
        "en": "Hint: boxes that do not overlap must have an intersection of 0. Clamp the intersection's width and "
              "height at 0 each, max(0, min(x2) − max(x1)), before multiplying them (clamping the product is not "
              "enough: two negative sides give a positive area).",
    },
    "ch07.hint_plus_one": {
        "ja": "ヒント: 幅を x2 − x1 + 1 としているようです (古い VOC の画素単位の流儀)。ここでは torchvision と同じく"
              "座標は連続値で、幅は x2 − x1、高さは y2 − y1 です。",
        "en": "Hint: you seem to use widths of x2 − x1 + 1 (the old VOC pixel convention). Here coordinates are "
              "continuous, as in torchvision: the width is x2 − x1 and the height y2 − y1.",
    },
    "ch07.hint_no_subtract": {
        "ja": "ヒント: 和集合 (union) が area_a + area_b になっています。重なった部分を 2 回数えているので、"
              "union = area_a + area_b − intersection です。",
        "en": "Hint: your union is area_a + area_b, which counts the overlap twice: "
              "union = area_a + area_b − intersection.",
    },
    "ch07.hint_xywh": {
        "ja": "ヒント: 箱を (x, y, 幅, 高さ) として読んでいるようです。ここでの箱は xyxy 形式 "
              "(x1, y1, x2, y2): 左上と右下の角の座標です。",
        "en": "Hint: you seem to read the boxes as (x, y, width, height). The boxes are xyxy: (x1, y1, x2, y2), "
              "the top-left and bottom-right corners.",
    },
    "ch07.hint_lists": {
        "ja": "ヒント: 箱は NumPy 配列とは限らず、4 つの数のリストやタプルのこともあります。"
              "最初に box = np.asarray(box, dtype=float) としておくと安全です。",
        "en": "Hint: a box may be a list or tuple of 4 numbers, not only a NumPy array. "
              "Start with box = np.asarray(box, dtype=float).",
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
              "リスト内包表記で作ると空のとき形 (0,) になるので、np.zeros((N, M)) を用意して埋める"
              "かブロードキャストで計算してください。",
        "en": "Hint: there may be no boxes. For a of shape (0, 4) the result is (0, M); for b of shape (0, 4), (N, 0). "
              "A list comprehension gives shape (0,) when empty: allocate np.zeros((N, M)) and fill it, or broadcast.",
    },
    # --- nms -------------------------------------------------------------------------------
    "ch07.hint_nms_mask": {
        "ja": "ヒント: 真偽値のマスク (箱ごとに残すかどうか) を返しているようです。返すのはインデックスの並びで、"
              "スコアの高い順です: 例えば [1, 4, 0]。",
        "en": "Hint: you seem to return a mask (keep or not, per box). Return the indices instead, highest score "
              "first: e.g. [1, 4, 0].",
    },
    "ch07.hint_nms_order": {
        "ja": "ヒント: 残す箱の集合は合っていますが、順番が違います。インデックスはスコアの高い順に並べて返してください "
              "(torchvision.ops.nms と同じ)。np.sort(keep) などで番号順にしていませんか?",
        "en": "Hint: the set of kept boxes is right but the order is not. Return the indices highest score first "
              "(as torchvision.ops.nms does); did you sort them by index, e.g. np.sort(keep)?",
    },
    "ch07.hint_nms_ascending": {
        "ja": "ヒント: スコアの低い順に処理しているようです。np.argsort は昇順なので、高い順にするには "
              "np.argsort(scores)[::-1] (または np.argsort(-scores)) とし、最もスコアの高い箱から残していきます。",
        "en": "Hint: you seem to process the boxes from the lowest score up. np.argsort sorts ascending: use "
              "np.argsort(scores)[::-1] (or np.argsort(-scores)) and keep the highest-scoring box first.",
    },
    "ch07.hint_nms_ge": {
        "ja": "ヒント: IoU がちょうど閾値に等しい箱まで消しています。torchvision と同じく、消すのは "
              "IoU > iou_threshold (より大きい) のときだけです (>= ではなく >)。",
        "en": "Hint: you also remove boxes whose IoU equals the threshold. As in torchvision, a box is suppressed "
              "only when IoU > iou_threshold (use >, not >=).",
    },
    "ch07.hint_nms_chain": {
        "ja": "ヒント: すでに消された箱が、さらに別の箱を消しているようです。比べる相手は「残した」箱だけです: "
              "残す箱を 1 つ選んだら、それと重なりすぎる箱を候補から外し、残りの候補で繰り返します。",
        "en": "Hint: boxes that were already suppressed seem to suppress others too. Compare only with the boxes "
              "you keep: pick the best remaining box, drop the candidates that overlap it too much, repeat with "
              "the candidates left.",
    },
    "ch07.hint_nms_positions": {
        "ja": "ヒント: 並べ替えたあとの位置 (0, 1, 2, ...) を返しているようです。返すのは元の boxes での"
              "インデックスです: order = np.argsort(-scores) なら order[i] を残します。",
        "en": "Hint: you seem to return positions in the sorted order (0, 1, 2, ...). Return indices into the "
              "original boxes: with order = np.argsort(-scores), keep order[i].",
    },
    "ch07.hint_nms_duplicates": {
        "ja": "ヒント: 同じインデックスが 2 回以上入っています。各箱は高々 1 回だけ残します。",
        "en": "Hint: an index appears more than once; each box is kept at most once.",
    },
    "ch07.hint_nms_empty": {
        "ja": "ヒント: 箱が 0 個のときは空のインデックス (例えば np.array([], dtype=int)) を返してください。"
              "order[0] のように先頭を取る前に、候補が残っているか確かめます。",
        "en": "Hint: with no boxes, return no indices (e.g. np.array([], dtype=int)); check that candidates "
              "remain before taking order[0].",
    },
    # --- yolo_encode -----------------------------------------------------------------------
    "ch07.hint_yolo_shape": {
        "ja": "ヒント: 結果の形は (S, S, 5 + C) = {shape} です。各セルに x, y, w, h, conf の 5 個と、"
              "C 個のクラスの one-hot が最後の軸に並びます (チャネルは最後: (5 + C, S, S) ではありません)。",
        "en": "Hint: the result has shape (S, S, 5 + C) = {shape}: for every cell, x, y, w, h, conf and then the "
              "C one-hot class values along the last axis (channels last, not (5 + C, S, S)).",
    },
    "ch07.hint_yolo_swap": {
        "ja": "ヒント: 行と列が入れ替わっています。配列は out[行, 列] で、行は y (縦)、列は x (横) で決まります: "
              "row = floor(cy / cell)、col = floor(cx / cell) として out[row, col] に書きます。",
        "en": "Hint: rows and columns are swapped. The array is out[row, col]; the row comes from y (vertical), "
              "the column from x (horizontal): row = floor(cy / cell), col = floor(cx / cell), then write out[row, col].",
    },
    "ch07.hint_yolo_xy_order": {
        "ja": "ヒント: x と y の値の順番が逆です。セルのベクトルは [x, y, w, h, conf, クラス...] の順です。",
        "en": "Hint: the x and y values are in the wrong order. A cell's vector is [x, y, w, h, conf, classes...].",
    },
    "ch07.hint_yolo_wh_cell": {
        "ja": "ヒント: w, h をセルの大きさで割っているようです。w, h は画像全体に対する比 "
              "((x2 − x1) / img_size、(y2 − y1) / img_size) です。セル基準なのは中心の x, y だけです。",
        "en": "Hint: you seem to divide w and h by the cell size. w and h are relative to the whole image, "
              "(x2 − x1) / img_size and (y2 − y1) / img_size; only the centre x, y is relative to the cell.",
    },
    "ch07.hint_yolo_wh_pixels": {
        "ja": "ヒント: w, h が画素のままです。img_size で割って画像に対する比 (0〜1) にしてください。",
        "en": "Hint: w and h are still in pixels; divide by img_size to make them relative to the image (0 to 1).",
    },
    "ch07.hint_yolo_absolute": {
        "ja": "ヒント: x, y が画像全体での中心座標になっているようです。x, y は中心がいるセルの中での位置 "
              "(セルの左上が 0、右下が 1 に近い) です: x = cx / cell − col、y = cy / cell − row (どちらも [0, 1) )。",
        "en": "Hint: x and y seem to be the centre's coordinates in the whole image. They are the centre's position "
              "inside its cell (0 at the cell's top-left, towards 1 at its bottom-right): x = cx / cell − col, "
              "y = cy / cell − row, both in [0, 1).",
    },
    "ch07.hint_yolo_int_cell": {
        "ja": "ヒント: セルの大きさを img_size // S (整数の割り算) で計算していませんか? img_size が S で割り切れない"
              "ときにずれます。cell = img_size / S としてください。",
        "en": "Hint: did you compute the cell size as img_size // S (integer division)? It is off when img_size is "
              "not a multiple of S: use cell = img_size / S.",
    },
    "ch07.hint_yolo_border": {
        "ja": "ヒント: このケースでは中心がちょうどセルの境界の上にあります。規則は切り捨て (floor) です: "
              "中心はその境界から右 (下) のセルに入り、そのセルの中での位置は 0 になります。"
              "round や ceil − 1 ではなく np.floor (または int(cx // cell)) を使ってください。",
        "en": "Hint: in this case a centre lies exactly on a cell border. The rule is floor: the centre belongs to "
              "the cell to the right of (below) the border, at offset 0 inside it. Use np.floor (or int(cx // cell)), "
              "not round or ceil − 1.",
    },
    "ch07.hint_yolo_shared": {
        "ja": "ヒント: このケースでは 2 つの箱の中心が同じセルに入ります。規則は「先に来た箱が勝つ」: "
              "1 つのセルが受け持つ物体は 1 つだけなので、すでに conf が 1 のセルに来た後の箱は書かずに飛ばします "
              "(上書きしたり、クラスの one-hot を 2 つ立てたりしません)。",
        "en": "Hint: in this case two boxes have their centre in the same cell. The rule is \"the first box wins\": "
              "a cell is responsible for one object only, so a later box whose cell already has conf 1 is skipped "
              "(no overwriting, and never two classes set in one cell).",
    },
    "ch07.hint_yolo_empty": {
        "ja": "ヒント: 箱が 0 個のときは、形 (S, S, 5 + C) の全て 0 の配列を返します。",
        "en": "Hint: with no boxes, return all zeros of shape (S, S, 5 + C).",
    },
    # --- average_precision -----------------------------------------------------------------
    "ch07.hint_ap_twice": {
        "ja": "ヒント: 1 つの正解 (ground truth) に 2 つ以上の予測が当たったことにしています。各正解が対応できる予測は "
              "1 つだけです: 当たった正解に印を付け (matched[j] = True)、後の予測は残りの正解とだけ比べます。"
              "同じ物体への重複した予測は誤検出 (FP) です。",
        "en": "Hint: one ground truth is matched by more than one prediction. Each ground truth can be matched once: "
              "mark it (matched[j] = True) and compare later predictions only with the unmatched ones. A duplicate "
              "detection of the same object is a false positive.",
    },
    "ch07.hint_ap_envelope": {
        "ja": "ヒント: 各再現率での生の適合率 (precision) をそのまま使っているようです。先に適合率の包絡線 "
              "(precision envelope) を取ります: 各位置の適合率を、それより後 (再現率が同じか大きい) の最大値で"
              "置き換えます (後ろから np.maximum.accumulate)。",
        "en": "Hint: you seem to use the raw precision at each recall. Take the precision envelope first: replace "
              "each precision by the maximum over all later positions (equal or higher recall), e.g. "
              "np.maximum.accumulate from the end.",
    },
    "ch07.hint_ap_11": {
        "ja": "ヒント: 11 点補間 (再現率 0, 0.1, …, 1.0: 古い VOC2007 の方式) になっているようです。ここでは COCO と"
              "同じ 101 点 (0, 0.01, …, 1.0) の平均です: np.linspace(0, 1, 101)。",
        "en": "Hint: this is the 11-point interpolation (recall 0, 0.1, …, 1.0, the old VOC2007 rule). Here AP is "
              "the mean over COCO's 101 points 0, 0.01, …, 1.0: np.linspace(0, 1, 101).",
    },
    "ch07.hint_ap_all_point": {
        "ja": "ヒント: 包絡線の下の面積 (VOC2010 以降の全点補間) になっているようです。ここでは COCO と同じく、"
              "101 個の再現率 0, 0.01, …, 1.0 での包絡線の値の平均を取ります。",
        "en": "Hint: this is the area under the envelope (VOC2010's all-point AP). Here, as in COCO, AP is the mean "
              "of the envelope at the 101 recall values 0, 0.01, …, 1.0.",
    },
    "ch07.hint_ap_strict": {
        "ja": "ヒント: IoU がちょうど閾値のときを外れにしています。当たりの条件は IoU >= iou_threshold です "
              "(> ではなく >=、pycocotools と同じ)。",
        "en": "Hint: an IoU exactly equal to the threshold counts as a miss in your answer. A match needs "
              "IoU >= iou_threshold (>=, not >, as in pycocotools).",
    },
    "ch07.hint_ap_unsorted": {
        "ja": "ヒント: 予測を渡された順に処理しているようです。先にスコアの高い順に並べ替えてから "
              "(np.argsort(-scores, kind=\"stable\"))、1 つずつ正解と対応付けます。",
        "en": "Hint: you seem to process the predictions in the order given. Sort them by descending score first "
              "(np.argsort(-scores, kind=\"stable\")), then match them one by one.",
    },
    "ch07.hint_ap_voc_match": {
        "ja": "ヒント: IoU が最大の正解がすでに使われているとき、その予測を外れにしていませんか? ここでは "
              "(pycocotools と同じく) まだ使われていない正解の中で IoU が最大のものと比べ、それが閾値以上なら当たりです。",
        "en": "Hint: when the prediction's best ground truth is already taken, do you count it as a miss? Here "
              "(as in pycocotools) the prediction is compared with the best of the still unmatched ground truths, "
              "and it is a hit when that IoU reaches the threshold.",
    },
    "ch07.hint_ap_no_gt": {
        "ja": "ヒント: 正解が 0 個のときは、再現率 (TP / 正解の数) が定義できません。この場合は 0.0 を返す約束です "
              "(0 で割ると NaN になります)。",
        "en": "Hint: with no ground truth, recall (TP / number of ground truths) is undefined; by our rule the "
              "function returns 0.0 (dividing by zero gives NaN).",
    },
    "ch07.hint_ap_no_pred": {
        "ja": "ヒント: 予測が 0 個なら何も見つけていないので AP は 0.0 です。空の配列でも動くようにしてください。",
        "en": "Hint: with no predictions nothing is found, so AP is 0.0; make sure empty arrays work.",
    },
})

RECALL_POINTS = np.linspace(0.0, 1.0, 101)  # COCO's recall thresholds, as in pycocotools
VOC_POINTS = np.linspace(0.0, 1.0, 11)


# ======================================================================= shared helpers
def _number(got) -> np.ndarray:
    """A scalar answer as a 0-d array: a Python or NumPy number, a 0-d array or 0-d tensor."""
    if isinstance(got, (list, tuple)):
        fail(t("ch07.not_number", got=f"{type(got).__name__} {got!r}"[:80]))
    arr = to_numpy(got, kind="float")
    if arr.shape != ():
        fail(t("ch07.not_number", got=describe_type(arr)))
    return arr


def _compare(got, expected, suspects, atol=1e-6, unexplained=None):
    """Chapter 07's tolerance (rtol 1e-6) for :func:`assert_close_or_explain`."""
    assert_close_or_explain(got, expected, suspects, rtol=1e-6, atol=atol, unexplained=unexplained)


# ======================================================================= IoU
def _iou_matrix(a, b, rule="correct"):
    """Pairwise IoU (N, M) computed the right way or the way a typical mistake does.

    Rules: ``correct``, ``no_clamp`` (sides not clamped at 0), ``clamp_product`` (only the
    area clamped), ``plus_one`` (VOC's + 1 widths), ``no_subtract`` (union = sum of areas),
    ``xywh`` (boxes read as x, y, w, h).
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
    union = area_a[:, None] + area_b[None, :]
    if rule != "no_subtract":
        union = union - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def _torchvision_box_iou(a, b):
    import torch
    from torchvision.ops import box_iou as tv_box_iou

    ta = torch.as_tensor(np.asarray(a, dtype=np.float64).reshape(-1, 4))
    tb = torch.as_tensor(np.asarray(b, dtype=np.float64).reshape(-1, 4))
    return tv_box_iou(ta, tb).numpy()


def _iou_suspects(a, b):
    rules = [("no_clamp", "ch07.hint_no_clamp"), ("clamp_product", "ch07.hint_no_clamp"),
             ("plus_one", "ch07.hint_plus_one"), ("no_subtract", "ch07.hint_no_subtract"),
             ("xywh", "ch07.hint_xywh")]
    return [(_iou_matrix(a, b, rule), t(key)) for rule, key in rules]


def _random_boxes(rng, n, size=100.0, min_side=2.0):
    """``n`` random xyxy boxes inside a ``size`` square, each side at least ``min_side``."""
    xy = rng.uniform(0, size * 0.7, size=(n, 2))
    wh = rng.uniform(min_side, size * 0.4, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


def _iou_cases():
    rng = np.random.default_rng(7)
    arr = lambda *v: np.array(v, dtype=np.float64)
    cases = [
        ("例題 / worked example: [0,0,2,2] and [1,1,3,3] → 1/7", arr(0, 0, 2, 2), arr(1, 1, 3, 3)),
        ("同じ箱 / identical boxes → 1", arr(10, 20, 50, 60), arr(10, 20, 50, 60)),
        ("重ならない (横にずれる) / no overlap, side by side → 0", arr(0, 0, 1, 1), arr(2, 0, 3, 1)),
        ("重ならない (斜め) / no overlap, diagonal → 0", arr(0, 0, 1, 1), arr(2, 2, 3, 3)),
        ("辺が接する / touching edges → 0", arr(0, 0, 1, 1), arr(1, 0, 2, 1)),
        ("一方が他方の中 / one box inside the other → 1/16", arr(0, 0, 4, 4), arr(1, 1, 2, 2)),
        ("縦長と横長の十字 / a cross of a tall and a wide box", arr(4, 0, 6, 10), arr(0, 4, 10, 6)),
        ("小数の座標 / fractional coordinates", arr(0.5, 1.25, 3.75, 2.5), arr(1.5, 0.25, 2.0, 4.0)),
    ]
    for i in range(6):
        a, b = _random_boxes(rng, 2)
        cases.append((f"乱数 / random pair {i + 1}, vs torchvision.ops.box_iou", a, b))
    return cases


def iou(func):
    """``iou(box_a, box_b) -> float``: the IoU of two xyxy boxes (arrays or sequences of 4 numbers).

    A Python float, a NumPy scalar or a 0-d array / tensor are accepted. Widths are x2 − x1
    (no + 1); boxes that only touch have IoU 0.
    """
    with Check("iou") as c:
        for name, a, b in _iou_cases():
            c.case(name)
            got = _number(call_unchanged(func, a, b))
            _compare(got, _torchvision_box_iou(a, b)[0, 0], [(s[0, 0], h) for s, h in _iou_suspects(a, b)])
        c.case("箱がリスト / boxes as Python lists [0, 0, 2, 2], (1, 1, 3, 3)")
        got = _number(call_unchanged(func, [0, 0, 2, 2], (1, 1, 3, 3), on_error=t("ch07.hint_lists")))
        with hint(t("ch07.hint_lists")):
            assert_close(got, 1 / 7, rtol=1e-6, atol=1e-6)


# ======================================================================= box_iou
def _box_iou_cases():
    rng = np.random.default_rng(70)
    a3 = np.array([[0, 0, 2, 2], [10, 20, 50, 60], [0, 0, 4, 4]], dtype=np.float64)
    b2 = np.array([[1, 1, 3, 3], [2, 0, 3, 1]], dtype=np.float64)
    square = np.array([[0, 0, 2, 2], [1, 0, 5, 3], [4, 4, 6, 9]], dtype=np.float64)
    return [
        ("例題 / worked example: a = [[0,0,2,2]], b = [[1,1,3,3]] → [[1/7]]",
         np.array([[0, 0, 2, 2]], dtype=np.float64), np.array([[1, 1, 3, 3]], dtype=np.float64), None),
        ("N=3, M=2: 重なり・接触・内包 / overlap, touching, inside", a3, b2, None),
        ("N=M=3, 非対称 / not symmetric: a vs a shifted", square, square + [0.5, -1.0, 0.5, 1.0], None),
        ("a が空 / a empty: (0, 4) vs (3, 4) → (0, 3)", np.zeros((0, 4)), a3, "empty"),
        ("b が空 / b empty: (2, 4) vs (0, 4) → (2, 0)", b2, np.zeros((0, 4)), "empty"),
        ("両方空 / both empty → (0, 0)", np.zeros((0, 4)), np.zeros((0, 4)), "empty"),
        ("乱数 / random N=7, M=5, vs torchvision.ops.box_iou", _random_boxes(rng, 7), _random_boxes(rng, 5), None),
        ("乱数 / random N=1, M=9", _random_boxes(rng, 1), _random_boxes(rng, 9), None),
        ("乱数 / random N=12, M=12", _random_boxes(rng, 12), _random_boxes(rng, 12), None),
    ]


def box_iou(func):
    """``box_iou(a, b) -> (N, M)``: out[i, j] = IoU(a[i], b[j]) for a (N, 4), b (M, 4), like torchvision.

    Empty inputs give an empty (0, M), (N, 0) or (0, 0) array.
    """
    with Check("box_iou") as c:
        for name, a, b, kind in _box_iou_cases():
            c.case(name)
            on_error = t("ch07.hint_box_iou_empty") if kind == "empty" else t("ch07.hint_broadcast")
            got = call_unchanged(func, a, b, on_error=on_error)
            arr = to_numpy(got, kind=f"numpy.ndarray ({len(a)}, {len(b)})")
            expected = _torchvision_box_iou(a, b)
            shape_message = t("check.shape", expected=expected.shape, got=arr.shape)
            if arr.shape == expected.shape[::-1] and len(a) != len(b):
                fail(shape_message + "\n" + t("ch07.hint_transposed"))
            if arr.ndim != 2 and kind != "empty":  # e.g. IoU of a[i] with b[i] only: a diagonal
                fail(shape_message + "\n" + t("ch07.hint_broadcast"))
            suspects = [(expected.T, t("ch07.hint_transposed"))] + _iou_suspects(a, b)
            _compare(arr, expected, suspects, unexplained=t("ch07.hint_box_iou_empty") if kind == "empty" else None)


# ======================================================================= nms
def _torchvision_nms(boxes, scores, threshold):
    import torch
    from torchvision.ops import nms as tv_nms

    keep = tv_nms(torch.as_tensor(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)),
                  torch.as_tensor(np.asarray(scores, dtype=np.float64)), float(threshold))
    return [int(i) for i in keep]


def _nms_variant(boxes, scores, threshold, rule):
    """NMS the way a typical mistake does it.

    ``ascending``: lowest score first; ``ge``: suppress when IoU >= threshold; ``chain``:
    a box survives only if no higher-scoring box at all, kept or suppressed, overlaps it.
    """
    ious = _iou_matrix(boxes, boxes)
    order = np.argsort(scores, kind="stable") if rule == "ascending" else np.argsort(-scores, kind="stable")
    if rule == "chain":
        return [int(i) for rank, i in enumerate(order) if not (ious[i, order[:rank]] > threshold).any()]
    keep, removed = [], np.zeros(len(boxes), dtype=bool)
    for i in order:
        if not removed[i]:
            keep.append(int(i))
            removed |= ious[i] >= threshold if rule == "ge" else ious[i] > threshold
    return keep


def _indices(got, n):
    """The student's kept indices as a list of ints (list / tuple / array / tensor accepted)."""
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
        return []  # np.array([]) is float64: harmless when empty
    if not np.issubdtype(arr.dtype, np.integer):
        fail(t("ch07.indices_float", dtype=arr.dtype))
    for i in arr.tolist():
        if not 0 <= i < n:
            fail(t("ch07.indices_range", index=i, n=n, last=n - 1))
    return [int(i) for i in arr.tolist()]


def _nms_hint(got, expected, boxes, scores, threshold):
    """The hint for a wrong list of kept indices (or None)."""
    n = len(boxes)
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    if len(got) == n and set(got) <= {0, 1} and set(np.flatnonzero(got)) == set(expected):
        return t("ch07.hint_nms_mask")
    if len(set(got)) != len(got):
        return t("ch07.hint_nms_duplicates")
    if sorted(got) == sorted(expected):
        return t("ch07.hint_nms_order")
    if got == [order.index(k) for k in expected]:
        return t("ch07.hint_nms_positions")
    for rule, key in (("ascending", "ch07.hint_nms_ascending"), ("ge", "ch07.hint_nms_ge"),
                      ("chain", "ch07.hint_nms_chain")):
        variant = _nms_variant(boxes, scores, threshold, rule)
        if set(variant) != set(expected) and set(got) == set(variant):
            return t(key)
    return None


def _clustered_boxes(rng, n, threshold, clusters=4):
    """Random boxes jittered around a few centres, so that NMS has something to suppress.

    Drawn again while some IoU lies within 1e-6 of the threshold: there, float32 rounding
    in a correct answer could flip the decision.
    """
    while True:
        centres = _random_boxes(rng, clusters, size=200.0, min_side=20.0)
        boxes = centres[rng.integers(0, clusters, size=n)] + rng.normal(0, 4.0, size=(n, 4))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 2.0)
        if np.abs(_iou_matrix(boxes, boxes) - threshold).min() > 1e-6:
            return boxes


def _nms_cases():
    rng = np.random.default_rng(77)
    worked = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [0.2, 0.2, 2.2, 2.2], [5, 5, 7, 7], [5.5, 5, 7.5, 7]])
    cases = [
        ("例題 / worked example: 5 boxes, scores [0.6, 0.9, 0.8, 0.7, 0.75], threshold 0.5 → [1, 4, 0]",
         worked, np.array([0.6, 0.9, 0.8, 0.7, 0.75]), 0.5, None),
        ("IoU がちょうど閾値 / IoU exactly 0.5 = threshold: both kept",
         np.array([[0, 0, 3, 1], [1, 0, 4, 1.0]]), np.array([0.9, 0.8]), 0.5, None),
        ("連鎖 / chain A–B–C: B suppressed by A, C overlaps only B",
         np.array([[0, 0, 4, 4], [1, 0, 5, 4], [2, 0, 6, 4.0]]), np.array([0.9, 0.8, 0.7]), 0.5, None),
        ("重ならない箱 / no overlap: all kept, highest score first",
         np.array([[0, 0, 1, 1], [2, 2, 3, 3], [5, 0, 6, 2.0]]), np.array([0.3, 0.9, 0.6]), 0.5, None),
        ("辺が接する, 閾値 0 / touching edges, threshold 0: IoU 0 is not > 0",
         np.array([[0, 0, 1, 1], [1, 0, 2, 1.0]]), np.array([0.8, 0.9]), 0.0, None),
        ("同じ箱 3 つ / three identical boxes", np.tile([10, 10, 20, 30.0], (3, 1)), np.array([0.5, 0.7, 0.6]), 0.5, None),
        ("箱 1 つ / one box", np.array([[3, 4, 8, 9.0]]), np.array([0.4]), 0.5, None),
        ("箱なし / no boxes: (0, 4)", np.zeros((0, 4)), np.zeros(0), 0.5, "empty"),
    ]
    for threshold, n in ((0.3, 20), (0.5, 30), (0.7, 40)):
        cases.append((f"乱数 / random {n} clustered boxes, threshold {threshold}, vs torchvision.ops.nms",
                      _clustered_boxes(rng, n, threshold), rng.permutation(n) / n + 0.01, threshold, None))
    n = 25  # NMS keeps a box however low its score: a score cut-off is a separate step
    cases.append((f"低いスコア / low scores only (0.0001–0.01): {n} clustered boxes, none dropped for its score",
                  _clustered_boxes(rng, n, 0.5), (rng.permutation(n) + 1) / (100.0 * n), 0.5, None))
    return cases


def nms(func):
    """``nms(boxes, scores, iou_threshold) -> kept indices, highest score first`` (torchvision.ops.nms).

    A box is suppressed when its IoU with a kept, higher-scoring box is > iou_threshold (an
    IoU equal to the threshold does not suppress). The indices may come as a list, an array
    or a tensor of ints; an empty result may have any dtype.
    """
    with Check("nms") as c:
        for name, boxes, scores, threshold, kind in _nms_cases():
            c.case(name)
            boxes = np.asarray(boxes, dtype=np.float64)
            on_error = t("ch07.hint_nms_empty") if kind == "empty" else None
            got = _indices(call_unchanged(func, boxes, scores, threshold, on_error=on_error), len(boxes))
            expected = _torchvision_nms(boxes, scores, threshold)
            if got != expected:
                extra = _nms_hint(got, expected, boxes, scores, threshold)
                message = t("ch07.indices_wrong", expected=expected, got=got)
                fail(f"{message}\n{extra}" if extra else message)


# ======================================================================= yolo_encode
def _yolo_reference(boxes, labels, S, num_classes, img_size, mistake=None):
    """The YOLO target (S, S, 5 + C), or what a typical ``mistake`` gives (None if impossible).

    Rules: row = floor(cy / cell), col = floor(cx / cell) with cell = img_size / S (a centre
    on a border goes to the cell right of / below it); the first box in a cell wins.
    """
    cell = img_size // S if mistake == "int_cell" else img_size / S
    out = np.zeros((S, S, 5 + num_classes))
    for (x1, y1, x2, y2), label in zip(np.asarray(boxes, dtype=np.float64), labels):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        col, row = int(np.floor(cx / cell)), int(np.floor(cy / cell))
        if not (0 <= row < S and 0 <= col < S):
            return None
        r, c = (col, row) if mistake == "swap" else (row, col)
        if out[r, c, 4] == 1 and mistake != "later_wins":
            continue
        vec = np.zeros(5 + num_classes)
        vec[:5] = [cx / cell - col, cy / cell - row, (x2 - x1) / img_size, (y2 - y1) / img_size, 1.0]
        vec[5 + int(label)] = 1.0
        _apply_yolo_mistake(vec, mistake, cx, cy, x2 - x1, y2 - y1, cell, img_size)
        out[r, c] = vec
    return out


def _apply_yolo_mistake(vec, mistake, cx, cy, w, h, cell, img_size):
    if mistake == "xy_order":
        vec[[0, 1]] = vec[[1, 0]]
    elif mistake == "wh_cell":
        vec[2:4] = [w / cell, h / cell]
    elif mistake == "wh_pixels":
        vec[2:4] = [w, h]
    elif mistake == "abs_image":
        vec[0:2] = [cx / img_size, cy / img_size]
    elif mistake == "abs_pixels":
        vec[0:2] = [cx, cy]
    elif mistake == "abs_cell":
        vec[0:2] = [cx / cell, cy / cell]


YOLO_MISTAKES = [("swap", "ch07.hint_yolo_swap"), ("xy_order", "ch07.hint_yolo_xy_order"),
                 ("wh_cell", "ch07.hint_yolo_wh_cell"), ("wh_pixels", "ch07.hint_yolo_wh_pixels"),
                 ("abs_image", "ch07.hint_yolo_absolute"), ("abs_pixels", "ch07.hint_yolo_absolute"),
                 ("abs_cell", "ch07.hint_yolo_absolute"), ("int_cell", "ch07.hint_yolo_int_cell"),
                 ("later_wins", "ch07.hint_yolo_shared")]


def _boxes_in_distinct_cells(rng, k, S, img_size):
    """``k`` random boxes whose centres lie in different cells, away from the cell borders."""
    cell = img_size / S
    cells = rng.choice(S * S, size=k, replace=False)
    centres = np.stack([cells % S, cells // S], axis=1) * cell + rng.uniform(0.05, 0.95, size=(k, 2)) * cell
    half = np.minimum(rng.uniform(0.05, 0.5, size=(k, 2)) * img_size, np.minimum(centres, img_size - centres))
    return np.concatenate([centres - half, centres + half], axis=1)


def _yolo_cases():
    rng = np.random.default_rng(707)
    ints = lambda *v: np.array(v, dtype=np.int64)
    boxes = lambda *rows: np.array(rows, dtype=np.float64).reshape(-1, 4)
    cases = [
        ("例題 / worked example: 448 px, S=7, C=3, box [100,150,260,290] class 2 → cell (row 3, col 2)",
         boxes([100, 150, 260, 290]), ints(2), 7, 3, 448, None),
        ("2 つの箱 / two boxes in different cells, C=2", boxes([10, 300, 90, 420], [250, 20, 440, 200]),
         ints(1, 0), 7, 2, 448, None),
        ("箱なし / no boxes → all zeros", boxes(), ints(), 7, 3, 448, "empty"),
        ("中心がセルの境界 / centres exactly on cell borders (256 px, S=8): floor",
         boxes([32, 48, 96, 80], [0, 80, 32, 112]), ints(0, 1), 8, 2, 256, "border"),
        ("割り切れない / img_size 100 not a multiple of S=3", boxes([60, 10, 80, 30], [40, 45, 60, 55]),
         ints(1, 0), 3, 2, 100, None),
        ("2 つの中心が同じセル / two centres in one cell: the first box wins",
         boxes([140, 140, 180, 170], [120, 130, 190, 190], [300, 300, 400, 420]), ints(0, 2, 1), 7, 3, 448, "shared"),
    ]
    for i, (S, C, img, k) in enumerate([(13, 5, 416, 6), (7, 20, 448, 4), (4, 3, 96, 5)]):
        cases.append((f"乱数 / random {i + 1}: S={S}, C={C}, {img} px, {k} boxes in different cells",
                      _boxes_in_distinct_cells(rng, k, S, img), rng.integers(0, C, size=k), S, C, img, None))
    return cases


YOLO_CASE_HINTS = {"empty": "ch07.hint_yolo_empty", "border": "ch07.hint_yolo_border", "shared": "ch07.hint_yolo_shared"}


def yolo_encode(func):
    """``yolo_encode(boxes, labels, S, num_classes, img_size) -> (S, S, 5 + C)`` YOLO (v1) target.

    boxes (K, 4) are xyxy pixels inside a square image of side ``img_size``; labels (K,) ints.
    The box centre (cx, cy) falls in cell row = floor(cy / cell), col = floor(cx / cell), with
    cell = img_size / S, and ``out[row, col]`` = [x, y, w, h, 1, one-hot class] where
    x = cx / cell − col, y = cy / cell − row (in [0, 1)), w = (x2 − x1) / img_size,
    h = (y2 − y1) / img_size. Everything else is 0.

    Two rules the check tests: a centre exactly on a cell border belongs to the cell to its
    right / below (floor, offset 0); when two centres fall in one cell, the first box in the
    list wins and later ones are skipped (a cell is responsible for one object).
    """
    with Check("yolo_encode") as c:
        for name, boxes, labels, S, C, img_size, kind in _yolo_cases():
            c.case(name)
            expected = _yolo_reference(boxes, labels, S, C, img_size)
            case_hint = t(YOLO_CASE_HINTS[kind]) if kind else None
            got = call_unchanged(func, boxes, labels, S, C, img_size, on_error=case_hint)
            arr = to_numpy(got, kind=f"numpy.ndarray {expected.shape}")
            if arr.shape != expected.shape:
                fail(t("check.shape", expected=expected.shape, got=arr.shape) + "\n"
                     + t("ch07.hint_yolo_shape", shape=expected.shape))
            suspects = [(_yolo_reference(boxes, labels, S, C, img_size, m), t(key)) for m, key in YOLO_MISTAKES]
            _compare(arr, expected, suspects, atol=1e-5, unexplained=case_hint)


# ======================================================================= average_precision
def _match(pred_boxes, pred_scores, gt_boxes, threshold, rule="coco"):
    """True / False per prediction, in descending-score order: is it a true positive?

    ``coco`` (the reference, as pycocotools): each prediction takes the unmatched ground truth
    with the highest IoU, a hit when that IoU >= threshold. Mistakes: ``twice`` (ground truths
    reusable), ``voc_match`` (only the overall best ground truth counts), ``strict`` (IoU >
    threshold), ``unsorted`` (predictions in the given order).
    """
    scores = np.asarray(pred_scores, dtype=np.float64)
    order = np.arange(len(scores)) if rule == "unsorted" else np.argsort(-scores, kind="stable")
    ious = _iou_matrix(np.asarray(pred_boxes)[order], gt_boxes)
    matched = np.zeros(ious.shape[1], dtype=bool)
    hits = []
    for row in ious:
        if rule == "voc_match":
            j = int(np.argmax(row)) if len(row) else -1
            ok = j >= 0 and row[j] >= threshold and not matched[j]
        else:
            free = row if rule == "twice" else np.where(matched, -1.0, row)
            j = int(np.argmax(free)) if len(free) else -1
            ok = j >= 0 and (free[j] > threshold if rule == "strict" else free[j] >= threshold)
        if ok:
            matched[j] = True
        hits.append(bool(ok))
    return np.array(hits, dtype=bool)


def _ap_from_hits(hits, n_gt, interpolation="coco101"):
    """AP from the hit list: ``coco101`` (reference), ``raw`` (no envelope), ``voc11``, ``all_point``."""
    if n_gt == 0 or len(hits) == 0:
        return 0.0
    tp = np.cumsum(hits)
    recall = tp / n_gt
    precision = tp / np.arange(1, len(hits) + 1)
    if interpolation == "all_point":
        r = np.concatenate([[0.0], recall, [1.0]])
        p = np.maximum.accumulate(np.concatenate([[0.0], precision, [0.0]])[::-1])[::-1]
        return float(np.sum((r[1:] - r[:-1]) * p[1:]))
    if interpolation != "raw":
        precision = np.maximum.accumulate(precision[::-1])[::-1]
    points = VOC_POINTS if interpolation == "voc11" else RECALL_POINTS
    idx = np.searchsorted(recall, points, side="left")
    values = np.where(idx < len(hits), precision[np.minimum(idx, len(hits) - 1)], 0.0)
    return float(values.mean())


def _average_precision_ref(pred_boxes, pred_scores, gt_boxes, iou_threshold):
    """The reference AP (one class, one image), as pycocotools / torchmetrics compute it.

    Predictions are taken by descending score (stable for ties); each takes the unmatched
    ground truth of highest IoU and is a true positive when that IoU >= iou_threshold.
    Precision is made non-increasing (the envelope), read at recall 0, 0.01, ..., 1.0 (the
    first prediction whose recall reaches the point; 0 beyond the last recall) and averaged.
    With no ground truth (recall undefined; COCO would mark it -1 and skip it) the AP is 0.0.
    """
    gt = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    hits = _match(np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4), pred_scores, gt, iou_threshold)
    return _ap_from_hits(hits, len(gt))


def _ap_suspects(pred_boxes, pred_scores, gt_boxes, threshold):
    gt = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    preds = np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4)
    out = []
    for rule, key in (("twice", "ch07.hint_ap_twice"), ("voc_match", "ch07.hint_ap_voc_match"),
                      ("strict", "ch07.hint_ap_strict"), ("unsorted", "ch07.hint_ap_unsorted")):
        out.append((_ap_from_hits(_match(preds, pred_scores, gt, threshold, rule), len(gt)), t(key)))
    hits = _match(preds, pred_scores, gt, threshold)
    for interpolation, key in (("raw", "ch07.hint_ap_envelope"), ("voc11", "ch07.hint_ap_11"),
                               ("all_point", "ch07.hint_ap_all_point")):
        out.append((_ap_from_hits(hits, len(gt), interpolation), t(key)))
    return out


def _random_ap_case(rng, n_gt, threshold):
    """Ground truths, near and far hits, duplicates and false positives, with distinct scores.

    Drawn again until no IoU is within 1e-6 of the threshold and no prediction overlaps two
    ground truths at the same IoU, so that every correct way of computing agrees.
    """
    while True:
        gt = _random_boxes(rng, n_gt, size=200.0, min_side=20.0)
        near = gt[rng.integers(0, n_gt, size=n_gt + 2)]
        near = near + rng.normal(0, 6.0, size=near.shape)
        near[:, 2:] = np.maximum(near[:, 2:], near[:, :2] + 2.0)
        preds = np.concatenate([near, _random_boxes(rng, 3, size=200.0, min_side=10.0)])
        ious = _iou_matrix(preds, gt)
        overlaps = [np.sort(row[row > 0]) for row in ious]
        distinct = all((np.diff(row) > 1e-9).all() for row in overlaps)
        if np.abs(ious - threshold).min() > 1e-6 and distinct:
            perm = rng.permutation(len(preds))
            return preds[perm], rng.permutation(len(preds)) / len(preds) + 0.01, gt


def _ap_cases():
    rng = np.random.default_rng(7007)
    A, B, C = [10, 10, 50, 50], [60, 10, 100, 60], [20, 70, 70, 110]
    hit = lambda box, d: [box[0] + d, box[1], box[2] + d, box[3]]
    far = [150, 150, 190, 190]
    worked = np.array([hit(A, 1), far, hit(B, -2), hit(A, -3), [120, 0, 140, 30]], dtype=np.float64)
    worked_scores = np.array([0.95, 0.9, 0.8, 0.7, 0.6])
    perm = np.array([3, 0, 4, 2, 1])
    arr = lambda *rows: np.array(rows, dtype=np.float64).reshape(-1, 4)
    cases = [
        ("例題 / worked example: 3 GT; TP, FP, TP, duplicate, FP by score → 56/101",
         worked, worked_scores, arr(A, B, C), 0.5, None),
        ("例題を並べ替え / the worked example with the predictions shuffled (scores not sorted)",
         worked[perm], worked_scores[perm], arr(A, B, C), 0.5, None),
        ("全て正解 / all correct → 1.0", arr(hit(A, 1), hit(B, 0), hit(C, -1)), np.array([0.5, 0.9, 0.7]),
         arr(A, B, C), 0.5, None),
        ("誤検出が 1 位 / a false positive ranked first, 2 GT → 2/3", arr(far, A, B), np.array([0.9, 0.8, 0.7]),
         arr(A, B), 0.5, None),
        ("同じ物体への重複 / duplicate detections of one GT, 2 GT → 253/303",
         arr(A, hit(A, 2), B), np.array([0.9, 0.8, 0.7]), arr(A, B), 0.5, None),
        ("IoU がちょうど閾値 / IoU exactly 0.5 = threshold counts as a hit → 1.0",
         arr([1, 0, 4, 1]), np.array([0.9]), arr([0, 0, 3, 1]), 0.5, None),
        ("最良の正解が使用済み / the best GT is taken, another unmatched GT has IoU 0.54 → 1.0",
         arr([0, 0, 4, 4], [0.8, 0, 4.8, 4]), np.array([0.9, 0.8]), arr([0, 0, 4, 4], [2, 0, 6, 4]), 0.5, None),
        ("予測なし / no predictions → 0.0", np.zeros((0, 4)), np.zeros(0), arr(A, B), 0.5, "no_pred"),
        ("正解なし / no ground truth, two predictions → 0.0", arr(A, B), np.array([0.9, 0.8]), np.zeros((0, 4)),
         0.5, "no_gt"),
        ("正解も予測もなし / no ground truth and no predictions → 0.0", np.zeros((0, 4)), np.zeros(0),
         np.zeros((0, 4)), 0.5, "no_gt"),
    ]
    for i, (n_gt, threshold) in enumerate([(3, 0.5), (6, 0.75), (7, 0.5)]):
        preds, scores, gt = _random_ap_case(rng, n_gt, threshold)
        cases.append((f"乱数 / random {i + 1}: {n_gt} GT, {len(preds)} predictions, IoU threshold {threshold}",
                      preds, scores, gt, threshold, None))
    return cases


AP_CASE_HINTS = {"no_pred": "ch07.hint_ap_no_pred", "no_gt": "ch07.hint_ap_no_gt"}


def average_precision(func):
    """``average_precision(pred_boxes, pred_scores, gt_boxes, iou_threshold) -> float`` (one class, one image).

    Greedy matching by descending score; each ground truth is matched at most once (a
    prediction takes the unmatched ground truth of highest IoU; a hit needs IoU >= threshold);
    COCO's 101-point interpolated AP of the precision envelope, as pycocotools and torchmetrics.
    No predictions, or no ground truth, give 0.0.
    """
    with Check("average_precision") as c:
        for name, preds, scores, gt, threshold, kind in _ap_cases():
            c.case(name)
            case_hint = t(AP_CASE_HINTS[kind]) if kind else None
            expected = _average_precision_ref(preds, scores, gt, threshold)
            with hint(case_hint) if case_hint else contextlib.nullcontext():
                got = _number(call_unchanged(func, preds, scores, gt, threshold))
                _compare(got, expected, _ap_suspects(preds, scores, gt, threshold))
