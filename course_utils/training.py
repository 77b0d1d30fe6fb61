"""A small training loop: whole data set on the device, mini-batches by index, tqdm progress."""
import time

import torch
from tqdm.auto import tqdm


def _as_tensor(x, device, dtype=None):
    tensor = x if isinstance(x, torch.Tensor) else torch.as_tensor(x)
    return tensor.to(device=device, dtype=dtype) if dtype else tensor.to(device)


@torch.no_grad()
def evaluate(model, x, y, loss_fn=None, batch_size: int = 1024, device=None):
    """Mean loss and accuracy of ``model`` on tensors (or arrays) ``x``, ``y``."""
    device = device or next(model.parameters()).device
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    was_training = model.training
    model.eval()
    x, y = _as_tensor(x, device, torch.float32), _as_tensor(y, device, torch.long)
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    for start in range(0, len(x), batch_size):
        out = model(x[start:start + batch_size])
        target = y[start:start + batch_size]
        total_loss += loss_fn(out, target) * len(target)
        correct += (out.argmax(1) == target).sum()
    model.train(was_training)
    return total_loss.item() / len(x), correct.item() / len(x)


def fit(model, data, epochs: int = 5, lr: float = 1e-3, batch_size: int = 64, optimizer=None,
        scheduler=None, loss_fn=None, val_data=None, device=None, augment=None, progress: bool = True,
        train_eval_size: int = 2048):
    """Train ``model`` on ``data = (x, y)`` and return the history.

    The whole (small) data set is moved to ``device`` once, so each step is one indexing
    operation instead of a DataLoader round trip. ``augment(xb)`` may transform a batch.
    ``scheduler`` is stepped once per epoch. Returns a dict of lists, one entry per epoch:

    - ``loss``, ``acc``: the training set measured like the validation set, in eval mode
      (no dropout, no augmentation) at the end of the epoch, on a fixed subset of at most
      ``train_eval_size`` training images, so the two curves are comparable;
    - ``running_loss``: the mean loss of the epoch's mini-batches in train mode, as the
      optimiser saw them (summed on the device: no host sync per step);
    - ``val_loss``, ``val_acc`` when ``val_data`` is given (pass a validation split, never the
      test set: choices made on it would make the test figure optimistic);
    - ``time``: seconds of training per epoch (the evaluations are not counted).
    """
    from .runtime import device as default_device

    device = torch.device(device or default_device())
    model.to(device)
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    x, y = _as_tensor(data[0], device, torch.float32), _as_tensor(data[1], device, torch.long)
    generator = torch.Generator().manual_seed(0)
    probe = torch.randperm(len(x), generator=generator)[:train_eval_size].to(device)
    history = {"loss": [], "acc": [], "running_loss": [], "time": []}
    if val_data is not None:
        history.update(val_loss=[], val_acc=[])
        xv, yv = _as_tensor(val_data[0], device, torch.float32), _as_tensor(val_data[1], device, torch.long)
    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=False)
    for _ in bar:
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x), device=device)
        running = torch.zeros((), device=device)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = x[idx], y[idx]
            if augment is not None:
                xb = augment(xb)
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += loss.detach() * len(idx)
        if scheduler is not None:
            scheduler.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        history["time"].append(time.perf_counter() - start)
        history["running_loss"].append(running.item() / len(x))
        train_loss, train_acc = evaluate(model, x[probe], y[probe], loss_fn)
        history["loss"].append(train_loss)
        history["acc"].append(train_acc)
        postfix = {"loss": f"{train_loss:.3f}", "acc": f"{train_acc:.3f}"}
        if val_data is not None:
            val_loss, val_acc = evaluate(model, xv, yv, loss_fn)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
            postfix["val_acc"] = f"{val_acc:.3f}"
        bar.set_postfix(postfix)
    return history
