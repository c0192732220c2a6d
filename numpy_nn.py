"""A small neural-network library in NumPy and a 4-vs-9 MNIST classifier built with it.

The upload system imports this file alone and tests the layers by the course
template's API, so names, signatures and shapes below are a contract:

    Layer.forward(x) / backward(dL_wrt_output) / params() / grads()
    Loss.forward(x, y) / backward()
    Linear(input_dimension, output_dimension), ReLU(), Sigmoid(), SE()
    get_linear_class(), get_relu_class(), get_sigmoid_class(), get_se_loss_class()
    load_data(path, class_a, class_b)

Shapes: B = batch size, D = input width, H = output (hidden) width, ... = any
shape (the same one throughout a class). Each template class states its shapes
one method a line, `method: inputs -> outputs` (no arrow: the method takes no
arguments), each array as `name (shape)`, `none` for no arrays; the tests parse
these lines and check the code against them.
`Linear.grads()` returns exact per-sample gradients (B, D, H) as the template
asks; training uses `batch_mean_grads()` instead, the same mean computed with
one matrix product and no (B, D, H) tensor.

Contents, in order:

    Config                                  every knob of the training run, with its reason
    Layer, Loss, Linear, ReLU, Sigmoid, SE  the template's API, each forward beside its derivative
    get_linear_class ... get_se_loss_class  the hooks older graders fetch the classes through
    Sequential, build_mlp, SGD              beyond the template: the MLP and its optimiser
    gradient_check                          every derivative against a numerical one
    load_data, deskew, random_shift         the two digits, upright, and their augmentation
    fit                                     the training loop
    plot_training, plot_classification      the two PNGs
    parse_args, main                        the command line

Run `python numpy_nn.py --help` (or `make train-numpy`): trains an MLP on
digits 4 vs 9 and writes numpy_nn_training.png and numpy_nn_classification.png.
Importing this module trains nothing and writes nothing.
"""

import argparse
import os
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Tuple  # not tuple[...]: Python 3.8 graders

if __name__ == "__main__":  # only when run as a script, before numpy loads OpenBLAS:
    # One BLAS thread. Our products are small ((32, 784) x (784, 256)), so a second thread gains
    # little, and next to another busy process it spins waiting for a core, which slows training
    # many times over. One thread also fixes the summation order, so the committed PNGs reproduce
    # bit for bit. Set OPENBLAS_NUM_THREADS yourself to override.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402


# ----------------------------------------------------------------------------
# Hyper-parameters: every knob of the training run, in one place.
# The defaults reproduce the committed PNGs.


def knob(default, help, **argparse_options):
    """A Config field; `--help` prints `help` and the default. Extra options
    (nargs, metavar) go to argparse."""
    return field(default=default, metadata=dict(help=help, **argparse_options))


@dataclass(frozen=True)
class Config:
    digits: Tuple[int, int] = knob((4, 9), "the two digits: A is labelled 0, B 1 (the template's pair)",
                                   nargs=2, metavar=("A", "B"))
    data: str = knob("full-mnist.npz", "MNIST npz written by `make data`")
    out_dir: str = knob(".", "folder for numpy_nn_training.png and numpy_nn_classification.png")
    seed: int = knob(0, "seeds the run's one np.random.Generator: split, init, order, augmentation")
    val_fraction: float = knob(0.5, "share of the training images held out for validation, as the template")
    hidden: Tuple[int, ...] = knob((256,), "widths of the ReLU hidden layers")
    epochs: int = knob(60, "passes over the training part")
    batch_size: int = knob(32, "samples per SGD step")
    lr: float = knob(0.1, "SGD step size in the first epoch")
    lr_end: float = knob(0.0, "the step size falls on a half cosine towards this (--lr: constant)")
    momentum: float = knob(0.9, "heavy-ball momentum (0: the template's plain update)")
    weight_decay: float = knob(5e-4, "L2 penalty: adds weight_decay * p to every gradient")
    # augmentation: every epoch trains on freshly shifted copies of the training images
    shift: int = knob(1, "random shift of up to this many whole pixels per axis (0: none)")
    deskew: bool = knob(True, "shear every image upright and centre it before training and testing")
    dtype: str = knob("float32", "training dtype; float32 moves half the bytes of float64, so trains faster")


# ----------------------------------------------------------------------------
# Template API: base classes.


