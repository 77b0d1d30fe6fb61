"""Shared pieces of the checks that take an ``nn.Module`` class (ch06 ``lenet``, ch08 ``unet``).

- :class:`Recorder` runs a forward pass under :class:`torch.overrides.TorchFunctionMode` and
  records the names of the torch functions called, so modules (``nn.Conv2d``) and functional
  calls (``F.conv2d``) count alike and a layer that is defined but never used does not count.
  Given the model it also notes weights the model does not own (:func:`require_registered`) and
  which function made each result (a final sigmoid is refused even where the signs cannot tell);
  :func:`squashes_logits` runs forward again with the last layer's output replaced by values of both
  signs, so a sigmoid or ReLU written as a formula after the head is refused too.
- :func:`build` instantiates the student's class with the messages a beginner needs (an
  instance passed instead of the class, ``super().__init__()`` forgotten, not a module).
- :func:`run_forward` runs the forward pass through core's :func:`.call`; :func:`checked_output`
  is the first part of the output contract: a floating-point tensor of the expected shape with
  finite values.
- The rest of the contract of both exercises: logits from a non-linear network whose head follows
  ``num_classes``. :func:`require_logits` refuses an output passed through softmax, sigmoid or
  ReLU, :func:`require_nonlinear` a network that is linear in its input, and
  :func:`require_head_follows` a fixed-size head sliced to ``num_classes``;
  :func:`require_input_unchanged` a forward pass that changes its input in place.
- :func:`require_training_step`: every parameter trainable (:func:`require_trainable`) and a
  cross-entropy loss sends a gradient into every one of them (:func:`require_gradients`).

The cases these steps are named by are :data:`LOGITS`, :data:`NONLINEAR`, :data:`HEAD`,
:data:`GRADIENTS` and :data:`REGISTERED` (core :class:`.Case` records); a chapter names its own build and forward cases.
"""
import contextlib

import torch
from torch.utils._pytree import tree_leaves

from ..i18n import register, t
from .core import Case, call, expect, fail, trusted

LOGITS = Case("module.case.logits")
NONLINEAR = Case("module.case.nonlinear")
HEAD = Case("module.case.head")
GRADIENTS = Case("module.case.grad")
REGISTERED = Case("module.case.registered")


#: Functions whose result is never negative: a forward pass that ends with one returns no logits.
NON_NEGATIVE = frozenset({"sigmoid", "sigmoid_", "softmax", "relu", "relu_", "relu6", "hardsigmoid", "softplus",
                          "exp", "exp_"})

