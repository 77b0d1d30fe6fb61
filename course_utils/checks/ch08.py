"""Chapter 08: segmentation — the metrics ``miou`` and ``dice``, and a ``UNet`` module.

Conventions checked here (the notebook states them too):

- ``miou(pred, target, num_classes)`` takes integer label maps of the same shape ((H, W) or a
  batch (N, H, W)) and returns one number: the mean over classes of
  IoU_c = |pred = c ∧ target = c| / |pred = c ∨ target = c|. A class absent from both maps is
  left out of the mean (its IoU would be 0/0); a class present in only one of them counts with
  IoU 0. Every pixel of the arrays counts (a batch is pooled, like one confusion matrix over
  the data set). The reference is the confusion matrix (and scikit-learn's ``jaccard_score``
  agrees, which the tests show).
- ``dice(pred, target)`` takes binary masks (bool or 0/1) and returns 2|A∩B| / (|A| + |B|),
  and 1.0 when both masks are empty (nothing to find, nothing found).
- ``UNet(in_channels, num_classes)`` maps (N, in_channels, H, W) to logits
  (N, num_classes, H, W) for every H and W that are multiples of 16 (the check tries 64×64,
  96×64, 32×48 and 48×80, the last divisible by 16 but not by 32, so four halvings are the most a
  fixed-size design may use; a model that resizes or pads may use more). Structure is judged
  from what the forward pass computes (as for ``lenet`` in chapter 06): the input is followed
  through the torch functions called, and the model must lower the resolution somewhere
  (pooling or a strided convolution), raise it again (transposed convolution, ``Upsample`` /
  ``F.interpolate``, pixel shuffle, ...) and have a skip connection: some operation (``torch.cat``,
  ``+``) must combine upsampled decoder features with encoder features that never went through
  the low resolution. So a decoder that upsamples once at the end (FCN-32s style) or
  ignores the encoder features fails with a hint; adding FCN-style skips makes it pass.
  Finally the output must vary over the pixels and with the input, and a loss must send a
  gradient to every parameter.
"""
import numpy as np
import torch
from torch.utils._pytree import tree_leaves

from ..i18n import register, t
from .core import (Check, assert_close, assert_close_or_explain, call, call_unchanged, expect, fail,
                   failure_text)
from .modules import Recorder, build, require_gradients, require_trainable, short_list

__all__ = ["miou", "dice", "unet"]

#: The sizes of the ``unet`` check: (N, H, W); all multiples of 16.
UNET_SIZES = ((2, 64, 64), (1, 96, 64), (1, 48, 80))