class Layer:
    """A differentiable map. forward(x) -> y; backward(dL/dy) -> dL/dx (same shape as x)."""

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dL_wrt_output):
        raise NotImplementedError

    def params(self):
        """Trainable arrays by name, the very arrays used in forward (update them in place)."""
        return {}

    def grads(self):
        """Per-sample gradients by name, shape (B, *param.shape)."""
        return {}

    def batch_mean_grads(self):
        """Batch-mean gradients by name, shape param.shape; equals grads()[name].mean(axis=0)."""
        return {}


class Loss:
    """An elementwise loss. forward(x, y) -> per-element loss; backward() -> dL/dx."""

    def forward(self, x, y):
        raise NotImplementedError

    def backward(self):
        raise NotImplementedError


def _shape_error(what, expected, got):
    return ValueError(f"{what}: expected shape {expected}, got {tuple(got)}")


# ----------------------------------------------------------------------------
# Template API: layers and loss. Each forward sits next to its derivative.


class Linear(Layer):
    """Affine map y = x W + b, rows are samples; Linear(D, H).

    params:           W (D, H), b (1, H)
    forward:          x (B, D) -> y (B, H)
    backward:         dL/dy (B, H) -> dL/dx (B, D)
    grads:            dL/dW (B, D, H), dL/db (B, 1, H)
    batch_mean_grads: dL/dW (D, H), dL/db (1, H)

    y = x W + b; dL/dx = dL/dy W^T; per sample i, dL/dW_i = x_i^T dL/dy_i and
    dL/db_i = dL/dy_i; batch_mean_grads is their mean over i. W and b are drawn
    from N(0, 1) / 100 (the template's init). Keyword-only: rng
    (np.random.Generator; None uses np.random's global state like the template)
    and dtype of W and b.
    """

    def __init__(self, input_dimension, output_dimension, *, rng=None, dtype=np.float64):
        normal = np.random.standard_normal if rng is None else rng.standard_normal
        self.W = (normal((input_dimension, output_dimension)) / 100).astype(dtype)  # (D, H)
        self.b = (normal((1, output_dimension)) / 100).astype(dtype)  # (1, H)
        self.x = None  # input of the last forward, (B, D)
        self.dL_wrt_output = None  # argument of the last backward, (B, H)

    def __repr__(self):
        return f"Linear({self.W.shape[0]}, {self.W.shape[1]})"

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.W.shape[0]:
            raise _shape_error(f"{self!r}.forward input", f"(batch, {self.W.shape[0]})", x.shape)
        self.x, self.dL_wrt_output = x, None
        return x @ self.W + self.b  # (B, H)

    def backward(self, dL_wrt_output):
        """dL/dy (B, H) -> dL/dx (B, D); saves dL/dy for grads() and batch_mean_grads()."""
        if self.x is None:
            raise RuntimeError(f"{self!r}.backward called before forward")
        dy = np.asarray(dL_wrt_output)
        expected = (self.x.shape[0], self.W.shape[1])
        if dy.shape != expected:
            raise _shape_error(f"{self!r}.backward gradient", expected, dy.shape)
        self.dL_wrt_output = dy
        return dy @ self.W.T  # (B, D)

    def params(self):
        return {"W": self.W, "b": self.b}

    def _saved(self):
        if self.dL_wrt_output is None:
            raise RuntimeError(f"{self!r}: gradients need a forward and a backward first")
        return self.x, self.dL_wrt_output

    def grads(self):
        x, dy = self._saved()
        return {"W": x[:, :, None] * dy[:, None, :],  # (B, D, H): outer products x_i^T dy_i
                "b": dy[:, None, :].copy()}  # (B, 1, H)

    def batch_mean_grads(self):
        x, dy = self._saved()
        # (D, H): one matrix product, no (B, D, H) tensor to write and sum
        return {"W": (x.T @ dy) / len(x),
                "b": dy.mean(axis=0, keepdims=True)}  # (1, H)


class _Elementwise(Layer):
    """Shared bookkeeping of elementwise layers: any input shape, output of the same shape."""

    def __repr__(self):
        return f"{type(self).__name__}()"

    def _check_backward(self, dL_wrt_output, kept):
        """dL/dy as an array of the shape of `kept`, what forward kept (None: forward never ran)."""
        if kept is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        dy = np.asarray(dL_wrt_output)
        if dy.shape != kept.shape:
            raise _shape_error(f"{type(self).__name__}.backward gradient", kept.shape, dy.shape)
        return dy


