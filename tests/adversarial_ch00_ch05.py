"""Adversarial answers for chapters 00 and 05, the data of tests/test_adversarial.py (issue 12).

``EXERCISES = {name: (check, wrong, right)}`` for normalize_image, max_pool2d, avg_pool2d,
max_pool2d_backward, conv_layer, dropout and batchnorm: ``wrong`` and ``right`` are lists of argument
tuples for the check (``(func,)`` or ``(Class,)``). Every wrong answer is a plausible student mistake
not already in the unit tests (tests/test_checks_core.py, test_checks_ch05.py, test_checks_ch05_layers.py)
and must be refused with ExerciseFailed; every right answer is unusual (another algorithm, dtype or
library route that the check's contract allows) and must pass. test_adversarial.py runs them all,
in both languages and under the hidden seed of the instructor's grading run. An entry that fails there
shows a bug in the check, not in the table: ConvStepInBackward and ConvFlipsInPlace (the reference is
computed from a W that the layer itself changed), DropoutChannels (the unit-by-unit test runs on 2-D
inputs only) and DropoutJustOffScale (an IndexError inside the check) do today.
"""

import numpy as np
import scipy.sparse
import torch
import torch.nn.functional as F

import course_utils as cu


# ------------------------------------------------------------------------------------- ch00: normalize_image

def _in_place_divide(img):
    img /= 255                       # a uint8 array cannot hold the quotient: NumPy raises
    return img


NORMALIZE_WRONG = [
    lambda img: img / img.max(),                                          # by the image's own maximum (black: 0/0)
    lambda img: img.astype(np.int8) / 255,                                # int8 wraps 255 to -1
    lambda img: (img + 1) / 256,                                          # off by one (and uint8 255 + 1 = 0)
    lambda img: img[..., ::-1] / 255,                                     # RGB → BGR, as for OpenCV
    lambda img: img.T / 255.0,                                            # transposed
    lambda img: 1 - img / 255,                                            # inverted (white is 0)
    lambda img: np.round(img / 255, 2),                                   # rounded for display
    lambda img: img // 255.0,                                             # floor division: 0 or 1
    _in_place_divide,                                                     # in place on a uint8 array
]
NORMALIZE_RIGHT = [
    lambda img: torch.from_numpy(img) / 255,                              # a float32 tensor
    lambda img: np.interp(img, [0, 255], [0.0, 1.0]),                     # a linear map
    lambda img: img.astype(np.longdouble) / 255,                          # extended precision
    lambda img: img * np.float32(1 / 255),                                # float32, multiplied
    lambda img: np.vectorize(lambda v: v / 255.0, otypes=[np.float64])(img),
]


# ------------------------------------------------------------------------------------- ch05: pooling forward

def _step(k, stride):
    return k if stride is None else stride


def _windows(x, k, s):
    return np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]