register({
    # ---------------------------------------------------------------- case names
    "ch08.case.miou_worked": {"ja": "手計算の例 (3×4、3 クラス): IoU = 3/5, 3/6, 3/4、mIoU = 0.6167",
                              "en": "worked example (3×4, 3 classes): IoU = 3/5, 3/6, 3/4, mIoU = 0.6167"},
    "ch08.case.miou_perfect": {"ja": "完全に一致する予測 (mIoU = 1.0)", "en": "a perfect prediction (mIoU = 1.0)"},
    "ch08.case.miou_absent": {
        "ja": "num_classes={k} だがクラス {absent} は予測にも正解にもない (平均から除く)",
        "en": "num_classes={k}, but classes {absent} are in neither map (left out of the mean)"},
    "ch08.case.miou_pred_only": {
        "ja": "クラス {cls} が予測にだけ現れる (IoU 0 として平均に入る)",
        "en": "class {cls} appears only in the prediction (counts with IoU 0)"},
    "ch08.case.miou_target_only": {
        "ja": "クラス {cls} が正解にだけある (見落とし、IoU 0 として平均に入る)",
        "en": "class {cls} is only in the target (missed; counts with IoU 0)"},
    "ch08.case.miou_batch": {"ja": "バッチ (N, H, W) = {shape}、{k} クラス (全画素をまとめて数える)",
                             "en": "a batch (N, H, W) = {shape}, {k} classes (all pixels pooled)"},
    "ch08.case.miou_voc": {"ja": "uint8 のラベル画像、num_classes=21 (PASCAL VOC と同じ)",
                           "en": "uint8 label maps, num_classes=21 (as in PASCAL VOC)"},
    "ch08.case.miou_random": {"ja": "ランダムな {shape}、{k} クラス (混同行列による計算と比較)",
                              "en": "random {shape}, {k} classes (compared with a confusion matrix)"},
    "ch08.case.dice_worked": {"ja": "手計算の例 (4×4): |A|=6, |B|=5, |A∩B|=4 → Dice = 8/11",
                              "en": "worked example (4×4): |A|=6, |B|=5, |A∩B|=4 → Dice = 8/11"},
    "ch08.case.dice_both_empty": {"ja": "予測も正解も空のマスク (Dice = 1.0)",
                                  "en": "both masks empty (Dice = 1.0)"},
    "ch08.case.dice_one_empty": {"ja": "予測だけが空 (Dice = 0.0)", "en": "only the prediction is empty (Dice = 0.0)"},
    "ch08.case.dice_target_empty": {"ja": "正解だけが空で予測に画素がある (Dice = 0.0)",
                                    "en": "only the target is empty, the prediction is not (Dice = 0.0)"},
    "ch08.case.dice_perfect": {"ja": "完全に一致するマスク (Dice = 1.0)", "en": "identical masks (Dice = 1.0)"},
    "ch08.case.dice_int": {"ja": "0/1 の整数マスク (uint8) {shape}", "en": "0/1 integer masks (uint8) {shape}"},
    "ch08.case.dice_random": {"ja": "ランダムな bool マスク {shape}", "en": "random bool masks {shape}"},
    "ch08.case.unet_build": {"ja": "UNet({cin}, {k}) を作る", "en": "build UNet({cin}, {k})"},
    "ch08.case.unet_forward": {"ja": "形 {inp} の入力 (num_classes={k})", "en": "input of shape {inp} (num_classes={k})"},
    "ch08.case.unet_varies": {"ja": "出力が画素ごと・入力ごとに変わる", "en": "the output varies over pixels and inputs"},
    "ch08.case.unet_down": {"ja": "ダウンサンプリング (エンコーダ)", "en": "downsampling (encoder)"},
    "ch08.case.unet_up": {"ja": "アップサンプリング (デコーダ)", "en": "upsampling (decoder)"},
    "ch08.case.unet_skip": {"ja": "スキップ接続 (エンコーダの特徴をデコーダへ)",
                            "en": "skip connections (encoder features into the decoder)"},
    "ch08.case.unet_grad": {"ja": "全パラメータに勾配が届く", "en": "gradients reach every parameter"},
    # ---------------------------------------------------------------- miou hints
    "ch08.miou_scalar": {
        "ja": "ヒント: mIoU は 1 つの数 (クラスごとの IoU の平均) です。クラスごとの IoU の配列ではなく、その平均を返してください。",
        "en": "Hint: mIoU is one number, the mean of the per-class IoUs; return their mean, not the array of IoUs."},
    "ch08.miou_nan": {
        "ja": ("ヒント: 予測にも正解にもないクラスでは和集合が 0 なので、IoU = 0/0 = NaN になります。"
               "そういうクラスは平均から除いてください (和集合 > 0 のクラスだけで平均する、または np.nanmean)。"),
        "en": ("Hint: for a class in neither map the union is 0, so IoU = 0/0 = NaN. Leave such classes out "
               "of the mean (average only the classes whose union > 0, or use np.nanmean).")},
    "ch08.miou_all_classes": {
        "ja": ("ヒント: 予測にも正解にもないクラスまで数に入れて、num_classes で割っているようです。"
               "そのクラスの IoU は 0/0 で定義できないので、平均から除きます (0 として数えると mIoU が不当に下がります)。"),
        "en": ("Hint: you seem to divide by num_classes, counting classes that are in neither map. Their IoU is "
               "0/0, undefined, so they are left out of the mean (counting them as 0 drags mIoU down unfairly).")},
    "ch08.miou_absent_one": {
        "ja": "ヒント: 予測にも正解にもないクラスを IoU = 1 として数えているようです。そのクラスは平均から除いてください。",
        "en": "Hint: you seem to count a class that is in neither map as IoU = 1; leave it out of the mean."},
    "ch08.miou_accuracy": {
        "ja": ("ヒント: 結果が画素正解率 (pixel accuracy、一致した画素の割合) と同じです。mIoU はクラスごとに "
               "|予測 ∩ 正解| / |予測 ∪ 正解| を求めてから、クラスについて平均します。"),
        "en": ("Hint: your result equals the pixel accuracy (the fraction of matching pixels). mIoU computes "
               "|pred ∩ target| / |pred ∪ target| for each class and then averages over the classes.")},
    "ch08.miou_target_classes": {
        "ja": ("ヒント: 正解 (target) に現れるクラスだけで平均しているようです。予測にだけ現れるクラス "
               "(誤検出) も IoU = 0 として平均に入ります。除くのは予測にも正解にもないクラスだけです。"),
        "en": ("Hint: you seem to average only over the classes present in the target. A class that appears "
               "only in the prediction (a false detection) counts too, with IoU 0; only classes in neither "
               "map are left out.")},
    "ch08.miou_pred_classes": {
        "ja": ("ヒント: 予測 (pred) に現れるクラスだけで平均しているようです。正解にあるのに予測されなかったクラス "
               "(見落とし) も IoU = 0 として平均に入ります。"),
        "en": ("Hint: you seem to average only over the classes present in the prediction. A class in the "
               "target that was never predicted (a miss) counts too, with IoU 0.")},
    "ch08.miou_dice": {
        "ja": "ヒント: 結果がクラスごとの Dice 係数 2|A∩B|/(|A|+|B|) の平均と一致しました。IoU は |A∩B|/|A∪B| です。",
        "en": "Hint: your result is the mean per-class Dice 2|A∩B|/(|A|+|B|); IoU is |A∩B|/|A∪B|."},
    "ch08.miou_background": {
        "ja": "ヒント: クラス 0 (背景) を除いているようです。ここではクラス 0 から num_classes-1 まですべて数えます。",
        "en": "Hint: you seem to skip class 0 (background); here every class from 0 to num_classes-1 counts."},
    "ch08.miou_uint8": {
        "ja": ("ヒント: 同じラベルを int64 で渡すと正しく計算できています。uint8 のまま target * num_classes + pred "
               "のような計算をすると 255 を超えたところで桁あふれします。先に .astype(np.int64) で変換してください。"),
        "en": ("Hint: with the same labels as int64 your answer is right. In uint8, arithmetic such as "
               "target * num_classes + pred wraps around above 255; convert first with .astype(np.int64).")},
    # ---------------------------------------------------------------- dice hints
    "ch08.dice_empty_zero": {
        "ja": ("ヒント: 予測も正解も空のとき (見つけるべきものがなく、何も予測しなかった) は完全に正しいので "
               "Dice = 1.0 とします。|A| + |B| = 0 の場合を先に処理してください。"),
        "en": ("Hint: when both masks are empty (nothing to find and nothing predicted) the prediction is perfect: "
               "Dice = 1.0. Handle |A| + |B| = 0 before dividing.")},
    "ch08.dice_empty_nan": {
        "ja": "ヒント: 両方のマスクが空だと 0/0 で NaN になります。|A| + |B| = 0 のときは 1.0 を返してください。",
        "en": "Hint: with both masks empty you compute 0/0 = NaN; return 1.0 when |A| + |B| = 0."},
    "ch08.dice_iou": {
        "ja": ("ヒント: 結果が IoU |A∩B|/|A∪B| と一致しました。Dice は 2|A∩B|/(|A|+|B|) です "
               "(Dice = 2 IoU / (1 + IoU))。"),
        "en": "Hint: your result equals the IoU |A∩B|/|A∪B|; Dice is 2|A∩B|/(|A|+|B|) (Dice = 2 IoU / (1 + IoU))."},
    "ch08.dice_bool_sum": {
        "ja": ("ヒント: 分母が |A∪B| になっています。NumPy では bool 配列どうしの + は論理和 (or) なので、"
               "(pred + target).sum() は |A| + |B| ではなく |A∪B| です。pred.sum() + target.sum() と書くか、"
               "先に整数に変換してください。"),
        "en": ("Hint: your denominator is |A∪B|. In NumPy, + on two bool arrays is a logical or, so "
               "(pred + target).sum() is |A∪B|, not |A| + |B|. Write pred.sum() + target.sum(), or convert to int first.")},
    "ch08.dice_no_two": {
        "ja": "ヒント: 分子の 2 を忘れていませんか? Dice = 2|A∩B|/(|A|+|B|) (完全一致で 1 になります)。",
        "en": "Hint: did you forget the 2? Dice = 2|A∩B|/(|A|+|B|), which is 1 for identical masks."},
    "ch08.dice_accuracy": {
        "ja": "ヒント: 結果が画素正解率 (一致した画素の割合) と同じです。Dice は前景 (True の画素) だけを数えます。",
        "en": "Hint: your result equals the pixel accuracy; Dice counts foreground (True) pixels only."},
    "ch08.dice_scalar": {
        "ja": "ヒント: Dice 係数は 2 つのマスク全体について 1 つの数を返します (画素ごとや画像ごとの配列ではありません)。",
        "en": "Hint: the Dice coefficient is one number for the two masks as a whole (not an array per pixel or per image)."},
    # ---------------------------------------------------------------- unet
    "ch08.unet_not_tensor": {
        "ja": "forward の返り値は形 (N, num_classes, H, W) の torch.Tensor (ロジット) にしてください。返りは {got} でした。",
        "en": "forward should return a torch.Tensor of logits shaped (N, num_classes, H, W); it returned {got}."},
    "ch08.unet_shape": {
        "ja": "入力 {inp} に対する出力の形が違います。期待 {expected}、実際 {got}。",
        "en": "Wrong output shape for input {inp}: expected {expected}, got {got}."},
    "ch08.unet_classes": {
        "ja": ("最後の層 (1×1 畳み込み) の出力チャネル数を num_classes にしてください "
               "(決め打ちの数や in_channels になっていませんか?)。"),
        "en": ("Give the last layer (a 1×1 convolution) num_classes output channels "
               "(not a hard-coded number, not in_channels).")},
    "ch08.unet_halved": {
        "ja": ("解像度が 1/{f} になっています。デコーダでは、エンコーダで解像度を下げた回数 (プーリング) と同じ回数だけ "
               "アップサンプリング (nn.ConvTranspose2d(..., kernel_size=2, stride=2) など) して元の大きさに戻します。"),
        "en": ("The resolution came out divided by {f}. The decoder must upsample (e.g. nn.ConvTranspose2d(..., "
               "kernel_size=2, stride=2)) as many times as the encoder downsampled, back to the input size.")},
    "ch08.unet_shrunk": {
        "ja": ("出力が入力より少し小さくなっています。3×3 の畳み込みを padding なし (valid) で使うと 1 回ごとに "
               "2 画素ずつ縮みます。nn.Conv2d(..., kernel_size=3, padding=1) にしてください "
               "(元論文のように縮めるなら、最後に入力の大きさへ戻す必要があります)。"),
        "en": ("The output is a little smaller than the input. A 3×3 convolution without padding (\"valid\") "
               "loses 2 pixels each time; use nn.Conv2d(..., kernel_size=3, padding=1) (or, as in the original "
               "paper, shrink and then bring the output back to the input size).")},
    "ch08.unet_grown": {
        "ja": "出力が入力より大きくなっています。アップサンプリングの回数がダウンサンプリングより多くありませんか?",
        "en": "The output is larger than the input. Do you upsample more often than you downsample?"},
    "ch08.unet_sizes": {
        "ja": ("この演習では H と W が 16 の倍数 (ここでは {inp}、H と W は違ってもよい) ならどれでも動くことを求めます。"
               "プーリングは 4 回まで (48 は 16 の倍数ですが 32 の倍数ではありません)、H と W を取り違えないこと、"
               "あるいはスキップ接続の前に F.interpolate(x, size=skip.shape[-2:]) で大きさを揃えることを確かめてください。"),
        "en": ("This exercise asks for any H and W that are multiples of 16 (here {inp}; H and W may differ). "
               "Use at most four halvings (48 is a multiple of 16 but not of 32), keep H and W apart, or resize "
               "with F.interpolate(x, size=skip.shape[-2:]) before joining a skip connection.")},
    "ch08.unet_float": {
        "ja": "出力の dtype は浮動小数点 (float32) のはずですが {got} でした。",
        "en": "The output should be floating point (float32), got {got}."},
    "ch08.unet_nan": {"ja": "出力に NaN か無限大が含まれています。", "en": "The output contains NaN or infinity."},
    "ch08.unet_constant": {
        "ja": ("出力が画素によらず一定です (すべての画素で同じロジット)。セグメンテーションでは画素ごとにクラスを予測します。"
               "全体プーリング (global pooling) や全結合層で 1 つのベクトルにまとめてから広げていませんか?"),
        "en": ("The output is the same at every pixel (the same logits everywhere). Segmentation predicts a class "
               "per pixel; did you pool globally or use a fully connected layer and then spread one vector out?")},
    "ch08.unet_same_for_inputs": {
        "ja": "違う画像を入れても出力が同じです。出力が入力 x から計算されているか確かめてください。",
        "en": "Different images give the same output; make sure the output is computed from the input x."},
    "ch08.unet_no_down": {
        "ja": ("forward の中で解像度を下げる処理が見つかりません (呼ばれた関数: {calls})。U-Net のエンコーダは "
               "nn.MaxPool2d(2) (または stride=2 の畳み込み) で解像度を半分にしながら、広い範囲の文脈を集めます。"
               "同じ解像度の畳み込みを重ねるだけでは受容野が広がりません。"),
        "en": ("No step in the forward pass lowers the resolution (functions called: {calls}). The U-Net encoder "
               "halves the resolution with nn.MaxPool2d(2) (or a stride-2 convolution) to gather wider context; "
               "convolutions at full resolution alone keep the receptive field small.")},
    "ch08.unet_no_up": {
        "ja": ("forward の中で解像度を上げる処理が見つかりません (呼ばれた関数: {calls})。デコーダでは "
               "nn.ConvTranspose2d(..., kernel_size=2, stride=2)、nn.Upsample / F.interpolate、nn.PixelShuffle "
               "などで解像度を戻します。"),
        "en": ("No step in the forward pass raises the resolution (functions called: {calls}). The decoder brings "
               "it back with nn.ConvTranspose2d(..., kernel_size=2, stride=2), nn.Upsample / F.interpolate, "
               "nn.PixelShuffle or the like.")},
    "ch08.unet_no_skip": {
        "ja": ("スキップ接続が見つかりません。アップサンプリングしたデコーダの特徴と、同じ解像度のエンコーダの特徴を "
               "torch.cat([up, enc], dim=1) (または足し算) で結合していません。低解像度を通った特徴だけでは細かい位置が"
               "失われます。エンコーダの各段の出力を取っておき、対応するデコーダの段で結合してください。"),
        "en": ("No skip connection found: no operation joins upsampled decoder features with encoder features "
               "of the same resolution (torch.cat([up, enc], dim=1), or an addition). Features that went through "
               "the low resolution alone lose the fine positions; keep each encoder stage's output and join it "
               "at the matching decoder stage.")},
})


