"""Chapter 08: the ``unet`` exercise (a U-Net ``nn.Module``); the metrics are in ``ch08.py``.

``UNet(in_channels, num_classes)`` maps (N, in_channels, H, W) to logits (N, num_classes, H, W)
for every H and W that are multiples of 16 (the check tries 64×64, 96×64, 32×48 and 48×80, the
last divisible by 16 but not by 32, so four halvings are the most a fixed-size design may use; a
model that resizes or pads may use more). Structure is judged from what the forward pass computes
(as for ``lenet`` in chapter 06): the input is followed through the torch functions called, and
the model must lower the resolution somewhere (pooling or a strided convolution), raise it again
(transposed convolution, ``Upsample`` / ``F.interpolate``, pixel shuffle, ...) and have a skip
connection: some operation (``torch.cat``, ``+``) must combine upsampled decoder features with
encoder features that never went through the low resolution. So a decoder that upsamples once at
the end (FCN-32s style) or ignores the encoder features fails with a hint; adding FCN-style skips
makes it pass.

The output contract is the one ``lenet`` has (:mod:`.modules`): logits, not probabilities (no
softmax / sigmoid / ReLU at the end: judged on every model the check builds, by the function that
made the output, and on UNet(3, 4) by the signs too), from a non-linear network, with a head that
follows ``num_classes`` (not a fixed number of channels sliced). Every weight the forward pass uses
must be registered (a layer in a plain list or created in ``forward`` is never trained), the
forward pass must leave its input unchanged, the output must vary over the pixels and with the
input, and a loss must send a gradient to every parameter.
"""
import torch
from torch.utils._pytree import tree_leaves

from ..i18n import register, t
from .core import Case, Check, expect, fail, on_repeat
from .modules import (HEAD, REGISTERED, Recorder, build, checked_output, readable, require_head_follows,
                      require_input_unchanged, require_logits, require_logits_from_nonlinear, require_registered,
                      require_training_step, run_forward, short_list, squashes_logits)

__all__ = ["unet"]

#: The sizes of the ``unet`` check: (N, H, W); all multiples of 16.
UNET_SIZES = ((2, 64, 64), (1, 96, 64), (1, 48, 80))

DOWN = Case("ch08.case.unet_down")
UP = Case("ch08.case.unet_up")
SKIP = Case("ch08.case.unet_skip")
VARIES = Case("ch08.case.unet_varies")


def _area(x):
    return int(x.shape[-2]) * int(x.shape[-1])


class _Flow(Recorder):
    """Follows the input through the forward pass and notes how the resolution changes.

    For every floating-point tensor computed from the input it keeps ``(area, up, glob)``: its
    spatial area H·W (inherited by tensors that are not 4-D), whether it was upsampled (made by an
    upsampling or computed from such a tensor), and whether it is *global*: a reduction over H and
    W (a 1×1 result of ``mean`` / ``std`` / ``adaptive_avg_pool2d``, a result without the spatial
    axes), or computed from global tensors alone (a global vector broadcast or interpolated to
    full size). Global tensors are left out of what follows: an operation whose 4-D result has at
    most 0.55 times the area of its largest non-global input downsamples, one whose result has at
    least 1.9 times that area upsamples, and one that takes an upsampled and a never-upsampled
    non-global tensor (torch.cat of decoder and encoder features, an addition) is a skip join. So
    a standardised input (x - mean) / std, a squeeze-and-excitation gate x * sigmoid(fc(pool(x))),
    or a final global pooling count as none of the three; small changes (valid convolutions,
    padding, cropping) count as neither.
    """

    def __init__(self, x, model):
        super().__init__(model)
        self.info = {id(x): (_area(x), False, False)}
        self.keep = [x]           # keeps ids unique while tracked
        self.down, self.up, self.joins = [], [], []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = self.note(func, args, kwargs)
        out = func(*args, **kwargs)
        self.made(name, out)
        seen, tracked = set(), []
        for a in tree_leaves((args, kwargs)):
            if isinstance(a, torch.Tensor) and id(a) in self.info and id(a) not in seen:
                seen.add(id(a))
                tracked.append((a, self.info[id(a)]))
        if not tracked:
            return out
        local = [i for _, i in tracked if not i[2]]          # the non-global inputs
        numel_in = max(a.numel() for a, _ in tracked)
        area_in = max((i[0] for i in local), default=1)
        upsampled = [i[1] for i in local]
        if any(upsampled) and not all(upsampled):
            self.joins.append(name)
        for o in tree_leaves(out):
            if not isinstance(o, torch.Tensor) or not o.is_floating_point():
                continue
            if o.dim() == 4:
                area = _area(o)
                glob = not local or area == 1
            else:
                area = area_in
                glob = not local or o.numel() * area_in <= numel_in and area_in > 1
            if glob:
                self.info[id(o)] = (area, any(i[1] for _, i in tracked), True)
            else:
                if o.dim() == 4 and area <= 0.55 * area_in:
                    self.down.append(name)
                new_up = o.dim() == 4 and area >= 1.9 * area_in
                if new_up and not any(upsampled):
                    self.up.append(name)
                self.info[id(o)] = (area, new_up or any(upsampled), False)
            self.keep.append(o)
        return out