class ReLU(_Elementwise):
    """y = max(x, 0); dy/dx = 1 where x > 0, else 0.

    forward:          x (...) -> y (...)
    backward:         dL/dy (...) -> dL/dx (...)
    params:           none
    grads:            none
    batch_mean_grads: none
    """

    def __init__(self):
        self.mask = None  # x > 0 of the last forward, boolean, shape of x

    def forward(self, x):
        x = np.asarray(x)
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dL_wrt_output):
        return self._check_backward(dL_wrt_output, self.mask) * self.mask


class Sigmoid(_Elementwise):
    """y = 1 / (1 + exp(-x)); dy/dx = y (1 - y).

    forward:          x (...) -> y (...)
    backward:         dL/dy (...) -> dL/dx (...)
    params:           none
    grads:            none
    batch_mean_grads: none

    Computed as exp(-log(1 + exp(-x))) with np.logaddexp, which never
    overflows: finite and warning-free for any finite x (e.g. +-1e4).
    """

    def __init__(self):
        self.y = None  # output of the last forward, shape of x

    def forward(self, x):
        x = np.asarray(x)
        self.y = np.exp(-np.logaddexp(0, -x))
        return self.y

    def backward(self, dL_wrt_output):
        y = self.y
        return self._check_backward(dL_wrt_output, y) * y * (1 - y)


class SE(Loss):
    """Squared error per element, not averaged: L = (x - y)^2; dL/dx = 2 (x - y).

    forward:  x (...), y (...) -> L (...)
    backward: dL/dx (...)
    """

    def __init__(self):
        self.diff = None  # x - y of the last forward

    def forward(self, x, y):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            raise ValueError(f"SE.forward: prediction shape {x.shape} != target shape {y.shape}")
        self.diff = x - y
        return self.diff**2

    def backward(self):
        if self.diff is None:
            raise RuntimeError("SE.backward called before forward")
        return 2 * self.diff


# Older graders fetch the classes through these.
def get_linear_class():
    return [Linear]


def get_relu_class():
    return [ReLU]


def get_sigmoid_class():
    return [Sigmoid]


def get_se_loss_class():
    return [SE]


# ----------------------------------------------------------------------------
# Beyond the template: a container, the MLP, SGD, gradient checking.


class Sequential(Layer):
    """Layers applied in order. Parameter names are '<index>.<name>', e.g. '0.W'."""

    def __init__(self, layers):
        self.layers = list(layers)

    def __repr__(self):
        return "Sequential(" + ", ".join(map(repr, self.layers)) + ")"

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dL_wrt_output):
        """dL/d(output) -> dL/d(input), through the layers in reverse order."""
        for layer in reversed(self.layers):
            dL_wrt_output = layer.backward(dL_wrt_output)
        return dL_wrt_output

    def _collect(self, method):
        return {f"{i}.{name}": value for i, layer in enumerate(self.layers)
                for name, value in getattr(layer, method)().items()}

    def params(self):
        return self._collect("params")

    def grads(self):
        return self._collect("grads")

    def batch_mean_grads(self):
        return self._collect("batch_mean_grads")


def build_mlp(input_dimension, hidden, output_dimension, rng, dtype=np.float64):
    """Linear -> ReLU for each width in `hidden`, then Linear -> Sigmoid. (B, D) -> (B, output) in (0, 1)."""
    widths = [input_dimension, *hidden]
    layers = []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        layers += [Linear(d_in, d_out, rng=rng, dtype=dtype), ReLU()]
    layers += [Linear(widths[-1], output_dimension, rng=rng, dtype=dtype), Sigmoid()]
    return Sequential(layers)


