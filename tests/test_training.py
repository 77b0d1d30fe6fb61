"""cu.fit: the training curve is measured like the validation curve (eval mode, end of epoch)."""
import numpy as np
import torch
from torch import nn

from course_utils import data, training


def _digits_model(p_drop=0.0):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Dropout(p_drop), nn.Linear(64, 10))


def test_fit_learns_and_reports_every_curve():
    x_train, y_train, x_test, y_test = data.digits(8)
    x_tr, y_tr, x_val, y_val = data.validation_split(x_train, y_train, fraction=0.2)
    history = training.fit(_digits_model(), (x_tr, y_tr), epochs=4, lr=3e-3, val_data=(x_val, y_val),
                           device="cpu", progress=False)
    assert set(history) == {"loss", "acc", "running_loss", "time", "val_loss", "val_acc"}
    assert all(len(v) == 4 for v in history.values())
    assert history["val_acc"][-1] > 0.85 and history["loss"][-1] < history["loss"][0]


def test_training_curve_is_measured_in_eval_mode():
    x_train, y_train, *_ = data.digits(8)
    model = _digits_model(p_drop=0.5)
    history = training.fit(model, (x_train, y_train), epochs=3, lr=3e-3, device="cpu", progress=False,
                           train_eval_size=len(x_train))
    loss, acc = training.evaluate(model, x_train, y_train)
    assert np.isclose(history["loss"][-1], loss, rtol=1e-5) and history["acc"][-1] == acc
    assert model.training  # left in train mode, as before
    # with dropout on, the running (train-mode) loss is above the eval-mode loss of the same epoch
    assert history["running_loss"][-1] > history["loss"][-1]


def test_train_subset_is_fixed_and_bounded():
    x_train, y_train, *_ = data.digits(8)
    calls = []
    original = training.evaluate

    def spy(model, x, y, *args, **kwargs):
        calls.append(x.clone())
        return original(model, x, y, *args, **kwargs)

    training.evaluate = spy
    try:
        training.fit(_digits_model(), (x_train, y_train), epochs=2, device="cpu", progress=False, train_eval_size=100)
    finally:
        training.evaluate = original
    assert len(calls) == 2 and calls[0].shape[0] == 100 and torch.equal(calls[0], calls[1])
