"""Chapter 09: GANs — the discriminator and generator losses, ``gan_losses(d_loss, g_loss)``.

Conventions checked here (the notebook states them too):

- Both functions take torch tensors of *logits* (the discriminator's output before the
  sigmoid), of any shape ((N,) or (N, 1)), and return a scalar torch tensor (shape () or one
  element) that is still part of the autograd graph.
- ``d_loss(real_logits, fake_logits)`` = BCE(real, 1) + BCE(fake, 0), each term a mean over
  its own batch (the two batches may differ in size).
- ``g_loss(fake_logits)`` = BCE(fake, 1), the non-saturating loss −log D(G(z)) (not the
  saturating log(1 − D(G(z))) of the original minimax game, whose gradient vanishes while
  the discriminator easily wins).
- The reference is ``F.binary_cross_entropy_with_logits``. The cases include logits of ±100
  and ±200: there ``torch.log(torch.sigmoid(x))`` gives −inf (σ(−200) is 0 in float32, and
  1 − σ(100) is 0), and ``F.binary_cross_entropy(torch.sigmoid(x), y)`` clamps the log at
  −100, so both fail; ``F.binary_cross_entropy_with_logits`` or ``F.logsigmoid`` /
  ``F.softplus`` pass.
- The gradient of the student's loss with respect to the logits must equal the reference
  gradient (so a ``.detach()``, ``.item()`` or ``torch.no_grad()`` on the way fails).

The cases of both losses are core :class:`~.core.Case` records (``values["name"]`` says which
loss); the typical wrong losses are :class:`~.core.Mistake` records compared by
:func:`~.core.compare`; the gradients are compared in this module's own loop.
"""
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ..i18n import register, t
from .core import Case, Check, Mistake, call, compare, expect, fail, failure_text, require_callable, seed

__all__ = ["gan_losses"]


def _bce(x, label, reduction="mean"):
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, float(label)), reduction=reduction)


def _clamped(x, label):
    return F.binary_cross_entropy(torch.sigmoid(x), torch.full_like(x, float(label)))


def _d_ref(real, fake):
    return _bce(real, 1) + _bce(fake, 0)


def _g_ref(fake):
    return _bce(fake, 1)


def _concatenated(real, fake):
    """One mean over real and fake together, instead of one mean per batch."""
    labels = torch.cat([torch.ones(real.numel()), torch.zeros(fake.numel())])
    return F.binary_cross_entropy_with_logits(torch.cat([real.flatten(), fake.flatten()]), labels)


D_MISTAKES = [Mistake(lambda real, fake: _clamped(real, 1) + _clamped(fake, 0), "ch09.clamped"),
              Mistake(lambda real, fake: _bce(real, 1, "sum") + _bce(fake, 0, "sum"), "ch09.sum"),
              Mistake(_concatenated, "ch09.concat"),
              Mistake(lambda real, fake: _bce(real, 0) + _bce(fake, 1), "ch09.swapped"),
              Mistake(lambda real, fake: -_d_ref(real, fake), "ch09.sign"),
              Mistake(lambda real, fake: _bce(real, 1), "ch09.one_term"),
              Mistake(lambda real, fake: _bce(fake, 0), "ch09.one_term")]
G_MISTAKES = [Mistake(lambda fake: _clamped(fake, 1), "ch09.clamped"),
              Mistake(lambda fake: -_bce(fake, 0), "ch09.saturating"),
              Mistake(lambda fake: _bce(fake, 0), "ch09.g_label"),
              Mistake(lambda fake: _bce(fake, 1, "sum"), "ch09.sum"),
              Mistake(lambda fake: -_g_ref(fake), "ch09.g_sign")]
# each loss: (reference, named mistakes, the names of its arguments)
LOSSES = {"d_loss": (_d_ref, D_MISTAKES, ("real_logits", "fake_logits")),
          "g_loss": (_g_ref, G_MISTAKES, ("fake_logits",))}