class SGD:
    """Heavy-ball SGD with L2 weight decay, updating a model's params in place.

    v = momentum v + g + weight_decay p;  p -= lr v.  (momentum = weight_decay = 0: p -= lr g.)
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        self.params, self.lr, self.momentum, self.weight_decay = params, lr, momentum, weight_decay
        self.velocity = {name: np.zeros_like(p) for name, p in params.items()}

    def step(self, grads):
        for name, p in self.params.items():
            v = self.velocity[name]
            v *= self.momentum
            v += grads[name]
            if self.weight_decay:
                v += self.weight_decay * p
            p -= self.lr * v


def numerical_gradient(f, x, eps=1e-6):
    """Centred differences of a scalar f() with respect to array x, which f reads and we perturb in place.

    df/dx_k ~ (f(x + eps e_k) - f(x - eps e_k)) / (2 eps); error O(eps^2) plus
    rounding ~1e-16 / eps, so eps = 1e-6 suits float64. Returns an array like x.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + eps
        f_plus = f()
        x[k] = old - eps
        f_minus = f()
        x[k] = old
        grad[k] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """||a - b|| / (||a|| + ||b||), 0 when both are 0."""
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def gradient_check(layer, loss, x, y, eps=1e-6):
    """Compare analytic and numerical gradients of L = sum(loss(layer(x), y)). Use float64.

    layer: any Layer (a Sequential for a whole network) or None to check the loss alone.
    Returns relative errors by name: 'x' for dL/dx and each parameter name; for
    parameters both the summed per-sample grads() and batch_mean_grads() * B are checked.
    """
    layer = layer if layer is not None else Sequential([])

    def total_loss():
        return float(np.sum(loss.forward(layer.forward(x), y)))

    total_loss()
    dx = layer.backward(loss.backward())
    errors = {"x": relative_error(dx, numerical_gradient(total_loss, x, eps))}
    total_loss()  # the numerical passes overwrote the saved activations
    layer.backward(loss.backward())
    per_sample, batch_mean = layer.grads(), layer.batch_mean_grads()
    for name, p in layer.params().items():
        numeric = numerical_gradient(total_loss, p, eps)
        errors[name] = relative_error(per_sample[name].sum(axis=0), numeric)
        errors[name + " (batch mean)"] = relative_error(batch_mean[name] * len(x), numeric)
    return errors


# ----------------------------------------------------------------------------
# Data.


def _two_digits(images, labels, class_a, class_b):
    """images (N, 28, 28), labels (N,) -> x (n, 784) float64, y (n, 1): 1.0 where label == class_b."""
    keep = (labels == class_a) | (labels == class_b)
    x = images[keep].reshape(-1, 28 * 28).astype(np.float64)
    y = (labels[keep] == class_b).astype(np.float64)[:, None]
    return x, y


def load_data(path, class_a, class_b):
    """Two MNIST digits from the npz at `path` (keys x_train, y_train, x_test, y_test).

    Returns x_train (N, 784), y_train (N, 1), x_test (M, 784), y_test (M, 1):
    x float64 standardised with the training images' mean and std, y 0.0 for
    class_a and 1.0 for class_b.
    """
    for digit in (class_a, class_b):
        if digit not in range(10):
            raise ValueError(f"digits must be 0..9, got {class_a}, {class_b}")
    if class_a == class_b:
        raise ValueError(f"need two different digits, got {class_a} twice")
    default = Path(path).name == "full-mnist.npz"   # the file `make data` writes, in the project's root
    fix = ("delete it and run `make data`, which writes it" if default else
           "name an npz with x_train, y_train, x_test and y_test, or --data full-mnist.npz (`make data` writes it)")
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} not found: " + ("run `make data` first" if default else fix))
    try:
        with open(path, "rb") as f, np.load(f) as data:   # np.load leaves a bad zip's file open
            arrays = {key: data[key] for key in data.files}
    except Exception:  # truncated, garbage, pickled: np.load has no one error type for a bad file
        raise ValueError(f"{path} is damaged or not an npz: {fix}") from None
    missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays)
    if missing:
        raise ValueError(f"{path} lacks {sorted(missing)}: {fix}")
    x_train, y_train = _two_digits(arrays["x_train"], arrays["y_train"], class_a, class_b)
    x_test, y_test = _two_digits(arrays["x_test"], arrays["y_test"], class_a, class_b)
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def split_train_val(x, y, val_fraction, rng):
    """Shuffle, then hold out the first val_fraction of (x (N, D), y (N, 1)). -> x_tr, y_tr, x_val, y_val."""
    order = rng.permutation(len(x))
    n_val = int(round(val_fraction * len(x)))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def centred_grid(h, w):
    """Pixel coordinates relative to the image centre: yy, xx float32 (h, w)."""
    return np.meshgrid(np.arange(h, dtype=np.float32) - (h - 1) / 2,
                       np.arange(w, dtype=np.float32) - (w - 1) / 2, indexing="ij")