# --------------------------------------------------------------------------- miou
def _confusion(pred, target, k):
    """(k, k) confusion matrix: rows the target class, columns the predicted class."""
    p = np.asarray(pred, dtype=np.int64).ravel()
    g = np.asarray(target, dtype=np.int64).ravel()
    return np.bincount(g * k + p, minlength=k * k).reshape(k, k)


def _ious(pred, target, k):
    """Per-class IoU (NaN where the class is in neither map)."""
    cm = _confusion(pred, target, k).astype(np.float64)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, np.nan)


def _miou_reference(pred, target, k):
    return float(np.nanmean(_ious(pred, target, k)))


def _miou_suspects(pred, target, k):
    ious = _ious(pred, target, k)
    present = ~np.isnan(ious)
    in_target = np.isin(np.arange(k), target)
    in_pred = np.isin(np.arange(k), pred)
    cm = _confusion(pred, target, k).astype(np.float64)
    size = cm.sum(0) + cm.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dices = np.where(size > 0, 2 * np.diag(cm) / size, np.nan)

    def mean(values, mask):
        return float(values[mask].mean()) if mask.any() else None

    return [
        (float(np.nansum(ious) / k), t("ch08.miou_all_classes")),
        (float(np.where(present, ious, 1.0).mean()), t("ch08.miou_absent_one")),
        (mean(ious, in_target), t("ch08.miou_target_classes")),
        (mean(ious, in_pred), t("ch08.miou_pred_classes")),
        (float(np.nanmean(dices)), t("ch08.miou_dice")),
        (float(np.mean(np.asarray(pred) == np.asarray(target))), t("ch08.miou_accuracy")),
        (mean(ious[1:], present[1:]) if k > 1 else None, t("ch08.miou_background")),
    ]