def _listed(values) -> str:
    """Logits for a case name: [2, -1, 0.5, 3]."""
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def _gan_cases():
    """The cases of both losses; ``values["name"]`` says which loss a case is for."""
    gen = torch.Generator().manual_seed(seed(9))
    randn = lambda *shape: torch.randn(*shape, generator=gen)
    real_w, fake_w = [2.0, -1.0, 0.5, 3.0], [-2.0, 0.0, 1.5, -0.5]
    large = [100.0, -100.0, 200.0, -200.0, 0.5]
    d, g = {"name": "d_loss"}, {"name": "g_loss"}
    return [
        Case("ch09.case.worked", (torch.tensor(real_w), torch.tensor(fake_w)),
             values={**d, "real": _listed(real_w), "fake": _listed(fake_w)}),
        Case("ch09.case.column", (randn(8, 1), randn(8, 1)), values={**d, "shape": (8, 1)}),
        Case("ch09.case.sizes", (randn(6) + 1.0, randn(3) - 1.0), values={**d, "nr": 6, "nf": 3}),
        Case("ch09.case.large", (torch.tensor(large), torch.tensor(large[::-1])), values={**d, "values": _listed(large)}),
        Case("ch09.case.random", (3 * randn(64), 3 * randn(64)), values={**d, "shape": (64,)}),
        Case("ch09.case.worked_g", (torch.tensor(fake_w),), values={**g, "fake": _listed(fake_w)}),
        Case("ch09.case.column", (randn(8, 1),), values={**g, "shape": (8, 1)}),
        Case("ch09.case.large", (torch.tensor(large),), values={**g, "values": _listed(large)}),
        Case("ch09.case.random", (3 * randn(64),), values={**g, "shape": (64,)}),
    ]


def _scalar(out, name):
    """The student's loss as a 0-dim tensor, or a clear failure (a loss must stay a tensor in the graph)."""
    if isinstance(out, (numbers.Number, np.generic)) and not isinstance(out, bool):
        fail(t("ch09.python_number", name=name, got=repr(out), kind=type(out).__name__))
    if not isinstance(out, torch.Tensor):
        fail(t("ch09.not_tensor", name=name, got=type(out).__name__))
    if out.numel() != 1:
        fail(t("ch09.not_scalar", name=name, got=tuple(out.shape)))
    expect(out.is_floating_point(), t("check.dtype", expected="float", got=out.dtype))
    return out.reshape(())


def _compare_gradients(name, out, leaves, inputs, reference, arg_names):
    """The gradient of the student's loss with respect to each input, against the reference's."""
    expect(out.requires_grad, t("ch09.detached", name=name))
    grads = call(torch.autograd.grad, out, leaves, allow_unused=True)
    ref_leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    ref_grads = torch.autograd.grad(reference(*ref_leaves), ref_leaves)
    for arg, g, r, x in zip(arg_names, grads, ref_grads, inputs):
        expect(g is not None, t("ch09.no_grad_to", name=name, arg=arg))
        # compare where the loss is smooth: at a logit of exactly 0 the textbook stable form
        # max(x, 0) - x·z + log1p(exp(-|x|)) has a sub-gradient of its own
        smooth = x.detach() != 0
        message = failure_text(compare, g.double()[smooth], r.double()[smooth], rtol=1e-4, atol=1e-7)
        if message is not None:
            fail(f"{t('ch09.grad_wrong', name=name, arg=arg)}\n{message}")


def _run(func, name, inputs):
    """Call ``func`` on leaf copies of ``inputs``; compare its value (named mistakes) and its gradient."""
    reference, mistakes, arg_names = LOSSES[name]
    require_callable(func, name)
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = _scalar(call(func, *leaves), name)
    plain = [x.detach().clone() for x in inputs]
    compare(out.detach().double(), reference(*plain).double(), mistakes, plain, rtol=1e-5, atol=1e-5,
            nonfinite=t("ch09.overflow"))
    _compare_gradients(name, out, leaves, inputs, reference, arg_names)


def gan_losses(d_loss, g_loss):
    """``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits)``, checked against torch's BCE."""
    funcs = {"d_loss": d_loss, "g_loss": g_loss}
    with Check("gan_losses") as c:
        for case in _gan_cases():
            c.case(case.title)
            _run(funcs[case.values["name"]], case.values["name"], case.args)