def _pool_loops(x, k, stride=None, reduce=np.max, dtype=float, last_window=1, size=None, offset=None):
    """Loops over the output positions; the keyword arguments make one mistake each."""
    s = _step(k, stride)
    n, c, h, w = x.shape
    ho, wo = size(h, w, k, s) if size else ((h - k) // s + last_window, (w - k) // s + last_window)
    out = np.zeros((n, c, ho, wo), dtype=dtype)
    for i in range(ho):
        for j in range(wo):
            r, q = (offset(i, j, s) if offset else (i * s, j * s))
            out[:, :, i, j] = reduce(x[:, :, r:r + k, q:q + k], axis=(2, 3))
    return out


def _max_relu_in_place(x, k, stride=None):
    np.maximum(x, 0, out=x)          # a ReLU before the pooling, done on the input itself
    return _windows(x, k, _step(k, stride)).max(axis=(-2, -1))


def _max_returns_indices(x, k, stride=None):
    out, idx = F.max_pool2d(torch.from_numpy(x), k, stride, return_indices=True)
    return out.numpy(), idx.numpy()  # (out, argmax) kept for the backward pass


MAX_WRONG = [
    lambda x, k, stride=None: _pool_loops(x, k, stride, last_window=0),                 # last window dropped
    lambda x, k, stride=None: _pool_loops(x, k, stride, dtype=int),                     # int output array
    lambda x, k, stride=None: _pool_loops(x, k, stride, size=lambda h, w, k, s: ((w - k) // s + 1,
                                                                                   (h - k) // s + 1)),  # H, W swapped
    lambda x, k, stride=None: _pool_loops(x, k, stride, offset=lambda i, j, s: (i, j)),  # window at i, not i·s
    lambda x, k, stride=None: _windows(x, _step(k, stride), _step(k, stride)).max(axis=(-2, -1)),  # k = stride
    lambda x, k, stride=None: _windows(x, k, _step(k, stride)).max(axis=(-2, -1)).transpose(0, 1, 3, 2),
    lambda x, k, stride=None: _windows(x[:1], k, _step(k, stride)).max(axis=(-2, -1)),  # first image only
    lambda x, k, stride=None: _pool_loops(x, k, stride, reduce=lambda a, axis: np.abs(a).max(axis=axis)),
    _max_relu_in_place,
    _max_returns_indices,
]


def _max_notebook(x, k, stride=None):
    """The chapter's route: a running np.maximum over the k·k strided slices."""
    s = _step(k, stride)
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.full((n, c, ho, wo), -np.inf)
    for p in range(k):
        for q in range(k):
            out = np.maximum(out, x[:, :, p:p + s * (ho - 1) + 1:s, q:q + s * (wo - 1) + 1:s])
    return out


MAX_RIGHT = [
    _max_notebook,
    lambda x, k, stride=None: F.max_pool2d(torch.from_numpy(x), k, stride),             # the library (named)
    lambda x, k, stride=None: torch.from_numpy(x).unfold(2, k, _step(k, stride)).unfold(
        3, k, _step(k, stride)).amax(dim=(-2, -1)),                                      # Tensor.unfold
    lambda x, k, stride=None: -(-_windows(x.astype(np.float32), k, _step(k, stride))).min(axis=(-2, -1)),
    lambda x, k, stride=None: np.sort(_windows(x, k, _step(k, stride)).reshape(
        *_windows(x, k, _step(k, stride)).shape[:4], k * k), axis=-1)[..., -1],         # the last after sorting
]


def _avg_divides_input(x, k, stride=None):
    x /= k * k                       # divides the input itself, then adds the windows up
    return _windows(x, k, _step(k, stride)).sum(axis=(-2, -1))


def _avg_integral_image(x, k, stride=None):
    """A summed-area table: every window sum from four corners, then the stride."""
    s = _step(k, stride)
    table = np.pad(x.cumsum(axis=2).cumsum(axis=3), ((0, 0), (0, 0), (1, 0), (1, 0)))
    sums = table[:, :, k:, k:] - table[:, :, :-k, k:] - table[:, :, k:, :-k] + table[:, :, :-k, :-k]
    return sums[:, :, ::s, ::s] / (k * k)


def _avg_separable(x, k, stride=None):
    """The mean over rows, then over columns: a k×k box is separable."""
    s = _step(k, stride)
    rows = np.lib.stride_tricks.sliding_window_view(x, k, axis=2)[:, :, ::s].mean(axis=-1)
    return np.lib.stride_tricks.sliding_window_view(rows, k, axis=3)[:, :, :, ::s].mean(axis=-1)


def _avg_by_conv(x, k, stride=None):
    """A convolution with a k×k kernel of 1/k², one channel at a time."""
    n, c, h, w = x.shape
    kernel = torch.full((1, 1, k, k), 1.0 / (k * k), dtype=torch.float64)
    out = F.conv2d(torch.from_numpy(x).reshape(n * c, 1, h, w), kernel, stride=_step(k, stride))
    return out.reshape(n, c, *out.shape[2:]).numpy()


AVG_WRONG = [
    lambda x, k, stride=None: _windows(x, k, _step(k, stride)).sum(axis=(-2, -1)) / k,             # by k
    lambda x, k, stride=None: _windows(x, k, _step(k, stride)).sum(axis=(-2, -1)) / _step(k, stride) ** 2,  # by s²
    lambda x, k, stride=None: _windows(x, k, _step(k, stride)).sum(axis=(-2, -1)) // (k * k),      # floor division
    lambda x, k, stride=None: _windows(x, k, stride or 1).mean(axis=(-2, -1)),                     # default stride 1
    lambda x, k, stride=None: _pool_loops(x, k, stride, reduce=np.mean, dtype=int),                # int output
    lambda x, k, stride=None: _pool_loops(x, k, stride, reduce=np.mean, last_window=0),            # last window
    lambda x, k, stride=None: _pool_loops(x, k, stride, reduce=np.median),                         # the median
    _avg_divides_input,
]
AVG_RIGHT = [
    _avg_integral_image,
    _avg_separable,
    _avg_by_conv,
    lambda x, k, stride=None: F.avg_pool2d(torch.from_numpy(x), k, stride),                        # the library
    lambda x, k, stride=None: _windows(x.astype(np.float32), k, _step(k, stride)).mean(axis=(-2, -1)),
]


# ------------------------------------------------------------------------------------- ch05: max pooling backward

def _bwd_loops(dout, x, k, stride=None, unravel=divmod, window=None, argmax=None, dtype=float, shape=None, dij=None):
    """Per-window loops, the first maximum in row-major order; the keyword arguments make one mistake each."""
    s = _step(k, stride)
    n, c, ho, wo = dout.shape
    dx = np.zeros(shape(x, k, ho, wo) if shape else x.shape, dtype=dtype)
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    r, q = window(i, j, s) if window else (i * s, j * s)
                    win = x[b, ch, r:r + k, q:q + k]
                    p, t = unravel(int(argmax(win) if argmax else np.argmax(win)), k)
                    g = dout[b, ch, j, i] if dij else dout[b, ch, i, j]
                    dx[b, ch, r + p, q + t] = dx[b, ch, r + p, q + t] + g
    return dx


def _bwd_upsampled_mask(dout, x, k, stride=None):
    """The pooled output repeated k times along H and W, compared with x: every tie, and no overlap."""
    out = _windows(x, k, _step(k, stride)).max(axis=(-2, -1))
    up = out.repeat(k, axis=2).repeat(k, axis=3)
    return (x == up) * dout.repeat(k, axis=2).repeat(k, axis=3)


def _bwd_argmax_no_axis(dout, x, k, stride=None):
    s = _step(k, stride)
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            win = x[:, :, i * s:i * s + k, j * s:j * s + k]
            idx = np.unravel_index(np.argmax(win), win.shape)      # one maximum for the whole batch
            dx[idx[0], idx[1], i * s + idx[2], j * s + idx[3]] += dout[idx[0], idx[1], i, j]
    return dx


def _bwd_across_channels(dout, x, k, stride=None):
    s = _step(k, stride)
    n, c, ho, wo = dout.shape
    dx = np.zeros_like(x)
    for i in range(ho):
        for j in range(wo):
            win = x[:, :, i * s:i * s + k, j * s:j * s + k].reshape(n, -1)   # (N, C·k·k): channels mixed
            ch, pq = np.divmod(win.argmax(axis=1), k * k)
            p, q = np.divmod(pq, k)
            for b in range(n):
                dx[b, ch[b], i * s + p[b], j * s + q[b]] += dout[b, ch[b], i, j]
    return dx


def _bwd_zeroes_x(dout, x, k, stride=None):
    s = _step(k, stride)
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            win = x[:, :, i * s:i * s + k, j * s:j * s + k]        # a view of x
            win[win < win.max(axis=(2, 3), keepdims=True)] = 0      # keeps the maxima ... in x itself
            dx[:, :, i * s:i * s + k, j * s:j * s + k] += (win != 0) * dout[:, :, i:i + 1, j:j + 1]
    return dx


MAXB_WRONG = [
    lambda d, x, k, stride=None: _bwd_loops(d, x, k, stride, unravel=lambda a, k: divmod(a, k)[::-1]),  # p, q swapped
    lambda d, x, k, stride=None: _bwd_loops(d, x, k, stride, dij=True),                 # dout[j, i]
    lambda d, x, k, stride=None: _bwd_loops(d, x, k, stride, window=lambda i, j, s: (i, j)),  # window at i, not i·s
    lambda d, x, k, stride=None: _bwd_loops(d, x, k, stride, dtype=int),                # an int dx
    lambda d, x, k, stride=None: _bwd_loops(d, x, k, stride, shape=lambda x, k, ho, wo: (*x.shape[:2], ho * k, wo * k)),
    _bwd_upsampled_mask,
    _bwd_argmax_no_axis,
    _bwd_across_channels,
    _bwd_zeroes_x,
]


def _bwd_autograd(dout, x, k, stride=None):
    tx = torch.tensor(x, requires_grad=True)
    F.max_pool2d(tx, k, stride).backward(torch.from_numpy(dout))
    return tx.grad                                               # a float64 tensor


def _bwd_torch_indices(dout, x, k, stride=None):
    """torch's arg-max indices (flat over H·W, the first maximum) and np.add.at for the overlaps."""
    n, c, h, w = x.shape
    _, idx = F.max_pool2d(torch.from_numpy(x), k, stride, return_indices=True)
    dx = np.zeros((n, c, h * w))
    np.add.at(dx, (np.arange(n)[:, None, None], np.arange(c)[None, :, None], idx.numpy().reshape(n, c, -1)),
              dout.reshape(n, c, -1))
    return dx.reshape(x.shape)


def _bwd_python(dout, x, k, stride=None):
    """Plain Python lists: list.index(max(...)) is the first maximum in row-major order."""
    s = _step(k, stride)
    dx = np.zeros(x.shape)
    for b, c, i, j in np.ndindex(*dout.shape):
        flat = x[b, c, i * s:i * s + k, j * s:j * s + k].ravel().tolist()
        p, q = divmod(flat.index(max(flat)), k)
        dx[b, c, i * s + p, j * s + q] += float(dout[b, c, i, j])
    return dx


def _bwd_sparse(dout, x, k, stride=None):
    """A sparse COO matrix of (arg-max pixel, dout): toarray() sums repeated entries."""
    s = _step(k, stride)
    n, c, h, w = x.shape
    win = _windows(x, k, s)
    ho, wo = win.shape[2:4]
    p, q = np.divmod(win.reshape(n, c, ho, wo, k * k).argmax(axis=-1), k)
    rows = np.arange(ho)[:, None] * s + p
    cols = np.arange(wo)[None, :] * s + q
    pixel = (np.arange(n * c).reshape(n, c, 1, 1) * h + rows) * w + cols
    matrix = scipy.sparse.coo_matrix((dout.ravel(), (np.zeros(pixel.size, int), pixel.ravel())), shape=(1, x.size))
    return matrix.toarray().reshape(x.shape).astype(np.float32)


MAXB_RIGHT = [_bwd_autograd, _bwd_torch_indices, _bwd_python, _bwd_sparse]


# ------------------------------------------------------------------------------------- ch05: the Conv layer

def _im2col(x, kh, kw, s, p, order=(1, 2, 3)):
    """(N·Ho·Wo, C·kh·kw) with the columns ordered (C, kh, kw); another ``order`` is a layout mistake."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::s, ::s]
    n, c, ho, wo = win.shape[:4]
    axes = {1: 1, 2: 4, 3: 5}
    return win.transpose(0, 2, 3, *[axes[a] for a in order]).reshape(n * ho * wo, -1), ho, wo


def _col2im(col, shape, kh, kw, s, p, ho, wo):
    n, c, h, w = shape
    cols = col.reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    xp = np.zeros((n, c, h + 2 * p, w + 2 * p))
    for i in range(kh):
        for j in range(kw):
            xp[:, :, i:i + s * ho:s, j:j + s * wo:s] += cols[:, :, i, j]
    return xp[:, :, p:p + h, p:p + w]


class ConvBase:
    """A right im2col layer; the subclasses below each make one mistake."""

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
        self.col = self.dW = self.db = None

    def im2col(self, x, kh, kw):
        return _im2col(x, kh, kw, self.stride, self.pad)

    def forward(self, x):
        f, c, kh, kw = self.W.shape
        self.x_shape = x.shape
        self.col, self.ho, self.wo = self.im2col(x, kh, kw)
        out = self.col @ self.W.reshape(f, -1).T + self.b
        return out.reshape(x.shape[0], self.ho, self.wo, f).transpose(0, 3, 1, 2)

    def backward(self, dout):
        f, c, kh, kw = self.W.shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, f)
        self.dW = (d.T @ self.col).reshape(self.W.shape)
        self.db = d.sum(axis=0)
        return self.dx(d, kh, kw)

    def dx(self, d, kh, kw):
        return _col2im(d @ self.W.reshape(self.W.shape[0], -1), self.x_shape, kh, kw, self.stride, self.pad,
                       self.ho, self.wo)


class ConvFlipped(ConvBase):        # a true convolution: the kernel flipped
    def forward(self, x):
        W = self.W
        self.W = W[:, :, ::-1, ::-1]
        try:
            return super().forward(x)
        finally:
            self.W = W


class ConvNoBias(ConvBase):
    def forward(self, x):
        return super().forward(x) - self.b[None, :, None, None]


class ConvDbMean(ConvBase):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout.mean(axis=(0, 2, 3))
        return dx


class ConvNoStride(ConvBase):       # forward and backward with stride 1
    def im2col(self, x, kh, kw):
        return _im2col(x, kh, kw, 1, self.pad)


class ConvNoPad(ConvBase):
    def im2col(self, x, kh, kw):
        return _im2col(x, kh, kw, self.stride, 0)


class ConvColumnsHWC(ConvBase):     # im2col columns (kh, kw, C) but W flattened (C, kh, kw)
    def im2col(self, x, kh, kw):
        return _im2col(x, kh, kw, self.stride, self.pad, order=(2, 3, 1))


class ConvCachesCol(ConvBase):      # im2col computed on the first forward only
    def im2col(self, x, kh, kw):
        if self.col is None:
            return super().im2col(x, kh, kw)
        return self.col, self.ho, self.wo


class ConvAsType(ConvBase):         # astype copies: the optimiser's in-place updates are lost
    def __init__(self, W, b, stride=1, pad=0):
        super().__init__(W.astype(float), b.astype(float), stride, pad)


class ConvWrongWReshape(ConvBase):  # dx with W flattened as (C·kh·kw, F) and transposed: scrambled
    def dx(self, d, kh, kw):
        return _col2im(d @ self.W.reshape(-1, self.W.shape[0]).T, self.x_shape, kh, kw, self.stride, self.pad,
                       self.ho, self.wo)


class ConvCol2imStride1(ConvBase):  # col2im without the stride
    def dx(self, d, kh, kw):
        return _col2im(d @ self.W.reshape(self.W.shape[0], -1), self.x_shape, kh, kw, 1, self.pad, self.ho, self.wo)


class ConvChannelsLast(ConvBase):   # the output left (N, Ho, Wo, F)
    def forward(self, x):
        return super().forward(x).transpose(0, 2, 3, 1)


class ConvStepInBackward(ConvBase):
    """backward also takes an SGD step on W (in place, the caller's array), then computes dx with the
    new W: dx is not the gradient of the forward that was run."""

    def backward(self, dout):
        f, c, kh, kw = self.W.shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, f)
        self.dW = (d.T @ self.col).reshape(self.W.shape)
        self.db = d.sum(axis=0)
        self.W -= 0.1 * self.dW
        return self.dx(d, kh, kw)


class ConvFlipsInPlace(ConvBase):
    """A true convolution by flipping the kernel once, in place: the caller's W is overwritten."""

    def __init__(self, W, b, stride=1, pad=0):
        W[...] = W[:, :, ::-1, ::-1].copy()
        super().__init__(W, b, stride, pad)


CONV_WRONG = [ConvFlipped, ConvNoBias, ConvDbMean, ConvNoStride, ConvNoPad, ConvColumnsHWC, ConvCachesCol,
              ConvAsType, ConvWrongWReshape, ConvCol2imStride1, ConvChannelsLast, ConvStepInBackward,
              ConvFlipsInPlace]


class ConvEinsum:
    """Windows by sliding_window_view and einsum; dx scattered window position by window position."""

    def __init__(self, W, b, stride=1, pad=0):
        self.params = {"W": W, "b": b}
        self.s, self.p = stride, pad

    def forward(self, x):
        W, b, s, p = self.params["W"], self.params["b"], self.s, self.p
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        self.x_shape = x.shape
        self.win = np.lib.stride_tricks.sliding_window_view(self.xp, W.shape[2:], axis=(2, 3))[:, :, ::s, ::s]
        return np.einsum("ncijkl,fckl->nfij", self.win, W) + b[:, None, None]

    def backward(self, dout):
        W, s, p = self.params["W"], self.s, self.p
        self.dW = np.einsum("ncijkl,nfij->fckl", self.win, dout)
        self.db = np.einsum("nfij->f", dout)
        dxp = np.zeros_like(self.xp)
        ho, wo = dout.shape[2:]
        contrib = np.einsum("nfij,fckl->ncklij", dout, W)
        for k in range(W.shape[2]):
            for m in range(W.shape[3]):
                dxp[:, :, k:k + s * ho:s, m:m + s * wo:s] += contrib[:, :, k, m]
        h, w = self.x_shape[2:]
        return dxp[:, :, p:p + h, p:p + w]


class ConvAutograd:
    """torch autograd inside the layer; torch.from_numpy shares W's and b's memory."""

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        self.tx = torch.tensor(x, requires_grad=True)
        self.tW = torch.from_numpy(self.W).requires_grad_()
        self.tb = torch.from_numpy(self.b).requires_grad_()
        self.out = F.conv2d(self.tx, self.tW, self.tb, stride=self.stride, padding=self.pad)
        return self.out.detach().numpy()

    def backward(self, dout):
        for t in (self.tx, self.tW, self.tb):
            t.grad = None
        self.out.backward(torch.from_numpy(dout), retain_graph=True)
        self.dW, self.db = self.tW.grad.numpy().copy(), self.tb.grad.numpy().copy()
        return self.tx.grad.numpy().copy()


class ConvTransposed:
    """dx as a transposed convolution, dW as a convolution of x with dout (torch.nn.grad)."""

    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        self.x = torch.from_numpy(x.copy())
        return F.conv2d(self.x, torch.from_numpy(self.W), torch.from_numpy(self.b), self.stride, self.pad).numpy()

    def backward(self, dout):
        d, W = torch.from_numpy(dout), torch.from_numpy(self.W)
        self.dW = torch.nn.grad.conv2d_weight(self.x, W.shape, d, self.stride, self.pad).numpy()
        self.db = d.sum(dim=(0, 2, 3)).numpy()
        return torch.nn.grad.conv2d_input(self.x.shape, W, d, self.stride, self.pad)


class ConvReshapeDout(ConvBase):
    """dout (N, F, Ho, Wo) flattened as (N, F, Ho·Wo), then the positions brought before the filters."""

    def backward(self, dout):
        n, f = dout.shape[:2]
        d = dout.reshape(n, f, -1).transpose(0, 2, 1).reshape(-1, f)
        self.dW = np.tensordot(d, self.col, axes=(0, 0)).reshape(self.W.shape)
        self.db = np.add.reduce(d, axis=0)
        return self.dx(d, *self.W.shape[2:])


CONV_RIGHT = [ConvEinsum, ConvAutograd, ConvTransposed, ConvReshapeDout]


# ------------------------------------------------------------------------------------- ch05: Dropout

class DropoutBase:
    """A right inverted dropout; the subclasses below each make one mistake."""

    def __init__(self, ratio=0.5):
        self.ratio, self.mask = ratio, None

    def draw(self, x):
        return np.random.rand(*x.shape) >= self.ratio

    def forward(self, x, train=True):
        if not train:
            return x
        self.mask = self.draw(x)
        return x * self.mask / (1 - self.ratio)

    def backward(self, dout):
        return dout * self.mask / (1 - self.ratio)


class DropoutRandn(DropoutBase):    # randn instead of rand: the dropped fraction is Φ(ratio)
    def draw(self, x):
        return np.random.randn(*x.shape) >= self.ratio


class DropoutByRatio(DropoutBase):  # scaled by 1/ratio: right only at 0.5
    def forward(self, x, train=True):
        if not train:
            return x
        self.mask = self.draw(x)
        return x * self.mask / self.ratio

    def backward(self, dout):
        return dout * self.mask / self.ratio


class DropoutOnce(DropoutBase):     # one mask, drawn on the first call and kept
    def draw(self, x):
        return self.mask if self.mask is not None and self.mask.shape == x.shape else super().draw(x)


class DropoutInPlace(DropoutBase):  # zeroes the dropped units of x itself
    def forward(self, x, train=True):
        if not train:
            return x
        self.mask = self.draw(x)
        x[~self.mask] = 0
        return x / (1 - self.ratio)


class DropoutSharedByBatch(DropoutBase):   # one mask per feature, shared by every sample of the batch
    def draw(self, x):
        return np.broadcast_to(np.random.rand(*x.shape[1:]) >= self.ratio, x.shape)


class DropoutTrainingKeyword(DropoutBase):  # the keyword is train, not training
    def forward(self, x, training=True):
        return super().forward(x, training)


class DropoutChannels(DropoutBase):
    """Whole channel maps dropped on (N, C, H, W) inputs (as nn.Dropout2d), units on (N, D)."""

    def draw(self, x):
        if x.ndim == 4:
            return np.broadcast_to(np.random.rand(*x.shape[:2], 1, 1) >= self.ratio, x.shape)
        return super().draw(x)


class DropoutJustOffScale(DropoutBase):
    """A boundary probe rather than a typical mistake: the kept units with |x| < 0.6 are scaled by
    c·(1 + 1e-5) + 1.5e-8, c = 1/(1 − ratio), just outside the check's rtol of 1e-5 for the scale, while
    every kept output stays inside np.isclose(out, x·c, rtol=1e-5) (whose atol is not divided by |x|)."""

    def forward(self, x, train=True):
        out = super().forward(x, train)
        if not train or self.ratio == 0:
            return out
        c = 1 / (1 - self.ratio)
        return np.where(self.mask & (np.abs(x) < 0.6), x * (c * (1 + 1e-5) + 1.5e-8), out)


DROPOUT_WRONG = [DropoutRandn, DropoutByRatio, DropoutOnce, DropoutInPlace, DropoutSharedByBatch,
                 DropoutTrainingKeyword, DropoutChannels, DropoutJustOffScale]


class DropoutTorch:
    """torch's F.dropout; the mask read back from the output (x has no zeros)."""

    def __init__(self, ratio=0.5):
        self.ratio = ratio

    def forward(self, x, train=True):
        out = F.dropout(torch.from_numpy(x), p=self.ratio, training=bool(train))
        self.keep = (out != 0).numpy()
        return out.numpy()

    def backward(self, dout):
        return np.where(self.keep, dout / (1 - self.ratio), 0.0)


class DropoutBinomial(DropoutBase):
    """An integer 0/1 mask from np.random.binomial with the keep probability."""

    def draw(self, x):
        return np.random.binomial(1, 1 - self.ratio, size=x.shape)


class DropoutUniform(DropoutBase):
    """np.random.uniform(size=...) < 1 − ratio; ratio 0 returns x itself and backward dout."""

    def draw(self, x):
        return np.random.uniform(size=x.shape) < 1 - self.ratio

    def forward(self, x, train=True):
        if not train or self.ratio == 0:
            self.mask = None
            return x
        return super().forward(x, train)

    def backward(self, dout):
        return dout if self.mask is None else super().backward(dout)


class DropoutFloat32(DropoutBase):
    """The forward's result in float32, the mask stored already scaled."""

    def forward(self, x, train=True):
        if not train:
            return x.copy()
        self.mask = np.where(np.random.rand(*x.shape) > self.ratio, 1 / (1 - self.ratio), 0.0)
        return (x * self.mask).astype(np.float32)

    def backward(self, dout):
        return dout * self.mask


DROPOUT_RIGHT = [DropoutTorch, DropoutBinomial, DropoutUniform, DropoutFloat32]


# ------------------------------------------------------------------------------------- ch05: BatchNorm

class BNBase:
    """A right batch norm (the notebook's); the subclasses below each make one mistake."""

    def __init__(self, gamma, beta, eps=1e-5, momentum=0.1):
        self.gamma, self.beta, self.eps, self.momentum = gamma, beta, eps, momentum
        self.running_mean = self.running_var = None

    def update(self, x, mu, var):
        n = len(x)
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mu
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1)

    def eval_std(self):
        return np.sqrt(self.running_var + self.eps)

    def forward(self, x, train=True):
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1]), np.ones(x.shape[1])
        if train:
            mu, var = x.mean(axis=0), x.var(axis=0)
            self.update(x, mu, var)
            self.std = np.sqrt(var + self.eps)
        else:
            mu, self.std = self.running_mean, self.eval_std()
        self.x = x
        self.xhat = (x - mu) / self.std
        return self.gamma * self.xhat + self.beta

    def backward(self, dout):
        self.dbeta = dout.sum(axis=0)
        self.dgamma = (dout * self.xhat).sum(axis=0)
        return self.dx(dout)

    def dx(self, dout):
        return self.gamma / self.std * (dout - dout.mean(axis=0) - self.xhat * (dout * self.xhat).mean(axis=0))


class BNNoMeanTerm(BNBase):
    def dx(self, dout):
        return self.gamma / self.std * (dout - self.xhat * (dout * self.xhat).mean(axis=0))


class BNRunningNever(BNBase):
    def update(self, x, mu, var):
        pass


class BNRunningLast(BNBase):
    def update(self, x, mu, var):
        self.running_mean, self.running_var = mu, var * len(x) / (len(x) - 1)


class BNEvalUpdates(BNBase):        # the running statistics updated on train=False too
    def forward(self, x, train=True):
        out = super().forward(x, train)
        if not train:
            self.update(x, x.mean(axis=0), x.var(axis=0))
        return out


class BNDgammaX(BNBase):            # dgamma with x instead of x̂
    def backward(self, dout):
        dx = super().backward(dout)
        self.dgamma = (dout * self.x).sum(axis=0)
        return dx


class BNDbetaMean(BNBase):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dbeta = dout.mean(axis=0)
        return dx


class BNNormalisesInPlace(BNBase):
    def forward(self, x, train=True):
        if not train:
            return super().forward(x, train)
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1]), np.ones(x.shape[1])
        mu, var = x.mean(axis=0), x.var(axis=0)
        self.update(x, mu, var)
        self.std = np.sqrt(var + self.eps)
        x -= mu
        x /= self.std
        self.xhat = x
        return self.gamma * x + self.beta


