"""Chapter 07: the YOLO (v1) training target (``yolo_encode``).

The layout (the contract the notebook teaches): an array (S, S, 5 + C), one box per cell; the
cell holding a box centre gets ``[x, y, w, h, conf, one-hot class]`` — the box, then the
confidence, then the C class values — with x, y the centre's offset inside the cell in [0, 1)
and w, h plain fractions of the image side (no square root: the loss takes √w, √h itself).
The network's own output has 5B + C numbers per cell (B boxes); the target has one box.

The named mistakes (core :class:`~.core.Mistake` records, each a ``mistake`` of
:func:`_yolo_reference`): rows and columns swapped, x and y swapped, w and h relative to the cell,
in pixels or as √w, √h, the centre in image coordinates, an integer cell size, and the cell's
numbers in another order (the confidence first or last, the classes before the box). A later box
overwriting the first is the case "two centres in one cell", whose own hint says the rule; a
target of the wrong shape gets the hint for its shape (the network's 5B + C layout, or the general one).
"""
from functools import partial

import numpy as np

from ..i18n import register, t
from .ch07_iou import run_detection_cases
from .core import Case, Mistake, seed

__all__ = ["yolo_encode"]


def _yolo_reference(boxes, labels, S, num_classes, img_size, mistake=None):
    """The YOLO target (S, S, 5 + C), or what a typical ``mistake`` gives (None if impossible).

    Rules: row = floor(cy / cell), col = floor(cx / cell) with cell = img_size / S (a centre
    on a border goes to the cell right of / below it); the first box in a cell wins.
    """
    cell = img_size // S if mistake == "int_cell" else img_size / S
    out = np.zeros((S, S, 5 + num_classes))
    taken = set()
    for (x1, y1, x2, y2), label in zip(np.asarray(boxes, dtype=np.float64), labels):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        col, row = int(np.floor(cx / cell)), int(np.floor(cy / cell))
        if not (0 <= row < S and 0 <= col < S):
            return None
        r, c = (col, row) if mistake == "swap" else (row, col)
        if (r, c) in taken:
            continue
        taken.add((r, c))
        vec = np.zeros(5 + num_classes)
        vec[:5] = [cx / cell - col, cy / cell - row, (x2 - x1) / img_size, (y2 - y1) / img_size, 1.0]
        vec[5 + int(label)] = 1.0
        out[r, c] = _apply_yolo_mistake(vec, mistake, cx, cy, x2 - x1, y2 - y1, cell, img_size)
    return out


def _apply_yolo_mistake(vec, mistake, cx, cy, w, h, cell, img_size):
    """A cell's vector [x, y, w, h, conf, classes] as the ``mistake`` writes it."""
    values = {"xy_order": lambda: vec[[1, 0]], "abs_image": lambda: [cx / img_size, cy / img_size],
              "abs_pixels": lambda: [cx, cy], "abs_cell": lambda: [cx / cell, cy / cell]}
    sizes = {"wh_cell": lambda: [w / cell, h / cell], "wh_pixels": lambda: [w, h],
             "sqrt_wh": lambda: np.sqrt([w / img_size, h / img_size])}
    if mistake in values:
        vec[0:2] = values[mistake]()
    elif mistake in sizes:
        vec[2:4] = sizes[mistake]()
    elif mistake == "conf_first":
        vec = np.concatenate([vec[4:5], vec[:4], vec[5:]])
    elif mistake == "conf_last":
        vec = np.concatenate([vec[:4], vec[5:], vec[4:5]])
    elif mistake == "classes_first":
        vec = np.concatenate([vec[5:], vec[:5]])
    return vec