def _scalar(got, hint_text):
    """Accept a number (or a one-element array); a longer array fails with ``hint_text``."""
    if isinstance(got, (np.ndarray, torch.Tensor)) and got.ndim > 0:
        if int(np.prod(got.shape)) == 1:
            return got.reshape(())
        fail(f"{failure_text(assert_close, got, 0.0)}\n{hint_text}")
    return got


def _miou_worked():
    target = np.array([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [2, 2, 2, 2]])
    pred = np.array([[0, 0, 0, 1],
                     [0, 1, 1, 1],
                     [2, 2, 2, 1]])
    return pred, target


def _miou_cases():
    """(case key, values for its name, pred, target, num_classes)."""
    rng = np.random.default_rng(8)
    pred, target = _miou_worked()
    cases = [("ch08.case.miou_worked", {}, pred, target, 3)]
    perfect = rng.integers(0, 4, size=(6, 7))
    cases.append(("ch08.case.miou_perfect", {}, perfect.copy(), perfect, 4))
    cases.append(("ch08.case.miou_absent", {"k": 5, "absent": "3, 4"}, pred, target, 5))
    pred_only = pred.copy()
    pred_only[2, 3] = 3           # a false detection of class 3
    cases.append(("ch08.case.miou_pred_only", {"cls": 3}, pred_only, target, 4))
    missed = np.array([[0, 0, 1, 1],
                       [0, 0, 1, 1],
                       [0, 0, 1, 1]])
    cases.append(("ch08.case.miou_target_only", {"cls": 2}, missed, target, 3))
    labels = np.array([0, 1, 2, 4])            # class 3 absent from both
    g = labels[rng.integers(0, 4, size=(3, 10, 12))]
    p = np.where(rng.random(g.shape) < 0.3, labels[rng.integers(0, 4, size=g.shape)], g)
    cases.append(("ch08.case.miou_batch", {"shape": g.shape, "k": 5}, p, g, 5))
    g = rng.integers(0, 21, size=(16, 16)).astype(np.uint8)
    p = np.where(rng.random(g.shape) < 0.4, rng.integers(0, 21, size=g.shape), g).astype(np.uint8)
    cases.append(("ch08.case.miou_voc", {}, p, g, 21))
    for shape, k in (((20, 24), 3), ((32, 32), 6), ((2, 15, 9), 8)):
        g = rng.integers(0, k, size=shape)
        p = np.where(rng.random(shape) < 0.5, rng.integers(0, k, size=shape), g)
        cases.append(("ch08.case.miou_random", {"shape": shape, "k": k}, p, g, k))
    return cases