def _image(n, c, h, w, generator):
    """Image-like inputs: smooth random shapes (bilinear upsampled noise) plus fine noise."""
    coarse = torch.randn(n, c, max(h // 8, 1), max(w // 8, 1), generator=generator)
    smooth = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return 2 * smooth + torch.randn(n, c, h, w, generator=generator)


def _unet_build(UNet, c, cin, k):
    c.case(Case("ch08.case.unet_build", values={"cin": cin, "k": k}).title)
    return build(UNet, cin, k, check="unet", cls_name="UNet", signature="UNet(in_channels, num_classes)")


def _unet_forward(model, c, x, k, flow=None, first=False):
    """The case "input of shape ...": ``model(x)``, a float tensor (N, k, H, W) of finite values,
    and ``x`` left unchanged. It runs inside the trace ``flow`` when one is given; an error on the
    ``first`` size is not blamed on the size."""
    inp = tuple(x.shape)
    expected = (inp[0], k, inp[2], inp[3])
    c.case(Case("ch08.case.unet_forward", (x,), values={"inp": inp, "k": k}).title)
    before = x.detach().clone()
    out = run_forward(model, x, trace=flow, on_error=None if first else t("ch08.unet_sizes", inp=inp))
    require_input_unchanged(x, before)
    return checked_output(out, expected, "ch08.unet_not_tensor", lambda got: _wrong_shape(inp, expected, got))


def _unet_other(UNet, c, cin, k, generator):
    """Build ``UNet(cin, k)`` and run it once, traced: its output must be logits too. Only the function
    that made it is judged (a final sigmoid, softmax, ReLU, ...): the logits of a fresh network with
    one or two classes often all have one sign."""
    model = _unet_build(UNet, c, cin, k)
    model.eval()
    trace = Recorder(model)
    x = _image(1, cin, 32, 48, generator=generator)
    with torch.no_grad():
        out = _unet_forward(model, c, x, k, flow=trace)
    c.case(Case("ch08.case.unet_logits", values={"cin": cin, "k": k}).title)
    require_logits(readable(out), made_by=trace.producer(out), signs=False,
                   after_head=squashes_logits(model, x, trace))
    return model


def _wrong_shape(inp, expected, got):
    """Fail for an output of shape ``got`` (not ``expected``) on the input ``inp``, naming the likely cause."""
    message = t("ch08.unet_shape", inp=inp, expected=expected, got=got)
    if len(got) != 4 or got[0] != inp[0]:
        fail(message)
    h, w = got[2:]
    if (h, w) == inp[2:]:
        fail(f"{message}\n{t('ch08.unet_classes')}")
    if 0 < h < inp[2] and 0 < w < inp[3] and inp[2] % h == 0 and inp[3] % w == 0 and inp[2] // h == inp[3] // w:
        fail(f"{message}\n{t('ch08.unet_halved', f=inp[2] // h)}")
    if h <= inp[2] and w <= inp[3]:
        fail(f"{message}\n{t('ch08.unet_shrunk')}{on_repeat(t('ch08.unet_shrunk_form'))}")
    if h >= inp[2] and w >= inp[3]:
        fail(f"{message}\n{t('ch08.unet_grown')}")
    fail(f"{message}\n{t('ch08.unet_sizes', inp=inp)}")


def _require_structure(c, flow) -> None:
    """The cases DOWN, UP and SKIP of the check ``c``: what the traced forward pass computed."""
    calls = short_list(dict.fromkeys(flow.names)) or "-"
    c.case(DOWN.title)
    expect(bool(flow.down), t("ch08.unet_no_down", calls=calls))
    c.case(UP.title)
    expect(bool(flow.up), t("ch08.unet_no_up", calls=calls))
    c.case(SKIP.title)
    expect(bool(flow.joins), t("ch08.unet_no_skip"))


def _require_varies(c, out) -> None:
    """The case VARIES of the check ``c``: the output changes over the pixels and from one input image to another."""
    c.case(VARIES.title)
    scale = 1e-6 * (1.0 + float(out.abs().max()))
    spread = out.flatten(2).std(dim=2)              # (N, classes): variation over the pixels
    expect(bool((spread > scale).any()), t("ch08.unet_constant"))
    expect(float((out[0] - out[1]).abs().max()) > scale, t("ch08.unet_same_for_inputs"))


def unet(UNet):
    """``UNet(in_channels, num_classes)``: (N, C, H, W) → (N, num_classes, H, W), H and W multiples of 16.

    Tried on (N, H, W) = (2, 64, 64), (1, 96, 64), (1, 48, 80) with (in_channels, num_classes)
    = (3, 4), then on (1, 32, 48) with (1, 2), (4, 1) and (3, 7), and a gradient step on (2, 32, 48);
    see the module docstring for how the structure and the output are judged.
    """
    gen = torch.Generator().manual_seed(0)
    with Check("unet") as c:
        torch.manual_seed(0)
        model = _unet_build(UNet, c, 3, 4)
        model.eval()
        (n0, h0, w0), *others = UNET_SIZES
        x = _image(n0, 3, h0, w0, generator=gen)
        flow = _Flow(x, model)
        with torch.no_grad():
            out = _unet_forward(model, c, x, 4, flow=flow, first=True)
            for n, h, w in others:
                _unet_forward(model, c, _image(n, 3, h, w, generator=gen), 4)
        c.case(REGISTERED.title)
        require_registered(flow)
        _require_structure(c, flow)
        _require_varies(c, out)
        # after the input-dependence: a constant output is affine too
        require_logits_from_nonlinear(c, model, out, _image(1, 3, 32, 48, generator=gen),
                                      _image(1, 3, 32, 48, generator=gen), made_by=flow.producer(out),
                                      after_head=squashes_logits(model, x, flow))

        for cin, k in ((1, 2), (4, 1)):
            _unet_other(UNet, c, cin, k, gen)
        wider = _unet_other(UNet, c, 3, 7, gen)
        c.case(HEAD.title)
        require_head_follows(model, wider, "UNet(3, 4)", "UNet(3, 7)")

        x = _image(2, 3, 32, 48, generator=gen)
        target = torch.randint(0, 4, (2, 32, 48), generator=gen)
        require_training_step(c, model, x, target, lambda m, batch: _unet_forward(m, c, batch, 4))


register({
    # ---------------------------------------------------------------- case names
    "ch08.case.unet_build": {"ja": "UNet({cin}, {k}) を作る", "en": "build UNet({cin}, {k})"},
    "ch08.case.unet_forward": {"ja": "形 {inp} の入力 (num_classes={k})", "en": "input of shape {inp} (num_classes={k})"},
    "ch08.case.unet_logits": {"ja": "UNet({cin}, {k}) の出力はロジット", "en": "UNet({cin}, {k}) outputs logits"},
    "ch08.case.unet_varies": {"ja": "出力が画素ごと・入力ごとに変わる", "en": "the output varies over pixels and inputs"},
    "ch08.case.unet_down": {"ja": "ダウンサンプリング (エンコーダ)", "en": "downsampling (encoder)"},
    "ch08.case.unet_up": {"ja": "アップサンプリング (デコーダ)", "en": "upsampling (decoder)"},
    "ch08.case.unet_skip": {"ja": "スキップ接続 (エンコーダの特徴をデコーダへ)",
                            "en": "skip connections (encoder features into the decoder)"},
    # ---------------------------------------------------------------- hints
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
               "2 画素ずつ縮みます。大きさが変わらないようにパディングを付けてください "
               "(元論文のように縮めるなら、最後に入力の大きさへ戻す必要があります)。"),
        "en": ("The output is a little smaller than the input. A 3×3 convolution without padding (\"valid\") "
               "loses 2 pixels each time; pad it so that the size stays (or, as in the original "
               "paper, shrink and then bring the output back to the input size).")},
    "ch08.unet_shrunk_form": {"ja": " 書き方: nn.Conv2d(..., kernel_size=3, padding=1)",
                              "en": " The form: nn.Conv2d(..., kernel_size=3, padding=1)"},
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
