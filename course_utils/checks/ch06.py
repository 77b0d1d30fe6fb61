"""Chapter 06: the ``lenet`` exercise (a LeNet-5 style ``nn.Module``).

How the structure is judged: from what the forward pass actually computes. The check runs
the model once under :class:`torch.overrides.TorchFunctionMode` and records the names of the
torch functions called, so ``nn.Conv2d`` / ``nn.MaxPool2d`` modules and functional calls
(``F.conv2d``, ``F.max_pool2d``, ``F.avg_pool2d``, ...) count alike, and a layer that is
defined but never used does not count.

Parameter band: LeNet-5 on 28x28 inputs (conv 5x5 with padding 2: 1→6, pool, conv 5x5 6→16,
pool, fully connected 400→120→84→10) has 61,706 parameters; without the padding (16·4·4
inputs to the first FC layer) it has 44,426. The accepted band 40,000–100,000 admits both
and small additions (batch norm, a wider FC layer) but not a network of another size class.
"""
import re

import torch

from ..i18n import register, t
from .core import Case, Check, Failure, expect, fail, seed
from .modules import (HEAD, REGISTERED, Recorder, build, checked_output, count_parameters, require_head_follows,
                      require_input_unchanged, require_logits_from_nonlinear, require_registered,
                      require_training_step, run_forward, short_list, squashes_logits)

__all__ = ["lenet"]

LENET5_PARAMS = 61_706
PARAM_BAND = (40_000, 100_000)

CONV = Case("ch06.case.conv")
POOL = Case("ch06.case.pool")
PARAMS = Case("ch06.case.params")
CONV_NAMES = ("conv2d", "convolution", "_convolution", "conv_transpose2d")
_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")


def _build(LeNet, c: Check, num_classes):
    c.case(Case("ch06.case.build", values={"c": num_classes}).title)
    return build(LeNet, num_classes=num_classes, check="lenet", cls_name="LeNet",
                 signature="LeNet(num_classes=...)")


def _forward(model, c: Check, x, num_classes, trace=None):
    """The case "input of shape ...": ``model(x)``, a float tensor (N, num_classes) of finite values."""
    inp, expected = tuple(x.shape), (x.shape[0], num_classes)
    c.case(Case("ch06.case.forward", (x,), values={"inp": inp, "c": num_classes}).title)
    before = x.detach().clone()
    try:
        out = run_forward(model, x, trace=trace)
    except Failure as failure:
        _explain_matmul(failure)
        raise
    require_input_unchanged(x, before)
    return checked_output(out, expected, "ch06.not_tensor",
                          lambda got: fail(t("ch06.shape", inp=inp, expected=expected, got=got)))


def _explain_matmul(failure: Failure) -> None:
    """A raw "mat1 and mat2 shapes cannot be multiplied" from the first Linear: name the mistake."""
    match = _MATMUL.search(str(failure.__context__ or ""))
    if not match:
        return
    got, want = int(match.group(2)), int(match.group(3))
    extra = t("ch06.padding_lenet") if (got, want) == (256, 400) else t("ch06.padding_other")
    fail(f"{failure}\n{t('ch06.padding', want=want, got=got, extra=extra)}")


def _convolutions(calls) -> int:
    """How many convolutions the forward pass computed: conv2d, or chapter 04's im2col
    (F.unfold / im2col and a matrix product)."""
    return sum(1 for name in calls if name in CONV_NAMES) + max(calls.count("unfold"), calls.count("im2col"))


def lenet(LeNet):
    """``LeNet(num_classes=10)``: an ``nn.Module`` mapping (N, 1, 28, 28) to (N, num_classes)."""
    gen = torch.Generator().manual_seed(seed(0))
    with Check("lenet") as c:
        torch.manual_seed(0)
        model = _build(LeNet, c, 10)
        model.eval()
        trace = Recorder(model)
        with torch.no_grad():
            x = torch.rand(3, 1, 28, 28, generator=gen)
            out = _forward(model, c, x, 10, trace=trace)
            _forward(model, c, torch.rand(1, 1, 28, 28, generator=gen), 10)
        c.case(REGISTERED.title)
        require_registered(trace)
        require_logits_from_nonlinear(c, model, out, torch.randn(4, 1, 28, 28, generator=gen),
                                      torch.randn(4, 1, 28, 28, generator=gen), made_by=trace.producer(out),
                                      after_head=squashes_logits(model, x, trace))

        c.case(CONV.title)
        n_conv = _convolutions(trace.names)
        expect(n_conv >= 2, t("ch06.no_conv", n=n_conv))
        c.case(POOL.title)
        expect(any("pool" in name for name in trace.names),
               t("ch06.no_pool", calls=short_list(dict.fromkeys(trace.names)) or "-"))
        c.case(PARAMS.title)
        expect(len(list(model.parameters())) > 0, t("module.no_params"))
        n_params = count_parameters(model)
        lo, hi = PARAM_BAND
        expect(lo <= n_params <= hi, t("ch06.params", n=n_params, ref=LENET5_PARAMS, lo=lo, hi=hi))

        other = _build(LeNet, c, 7)
        other.eval()
        with torch.no_grad():
            _forward(other, c, torch.rand(5, 1, 28, 28, generator=gen), 7)
        c.case(HEAD.title)
        require_head_follows(model, other, "LeNet(num_classes=10)", "LeNet(num_classes=7)")

        x = torch.rand(8, 1, 28, 28, generator=gen)
        target = torch.randint(0, 10, (8,), generator=gen)
        require_training_step(c, model, x, target, lambda m, batch: _forward(m, c, batch, 10))