def miou(func):
    """``miou(pred, target, num_classes)``: mean IoU over the classes present in pred or target."""
    with Check("miou") as c:
        for key, values, pred, target, k in _miou_cases():
            c.case(t(key, **values))
            got = _scalar(call_unchanged(func, pred, target, k), t("ch08.miou_scalar"))
            expected = _miou_reference(pred, target, k)
            message = failure_text(assert_close, got, expected, rtol=1e-6, atol=1e-9)
            if message is not None and pred.dtype == np.uint8:
                as_int = _scalar(call(func, pred.astype(np.int64), target.astype(np.int64), k), "")
                if failure_text(assert_close, as_int, expected, rtol=1e-6, atol=1e-9) is None:
                    fail(f"{message}\n{t('ch08.miou_uint8')}")
            assert_close_or_explain(got, expected, _miou_suspects(pred, target, k), rtol=1e-6, atol=1e-9,
                                    nonfinite=t("ch08.miou_nan"))


# --------------------------------------------------------------------------- dice
def _dice_reference(pred, target):
    a, b = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    size = int(a.sum()) + int(b.sum())
    return 1.0 if size == 0 else 2.0 * int((a & b).sum()) / size


def _dice_suspects(pred, target):
    a, b = np.asarray(pred, dtype=bool), np.asarray(target, dtype=bool)
    inter, union, size = int((a & b).sum()), int((a | b).sum()), int(a.sum()) + int(b.sum())
    if size == 0:
        return [(0.0, t("ch08.dice_empty_zero"))]
    return [
        (inter / union, t("ch08.dice_iou")),
        (2 * inter / union, t("ch08.dice_bool_sum")),
        (inter / size, t("ch08.dice_no_two")),
        (float((a == b).mean()), t("ch08.dice_accuracy")),
    ]