#: Functions that make a layer's output: what the last one called returns should reach the output as logits.
LAYER_NAMES = frozenset({"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                         "linear"})


class Recorder(torch.overrides.TorchFunctionMode):
    """Records the names of the torch functions called inside the ``with`` block.

    With ``model`` it also notes the weights the forward pass uses that the model does not own:
    every leaf tensor with ``requires_grad=True`` passed to a torch function that is not one of
    ``model.parameters()`` (a layer kept in a plain list or created inside ``forward``), by shape
    in :attr:`unregistered`; and which function made each tensor (:meth:`producer`).
    """

    def __init__(self, model=None):
        super().__init__()
        self.names = []
        self.params = None if model is None else {id(p) for p in model.parameters()}
        self.unregistered = {}     # shape -> None: an ordered set
        self._made_by = {}         # id(result) -> (function name, result): kept alive, so ids stay unique

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = self.note(func, args, kwargs)
        out = func(*args, **kwargs)
        self.made(name, out)
        return out

    def note(self, func, args, kwargs) -> str:
        """Record a call of ``func`` (before it runs); returns its name."""
        name = getattr(func, "__name__", str(func))
        self.names.append(name)
        if self.params is not None:
            for a in tree_leaves((args, kwargs)):
                # a view of a parameter (b[:, None] under torch.no_grad() is a leaf too) counts as its base
                if (isinstance(a, torch.Tensor) and a.is_leaf and a.requires_grad
                        and id(a if a._base is None else a._base) not in self.params):
                    self.unregistered[tuple(a.shape)] = None
        return name

    def made(self, name: str, out) -> None:
        """Record that the function ``name`` returned ``out``."""
        if self.params is not None and isinstance(out, torch.Tensor):
            self._made_by[id(out)] = (name, out)

    def producer(self, out):
        """The name of the torch function that returned ``out`` inside the block (None if unknown)."""
        name, tensor = self._made_by.get(id(out), (None, None))
        return name if tensor is out else None

    def layer_calls(self) -> int:
        """How many calls of :data:`LAYER_NAMES` the block made."""
        return sum(1 for name in self.names if name in LAYER_NAMES)


class _ReplaceLayer(torch.overrides.TorchFunctionMode):
    """Replaces the result of the ``index``-th call (from 1) of :data:`LAYER_NAMES` with values spread
    evenly over [-10, 10], of its shape, dtype and device: what the rest of forward makes of them shows
    what follows the last layer."""

    def __init__(self, index: int):
        super().__init__()
        self.index, self.seen = index, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if getattr(func, "__name__", None) in LAYER_NAMES and isinstance(out, torch.Tensor):
            self.seen += 1
            if self.seen == self.index:
                spread = torch.linspace(-10.0, 10.0, out.numel(), device=out.device)
                out = spread.reshape(out.shape).to(out.dtype)
        return out


def squashes_logits(model, x, trace):
    """What the part of ``forward`` after its last layer does to logits, if it spoils them: the message key
    ``module.constant_after_head`` when it gives one value whatever the layer returns (a log_softmax or
    softmax over a single class), ``module.squashed`` when it maps every value to a number ≥ 0 (a sigmoid
    written as 1 / (1 + exp(-z)), (tanh(z) + 1) / 2, z.clamp(min=0), ...), which no function name
    reveals; else None. It runs ``model(x)`` again with the last layer's output (the last call of
    :data:`LAYER_NAMES` in ``trace``, the :class:`Recorder` of a forward pass on ``x``) replaced by values
    from -10 to 10: logits keep both signs and vary."""
    index = trace.layer_calls()
    if index == 0:
        return None
    with torch.no_grad(), _ReplaceLayer(index):
        out = call(model, x)
    if not isinstance(out, torch.Tensor):
        return None
    values = readable(out)
    if float(values.max() - values.min()) < 1e-6:
        return "module.constant_after_head"
    return "module.squashed" if bool((values >= 0).all()) else None


def short_list(names, limit=8):
    """``a, b, c, … (+n)``: a readable list of at most ``limit`` names."""
    names = list(names)
    more = f", … (+{len(names) - limit})" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def build(cls, *args, check: str, cls_name: str, signature: str, **kwargs):
    """``cls(*args, **kwargs)`` for the student's class, failing clearly on the usual slips."""
    if isinstance(cls, torch.nn.Module):
        fail(t("module.instance", got=type(cls).__name__, check=check, cls=cls_name))
    if not callable(cls):
        fail(t("check.not_callable", what=cls_name, got=type(cls).__name__))
    model = call(cls, *args, **kwargs)
    expect(isinstance(model, torch.nn.Module),
           t("module.not_module", got=type(model).__name__, signature=signature, cls=cls_name))
    expect("_parameters" in vars(model), t("module.no_super"))
    return model


def run_forward(model, x, trace=None, on_error=None):
    """``model(x)`` through :func:`.call` (``on_error``: the hint when it raises), inside ``trace``
    (a :class:`Recorder`) when one is given."""
    with trace if trace is not None else contextlib.nullcontext():
        return call(model, x, on_error=on_error)


def checked_output(out, expected_shape, not_tensor: str, wrong_shape):
    """The output of a forward pass: a ``torch.Tensor`` (else the message key ``not_tensor``, filled
    with ``got``), of ``expected_shape`` (else ``wrong_shape(got_shape)``, which fails with the
    chapter's explanation), floating point and finite. Returns ``out``."""
    expect(isinstance(out, torch.Tensor), t(not_tensor, got=type(out).__name__))
    if tuple(out.shape) != tuple(expected_shape):
        wrong_shape(tuple(out.shape))
    expect(out.is_floating_point(), t("module.float", got=out.dtype))
    expect(bool(torch.isfinite(readable(out)).all()), t("module.nan"))
    return out


def require_trainable(model) -> None:
    """At least one parameter, and every parameter with ``requires_grad=True``."""
    named = list(model.named_parameters())
    expect(len(named) > 0, t("module.no_params"))
    frozen = [name for name, p in named if not p.requires_grad]
    expect(not frozen, t("module.frozen", names=short_list(frozen)))


def require_gradients(model, out, loss_fn) -> None:
    """Backpropagate ``loss_fn(out)``: every parameter must get a gradient that is not all zero.

    Clear the model's gradients (``model.zero_grad(set_to_none=True)``) before the forward pass.
    """
    named = list(model.named_parameters())
    expect(out.requires_grad, t("module.no_grad", names=short_list(name for name, _ in named)))
    loss = call(trusted(loss_fn), out)  # inside call: a model on another device fails clearly, never crashes
    call(loss.backward)
    missing = [name for name, p in named if p.grad is None]
    expect(not missing, t("module.no_grad", names=short_list(missing)))
    zero = [name for name, p in named if not bool(call(_any_nonzero, p.grad))]
    expect(not zero, t("module.zero_grad", names=short_list(zero)))


def require_training_step(c, model, x, target, forward) -> None:
    """The case :data:`GRADIENTS` of the check ``c``: every parameter trainable, then in train mode
    ``forward(model, x)`` (the chapter's checked forward pass, a case of its own) and a cross-entropy
    loss against the class indices ``target`` that reaches every parameter."""
    c.case(GRADIENTS.title)
    require_trainable(model)
    model.train()
    model.zero_grad(set_to_none=True)
    out = forward(model, x)
    c.case(GRADIENTS.title)
    require_gradients(model, out,
                      lambda logits: torch.nn.functional.cross_entropy(logits.float(), target.to(logits.device)))


@trusted
def _any_nonzero(grad) -> bool:
    return bool(grad.detach().abs().sum().cpu() > 0)


def readable(out, what: str = "forward"):
    """The output as a float32 CPU tensor to compare values on, whatever its device and dtype."""
    try:
        return out.detach().float().cpu()
    except Exception as e:  # a meta tensor, a device that cannot copy back
        fail(t("module.unreadable", device=out.device, error=f"{type(e).__name__}: {e}"[:200]))


def require_logits(values, class_dim: int = 1, made_by=None, signs: bool = True, after_head=None) -> None:
    """Logits take both signs; probabilities (softmax, sigmoid) or a final ReLU never go below 0.

    ``values``: the output as a float tensor (:func:`readable`), classes along ``class_dim``;
    ``made_by``: the torch function that returned it (:meth:`Recorder.producer`), refused when it is
    one of :data:`NON_NEGATIVE`; ``after_head``: what :func:`squashes_logits` found after the last layer (a
    message key, or None), refused too. ``signs=False`` skips the test of the signs, which only a model with
    several classes passes reliably (a freshly initialised network's logits often have one sign
    for a single class).
    """
    if after_head == "module.constant_after_head":
        fail(t(after_head))
    if made_by in NON_NEGATIVE or after_head or (signs and bool((values >= 0).all())):
        sums = values.sum(dim=class_dim)
        sums_to_one = values.shape[class_dim] > 1 and bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-4))
        extra = ((t("module.softmax_out") if sums_to_one else "")
                 + (t("module.made_by", name=made_by) if made_by in NON_NEGATIVE else "")
                 + (t(after_head) if after_head and made_by not in NON_NEGATIVE else ""))
        fail(t("module.not_logits", extra=extra))