register({
    # ---------------------------------------------------------------- case names
    "ch06.case.build": {"ja": "LeNet(num_classes={c}) を作る", "en": "build LeNet(num_classes={c})"},
    "ch06.case.forward": {"ja": "形 {inp} の入力 (num_classes={c})", "en": "input of shape {inp} (num_classes={c})"},
    "ch06.case.conv": {"ja": "畳み込み層", "en": "convolution layers"},
    "ch06.case.pool": {"ja": "プーリング層", "en": "pooling layers"},
    "ch06.case.params": {"ja": "パラメータ数 (LeNet-5 の規模)", "en": "parameter count (LeNet-5 range)"},
    # ---------------------------------------------------------------- hints
    "ch06.not_tensor": {
        "ja": "forward の返り値は形 (N, num_classes) の torch.Tensor (ロジット) にしてください。返りは {got} でした。",
        "en": "forward should return a torch.Tensor of logits shaped (N, num_classes); it returned {got}."},
    "ch06.shape": {
        "ja": ("入力 {inp} に対する出力の形が違います。期待 {expected}、実際 {got}。"
               "最後の全結合層の出力数を num_classes にしていますか? (10 の決め打ちになっていませんか?)"),
        "en": ("Wrong output shape for input {inp}: expected {expected}, "
               "got {got}. Does the last fully connected layer output "
               "num_classes values (not a hard-coded 10)?")},
    "ch06.no_conv": {
        "ja": ("forward の中で畳み込み (conv2d) が {n} 回しか計算されていません。LeNet-5 "
               "は畳み込み層を (少なくとも) 2 つ持ちます (C1: 1→6, C3: 6→16, 5×5)。画像をいきなり平坦化 "
               "(flatten) して全結合層に入れると、それは多層パーセプトロンで、画像の 2 次元の構造を使えません。"
               "nn.Conv2d を使い、forward で実際に呼んでください。"),
        "en": ("The forward pass computes only {n} convolution(s) (conv2d). "
               "LeNet-5 has (at least) two convolution layers (C1: "
               "1→6, C3: 6→16, 5×5). Flattening the image straight "
               "into fully connected layers makes a multilayer perceptron "
               "that ignores the 2-D structure. Use nn.Conv2d and call "
               "it in forward.")},
    "ch06.no_pool": {
        "ja": ("forward の中でプーリングが見つかりません (呼ばれた関数: {calls})。LeNet-5 "
               "は畳み込みのあとにプーリング (S2, S4) で解像度を半分にします。nn.MaxPool2d(2) "
               "か nn.AvgPool2d(2) (または F.max_pool2d / F.avg_pool2d) "
               "を入れてください。"),
        "en": ("No pooling found in the forward pass (functions called: "
               "{calls}). LeNet-5 halves the resolution with pooling "
               "(S2, S4) after each convolution. Add nn.MaxPool2d(2) "
               "or nn.AvgPool2d(2) (or F.max_pool2d / F.avg_pool2d).")},
    "ch06.padding": {
        "ja": ("最初の全結合層は {want} 個の特徴を受け取るように作られていますが、実際に来たのは {got} 個です。"
               "{extra}"),
        "en": ("The first fully connected layer is built for {want} input features but receives {got}. {extra}")},
    "ch06.padding_lenet": {
        "ja": ("28×28 の入力では、1 層目の 5×5 の畳み込みに padding=2 がないと 28 → 24 → (プーリング) 12 → 8 → 4 と縮み、"
               "16×4×4 = 256 個になります。LeNet-5 は 32×32 の入力を想定しているので、28×28 では C1 に padding=2 を付けて "
               "16×5×5 = 400 個にします。"),
        "en": ("On 28×28 inputs, a 5×5 first convolution without padding=2 shrinks 28 → 24 → (pool) 12 → 8 → 4, "
               "giving 16×4×4 = 256 features. LeNet-5 was designed for 32×32 inputs: on 28×28, give C1 padding=2 "
               "to reach 16×5×5 = 400.")},
    "ch06.padding_other": {
        "ja": "平坦化 (flatten) する直前の特徴マップの形を print して、nn.Linear の in_features をそれに合わせてください。",
        "en": "Print the shape of the feature map just before the flatten and make nn.Linear's in_features match it."},
    "ch06.params": {
        "ja": ("パラメータ数が {n:,} 個です。LeNet-5 (28×28 入力、1 層目に padding=2) "
               "は {ref:,} 個なので、{lo:,}〜{hi:,} 個の範囲を期待しています。チャネル数 (6, "
               "16)、カーネル 5×5、全結合層 (120, 84, num_classes) を確かめてください。"),
        "en": ("The model has {n:,} parameters. LeNet-5 (28×28 input, "
               "padding=2 on the first layer) has {ref:,}, so {lo:,} "
               "to {hi:,} is expected. Check the channels (6, 16), "
               "the 5×5 kernels and the fully connected layers (120, "
               "84, num_classes).")},
})