def _dice_cases():
    rng = np.random.default_rng(9)
    a = np.zeros((4, 4), dtype=bool)
    a[0:2, 0:3] = True                          # 6 pixels
    b = np.zeros((4, 4), dtype=bool)
    b[0:2, 1:3] = True                          # 4 pixels, all inside a
    b[3, 3] = True                              # and one outside: |B| = 5, |A∩B| = 4
    empty = np.zeros((5, 6), dtype=bool)
    some = rng.random((5, 6)) < 0.3
    cases = [("ch08.case.dice_worked", {}, a, b),
             ("ch08.case.dice_both_empty", {}, empty, empty.copy()),
             ("ch08.case.dice_one_empty", {}, empty, some),
             ("ch08.case.dice_target_empty", {}, some, empty.copy()),
             ("ch08.case.dice_perfect", {}, some, some.copy())]
    shape = (2, 8, 10)
    cases.append(("ch08.case.dice_int", {"shape": shape},
                  (rng.random(shape) < 0.4).astype(np.uint8), (rng.random(shape) < 0.5).astype(np.uint8)))
    for shape, pa, pb in (((32, 32), 0.3, 0.35), ((3, 16, 12), 0.6, 0.2)):
        cases.append(("ch08.case.dice_random", {"shape": shape}, rng.random(shape) < pa, rng.random(shape) < pb))
    return cases