class BNBackwardNoEps(BNBase):      # backward recomputes σ without eps
    def dx(self, dout):
        sigma = np.sqrt(self.xhat.var(axis=0) * self.std ** 2)
        return self.gamma / sigma * (dout - dout.mean(axis=0) - self.xhat * (dout * self.xhat).mean(axis=0))


class BNBackwardNMinus1(BNBase):    # the means of backward over N − 1
    def dx(self, dout):
        n = len(dout)
        return self.gamma / self.std * (dout - dout.sum(0) / (n - 1) - self.xhat * (dout * self.xhat).sum(0) / (n - 1))


class BNEvalNoEps(BNBase):          # train=False divides by √running_var, no eps
    def eval_std(self):
        return np.sqrt(self.running_var)


class BNRunningStd(BNBase):         # the running "variance" averages the standard deviation
    def update(self, x, mu, var):
        self.running_mean = 0.9 * self.running_mean + 0.1 * mu
        self.running_var = 0.9 * self.running_var + 0.1 * np.sqrt(var)


class BNGlobal(BNBase):             # one mean and variance over the whole array
    def forward(self, x, train=True):
        if not train:
            return super().forward(x, train)
        self.running_mean = np.zeros(x.shape[1]) if self.running_mean is None else self.running_mean
        self.running_var = np.ones(x.shape[1]) if self.running_var is None else self.running_var
        self.update(x, x.mean(axis=0), x.var(axis=0))
        self.std = np.sqrt(x.var() + self.eps)
        self.x, self.xhat = x, (x - x.mean()) / self.std
        return self.gamma * self.xhat + self.beta