def require_registered(trace) -> None:
    """Every weight the traced forward pass used is one of the model's parameters (``trace``: a
    :class:`Recorder` given the model)."""
    shapes = [str(s) for s in trace.unregistered]
    expect(not shapes, t("module.unregistered", shapes=short_list(shapes, limit=4)))


def require_input_unchanged(x, before) -> None:
    """The forward pass left its input ``x`` as it was (``before``: ``x.detach().clone()`` taken before it)."""
    same = x.shape == before.shape and bool(torch.equal(x.detach(), before))
    expect(same, t("module.input_changed"))


def require_nonlinear(model, a, b) -> None:
    """f(a) + f(b) = f(a + b) + f(0) for every input holds only for a network without non-linearity
    (run in eval mode without gradients; ``a`` and ``b`` are two inputs of one shape)."""
    outs = [readable(call(model, x)) for x in (a, b, a + b, torch.zeros_like(a))]
    gap = (outs[0] + outs[1] - outs[2] - outs[3]).abs().max()
    scale = max(float(outs[0].abs().max()), float(outs[1].abs().max()), 1e-6)
    expect(float(gap) > 1e-4 * scale, t("module.linear"))


def require_logits_from_nonlinear(c, model, out, a, b, made_by=None, after_head=None) -> None:
    """The cases :data:`LOGITS` (on the output ``out``, made by the function ``made_by`` if known;
    ``after_head``: what :func:`squashes_logits` found) and :data:`NONLINEAR` (on the inputs ``a`` and ``b``) of the
    check ``c``; the model in eval mode."""
    c.case(LOGITS.title)
    require_logits(readable(out), made_by=made_by, after_head=after_head)
    c.case(NONLINEAR.title)
    with torch.no_grad():
        require_nonlinear(model, a, b)