def dice(func):
    """``dice(pred, target)``: 2|A∩B| / (|A| + |B|) of two binary masks; 1.0 when both are empty."""
    with Check("dice") as c:
        for key, values, pred, target in _dice_cases():
            c.case(t(key, **values))
            with np.errstate(invalid="ignore", divide="ignore"):
                got = _scalar(call_unchanged(func, pred, target), t("ch08.dice_scalar"))
            expected = _dice_reference(pred, target)
            empty = not (pred.any() or target.any())
            assert_close_or_explain(got, expected, _dice_suspects(pred, target), rtol=1e-6, atol=1e-9,
                                    nonfinite=t("ch08.dice_empty_nan") if empty else None)


# --------------------------------------------------------------------------- unet
def _area(x):
    return int(x.shape[-2]) * int(x.shape[-1])


class _Flow(Recorder):
    """Follows the input through the forward pass and notes how the resolution changes.

    For every floating-point tensor computed from the input it keeps ``(area, lowest, up)``:
    its spatial area H·W (inherited by tensors that are not 4-D), the lowest area on the way
    from the input, and whether it was upsampled (its area at least 1.9 times that lowest one,
    or computed from such a tensor). An operation whose 4-D result has at most 0.55 times the
    area of its input downsamples; an operation that takes an upsampled tensor and one that was
    never upsampled (torch.cat of decoder and encoder features, an addition) is a skip join.
    Small changes (valid convolutions, padding, cropping) count as neither.
    """

    def __init__(self, x):
        super().__init__()
        self.info = {id(x): (_area(x), _area(x), False)}
        self.keep = [x]           # keeps ids unique while tracked
        self.down, self.up, self.joins = [], [], []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        self.names.append(name)
        out = func(*args, **kwargs)
        seen, inputs = set(), []
        for a in tree_leaves((args, kwargs)):
            if isinstance(a, torch.Tensor) and id(a) in self.info and id(a) not in seen:
                seen.add(id(a))
                inputs.append(self.info[id(a)])
        if not inputs:
            return out
        area_in = max(i[0] for i in inputs)
        lowest_in = min(i[1] for i in inputs)
        upsampled = [i[2] for i in inputs]
        if any(upsampled) and not all(upsampled):
            self.joins.append(name)
        for o in tree_leaves(out):
            if not isinstance(o, torch.Tensor) or not o.is_floating_point():
                continue
            area = _area(o) if o.dim() == 4 else area_in
            if o.dim() == 4 and area <= 0.55 * area_in:
                self.down.append(name)
            up = any(upsampled) or area >= 1.9 * lowest_in
            if up and not any(upsampled):
                self.up.append(name)
            self.info[id(o)] = (area, min(area, lowest_in), up)
            self.keep.append(o)
        return out