class BNStepInBackward(BNBase):     # backward also takes an SGD step on gamma and beta, in place
    def backward(self, dout):
        dx = super().backward(dout)
        self.gamma -= 0.1 * self.dgamma
        self.beta -= 0.1 * self.dbeta
        return dx


BN_WRONG = [BNNoMeanTerm, BNRunningNever, BNRunningLast, BNEvalUpdates, BNDgammaX, BNDbetaMean,
            BNNormalisesInPlace, BNBackwardNoEps, BNBackwardNMinus1, BNEvalNoEps, BNRunningStd, BNGlobal,
            BNStepInBackward]


class BNTorch:
    """F.batch_norm with autograd; torch updates the running statistics in place (momentum 0.1, unbiased)."""

    def __init__(self, gamma, beta, eps=1e-5):
        self.gamma, self.beta, self.eps = gamma, beta, eps
        self.rm = torch.zeros(len(gamma), dtype=torch.float64)
        self.rv = torch.ones(len(gamma), dtype=torch.float64)

    def forward(self, x, train=True):
        self.tx = torch.tensor(x, requires_grad=True)
        self.tg = torch.from_numpy(self.gamma).requires_grad_()
        self.tb = torch.from_numpy(self.beta).requires_grad_()
        self.out = F.batch_norm(self.tx, self.rm, self.rv, self.tg, self.tb, training=train, momentum=0.1, eps=self.eps)
        return self.out.detach().numpy()

    def backward(self, dout):
        self.out.backward(torch.from_numpy(dout))
        self.dgamma, self.dbeta = self.tg.grad.numpy().copy(), self.tb.grad.numpy().copy()
        return self.tx.grad.numpy().copy()