def count_parameters(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def require_head_follows(model, other, model_name: str, other_name: str) -> None:
    """Two models that differ only in ``num_classes`` must differ in size: a head built with a
    fixed number of outputs and sliced to ``num_classes`` has the same parameters for both."""
    n = count_parameters(model)
    expect(n != count_parameters(other), t("module.head_fixed", n=n, model=model_name, other=other_name))


register({
    "module.instance": {
        "ja": ("渡されたのはモデルのインスタンス ({got}) です。"
               "クラスそのものを渡してください: cu.checks.{check}({cls}) ({cls}() ではなく)。"),
        "en": "You passed a model instance ({got}); pass the class itself: cu.checks.{check}({cls}), not {cls}()."},
    "module.not_module": {
        "ja": ("{signature} は torch.nn.Module を返すはずですが、{got} "
               "が返りました。class {cls}(nn.Module) として定義し、__init__ で super().__init__() "
               "を呼んでいますか?"),
        "en": ("{signature} should give a torch.nn.Module, "
               "got {got}. Define class {cls}(nn.Module) and call super().__init__() "
               "in __init__.")},
    "module.no_super": {
        "ja": "__init__ の最初で super().__init__() を呼んでいません。nn.Module の準備がされないので、層を登録できません。",
        "en": ("__init__ does not call super().__init__() first, so "
               "nn.Module is not set up and cannot register layers.")},
    "module.no_params": {
        "ja": ("学習できるパラメータがありません。層は __init__ で self.xxx = nn.Conv2d(...) "
               "のように属性として登録してください (forward の中で毎回作ると登録されません)。"),
        "en": ("The model has no trainable parameters. Register layers "
               "as attributes in __init__ (self.xxx = nn.Conv2d(...)); "
               "layers created inside forward are not registered.")},
    "module.frozen": {
        "ja": "requires_grad=False のパラメータがあります: {names}。すべてのパラメータを学習できるようにしてください。",
        "en": "Some parameters have requires_grad=False: {names}. Every parameter should be trainable."},
    "module.no_grad": {
        "ja": ("損失を逆伝播しても勾配が届かないパラメータがあります: {names}。定義したのに forward "
               "で使っていない層や、途中の .detach() / torch.no_grad() / .numpy() "
               "がないか確かめてください。"),
        "en": ("After backpropagating a loss, these parameters got "
               "no gradient: {names}. Look for a layer defined but "
               "unused in forward, or a .detach() / torch.no_grad() "
               "/ .numpy() on the way.")},
    "module.unreadable": {
        "ja": "出力 (デバイス {device}) の値を読めません: {error}。モデルの中でデバイスを変えず、入力と同じデバイスで計算してください。",
        "en": "The output (on device {device}) cannot be read: {error}. Keep the model on the device of its input."},
    "module.not_logits": {
        "ja": ("出力がすべて 0 以上です。forward の最後で softmax / sigmoid / ReLU を通していませんか?{extra} "
               "forward はロジット (活性化を通す前の値) を返します。F.cross_entropy が中で softmax を計算します。"),
        "en": ("Every output is ≥ 0: does forward end with a softmax, sigmoid or ReLU?{extra} forward returns logits "
               "(the values before any activation); F.cross_entropy applies the softmax itself.")},
    "module.made_by": {"ja": " (forward が最後に呼んだ関数は {name} です)",
                       "en": " (the last function forward calls is {name})"},
    "module.squashed": {"ja": (" (最後の層のあとの計算が、負の値も含めてすべてを 0 以上に写しています。"
                               "sigmoid や ReLU を 1 / (1 + exp(-z)) や clamp のように式で書いていませんか?)"),
                        "en": (" (what follows the last layer maps every value, negative ones too, to a number ≥ 0: "
                               "a sigmoid or ReLU written as a formula, 1 / (1 + exp(-z)) or a clamp?)")},
    "module.constant_after_head": {
        "ja": ("最後の層が何を出力しても、forward の出力は同じ値になります。クラスが 1 つのときの log_softmax "
               "(いつも 0) や softmax (いつも 1) のように、最後の層のあとに情報を消す計算がありませんか? "
               "forward は最後の層の出力 (ロジット) をそのまま返してください。"),
        "en": ("Whatever the last layer outputs, forward returns the same value: does something after the last layer "
               "throw the information away, like a log_softmax (always 0) or softmax (always 1) over a single class? "
               "forward returns the last layer's output, the logits, as it is.")},
    "module.unregistered": {
        "ja": ("forward で、モデルに登録されていない重み (requires_grad=True のテンソル、形 {shapes}) が使われています。"
               "普通の Python のリストに入れた層や forward の中で作った層は model.parameters() に含まれないので、"
               "最適化手法が学習せず、model.to(device) でも移動されません。層は __init__ で属性として作り、"
               "いくつもあるなら nn.ModuleList (または nn.ModuleDict) に入れてください。"),
        "en": ("The forward pass uses weights that the model has not registered (tensors with requires_grad=True, "
               "of shape {shapes}). Layers kept in a plain Python list or created inside forward are not in "
               "model.parameters(), so the optimiser never trains them and model.to(device) leaves them behind. "
               "Create the layers in __init__ as attributes, several of them in an nn.ModuleList (or nn.ModuleDict).")},
    "module.input_changed": {
        "ja": ("forward が入力のテンソル x そのものを書き換えています (x -= ...、x.sub_(...)、inplace=True の活性化など、"
               "その場で (in-place) 変更する演算)。呼び出した側の画像まで変わってしまいます。"
               "入力には、新しいテンソルを作る演算だけを使ってください。"),
        "en": ("forward changes its input tensor x itself (x -= ..., x.sub_(...), an activation with inplace=True: "
               "an in-place operation), so the caller's images change too. Apply only operations that make a new "
               "tensor to the input.")},
    "module.softmax_out": {"ja": " (クラスの軸に沿った和が 1 なので softmax のようです)",
                           "en": " (the values sum to 1 over the classes: it looks like a softmax)"},
    "module.linear": {
        "ja": ("このネットワークは線形です (f(a) + f(b) = f(a + b) + f(0))。層と層の間に活性化関数 (ReLU など) がないと、"
               "何層重ねても 1 つの線形変換と同じです。"),
        "en": ("This network is linear (f(a) + f(b) = f(a + b) + f(0)): without an activation (ReLU, ...) between "
               "the layers, any number of layers is one linear map.")},
    "module.head_fixed": {
        "ja": ("{other} と {model} のパラメータ数が同じ ({n:,}) です。最後の層を決め打ちの出力数で作って"
               "切り出していませんか? 出力数は num_classes で決めてください。"),
        "en": ("{other} has as many parameters as {model} ({n:,}): is the last layer built with a fixed number of "
               "outputs and then sliced? Build it with num_classes outputs.")},
    "module.zero_grad": {
        "ja": "勾配がすべて 0 のパラメータがあります: {names}。出力に効いていない (0 倍されている、など) 層がないか確かめてください。",
        "en": ("These parameters got an all-zero gradient: {names}. "
               "Is some layer's output multiplied by zero or otherwise "
               "cut off?")},
    "module.float": {
        "ja": "出力の dtype は浮動小数点 (float32) のはずですが {got} でした。",
        "en": "The output should be floating point (float32), got {got}."},
    "module.nan": {"ja": "出力に NaN か無限大が含まれています。", "en": "The output contains NaN or infinity."},
    # ---------------------------------------------------------------- the cases of the output contract
    "module.case.logits": {"ja": "出力はロジット", "en": "the output is logits"},
    "module.case.nonlinear": {"ja": "非線形なネットワーク", "en": "a non-linear network"},
    "module.case.head": {"ja": "最後の層の出力数が num_classes に従う", "en": "the head follows num_classes"},
    "module.case.grad": {"ja": "全パラメータに勾配が届く", "en": "gradients reach every parameter"},
    "module.case.registered": {"ja": "forward で使う層がすべてモデルに登録されている",
                               "en": "every layer forward uses is registered in the model"},
})