def bilinear_sample(images, sy, sx):
    """images (N, h, w), sample points sy, sx (N, h, w) in coordinates of the image padded by one
    background (0) pixel -> float32 (N, h, w); points outside read the background."""
    n, h, w = images.shape
    padded = np.zeros((n, h + 3, w + 3), np.float32)  # 1 row/column of 0 before, 2 after: the right
    padded[:, 1:h + 1, 1:w + 1] = images               # neighbour of a point clipped to h + 1 exists
    sy = np.clip(sy, 0, h + 1, dtype=np.float32)
    sx = np.clip(sx, 0, w + 1, dtype=np.float32)
    y0, x0 = np.floor(sy), np.floor(sx)
    wy, wx = sy - y0, sx - x0  # float32 weights of the lower / right neighbours
    # flat index of each top-left neighbour; int32 suffices below 2**31 pixels and halves the traffic
    itype = np.int32 if padded.size < 2**31 else np.intp
    stride = w + 3
    top = (np.arange(n, dtype=itype)[:, None, None] * (h + 3) + y0.astype(itype)) * stride + x0.astype(itype)
    flat = padded.ravel()
    # np.take on a flat array skips the general fancy-indexing path of flat[index]
    p00, p01, p10, p11 = (np.take(flat, top + offset) for offset in (0, 1, stride, stride + 1))
    upper = p00 + wx * (p01 - p00)
    lower = p10 + wx * (p11 - p10)
    return upper + wy * (lower - upper)


def deskew(images):
    """Shear images (N, h, w) (background 0, ink > 0) upright and move their centre of mass to the centre.

    With the ink's mean (my, mx) and moments var_y, cov_xy, the slant is a = cov_xy / var_y (pixels
    of x per pixel of y); output pixel p = (y, x) samples the input at (y + my, x + a y + mx).
    """
    n, h, w = images.shape
    yy, xx = centred_grid(h, w)
    ink = np.maximum(images, 0)
    mass = ink.sum(axis=(1, 2)) + 1e-12  # (N,); the tiny term keeps a blank image finite
    my = (ink * yy).sum(axis=(1, 2)) / mass
    mx = (ink * xx).sum(axis=(1, 2)) / mass
    var_y = (ink * (yy - my[:, None, None]) ** 2).sum(axis=(1, 2)) / mass
    cov_xy = (ink * (yy - my[:, None, None]) * (xx - mx[:, None, None])).sum(axis=(1, 2)) / mass
    slant = (cov_xy / np.maximum(var_y, 1e-12))[:, None, None]
    sy = yy + (my[:, None, None] + (h - 1) / 2 + 1)  # +1: coordinates in the padded copy
    sx = xx + slant * yy + (mx[:, None, None] + (w - 1) / 2 + 1)
    return bilinear_sample(images, sy, sx)