class BNJacobian(BNBase):
    """dx from the explicit N×N Jacobian of every column: (γ/σ)(I − 1/N − x̂ x̂ᵀ/N)."""

    def dx(self, dout):
        n = len(dout)
        eye = np.eye(n)[None]
        xh = self.xhat.T                                        # (D, N)
        jac = (self.gamma / self.std)[:, None, None] * (eye - 1 / n - xh[:, :, None] * xh[:, None, :] / n)
        return np.einsum("dij,jd->id", jac, dout)


class BNRowViews(BNBase):
    """gamma and beta kept as (1, D) views (reshape shares memory); the classic N·dout form of dx."""

    def __init__(self, gamma, beta, eps=1e-5):
        super().__init__(gamma.reshape(1, -1), beta[None, :], eps)

    def backward(self, dout):
        n = len(dout)
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.einsum("nd,nd->d", dout, self.xhat)
        return (self.gamma / (n * self.std)) * (n * dout - dout.sum(0) - self.xhat * (dout * self.xhat).sum(0))


class BNWelford(BNBase):
    """Mean and variance by Welford's running algorithm, row by row; a biased running variance."""

    def update(self, x, mu, var):
        self.running_mean = 0.9 * self.running_mean + 0.1 * mu
        self.running_var = 0.9 * self.running_var + 0.1 * var

    def forward(self, x, train=True):
        if not train:
            return super().forward(x, train)
        mean, m2 = np.zeros(x.shape[1]), np.zeros(x.shape[1])
        for count, row in enumerate(x, start=1):
            delta = row - mean
            mean = mean + delta / count
            m2 = m2 + delta * (row - mean)
        if self.running_mean is None:
            self.running_mean, self.running_var = np.zeros(x.shape[1]), np.ones(x.shape[1])
        self.update(x, mean, m2 / len(x))
        self.std = np.sqrt(m2 / len(x) + self.eps)
        self.x, self.xhat = x, (x - mean) / self.std
        return self.gamma * self.xhat + self.beta


BN_RIGHT = [BNTorch, BNJacobian, BNRowViews, BNWelford]


# ------------------------------------------------------------------------------------- the table

EXERCISES = {
    "normalize_image": (cu.checks.normalize_image, [(a,) for a in NORMALIZE_WRONG], [(a,) for a in NORMALIZE_RIGHT]),
    "max_pool2d": (cu.checks.max_pool2d, [(a,) for a in MAX_WRONG], [(a,) for a in MAX_RIGHT]),
    "avg_pool2d": (cu.checks.avg_pool2d, [(a,) for a in AVG_WRONG], [(a,) for a in AVG_RIGHT]),
    "max_pool2d_backward": (cu.checks.max_pool2d_backward, [(a,) for a in MAXB_WRONG], [(a,) for a in MAXB_RIGHT]),
    "conv_layer": (cu.checks.conv_layer, [(a,) for a in CONV_WRONG], [(a,) for a in CONV_RIGHT]),
    "dropout": (cu.checks.dropout, [(a,) for a in DROPOUT_WRONG], [(a,) for a in DROPOUT_RIGHT]),
    "batchnorm": (cu.checks.batchnorm, [(a,) for a in BN_WRONG], [(a,) for a in BN_RIGHT]),
}
