"""Non-maximum suppression: NumPy (the greedy loop of chapter 07) vs ``torchvision.ops.nms``.

Candidate boxes like a detector's (xyxy, float32): about 25 noisy candidates per object,
objects spread over a 1000×1000 image, distinct scores, IoU threshold 0.5; 1,000 and 10,000
boxes. The candidates and the measurement (median after a warm-up, CUDA-synchronised, the
same boxes kept in the same order by every variant, asserted) are
``course_utils.timing.nms_candidates`` / ``nms_speed``, which chapter 07's notebook uses for
its own table; ``run()`` returns a Markdown section.
"""
import numpy as np

from course_utils.timing import NMS_IOU_THRESHOLD as IOU_THRESHOLD
from course_utils.timing import NMS_SIZES as SIZES
from course_utils.timing import nms_candidates as make_boxes  # noqa: F401  (the candidates, by their old name)
from course_utils.timing import nms_speed, threads


def nms_numpy(boxes, scores, iou_threshold: float = IOU_THRESHOLD):
    """Greedy NMS: keep the best box, drop the rest that overlap it by IoU > threshold, repeat.

    Returns the kept indices, best score first (as torchvision does).
    """
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def run(quick: bool = False) -> str:
    import torch
    from torchvision.ops import nms

    repeat = 3 if quick else 7
    cuda = torch.cuda.is_available()
    variants = {"numpy": (nms_numpy, "numpy"), "cpu": (nms, "cpu")}
    if cuda:
        variants["gpu"] = (nms, "cuda")
    rows = nms_speed(variants, SIZES, IOU_THRESHOLD, repeat=repeat)
    header = "| boxes | kept | NumPy (s) | torchvision CPU (s) | NumPy / torchvision CPU |"
    rule = "|---:|---:|---:|---:|---:|"
    if cuda:
        header += " torchvision GPU (s) | NumPy / GPU |"
        rule += "---:|---:|"
    lines = ["## Non-maximum suppression (chapter 07)", "",
             "Detector-like candidates: ~25 noisy xyxy boxes per object (objects of 20–120 px in a 1000×1000 image), "
             f"distinct scores, IoU threshold {IOU_THRESHOLD}; median of {repeat} runs after a warm-up "
             "(`course_utils.timing.nms_speed`, as in chapter 07). NumPy: the greedy loop (one vectorised IoU row "
             "per kept box); torchvision: `torchvision.ops.nms`. All keep the same boxes in the same order "
             "(asserted).", "", header, rule]
    for r in rows:
        line = (f"| {r['boxes']:,} | {r['kept']:,} | {r['numpy']:.4g} | {r['cpu']:.4g} "
                f"| {r['numpy'] / r['cpu']:.3g}× |")
        if cuda:
            line += f" {r['gpu']:.4g} | {r['numpy'] / r['gpu']:.3g}× |"
        lines.append(line)
    lines += ["", f"torch threads: {threads()}. Ratio above 1: NumPy is slower. The NumPy loop "
              "does one vectorised IoU row per *kept* box over the shrinking set of survivors; torchvision's CPU kernel "
              "is the same greedy algorithm in scalar C++ (for each kept box, a loop over every later box), so the "
              "gap closes as the number of boxes grows. "
              + (f"GPU: {torch.cuda.get_device_name(0)}. " if cuda else "")
              + "Timings on a shared machine are approximate.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
