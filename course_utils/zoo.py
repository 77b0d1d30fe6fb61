"""How big is a model? Parameters and multiply-adds, counted on the meta device (chapter 06).

A model built under ``torch.device("meta")`` has tensors with shapes and dtypes but no memory
and no arithmetic, so even VGG-16 (138 million parameters) is built and run through in a blink.

- :func:`count_params`: the number of parameters.
- :func:`count_macs`: multiply-adds of the ``nn.Conv2d`` and ``nn.Linear`` modules, counted with
  forward hooks: a convolution costs H_out·W_out·C_out·(C_in / groups)·k_h·k_w, a fully connected
  layer (positions)·D_in·D_out. Work that never passes through such a module (the matrix products
  of self-attention, the projections ``nn.MultiheadAttention`` computes from its weights) is not seen.
- :func:`count_all_macs`: every matrix product and convolution, from PyTorch's ``FlopCounterMode``
  (1 multiply-add = 2 FLOPs).
- :func:`size_table`: one row per torchvision builder, built with ``weights=None`` on the meta device.
"""
import torch
from torch import nn

__all__ = ["count_params", "count_macs", "count_all_macs", "size_table"]


def count_params(model: nn.Module) -> int:
    """The number of parameters of ``model`` (every tensor in ``model.parameters()``)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of ``model``'s Conv2d and Linear modules for the first image of ``x``."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Linear):
            per_output = module.in_features
        else:
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        total += output[0].numel() * per_output   # outputs of the first image × multiply-adds per output

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return total


def count_all_macs(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of every matrix product and convolution of ``model(x)`` per image (FlopCounterMode / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() // 2 // len(x)


def size_table(builders: dict, size: int = 224) -> list:
    """``[{"model", "params", "macs_hooks", "macs_all"}, ...]`` for ``{name: builder}`` (torchvision builders).

    Each model is built with ``weights=None`` on the meta device and run on one meta image
    (1, 3, ``size``, ``size``); nothing is allocated and nothing is computed.
    """
    rows = []
    for name, build in builders.items():
        with torch.device("meta"):
            model = build(weights=None).eval()
        x = torch.zeros(1, 3, size, size, device="meta")
        rows.append({"model": name, "params": count_params(model), "macs_hooks": count_macs(model, x),
                     "macs_all": count_all_macs(model, x)})
    return rows
