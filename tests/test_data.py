import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import data


def test_digits_shapes_range_and_determinism():
    x_train, y_train, x_test, y_test = data.digits(28)
    assert x_train.shape[1:] == (1, 28, 28) and x_train.dtype == np.float32
    assert len(x_train) + len(x_test) == 1797 and len(x_test) == 359
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert y_train.dtype == np.int64 and set(np.unique(y_train)) == set(range(10))
    again = data.digits(28)
    np.testing.assert_array_equal(again[0], x_train)
    assert data.digits(8)[0].shape[1:] == (1, 8, 8)
    assert not np.array_equal(data.digits(28, seed=1)[1], y_train)


def test_digits_bad_size_is_clear():
    with pytest.raises(ValueError, match="size"):
        data.digits(3)


@pytest.mark.parametrize("name", data.IMAGE_NAMES)
def test_sample_images_load_offline(name):
    image = data.sample_image(name)
    assert image.dtype == np.uint8 and image.ndim in (2, 3) and min(image.shape[:2]) >= 256
    if image.ndim == 3:
        assert image.shape[2] == 3


def test_sample_image_unknown_name_lists_names():
    with pytest.raises(ValueError, match="astronaut"):
        data.sample_image("no-such-photo")


def test_shapes_deterministic_and_consistent():
    a = data.shapes(40, size=64, seed=3)
    b = data.shapes(40, size=64, seed=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.images.shape == (40, 3, 64, 64) and a.images.dtype == np.float32
    assert 0.0 <= a.images.min() and a.images.max() <= 1.0
    assert not np.array_equal(a.images, data.shapes(40, seed=4).images)
    for boxes, labels, masks, semantic in zip(a.boxes, a.labels, a.masks, a.semantic):
        assert len(boxes) == len(labels) == len(masks) >= 1
        assert set(labels.tolist()) <= {1, 2, 3}
        for box, label, mask in zip(boxes, labels, masks):
            ys, xs = np.nonzero(mask)
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]  # box = tight box of the mask
            assert (semantic[mask] == label).all()  # the semantic mask agrees with each instance
        covered = masks.any(axis=0)
        assert (semantic[~covered] == 0).all()
        assert masks.sum(axis=0).max() <= 1  # instances do not overlap (occlusion resolved)


def test_shapes_has_every_class_and_several_objects():
    s = data.shapes(200, seed=0)
    labels = np.concatenate(s.labels)
    assert set(labels.tolist()) == {1, 2, 3}
    assert max(len(b) for b in s.boxes) >= 3


def test_shapes_as_torch_dataset_and_tensors():
    s = data.shapes(8, size=32, seed=0)
    image, target = s[0]
    assert image.shape == (3, 32, 32) and target["boxes"].dtype == torch.float32
    assert target["masks"].shape[1:] == (32, 32)
    loader = torch.utils.data.DataLoader(s.as_dataset(), batch_size=4, collate_fn=data.tuple_collate)
    images, targets = next(iter(loader))
    assert len(images) == 4 and len(targets) == 4
    x, y = s.tensors("cpu")
    assert x.shape == (8, 3, 32, 32) and y.shape == (8, 32, 32) and y.dtype == torch.int64


def test_shapes_bad_arguments():
    with pytest.raises(ValueError, match="size"):
        data.shapes(10, size=4)


def test_mnist_falls_back_to_digits_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    out = data.mnist(root=tmp_path, kind="fashion")
    assert "digits" in capsys.readouterr().out
    np.testing.assert_array_equal(out[0], data.digits(28)[0])
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_mnist_failed_download_leaves_no_cache(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(data, "online", lambda *a, **k: True)

    def broken(cls, root):
        root.mkdir(parents=True, exist_ok=True)
        raise RuntimeError("File not found or corrupted.")

    monkeypatch.setattr(data, "_download_atomically", broken)
    x_train, *_ = data.mnist(root=tmp_path)
    assert "corrupted" in capsys.readouterr().out
    assert x_train.shape[1:] == (1, 28, 28)
    assert not (tmp_path / "MNIST").exists()


def test_mnist_damaged_cache_is_reported_and_replaced(tmp_path, capsys, monkeypatch):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        (raw / name).write_bytes(b"\x00\x00\x08\x03 truncated")
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    x_train, *_ = data.mnist(root=tmp_path)
    out = capsys.readouterr().out
    assert "cannot be read" in out or "読めません" in out
    assert "digits" in out
    np.testing.assert_array_equal(x_train, data.digits(28)[0])

    class MNIST:  # reads like torchvision: fails on the damaged files, loads a complete folder
        def __init__(self, root, train=True):
            if not (Path(root) / "MNIST" / "complete").exists():
                raise ValueError("unexpected end of data")
            self.train = train

    def fresh_download(cls, root):  # as the real one: a complete folder replaces the damaged one
        shutil.rmtree(root / cls.__name__)
        (root / cls.__name__).mkdir()
        (root / cls.__name__ / "complete").write_text("")

    monkeypatch.setattr(data, "online", lambda *a, **k: True)
    monkeypatch.setattr(data, "_torchvision_class", lambda kind: MNIST)
    monkeypatch.setattr(data, "_download_atomically", fresh_download)
    monkeypatch.setattr(data, "_as_arrays", lambda train, test: ("arrays", train.train, test.train))
    assert data.mnist(root=tmp_path) == ("arrays", True, False)
    out = capsys.readouterr().out
    assert "unexpected end of data" in out  # the damage was reported before downloading again
    assert not raw.exists()


def test_atomic_download_moves_only_complete_data(tmp_path, monkeypatch):
    class FakeMNIST:
        def __init__(self, root, train=True, download=False):
            raw = __import__("pathlib").Path(root) / "FakeMNIST" / "raw"
            raw.mkdir(parents=True, exist_ok=True)
            (raw / ("train" if train else "test")).write_text("ok")

    data._download_atomically(FakeMNIST, tmp_path)
    assert sorted(p.name for p in (tmp_path / "FakeMNIST" / "raw").iterdir()) == ["test", "train"]
    assert [p.name for p in tmp_path.iterdir()] == ["FakeMNIST"]  # temp folder removed


def test_mnist_bad_kind():
    with pytest.raises(ValueError, match="fashion"):
        data.mnist(kind="cifar")


def test_online_respects_offline_switch(monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    assert data.online() is False