register({
    # ---------------------------------------------------------------- case names
    "ch09.case.worked": {"ja": "{name}: 小さな例 real = {real}, fake = {fake}",
                         "en": "{name}: small example real = {real}, fake = {fake}"},
    "ch09.case.worked_g": {"ja": "{name}: 小さな例 fake = {fake}", "en": "{name}: small example fake = {fake}"},
    "ch09.case.column": {"ja": "{name}: 識別器の出力の形 (N, 1) = {shape}", "en": "{name}: discriminator output shaped (N, 1) = {shape}"},
    "ch09.case.sizes": {"ja": "{name}: 本物 {nr} 個、偽物 {nf} 個 (バッチの大きさが違う)",
                        "en": "{name}: {nr} real and {nf} fake samples (batches of different sizes)"},
    "ch09.case.large": {"ja": "{name}: 大きなロジット {values} (オーバーフロー)",
                        "en": "{name}: large logits {values} (overflow)"},
    "ch09.case.random": {"ja": "{name}: ランダムなバッチ {shape} (F.binary_cross_entropy_with_logits と比較)",
                         "en": "{name}: random batch {shape} (compared with F.binary_cross_entropy_with_logits)"},
    # ---------------------------------------------------------------- type / graph
    "ch09.python_number": {
        "ja": ("{name} が Python の数 {got} ({kind}) を返しました。torch.Tensor を返してください。.item() や math.log "
               "を使うと計算グラフが切れて、loss.backward() で学習できません。"),
        "en": ("{name} returned a Python number, {got} ({kind}). Return a torch.Tensor: .item() or math.log cut the "
               "autograd graph, and loss.backward() could not train anything.")},
    "ch09.not_tensor": {
        "ja": "{name} は torch.Tensor (スカラー) を返してください。返りは {got} でした。",
        "en": "{name} should return a torch.Tensor (a scalar); it returned {got}."},
    "ch09.not_scalar": {
        "ja": ("{name} の返り値の形が {got} です。損失は 1 つの数 (形 () のテンソル) です。サンプルごとの BCE "
               "をバッチについて平均してください (.mean()、または reduction='mean')。"),
        "en": ("{name} returned a tensor of shape {got}. A loss is one number (a tensor of shape ()): average "
               "the per-sample BCE over the batch (.mean(), or reduction='mean').")},
    "ch09.detached": {
        "ja": ("{name} の返り値が計算グラフにつながっていません (requires_grad=False)。.detach()、.item()、"
               "torch.no_grad()、NumPy を経由する計算や、torch.tensor(...) で作り直していないか確かめてください。"),
        "en": ("{name} returned a tensor cut off from the autograd graph (requires_grad=False). Look for a "
               ".detach(), .item(), torch.no_grad(), a detour through NumPy, or a fresh torch.tensor(...).")},
    "ch09.no_grad_to": {
        "ja": "{name} の値は正しいのですが、{arg} に勾配が届きません。{arg} を .detach() していませんか?",
        "en": "The value of {name} is right, but no gradient reaches {arg}. Did you .detach() {arg}?"},
    "ch09.grad_wrong": {
        "ja": ("{name} の値は正しいのですが、{arg} についての勾配が参照 (F.binary_cross_entropy_with_logits) と違います。"
               "一部だけ .detach() / .data を使っていないか、値を定数で置き換えていないか確かめてください。"),
        "en": ("The value of {name} is right, but its gradient with respect to {arg} differs from the reference "
               "(F.binary_cross_entropy_with_logits). Look for a partial .detach() / .data, or a value "
               "replaced by a constant.")},
    # ---------------------------------------------------------------- hints
    "ch09.overflow": {
        "ja": ("ヒント: torch.log(torch.sigmoid(x)) をそのまま計算すると、x = -200 では σ(x) が float32 で 0 になり "
               "log 0 = -inf、x = 100 では 1 - σ(x) = 0 になります。F.binary_cross_entropy_with_logits "
               "(ロジットを直接受け取る BCE) か、F.logsigmoid / F.softplus を使ってください。"),
        "en": ("Hint: computing torch.log(torch.sigmoid(x)) directly gives log 0 = -inf: at x = -200, σ(x) is 0 "
               "in float32, and at x = 100, 1 - σ(x) is 0. Use F.binary_cross_entropy_with_logits (BCE that "
               "takes the logits) or F.logsigmoid / F.softplus.")},
    "ch09.clamped": {
        "ja": ("ヒント: F.binary_cross_entropy(torch.sigmoid(x), y) と同じ値です。この関数は log を -100 で打ち切るので、"
               "|x| が 100 を超えると損失が頭打ちになります。ロジットのまま F.binary_cross_entropy_with_logits に渡してください。"),
        "en": ("Hint: this equals F.binary_cross_entropy(torch.sigmoid(x), y), which clamps the log at -100, so "
               "the loss stops growing beyond |x| = 100. Pass the logits to F.binary_cross_entropy_with_logits.")},
    "ch09.sum": {
        "ja": "ヒント: BCE をバッチについて合計しているようです。各項はバッチの平均にします (reduction='mean'、既定)。",
        "en": "Hint: you seem to sum the BCE over the batch; each term is a mean over the batch (reduction='mean', the default)."},
    "ch09.concat": {
        "ja": ("ヒント: 本物と偽物を 1 つに連結して平均しているようです。ここでは BCE(real, 1) と BCE(fake, 0) "
               "をそれぞれのバッチで平均してから足します (同じ大きさなら連結の平均のちょうど 2 倍です)。"),
        "en": ("Hint: you seem to concatenate real and fake and take one mean. Here BCE(real, 1) and "
               "BCE(fake, 0) are each averaged over their own batch and then added (for equal batch sizes, "
               "twice the mean over the concatenation).")},
    "ch09.swapped": {
        "ja": "ヒント: ラベルが逆です。識別器は本物 (real) に 1、偽物 (fake) に 0 を出すように学習します: BCE(real, 1) + BCE(fake, 0)。",
        "en": "Hint: the labels are swapped. The discriminator learns to say 1 for real and 0 for fake: BCE(real, 1) + BCE(fake, 0)."},
    "ch09.one_term": {
        "ja": "ヒント: 片方の項しか入っていません。d_loss は本物の項 BCE(real, 1) と偽物の項 BCE(fake, 0) の和です。",
        "en": "Hint: only one of the two terms is there; d_loss is BCE(real, 1) + BCE(fake, 0)."},
    "ch09.sign": {
        "ja": ("ヒント: 符号が逆です。BCE はすでに -log の形 (小さいほど良い) なので、最小化する損失にそのまま使います。"
               "log D(x) + log(1 - D(G(z))) は最大化する目的関数なので、損失にするにはマイナスを付けます。"),
        "en": ("Hint: the sign is flipped. BCE already is a -log (smaller is better), the loss to minimise. "
               "log D(x) + log(1 - D(G(z))) is the objective to maximise; its negative is the loss.")},
    "ch09.g_sign": {
        "ja": "ヒント: 符号が逆です。BCE(fake, 1) = -log D(G(z)) はすでに小さいほど良い損失なので、マイナスを付けずにそのまま最小化します。",
        "en": "Hint: the sign is flipped. BCE(fake, 1) = -log D(G(z)) already is a loss (smaller is better); minimise it as it is."},
    "ch09.saturating": {
        "ja": ("ヒント: これは元の minimax の形 log(1 - D(G(z))) の最小化 (= -BCE(fake, 0)) です。識別器が偽物を簡単に見破る"
               "学習の初期には D(G(z)) ≈ 0 で勾配がほぼ消えてしまいます (飽和)。代わりに -log D(G(z)) = BCE(fake, 1) "
               "を最小化します (non-saturating loss)。"),
        "en": ("Hint: this is the original minimax form, minimising log(1 - D(G(z))) (= -BCE(fake, 0)). Early in "
               "training the discriminator easily spots the fakes, D(G(z)) ≈ 0, and this gradient vanishes "
               "(it saturates). Minimise -log D(G(z)) = BCE(fake, 1) instead (the non-saturating loss).")},
    "ch09.g_label": {
        "ja": "ヒント: 生成器は識別器に「本物」(1) と言わせたいので、ラベルは 1 です: BCE(fake, 1)。0 だと識別器の味方になってしまいます。",
        "en": "Hint: the generator wants the discriminator to say \"real\" (1), so the label is 1: BCE(fake, 1). With 0 it helps the discriminator."},
})