# (mistake of _yolo_reference, hint key, formula key shown on a repeated failure)
YOLO_RULES = [("swap", "ch07.hint_yolo_swap", "ch07.formula_yolo_cell"),
              ("xy_order", "ch07.hint_yolo_xy_order", None),
              ("wh_cell", "ch07.hint_yolo_wh_cell", "ch07.formula_yolo_wh"),
              ("wh_pixels", "ch07.hint_yolo_wh_pixels", None),
              ("sqrt_wh", "ch07.hint_yolo_sqrt", "ch07.formula_yolo_wh"),
              ("abs_image", "ch07.hint_yolo_absolute", "ch07.formula_yolo_xy"),
              ("abs_pixels", "ch07.hint_yolo_absolute", "ch07.formula_yolo_xy"),
              ("abs_cell", "ch07.hint_yolo_absolute", "ch07.formula_yolo_xy"),
              ("int_cell", "ch07.hint_yolo_int_cell", None),
              ("conf_first", "ch07.hint_yolo_layout", None), ("conf_last", "ch07.hint_yolo_layout", None),
              ("classes_first", "ch07.hint_yolo_layout", None)]
YOLO_MISTAKES = [Mistake(partial(_yolo_reference, mistake=rule), key, formula) for rule, key, formula in YOLO_RULES]