def random_shift(images, rng, max_shift):
    """Copies of images (N, h, w), background 0, each moved by a random whole number of pixels in
    -max_shift..max_shift along each axis: (N, h, w). One gather of existing pixels, no interpolation."""
    n, h, w = images.shape
    k = int(max_shift)
    padded = np.pad(images, ((0, 0), (k, k), (k, k)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(1, 2))  # (N, 2k+1, 2k+1, h, w)
    dy, dx = rng.integers(0, 2 * k + 1, (2, n))
    return windows[np.arange(n), dy, dx]


# ----------------------------------------------------------------------------
# Training.


def evaluate(model, loss, x, y):
    """Mean loss and error rate of model on x (N, D), y (N, 1); prediction is output > 0.5."""
    p = model.forward(x)  # (N, 1)
    return float(loss.forward(p, y).mean()), float(np.mean((p > 0.5) != (y > 0.5)))


def train_epoch(model, loss, optimizer, x, y, batch_size, rng):
    """One pass of minibatch SGD over x (N, D), y (N, 1) in a random order.

    Returns the training loss and error rate averaged over the epoch's minibatches, as they were
    computed for the steps: free, whereas a separate pass over the training set would cost as much
    as half an epoch of training.
    """
    order = rng.permutation(len(x))
    total_loss = total_wrong = 0.0
    for start in range(0, len(x), batch_size):
        batch = order[start:start + batch_size]
        xb, yb = x[batch], y[batch]  # (B, D), (B, 1)
        p = model.forward(xb)  # (B, 1)
        total_loss += float(loss.forward(p, yb).sum())
        total_wrong += float(np.sum((p > 0.5) != (yb > 0.5)))
        model.backward(loss.backward())
        optimizer.step(model.batch_mean_grads())
    return total_loss / len(x), total_wrong / len(x)


def cosine_schedule(lr, lr_end, epochs):
    """Per-epoch step sizes falling from lr to lr_end on half a cosine: (epochs,)."""
    return lr_end + (lr - lr_end) * 0.5 * (1 + np.cos(np.pi * np.arange(epochs) / epochs))


def fit(model, loss, optimizer, data, epochs, batch_size, rng, *, augment=None, lrs=None, log=print):
    """Train, keep the parameters of the epoch with the lowest validation error, restore them in place.

    Ties in validation error (it moves in steps of 1 / N_val) go to the lower validation loss.
    data: (x_train, y_train, x_val, y_val). augment(x (N, D), rng) -> (N, D), if given, makes each
    epoch's training inputs; lrs (epochs,), if given, sets optimizer.lr per epoch. Returns the
    per-epoch history (lists train_loss, train_error, val_loss, val_error) and the best epoch (1-based).
    """
    x_train, y_train, x_val, y_val = data
    history = {key: [] for key in ("train_loss", "train_error", "val_loss", "val_error")}
    params = model.params()
    best = {"epoch": 0, "score": (np.inf, np.inf), "params": {k: p.copy() for k, p in params.items()}}
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        if lrs is not None:
            optimizer.lr = lrs[epoch - 1]
        x_epoch = x_train if augment is None else augment(x_train, rng)
        train_loss, train_error = train_epoch(model, loss, optimizer, x_epoch, y_train, batch_size, rng)
        val_loss, val_error = evaluate(model, loss, x_val, y_val)
        for key, value in (("train_loss", train_loss), ("train_error", train_error),
                           ("val_loss", val_loss), ("val_error", val_error)):
            history[key].append(value)
        improved = (val_error, val_loss) < best["score"]
        if improved:
            best.update(epoch=epoch, score=(val_error, val_loss))
            for name, p in params.items():
                best["params"][name][...] = p
        log(f"epoch {epoch:3d}/{epochs}  lr {optimizer.lr:.4f}  train loss {train_loss:.4f} "
            f"error {100 * train_error:5.2f}%  val loss {val_loss:.4f} error {100 * val_error:5.2f}%  "
            f"{time.perf_counter() - start:4.2f} s" + ("  *best" if improved else ""))
    for name, p in params.items():
        p[...] = best["params"][name]  # in place: the model computes with these very arrays
    return history, best["epoch"]


# ----------------------------------------------------------------------------
# Plots. matplotlib's object API (Figure + savefig) renders with Agg and
# never touches pyplot's global backend, so importing this module stays inert.


def plot_training(history, best_epoch, digits, test_error, path):
    """Mean SE loss and error rate per epoch, training vs validation; best epoch and test error marked."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    panels = (("loss", "mean squared error"), ("error", "error rate (%)"))
    for ax, (key, label) in zip(fig.subplots(1, 2), panels):
        scale = 100 if key == "error" else 1
        train, val = (scale * np.array(history[f"{split}_{key}"]) for split in ("train", "val"))
        ax.plot(epochs, train, "o-", ms=3, label="training (augmented; mean over the epoch's steps)")
        ax.plot(epochs, val, "s-", ms=3, label="validation")
        ax.axvline(best_epoch, color="gray", ls="--", lw=1,
                   label=f"best validation: epoch {best_epoch}, restored")
        if key == "error":
            ax.plot(best_epoch, 100 * test_error, "*", color="crimson", ms=13,
                    label=f"test: {100 * test_error:.2f}%")
        if np.all(train > 0) and np.all(val > 0):  # a log axis shows 0.2% next to 6%
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # ticks 0.1, 0.2, 0.5, 1, 2, 5, ...
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set(xlabel="epoch", ylabel=label, title=f"{label} per epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle(f"NumPy MLP, digits {digits[0]} vs {digits[1]}: test error {100 * test_error:.2f}% "
                 f"with the parameters of epoch {best_epoch}")
    fig.savefig(path, dpi=110)


def digit_mosaic(images, wrong, columns, pad=2):
    """Tile images (n, 28, 28) in [0, 1] into an RGB mosaic (rows*(28+2 pad), columns*(28+2 pad), 3).

    Ink is dark on white; a `pad`-pixel frame around each digit is red where wrong (n,) is True.
    """
    rows = max(1, -(-len(images) // columns))  # ceiling division; one blank row if there are none
    cell = 28 + 2 * pad
    tiles = np.ones((rows * columns, cell, cell, 3))  # white
    tiles[:len(images)][np.asarray(wrong, bool)] = (0.85, 0.1, 0.1)  # red frames (and background)
    tiles[:len(images), pad:pad + 28, pad:pad + 28] = 1 - images[..., None]  # dark ink over the middle
    return tiles.reshape(rows, columns, cell, cell, 3).transpose(0, 2, 1, 3, 4).reshape(rows * cell, -1, 3)


def plot_classification(images, labels, predictions, digits, path, per_class=96, columns=12, rng=None):
    """Test digits grouped by predicted class, all mistakes first in red frames, then a random sample.

    images (N, 28, 28) in [0, 1]; labels, predictions (N,) in {0, 1} (index into digits).
    """
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0) if rng is None else rng
    fig = Figure(figsize=(12, 4.9), layout="constrained")
    for ax, predicted in zip(fig.subplots(1, 2), (0, 1)):
        mine = np.flatnonzero(predictions == predicted)
        wrong = mine[labels[mine] != predicted]
        right = rng.permutation(mine[labels[mine] == predicted])
        shown = np.concatenate([wrong, right])[:per_class]
        ax.imshow(digit_mosaic(images[shown], labels[shown] != predicted, columns))
        ax.set_axis_off()
        ax.set_title(f"predicted {digits[predicted]}: {len(mine)} test digits\n"
                     f"{len(wrong)} of them are {digits[1 - predicted]}s (red frames, first); "
                     f"{len(shown)} shown")
    errors = int(np.sum(predictions != labels))
    fig.suptitle(f"Digits {digits[0]} vs {digits[1]}: test error {100 * errors / len(labels):.2f}% "
                 f"({errors} of {len(labels)} test digits)", fontsize=14)
    fig.savefig(path, dpi=110)


# ----------------------------------------------------------------------------
# Command line.


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `prog: error: what (see prog --help)`, no usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_knobs(parser, config, names=None):
    """One `--flag` per field of the dataclass `config` (those in `names` only,
    when given), its help ending in the default: `--flag/--no-flag` for a bool,
    several values for a tuple."""
    for f in fields(config):
        if names is not None and f.name not in names:
            continue
        flag, default = "--" + f.name.replace("_", "-"), f.default
        options = dict(f.metadata, default=default)
        options["help"] = f"{options['help']} (default: {default})"
        if isinstance(default, bool):      # not BooleanOptionalAction: Python 3.8 lacks it
            parser.add_argument(flag, action="store_true", **options)
            parser.add_argument("--no-" + flag[2:], dest=f.name, action="store_false",
                                help=f"turn {flag} off" if default else argparse.SUPPRESS)
        elif isinstance(default, tuple):
            parser.add_argument(flag, type=type(default[0]), **{"nargs": "+", **options})
        else:
            parser.add_argument(flag, type=type(default), **options)


def config_problem(cfg):
    """A sentence naming the first invalid Config value, or None."""
    checks = [(cfg.digits[0] != cfg.digits[1] and all(0 <= d <= 9 for d in cfg.digits),
               f"--digits needs two different digits 0..9, got {cfg.digits}"),
              (0 < cfg.val_fraction < 1, f"--val-fraction must lie in (0, 1), got {cfg.val_fraction}"),
              (all(w > 0 for w in cfg.hidden), f"--hidden widths must be positive, got {cfg.hidden}"),
              (cfg.epochs > 0, f"--epochs must be positive, got {cfg.epochs}"),
              (cfg.batch_size > 0, f"--batch-size must be positive, got {cfg.batch_size}"),
              (cfg.lr > 0, f"--lr must be positive, got {cfg.lr}"),
              (cfg.lr_end >= 0, f"--lr-end must be non-negative, got {cfg.lr_end}"),
              (cfg.momentum >= 0, f"--momentum must be non-negative, got {cfg.momentum}"),
              (cfg.weight_decay >= 0, f"--weight-decay must be non-negative, got {cfg.weight_decay}"),
              (cfg.shift >= 0, f"--shift must be non-negative, got {cfg.shift}"),
              (cfg.dtype in ("float32", "float64"), f"--dtype must be float32 or float64, got {cfg.dtype}")]
    return next((message for ok, message in checks if not ok), None)


def parse_args(argv):
    """argv (list of str, None: sys.argv) -> Config; `--help` lists every Config field with its default."""
    parser = Parser(prog="numpy_nn.py", description=__doc__.split("\n")[0])
    add_knobs(parser, Config)
    args = vars(parser.parse_args(argv))
    cfg = Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()})
    problem = config_problem(cfg)
    if problem:
        parser.error(problem)  # one line, exit status 2
    return cfg


def make_augment(cfg, background):
    """The per-epoch augmentation of fit: x (N, 784) -> randomly shifted x, or None if cfg.shift is 0.

    background: the value of a blank pixel in x; random_shift pads with 0, so it works on x - background.
    """
    if not cfg.shift:
        return None

    def augment(x, rng):
        shifted = random_shift((x - background).reshape(-1, 28, 28), rng, cfg.shift)
        return shifted.reshape(x.shape) + background
    return augment


def deskew_rows(x, background):
    """deskew() for rows x (N, 784) whose blank pixels equal background."""
    return deskew((x - background).reshape(-1, 28, 28)).reshape(x.shape) + background


def save_plots(out_dir, history, best_epoch, digits, images, labels, predictions):
    """Write numpy_nn_training.png and numpy_nn_classification.png into out_dir (created if missing).

    images (M, 28, 28) in [0, 1]; labels, predictions (M,) in {0, 1}.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    test_error = float(np.mean(predictions != labels))
    plot_training(history, best_epoch, digits, test_error, out_dir / "numpy_nn_training.png")
    plot_classification(images, labels, predictions, digits, out_dir / "numpy_nn_classification.png")


def user_error(message):
    """End the command with one `error:` line on stderr and exit status 2 (the
    project's convention for a problem the user can fix), no traceback."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv=None):
    """Train on two digits, report the test accuracy, write both PNGs.

    Returns {test_accuracy, test_error (fractions in [0, 1]), best_epoch, val_error, history, seconds}.
    """
    cfg = parse_args(argv)
    started = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    dtype = np.dtype(cfg.dtype)
    try:
        x_train, y_train, x_test, y_test = (a.astype(dtype) for a in load_data(cfg.data, *cfg.digits))
    except (FileNotFoundError, ValueError) as error:
        user_error(error)
    try:
        Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)   # fail now, not after the training
    except OSError as error:
        user_error(f"--out-dir {cfg.out_dir}: {error.strerror}: name a folder that can be created")
    if not os.access(cfg.out_dir, os.W_OK):
        user_error(f"--out-dir {cfg.out_dir} is not writable: name another folder")
    background = x_train.min()  # a blank pixel after standardising
    shown_test = x_test  # the classification plot shows the images as they were
    if cfg.deskew:
        x_train, x_test = deskew_rows(x_train, background), deskew_rows(x_test, background)
    data = split_train_val(x_train, y_train, cfg.val_fraction, rng)
    print(f"digits {cfg.digits[0]} (label 0) vs {cfg.digits[1]} (label 1): {len(data[0])} training, "
          f"{len(data[2])} validation, {len(x_test)} test images")

    model = build_mlp(x_train.shape[1], cfg.hidden, 1, rng, dtype)
    loss, optimizer = SE(), SGD(model.params(), cfg.lr, cfg.momentum, cfg.weight_decay)
    print(f"{len(cfg.hidden) + 1}-layer MLP {' -> '.join(map(str, (784, *cfg.hidden, 1)))}, "
          f"SGD lr {cfg.lr} -> {cfg.lr_end} momentum {cfg.momentum}, batch {cfg.batch_size}, {cfg.dtype}")
    history, best_epoch = fit(model, loss, optimizer, data, cfg.epochs, cfg.batch_size, rng,
                              augment=make_augment(cfg, background),
                              lrs=cosine_schedule(cfg.lr, cfg.lr_end, cfg.epochs),
                              log=lambda line: print(line, flush=True))  # live also through a pipe

    predictions = (model.forward(x_test)[:, 0] > 0.5).astype(int)  # (M,)
    labels = y_test[:, 0].astype(int)
    test_error = float(np.mean(predictions != labels))
    images = (shown_test - background) / (shown_test.max() - background)  # (M, 784) in [0, 1]
    save_plots(Path(cfg.out_dir), history, best_epoch, cfg.digits, images.reshape(-1, 28, 28),
               labels, predictions)
    seconds = time.perf_counter() - started
    print(f"parameters of epoch {best_epoch} (best validation error); wrote numpy_nn_training.png and "
          f"numpy_nn_classification.png to {cfg.out_dir}; {seconds:.1f} s")
    print(f"test accuracy: {100 * (1 - test_error):.2f}%")
    return {"test_accuracy": 1 - test_error, "test_error": test_error, "best_epoch": best_epoch,
            "val_error": history["val_error"][best_epoch - 1], "history": history, "seconds": seconds}


if __name__ == "__main__":
    main()
