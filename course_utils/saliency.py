"""Hooks to look inside a trained CNN (chapter 06): feature maps, their gradients, guided backprop.

The notebook writes the ideas (the Grad-CAM weights α = spatial mean of the gradient, the
weighted sum, the ReLU); this module holds the hook plumbing:

- :func:`capture`: a context manager that records chosen modules' outputs during a forward pass
  (forward hooks), e.g. every layer's feature maps.
- :class:`FeaturesAndGradients`: a context manager on one layer that keeps its output (the
  feature maps A) and, after ``backward()``, the gradient of the loss with respect to them
  (a hook on that tensor).
- :func:`guided_backprop`: the gradient of the class scores with respect to the input image with
  every ReLU letting through only positive gradients (Springenberg et al., 2015).

Every hook is removed when the ``with`` block ends, also after an exception.
"""
import contextlib

import torch
from torch import nn

__all__ = ["capture", "FeaturesAndGradients", "guided_backprop"]


@contextlib.contextmanager
def capture(layers: dict):
    """``with capture({"C1": module, ...}) as outputs: model(x)`` fills ``outputs[name]`` (detached, on the CPU)."""
    outputs = {}

    def hook_for(name):
        def hook(module, inputs, output):
            outputs[name] = output.detach().cpu()
        return hook

    handles = [layer.register_forward_hook(hook_for(name)) for name, layer in layers.items()]
    try:
        yield outputs
    finally:
        for handle in handles:
            handle.remove()


class FeaturesAndGradients:
    """``with FeaturesAndGradients(layer) as caught:`` run the model and ``backward()``; then
    ``caught.features`` is the layer's output and ``caught.gradients`` its gradient (same shape).

    Under ``torch.no_grad()`` no gradient is recorded and ``gradients`` stays ``None``.
    """

    def __init__(self, layer: nn.Module):
        self.layer = layer
        self.features = self.gradients = None
        self._handle = None

    def _forward_hook(self, module, inputs, output):
        self.features = output
        if output.requires_grad:
            output.register_hook(self._save_gradient)   # called when backprop reaches this tensor

    def _save_gradient(self, grad):
        self.gradients = grad

    def __enter__(self):
        self._handle = self.layer.register_forward_hook(self._forward_hook)
        return self

    def __exit__(self, *exc):
        self._handle.remove()
        return False


def guided_backprop(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """d(score of ``target``)/d(input) with negative gradients zeroed at every ``nn.ReLU`` module.

    A ReLU's backward already zeroes the gradient where its forward input was negative; the
    backward hook also zeroes it where the gradient itself is negative. ``model`` is put in eval
    mode; its parameter gradients are cleared afterwards.
    """
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    handles = [r.register_full_backward_hook(lambda m, grad_in, grad_out: (grad_in[0].clamp(min=0),))
               for r in relus]
    try:
        model.eval()
        x = x.detach().clone().requires_grad_(True)
        model(x).gather(1, target[:, None]).sum().backward()
        return x.grad.detach()
    finally:
        for handle in handles:
            handle.remove()
        model.zero_grad(set_to_none=True)