def _boxes_in_distinct_cells(rng, k, S, img_size):
    """``k`` random boxes whose centres lie in different cells, away from the cell borders."""
    cell = img_size / S
    cells = rng.choice(S * S, size=k, replace=False)
    centres = np.stack([cells % S, cells // S], axis=1) * cell + rng.uniform(0.05, 0.95, size=(k, 2)) * cell
    half = np.minimum(rng.uniform(0.05, 0.5, size=(k, 2)) * img_size, np.minimum(centres, img_size - centres))
    return np.concatenate([centres - half, centres + half], axis=1)


def _yolo_cases():
    rng = np.random.default_rng(seed(707))
    ints = lambda *v: np.array(v, dtype=np.int64)
    boxes = lambda *rows: np.array(rows, dtype=np.float64).reshape(-1, 4)
    cases = [
        Case("ch07.case.yolo_worked", (boxes([100, 150, 260, 290]), ints(2), 7, 3, 448)),
        Case("ch07.case.yolo_two", (boxes([10, 300, 90, 420], [250, 20, 440, 200]), ints(1, 0), 7, 2, 448)),
        Case("ch07.case.yolo_none", (boxes(), ints(), 7, 3, 448), hint="ch07.hint_yolo_empty"),
        Case("ch07.case.yolo_border", (boxes([32, 48, 96, 80], [0, 80, 32, 112]), ints(0, 1), 8, 2, 256),
             hint="ch07.hint_yolo_border"),
        Case("ch07.case.yolo_not_multiple", (boxes([60, 10, 80, 30], [40, 45, 60, 55]), ints(1, 0), 3, 2, 100)),
        Case("ch07.case.yolo_shared", (boxes([140, 140, 180, 170], [120, 130, 190, 190], [300, 300, 400, 420]),
                                       ints(0, 2, 1), 7, 3, 448), hint="ch07.hint_yolo_shared"),
    ]
    for i, (S, C, img, k) in enumerate([(13, 5, 416, 6), (7, 20, 448, 4), (4, 3, 96, 5)]):
        cases.append(Case("ch07.case.yolo_random", (_boxes_in_distinct_cells(rng, k, S, img), rng.integers(0, C, size=k),
                                                    S, C, img), values={"i": i + 1, "S": S, "C": C, "img": img, "k": k}))
    return cases


def _shape_hint(got, expected, boxes, labels, S, C, img_size):
    """The hint for a target of the wrong shape: the network's 5B + C layout (B = 2), or the general one."""
    shape = getattr(got, "shape", None)
    if shape is None or tuple(shape) == expected.shape:
        return None
    key = "ch07.hint_yolo_5b" if tuple(shape) == (S, S, 5 * 2 + C) else "ch07.hint_yolo_shape"
    return t(key, shape=expected.shape)


def yolo_encode(func):
    """``yolo_encode(boxes, labels, S, num_classes, img_size) -> (S, S, 5 + C)`` YOLO (v1) target.

    boxes (K, 4) are xyxy pixels inside a square image of side ``img_size``; labels (K,) ints.
    The box centre (cx, cy) falls in cell row = floor(cy / cell), col = floor(cx / cell), with
    cell = img_size / S, and ``out[row, col]`` = [x, y, w, h, 1, one-hot class] where
    x = cx / cell − col, y = cy / cell − row (in [0, 1)), w = (x2 − x1) / img_size,
    h = (y2 − y1) / img_size (plain fractions, not √w, √h). Everything else is 0.

    Two rules the check tests: a centre exactly on a cell border belongs to the cell to its
    right / below (floor, offset 0); when two centres fall in one cell, the first box in the
    list wins and later ones are skipped (a cell is responsible for one object).
    """
    run_detection_cases("yolo_encode", func, _yolo_cases(), _yolo_reference, YOLO_MISTAKES, atol=1e-5,
                        unexplained=_shape_hint)


register({
    # --- case names --------------------------------------------------------------------------
    "ch07.case.yolo_worked": {"ja": "例題: 448 px、S=7、C=3、箱 [100,150,260,290] クラス 2 → セル (行 3、列 2)",
                              "en": "worked example: 448 px, S=7, C=3, box [100,150,260,290] class 2 → cell (row 3, col 2)"},
    "ch07.case.yolo_two": {"ja": "別々のセルにある 2 つの箱、C=2", "en": "two boxes in different cells, C=2"},
    "ch07.case.yolo_none": {"ja": "箱なし → 全て 0", "en": "no boxes → all zeros"},
    "ch07.case.yolo_border": {"ja": "中心がちょうどセルの境界の上 (256 px、S=8): 切り捨て",
                              "en": "centres exactly on cell borders (256 px, S=8): floor"},
    "ch07.case.yolo_not_multiple": {"ja": "割り切れない: img_size 100 は S=3 の倍数ではない",
                                    "en": "img_size 100 not a multiple of S=3"},
    "ch07.case.yolo_shared": {"ja": "2 つの中心が同じセル: 先に来た箱が勝つ",
                              "en": "two centres in one cell: the first box wins"},
    "ch07.case.yolo_random": {"ja": "乱数 {i}: S={S}、C={C}、{img} px、別々のセルに {k} 個の箱",
                              "en": "random {i}: S={S}, C={C}, {img} px, {k} boxes in different cells"},
    # --- hints -------------------------------------------------------------------------------
    "ch07.hint_yolo_shape": {
        "ja": "ヒント: 結果の形は (S, S, 5 + C) = {shape} です。各セルに x, y, w, h, conf の 5 個と、"
              "C 個のクラスの one-hot が最後の軸に並びます (チャネルは最後: (5 + C, S, S) ではありません)。",
        "en": "Hint: the result has shape (S, S, 5 + C) = {shape}: for every cell, x, y, w, h, conf and then the "
              "C one-hot class values along the last axis (channels last, not (5 + C, S, S)).",
    },
    "ch07.hint_yolo_5b": {
        "ja": "ヒント: ネットワークの出力の並び 5B + C (1 つのセルに B = 2 個の箱) で作っているようです。"
              "教師データ (target) はセルごとに箱 1 つなので、形は (S, S, 5 + C) = {shape} です。",
        "en": "Hint: you seem to use the network's output layout 5B + C (B = 2 boxes per cell). The target holds "
              "one box per cell: its shape is (S, S, 5 + C) = {shape}.",
    },
    "ch07.hint_yolo_layout": {
        "ja": "ヒント: セルの中の数の並び順が違います。conf (信頼度) とクラスの位置が入れ替わっていませんか? "
              "並びは、箱の 4 つの数、conf、C 個のクラスの順です。",
        "en": "Hint: the numbers inside a cell are in the wrong order: are the confidence and the classes in "
              "each other's place? The order is the box's four numbers, then conf, then the C class values.",
    },
    "ch07.hint_yolo_sqrt": {
        "ja": "ヒント: w, h に平方根を取っているようです。√w, √h を比べるのは損失の側 (損失関数の中で平方根を取る) で、"
              "教師データの w, h は画像に対する比そのものです。",
        "en": "Hint: you seem to store √w and √h. The square roots belong to the loss (it compares square roots "
              "itself); the target's w and h are the plain fractions of the image.",
    },
    "ch07.hint_yolo_swap": {
        "ja": "ヒント: 行と列が入れ替わっています。配列は out[行, 列] で、行は y (縦)、列は x (横) で決まります。",
        "en": "Hint: rows and columns are swapped. The array is out[row, col]; the row comes from y (vertical), "
              "the column from x (horizontal).",
    },
    "ch07.formula_yolo_cell": {"ja": "row = floor(cy / cell)、col = floor(cx / cell) として out[row, col] に書きます。",
                               "en": "row = floor(cy / cell), col = floor(cx / cell), then write out[row, col]."},
    "ch07.hint_yolo_xy_order": {
        "ja": "ヒント: x と y の値の順番が逆です。セルのベクトルは [x, y, w, h, conf, クラス...] の順です。",
        "en": "Hint: the x and y values are in the wrong order. A cell's vector is [x, y, w, h, conf, classes...].",
    },
    "ch07.hint_yolo_wh_cell": {
        "ja": "ヒント: w, h をセルの大きさで割っているようです。w, h は画像全体に対する比です。"
              "セル基準なのは中心の x, y だけです。",
        "en": "Hint: you seem to divide w and h by the cell size. w and h are relative to the whole image; "
              "only the centre x, y is relative to the cell.",
    },
    "ch07.formula_yolo_wh": {"ja": "w = (x2 − x1) / img_size、h = (y2 − y1) / img_size です。",
                             "en": "w = (x2 − x1) / img_size, h = (y2 − y1) / img_size."},
    "ch07.hint_yolo_wh_pixels": {
        "ja": "ヒント: w, h が画素のままです。画像に対する比 (0〜1) にしてください。",
        "en": "Hint: w and h are still in pixels; make them relative to the image (0 to 1).",
    },
    "ch07.hint_yolo_absolute": {
        "ja": "ヒント: x, y が画像全体での中心座標になっているようです。x, y は中心がいるセルの中での位置 "
              "(セルの左上が 0、右下が 1 に近い、どちらも [0, 1) ) です。",
        "en": "Hint: x and y seem to be the centre's coordinates in the whole image. They are the centre's position "
              "inside its cell (0 at the cell's top-left, towards 1 at its bottom-right), both in [0, 1).",
    },
    "ch07.formula_yolo_xy": {"ja": "x = cx / cell − col、y = cy / cell − row です。",
                             "en": "x = cx / cell − col, y = cy / cell − row."},
    "ch07.hint_yolo_int_cell": {
        "ja": "ヒント: セルの大きさを整数の割り算 (//) で計算していませんか? img_size が S で割り切れない"
              "ときにずれます。セルの大きさは小数のままにしてください。",
        "en": "Hint: did you compute the cell size by integer division (//)? It is off when img_size is "
              "not a multiple of S: keep the cell size a float.",
    },
    "ch07.hint_yolo_border": {
        "ja": "ヒント: このケースでは中心がちょうどセルの境界の上にあります。規則は切り捨て (floor) です: "
              "中心はその境界から右 (下) のセルに入り、そのセルの中での位置は 0 になります。"
              "round や ceil − 1 では境界の上でずれます。",
        "en": "Hint: in this case a centre lies exactly on a cell border. The rule is floor: the centre belongs to "
              "the cell to the right of (below) the border, at offset 0 inside it; round or ceil − 1 differ there.",
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
})