def _image(n, c, h, w, generator):
    """Image-like inputs: smooth random shapes (bilinear upsampled noise) plus fine noise."""
    coarse = torch.randn(n, c, max(h // 8, 1), max(w // 8, 1), generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return 2 * smooth + torch.randn(n, c, h, w, generator=generator)


def _unet_build(UNet, c, cin, k):
    c.case(t("ch08.case.unet_build", cin=cin, k=k))
    return build(UNet, cin, k, check="unet", cls_name="UNet", signature="UNet(in_channels, num_classes)")


def _unet_forward(model, c, x, k, flow=None):
    inp = tuple(x.shape)
    c.case(t("ch08.case.unet_forward", inp=inp, k=k))
    if flow is not None:        # the first size: an error there is not about the size
        with flow:
            out = call(model, x)
    else:
        out = call(model, x, on_error=t("ch08.unet_sizes", inp=inp))
    expect(isinstance(out, torch.Tensor), t("ch08.unet_not_tensor", got=type(out).__name__))
    expected = (inp[0], k, inp[2], inp[3])
    got = tuple(out.shape)
    if got != expected:
        message = t("ch08.unet_shape", inp=inp, expected=expected, got=got)
        if len(got) != 4 or got[0] != inp[0]:
            fail(message)
        h, w = got[2:]
        if (h, w) == inp[2:]:
            fail(f"{message}\n{t('ch08.unet_classes')}")
        if 0 < h < inp[2] and 0 < w < inp[3] and inp[2] % h == 0 and inp[3] % w == 0 \
                and inp[2] // h == inp[3] // w:
            fail(f"{message}\n{t('ch08.unet_halved', f=inp[2] // h)}")
        if h <= inp[2] and w <= inp[3]:
            fail(f"{message}\n{t('ch08.unet_shrunk')}")
        if h >= inp[2] and w >= inp[3]:
            fail(f"{message}\n{t('ch08.unet_grown')}")
        fail(f"{message}\n{t('ch08.unet_sizes', inp=inp)}")
    expect(out.is_floating_point(), t("ch08.unet_float", got=out.dtype))
    expect(bool(torch.isfinite(out).all()), t("ch08.unet_nan"))
    return out


def unet(UNet):
    """``UNet(in_channels, num_classes)``: (N, C, H, W) → (N, num_classes, H, W), H and W multiples of 16.

    Tried on (N, H, W) = (2, 64, 64), (1, 96, 64), (1, 48, 80) with (in_channels, num_classes)
    = (3, 4), then on (1, 32, 48) with (1, 2) and (4, 1), and a gradient step on (2, 32, 48);
    see the module docstring for how the structure is judged.
    """
    gen = torch.Generator().manual_seed(0)
    with Check("unet") as c:
        torch.manual_seed(0)
        model = _unet_build(UNet, c, 3, 4)
        model.eval()
        (n0, h0, w0), *others = UNET_SIZES
        x = _image(n0, 3, h0, w0, generator=gen)
        flow = _Flow(x)
        with torch.no_grad():
            out = _unet_forward(model, c, x, 4, flow=flow)
            for n, h, w in others:
                _unet_forward(model, c, _image(n, 3, h, w, generator=gen), 4)

        calls = short_list(dict.fromkeys(flow.names)) or "-"
        c.case(t("ch08.case.unet_down"))
        expect(bool(flow.down), t("ch08.unet_no_down", calls=calls))
        c.case(t("ch08.case.unet_up"))
        expect(bool(flow.up), t("ch08.unet_no_up", calls=calls))
        c.case(t("ch08.case.unet_skip"))
        expect(bool(flow.joins), t("ch08.unet_no_skip"))

        c.case(t("ch08.case.unet_varies"))
        scale = 1e-6 * (1.0 + float(out.abs().max()))
        spread = out.flatten(2).std(dim=2)              # (N, classes): variation over the pixels
        expect(bool((spread > scale).any()), t("ch08.unet_constant"))
        expect(float((out[0] - out[1]).abs().max()) > scale, t("ch08.unet_same_for_inputs"))

        for cin, k in ((1, 2), (4, 1)):
            other = _unet_build(UNet, c, cin, k)
            other.eval()
            with torch.no_grad():
                _unet_forward(other, c, _image(1, cin, 32, 48, generator=gen), k)

        c.case(t("ch08.case.unet_grad"))
        require_trainable(model)
        model.train()
        model.zero_grad(set_to_none=True)
        x = _image(2, 3, 32, 48, generator=gen)
        target = torch.randint(0, 4, (2, 32, 48), generator=gen)
        out = _unet_forward(model, c, x, 4)
        c.case(t("ch08.case.unet_grad"))
        require_gradients(model, out, lambda logits: torch.nn.functional.cross_entropy(logits, target))
