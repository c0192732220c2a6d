"""MNIST digits with PyTorch: the lab's reference models and MyNet, a CNN made
to survive photos from an unknown, heavily noisy cheap camera.

    python pytorch_cnn.py [train] [--epochs N ...]   train MyNet, write model.pt
    python pytorch_cnn.py evaluate                    accuracy table, gallery, curves
    python pytorch_cnn.py classify IMAGE [IMAGE ...]  label PNG/JPEG photos of digits
    python pytorch_cnn.py data                        unpack the shipped MNIST offline

The grader imports this file alone and uses `get_model_class`, `MyNet`,
`classify` and `model.pt`; importing it trains nothing and writes nothing.
Shapes: B batch, C channels, H = W = 28 pixels.
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

def knob(default, help, **argparse_options):
    """A Config field; `--help` prints `help` and the default. Extra options
    (nargs, metavar) go to argparse."""
    return field(default=default, metadata=dict(help=help, **argparse_options))


@dataclass(frozen=True)
class Config:
    """Every knob of training and evaluation in one place; the defaults
    (`--preset quick`) and `--preset full` reproduce the README's runs."""
    epochs: int = knob(35, "passes over the 57,500 training images")
    batch_size: int = knob(128, "images per AdamW step")
    lr: float = knob(3e-3, "peak learning rate of the one-cycle schedule")
    warmup: float = knob(0.3, "share of the steps in which the learning rate rises from lr/25 "
                              "to --lr; then it falls on a cosine to lr/25/10^4 (OneCycleLR)")
    weight_decay: float = knob(5e-4, "AdamW's decoupled weight decay")
    label_smoothing: float = knob(0.05, "heavy noise makes some labels unknowable: do not force certainty")
    clean_fraction: float = knob(0.2, "share of images left undegraded, so clean accuracy stays top")
    camera_ops: str = knob("all", "the camera model's degradations: all, first20 (the six "
                                  "newest left out) or names of DEGRADATIONS, comma-separated")
    ops_per_image: float = knob(4.0, "mean number of degradations on a degraded image: enough "
                                     "to mix several, few enough that the digit stays readable")
    consistency: float = knob(0.0, "weight of a Jensen-Shannon term that asks two camera views "
                                   "of each image for the same prediction (AugMix); 0: one view")
    ema: float = knob(0.0, "decay per step of an exponential moving average of the weights and "
                           "BatchNorm statistics, validated and saved instead of the raw ones; "
                           "0.999 averages about the last 1,000 steps (2 epochs); 0: off")
    val_size: int = knob(2500, "training images held out, never trained on; scored under every "
                               "degradation of SUITE to pick the checkpoint")
    val_epochs: int = knob(10, "score the validation suite in the last N epochs only: earlier "
                               "ones, at a high learning rate, are not worth keeping")
    bf16: bool = knob(True, "bfloat16 autocast where the device runs it natively")
    seed: int = knob(0, "seeds the split, the weights, the batch order and the camera model")
    val_seed: int = knob(1000, "seeds the validation suite: entry i draws from val_seed + i")
    test_seed: int = knob(2000, "seeds the test suite of `evaluate`: entry i draws from test_seed + i")
    device: str = knob("auto", "auto (CUDA when present), cpu or cuda")
    data_dir: str = knob("data", "holds mnist/ (shipped) and MNIST/raw/ (unpacked)")
    npz_path: str = knob("full-mnist.npz", "the NumPy lab's data file, written by the `data` command")
    model_path: str = knob("model.pt", "where the best checkpoint's state_dict is written")
    history_path: str = knob("results/pytorch_cnn_history.json", "per-epoch losses and accuracies")
    gallery_path: str = knob("results/pytorch_cnn_gallery.png", "`evaluate`: degraded test digits, labelled")
    curves_path: str = knob("results/pytorch_cnn_training.png", "`evaluate`: the training curves")
    dry_run: bool = knob(False, "5 batches of one epoch on 200 validation images; writes nothing")


# Named settings; flags given on the command line override them. quick is
# what `make` runs (Config's defaults); full trains longer for model.pt: every
# test figure still grows from 90 to 150 epochs (README: Runs).
PRESETS = {
    "quick": {},
    "full": {"epochs": 150},
}


# ----------------------------------------------------------------------------
# Data: the shipped MNIST copy, verified and unpacked for torchvision
# ----------------------------------------------------------------------------

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class UserError(RuntimeError):
    """A problem the user can fix (bad arguments, missing or broken data or
    model files); main prints it as one `error:` line and exits 2."""


def read_checksums(sums_path):
    """`sha256sum` format -> {file name: hex digest}."""
    sums = {}
    for line in Path(sums_path).read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def unpack_shipped_mnist(root):
    """Verify `root/mnist/*.gz` (SHA-256) and decompress them into
    `root/MNIST/raw/`, where torchvision finds them and downloads nothing.

    Files already unpacked are kept. Without a shipped copy nothing happens and
    torchvision's download stays the path. Raises UserError naming the file.
    """
    root = Path(root)
    shipped, raw = root / "mnist", root / "MNIST" / "raw"
    if not (shipped / "SHA256SUMS").exists():
        return
    sums = read_checksums(shipped / "SHA256SUMS")
    for name in MNIST_FILES:
        target, gz = raw / name, shipped / f"{name}.gz"
        if target.exists():
            continue
        fix = "restore it with `git checkout -- data/mnist` (or delete data/mnist to download instead)"
        if not gz.exists():
            raise UserError(f"{gz} is missing: {fix}")
        data = gz.read_bytes()
        if hashlib.sha256(data).hexdigest() != sums.get(gz.name):
            raise UserError(f"{gz} is corrupted (SHA-256 mismatch with SHA256SUMS): {fix}")
        try:
            content = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise UserError(f"{gz} does not decompress ({err}): {fix}") from None
        raw.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(content)
        os.replace(tmp, target)   # atomic: an interrupted unpack leaves no half file


def load_mnist(root, train):
    """-> images (N, 1, 28, 28) uint8, labels (N,) int64, offline when shipped."""
    unpack_shipped_mnist(root)
    try:
        ds = torchvision.datasets.MNIST(str(root), train=train, download=True)
    except Exception as err:  # no shipped copy and no network, broken unpacked files ...
        raise UserError(f"cannot load MNIST from {root} ({type(err).__name__}): delete "
                        f"{Path(root) / 'MNIST'} and run `make data` (without {Path(root) / 'mnist'}/, "
                        f"torchvision downloads it and needs internet access)") from None
    return ds.data.unsqueeze(1), ds.targets


def write_npz(root, path):
    """The NumPy lab's data file: x_train (60000, 28, 28) uint8, y_train (60000,),
    x_test (10000, 28, 28) uint8, y_test (10000,). Written atomically."""
    (x_tr, y_tr), (x_te, y_te) = load_mnist(root, True), load_mnist(root, False)
    tmp = Path(str(path) + ".tmp.npz")
    try:
        np.savez_compressed(tmp, x_train=x_tr[:, 0].numpy(), y_train=y_tr.numpy(),
                            x_test=x_te[:, 0].numpy(), y_test=y_te.numpy())
        os.replace(tmp, path)
    except OSError as err:   # a missing folder, no permission, a full disk
        raise UserError(f"cannot write {path} ({err.strerror or type(err).__name__}): "
                        f"choose a writable --npz-path or free some disk space") from None
    finally:
        tmp.unlink(missing_ok=True)


def split_train_val(n, val_size, seed):
    """A seeded permutation of range(n) -> (train indices, validation indices)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:], perm[:val_size]


# ----------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------

class FCNet(nn.Module):
    """The lab's baseline: (B, 1, 28, 28) -> Linear(784, 10) -> (B, 10) log-probabilities."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(28 * 28, 10)

    def forward(self, x):
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


class SimpleCNN(nn.Module):
    """The lab's small CNN: conv 3x3 stride 2 -> (B, 10, 14, 14) -> ReLU -> Linear -> (B, 10)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, kernel_size=3, stride=2, padding=1)
        self.fc = nn.Linear(28 * 28 * 10 // 4, 10)

    def forward(self, x):
        x = F.relu(self.conv(x))                       # (B, 10, 14, 14)
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


def conv_bn(c_in, c_out, k, stride=1):
    """Conv k x k (same padding, no bias: BatchNorm has one) -> BatchNorm -> ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class MyNet(nn.Module):
    """Noise-robust CNN: (B, 1, 28, 28) in [0, 1] -> (B, 10) log-probabilities.

    Each image is first standardised by its own mean and std, so gain, offset,
    exposure and contrast changes of the camera cancel before the first
    convolution. The 5 x 5 stride-2 stem averages over more pixels than a 3 x 3
    (pixel noise) and halves the resolution at once: 32 channels at 14 x 14
    hold the 28 x 28 strokes without loss and cost a quarter of full-resolution
    layers. Global average pooling keeps it small (no large linear layer).
    Weights and activations are channels-last, the layout oneDNN's CPU
    convolutions run fastest in (README: speed figures).
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            conv_bn(1, 32, 5, stride=2),                # (B, 32, 14, 14)
            conv_bn(32, 64, 3),                         # (B, 64, 14, 14)
            nn.MaxPool2d(2),                            # (B, 64, 7, 7)
            conv_bn(64, 96, 3), conv_bn(96, 128, 3),    # (B, 128, 7, 7)
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),      # (B, 128)
        )
        # light dropout: the camera model is the main regulariser
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, 10))
        self.to(memory_format=torch.channels_last)

    @staticmethod
    def standardise(x):
        """Per-image (x - mean) / std; the std floor 1e-3 keeps a blank image finite."""
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
        return (x - mean) / std

    def forward(self, x):
        x = self.standardise(x).contiguous(memory_format=torch.channels_last)
        return F.log_softmax(self.head(self.features(x)), dim=1)


def get_model_class(_=None):
    """The grader's hook: builds the model as `get_model_class(None)[0]()`."""
    return [MyNet]


# ----------------------------------------------------------------------------
# classify: the grader's entry point
# ----------------------------------------------------------------------------

ACCEPTED_SHAPES = "(B, 1, 28, 28), (B, 28, 28) or (B, 784)"


def to_model_input(x):
    """Any accepted batch -> float32 (B, 1, 28, 28) in [0, 1] (NaN -> 0, +-inf -> 1/0).

    Accepts a tensor or numpy array of shape (B, 1, 28, 28), (B, 28, 28) or
    (B, 784); uint8 is read as 0..255, floating types as 0..1.
    """
    x = torch.as_tensor(x)
    if x.dtype == torch.uint8:
        x = x.float() / 255
    elif x.is_floating_point():
        x = torch.nan_to_num(x.float(), nan=0.0, posinf=1.0, neginf=0.0)
    else:
        raise ValueError(f"classify expects float images in [0, 1] or uint8 0..255, got {x.dtype}")
    if x.dim() == 2 and x.shape[1] == 28 * 28 or x.dim() == 3 and x.shape[1:] == (28, 28) \
            or x.dim() == 4 and x.shape[1:] == (1, 28, 28):
        return x.reshape(-1, 1, 28, 28)
    raise ValueError(f"classify expects a batch of shape {ACCEPTED_SHAPES}, got {tuple(x.shape)}")


def bf16_native(device):
    """True where bfloat16 matrix maths is fast: CUDA with bf16 support, or a CPU
    that oneDNN runs bf16 on (AVX512-BF16 or AMX). The probe is private API,
    so any failure means no."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:   # an old or oneDNN-less torch build
        return False


def autocast(device, enabled=True):
    """bfloat16 autocast where it is native, float32 elsewhere (emulated bf16 is
    slower than float32). Labels agree with float32 (a test checks it); the
    speed-up is in the README."""
    return torch.autocast(device.type, dtype=torch.bfloat16,
                          enabled=enabled and bf16_native(device))


def classify(model, x, batch_size=1000):
    """Labels of a batch of digits: x (B, 1, 28, 28) in [0, 1] -> (B,) int64 on the CPU.

    Runs in eval mode without gradients on the model's device (bfloat16 where
    native, see `autocast`), and leaves the model's mode as it found it. See
    `to_model_input` for the other accepted forms.
    """
    x = to_model_input(x)
    if len(x) == 0:
        return torch.empty(0, dtype=torch.int64)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), autocast(device):
            labels = [model(chunk.to(device)).argmax(dim=1).cpu() for chunk in x.split(batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(labels)


# ----------------------------------------------------------------------------
# The camera model: random degradations of a cheap, noisy camera
# ----------------------------------------------------------------------------
# Each degradation is `op(x, s, g) -> x` on a batch x (n, 1, H, W) with a
# per-sample strength s (n,) in [0, 1] (0 mild, 1 very heavy) and a seeded
# torch.Generator g on x's device. Strengths map to physical parameters with
# `lerp`; the ranges below were chosen so that s = 1 is about as bad as a
# person can still read. Everything is batched on the training device.


# -- Shared helpers: strengths, seeded draws, coordinates, kernels, blur and affine maps

def lerp(lo, hi, s):
    """lo + (hi - lo) s, reshaped (n,) -> (n, 1, 1, 1) to broadcast over images."""
    return (lo + (hi - lo) * s).view(-1, 1, 1, 1)


def uniform(g, shape, like, lo=0.0, hi=1.0):
    """Seeded uniform draws in [lo, hi) on `like`'s device."""
    return lo + (hi - lo) * torch.rand(shape, generator=g, device=like.device)


def normal(g, shape, like):
    return torch.randn(shape, generator=g, device=like.device)


def pixel_grid(x):
    """Row and column coordinates of x's pixels, shaped (1, 1, H, 1) and (1, 1, 1, W)."""
    h, w = x.shape[-2:]
    return (torch.arange(h, device=x.device, dtype=x.dtype).view(1, 1, h, 1),
            torch.arange(w, device=x.device, dtype=x.dtype).view(1, 1, 1, w))


KERNEL = 9  # blur kernels 9 x 9: holds +-2 sigma of the widest defocus and a 9 px motion streak


def kernel_grid(like):
    """Pixel offsets (K, K) from the kernel centre, y and x."""
    r = torch.arange(KERNEL, device=like.device, dtype=like.dtype) - KERNEL // 2
    return torch.meshgrid(r, r, indexing="ij")


def per_sample_conv(x, kernels):
    """Convolve each image with its own kernel: x (n, 1, H, W), kernels (n, K, K), K odd.
    One grouped convolution; replicate padding so the borders do not darken."""
    n, k = x.shape[0], kernels.shape[-1]
    padded = F.pad(x.transpose(0, 1), (k // 2,) * 4, mode="replicate")   # (1, n, H+K-1, W+K-1)
    return F.conv2d(padded, kernels.unsqueeze(1), groups=n).transpose(0, 1)


def smooth_field(g, n, c, h, w, like, cells=4):
    """Random low-frequency field (n, c, h, w): a cells x cells grid of N(0, 1)
    values, bicubically upsampled (fog, stains, lens distortion)."""
    coarse = normal(g, (n, c, cells, cells), like)
    return F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)


def first_marks(count, k, like):
    """(n, k, 1, 1) mask: 1 for the first ceil(count) of k marks per image, count (n, 1, 1, 1)."""
    return (torch.arange(k, device=like.device).view(1, k, 1, 1) < torch.ceil(count)).to(like.dtype)


def signed_amplitude(g, shape, like):
    """Random mark contrasts in +-[0.3, 1]: bright or dark, never invisible."""
    return uniform(g, shape, like, 0.3, 1.0) * torch.sign(uniform(g, shape, like, -1, 1))


def segment_distance(yy, xx, y0, x0, y1, x1):
    """Distance of pixels (yy, xx) to the segments (y0, x0)-(y1, x1); broadcasts."""
    dy, dx = y1 - y0, x1 - x0
    t = (((yy - y0) * dy + (xx - x0) * dx) / (dy ** 2 + dx ** 2).clamp_min(1e-6)).clamp(0, 1)
    return torch.sqrt((yy - y0 - t * dy) ** 2 + (xx - x0 - t * dx) ** 2)


def gaussian_blur(x, sigma):
    """Each image blurred by its own Gaussian, sigma (n, 1, 1, 1) px."""
    yy, xx = kernel_grid(x)
    k = torch.exp(-(yy ** 2 + xx ** 2) / (2 * sigma.view(-1, 1, 1) ** 2))
    return per_sample_conv(x, k / k.sum(dim=(1, 2), keepdim=True))


def random_affine(x, s, g, degrees, scale, shear, shift):
    """A random rotation, scale, shear and shift per image; each argument is a
    (mild, heavy) pair of limits, lerped by s, and the drawn value is uniform
    in +-limit (degrees, relative scale change, shear factor, pixels)."""
    n, _, h, w = x.shape
    lim = lambda limits: lerp(*limits, s).view(n) * uniform(g, (n,), x, -1, 1)
    angle = lim(degrees) * math.pi / 180
    zoom = 1 + lim(scale)
    skew = lim(shear)
    tx, ty = lim(shift) * 2 / w, lim(shift) * 2 / h     # pixels -> [-1, 1] grid units
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin + skew, tx], 1),
                         torch.stack([sin, cos, ty], 1)], 1)         # (n, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


# -- Noise: photons, sensor, dead and hot pixels, banding

def shot_noise(x, s, g):
    """Photon (Poisson) noise: x -> Poisson(x p) / p, from p = 200 down to 3 photons at white."""
    photons = torch.exp(lerp(math.log(200), math.log(3), s))
    return torch.poisson(x.clamp(0, 1) * photons, generator=g) / photons


def read_noise(x, s, g):
    """Additive Gaussian sensor noise, also on the dark background: sigma 0.02 .. 0.6."""
    return x + lerp(0.02, 0.6, s) * normal(g, x.shape, x)


def speckle(x, s, g):
    """Multiplicative noise x (1 + sigma n), sigma 0.1 .. 1.0 (pixel gain varies)."""
    return x * (1 + lerp(0.1, 1.0, s) * normal(g, x.shape, x))


def salt_pepper(x, s, g):
    """Hot (1) and dead (0) pixels on 0.5 % .. 25 % of the image, random hot/dead mix."""
    hit = uniform(g, x.shape, x) < lerp(0.005, 0.25, s)
    hot = uniform(g, x.shape, x) < uniform(g, (x.shape[0], 1, 1, 1), x)
    return torch.where(hit, hot.to(x.dtype), x)


def fixed_pattern(x, s, g):
    """Row and column fixed-pattern noise (banding): per-row and per-column offsets,
    sigma 0.02 .. 0.35, on rows, columns or both."""
    n, _, h, w = x.shape
    sigma = lerp(0.02, 0.35, s)
    which = uniform(g, (n, 1, 1, 1), x)
    rows = normal(g, (n, 1, h, 1), x) * (which < 2 / 3)
    cols = normal(g, (n, 1, 1, w), x) * (which > 1 / 3)
    return x + sigma * (rows + cols)


# -- Blur and sharpening: focus, shake, an over-eager sharpening filter

def defocus(x, s, g):
    """Out-of-focus lens: Gaussian blur with sigma 0.4 .. 2.0 px."""
    return gaussian_blur(x, lerp(0.4, 2.0, s))


def sharpen(x, s, g):
    """A cheap camera's over-sharpening (unsharp mask): x + a (x - blur(x)) with
    a = 0.5 .. 4 and blur sigma 0.6 .. 1.5 px; leaves halos beside the strokes."""
    sigma = uniform(g, (x.shape[0], 1, 1, 1), x, 0.6, 1.5)
    return x + lerp(0.5, 4.0, s) * (x - gaussian_blur(x, sigma))


def motion_blur(x, s, g):
    """Camera shake during exposure: a straight streak of 2 .. 9 px at a random angle.
    Kernel weight = max(0, 1 - distance of the pixel to the streak segment)."""
    n = x.shape[0]
    yy, xx = kernel_grid(x)
    half = lerp(1.0, 4.5, s).view(-1, 1, 1)
    angle = uniform(g, (n, 1, 1), x, 0, math.pi)
    uy, ux = torch.sin(angle), torch.cos(angle)
    t = (yy * uy + xx * ux).clamp(-half, half)         # projection on the streak, (n, K, K)
    dist = torch.sqrt((yy - t * uy) ** 2 + (xx - t * ux) ** 2)
    k = (1 - dist).clamp_min(0)
    return per_sample_conv(x, k / k.sum(dim=(1, 2), keepdim=True))


# -- Tone and light: exposure, tone curve, contrast, binarisation, uneven light

def exposure(x, s, g):
    """Wrong exposure: x * gain, gain = exp(+-1.6) at most (0.2 .. 5), saturating at 1."""
    direction = uniform(g, (x.shape[0], 1, 1, 1), x, -1, 1)
    return (x * torch.exp(direction * lerp(0.2, 1.6, s))).clamp(max=1)


def gamma(x, s, g):
    """Wrong tone curve: x ** gamma, gamma = exp(+-1.2) at most (0.3 .. 3.3)."""
    direction = uniform(g, (x.shape[0], 1, 1, 1), x, -1, 1)
    return x.clamp(0, 1) ** torch.exp(direction * lerp(0.2, 1.2, s))


def contrast(x, s, g):
    """Low contrast and black-level offset: a + c x, c from 0.9 down to 0.08, a in [0, 1 - c]."""
    c = lerp(0.9, 0.08, s)
    return uniform(g, c.shape, x) * (1 - c) + c * x


def threshold(x, s, g):
    """A document mode or a 1-bit display binarising the image: a logistic tone
    curve sigmoid((x - t) / w) around a threshold t in [0.25, 0.75], rescaled to
    keep 0 and 1; its width w runs from 0.2 (a soft S-curve) to 0.01 (black and white)."""
    t = uniform(g, (x.shape[0], 1, 1, 1), x, 0.25, 0.75)
    width = torch.exp(lerp(math.log(0.2), math.log(0.01), s))
    black, white = torch.sigmoid(-t / width), torch.sigmoid((1 - t) / width)
    return (torch.sigmoid((x - t) / width) - black) / (white - black)


def illumination(x, s, g):
    """Uneven light: vignetting x (1 - v r^2) around a random centre, v 0.1 .. 0.9,
    a linear light gradient of 0.1 .. 0.8 across the image in a random direction,
    and fog / glare blotches (a smooth random field, sigma 0.05 .. 0.3)."""
    n, _, h, w = x.shape
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h, device=x.device),
                            torch.linspace(-1, 1, w, device=x.device), indexing="ij")
    cy, cx = (uniform(g, (n, 1, 1, 1), x, -0.5, 0.5) for _ in range(2))
    r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / 4.5        # 4.5: (1 + 0.5)^2 * 2, the farthest corner
    angle = uniform(g, (n, 1, 1, 1), x, 0, 2 * math.pi)
    ramp = (torch.cos(angle) * xx + torch.sin(angle) * yy) / 2
    fog = lerp(0.05, 0.3, s) * smooth_field(g, n, 1, h, w, x)
    return x * (1 - lerp(0.1, 0.9, s) * r2) + lerp(0.1, 0.8, s) * ramp + fog


# -- Sensor and codec: resolution, JPEG, grey levels, moire

def low_resolution(x, s, g):
    """A sensor of 21 .. 7 pixels across: area-downsample then upsample back,
    bilinear or nearest (blocky) per image at random. Images of the same size
    are resized together (F.interpolate takes one size per call)."""
    h, w = x.shape[-2:]
    sizes = torch.round(lerp(21.0, 7.0, s)).view(-1).long()
    blocky = uniform(g, (x.shape[0], 1, 1, 1), x) < 0.5
    out = x.clone()
    for size in sizes.unique().tolist():
        idx = (sizes == size).nonzero().view(-1)
        small = F.interpolate(x[idx], size=(size, size), mode="area")
        out[idx] = torch.where(blocky[idx], F.interpolate(small, size=(h, w), mode="nearest"),
                               F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False))
    return out


# JPEG's standard luminance quantisation table (ITU T.81, Annex K).
JPEG_TABLE = [[16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
              [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
              [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
              [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]]


def dct_matrix(n, like):
    """Orthonormal DCT-II matrix (n, n): coefficients = D @ block @ D.T."""
    k = torch.arange(n, device=like.device, dtype=like.dtype)
    d = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * math.sqrt(2 / n)
    d[0] /= math.sqrt(2)
    return d


def jpeg(x, s, g):
    """JPEG compression artefacts at quality 50 .. 3: 8 x 8 block DCT, coefficients
    rounded to the standard table scaled by quality (libjpeg's rule). This is
    JPEG's only lossy step for grey images; done in torch it stays batched on the
    training device, where torchvision's encode_jpeg works image by image."""
    n, _, h, w = x.shape
    ph, pw = -h % 8, -w % 8
    img = F.pad(x.clamp(0, 1) * 255 - 128, (0, pw, 0, ph), mode="replicate")
    blocks = img.unflatten(2, (-1, 8)).unflatten(4, (-1, 8)).transpose(3, 4)  # (n, 1, bh, bw, 8, 8)
    quality = lerp(50.0, 3.0, s).view(n, 1, 1, 1, 1, 1)
    scale = torch.where(quality < 50, 5000 / quality, 200 - 2 * quality) / 100
    table = (torch.tensor(JPEG_TABLE, device=x.device, dtype=x.dtype) * scale).round().clamp_min(1)
    d = dct_matrix(8, x)
    coef = d @ blocks @ d.T
    blocks = d.T @ ((coef / table).round() * table) @ d
    img = blocks.transpose(3, 4).flatten(4, 5).flatten(2, 3)
    return (img[..., :h, :w] + 128) / 255


def quantise(x, s, g):
    """Few grey levels (cheap ADC or heavy compression): 32 levels down to 2."""
    levels = torch.round(lerp(32.0, 2.0, s)) - 1
    return torch.round(x.clamp(0, 1) * levels) / levels


def periodic(x, s, g):
    """Moire, interlacing and flicker bands: a sine grating of period 2 .. 8 px
    in a random direction and phase, amplitude 0.05 .. 0.4."""
    n = x.shape[0]
    yy, xx = pixel_grid(x)
    angle = uniform(g, (n, 1, 1, 1), x, 0, math.pi)
    period = uniform(g, (n, 1, 1, 1), x, 2.0, 8.0)
    phase = uniform(g, (n, 1, 1, 1), x, 0, 2 * math.pi)
    wave = torch.sin(2 * math.pi * (torch.cos(angle) * xx + torch.sin(angle) * yy) / period + phase)
    return x + lerp(0.05, 0.4, s) * wave


# -- Marks on the lens or the paper: specks, scratches, occluders, smudges, ink

def specks(x, s, g):
    """Dust and dirt: 1 .. 6 blurry spots, dark or bright, radius 0.5 .. 2 px."""
    n, _, h, w = x.shape
    k = 6
    active = first_marks(lerp(1.0, k, s), k, x)
    cy, cx = uniform(g, (n, k, 1, 1), x, 0, h), uniform(g, (n, k, 1, 1), x, 0, w)
    radius = uniform(g, (n, k, 1, 1), x, 0.5, 2.0)
    amp = signed_amplitude(g, (n, k, 1, 1), x)
    yy, xx = pixel_grid(x)
    spots = amp * active * torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * radius ** 2))
    return x + spots.sum(dim=1, keepdim=True)


def scratches(x, s, g):
    """Scratches, hairs and stray pen lines: 1 .. 3 thin straight lines across
    the image, bright or dark, 0.5 px wide, contrast 0.3 .. 1."""
    n, _, h, w = x.shape
    k = 3
    active = first_marks(lerp(1.0, k, s), k, x)
    y0, y1 = (uniform(g, (n, k, 1, 1), x, 0, h) for _ in range(2))
    x0, x1 = (uniform(g, (n, k, 1, 1), x, 0, w) for _ in range(2))
    yy, xx = pixel_grid(x)
    amp = signed_amplitude(g, (n, k, 1, 1), x)
    lines = amp * active * torch.exp(-segment_distance(yy, xx, y0, x0, y1, x1) ** 2 / 0.5)
    return x + lines.sum(dim=1, keepdim=True)


def occlusion(x, s, g):
    """A finger, a shadow or a smudge over part of the digit: one rectangle with
    sides up to 3 .. 12 px, filled with a random grey."""
    n, _, h, w = x.shape
    side = lerp(3.0, 12.0, s)
    rh, rw = (side * uniform(g, (n, 1, 1, 1), x, 0.5, 1.0) for _ in range(2))
    top, left = uniform(g, (n, 1, 1, 1), x, 0, h) - rh / 2, uniform(g, (n, 1, 1, 1), x, 0, w) - rw / 2
    yy, xx = pixel_grid(x)
    inside = (yy >= top) & (yy < top + rh) & (xx >= left) & (xx < left + rw)
    return torch.where(inside, uniform(g, (n, 1, 1, 1), x), x)


def smudge(x, s, g):
    """A greasy thumbprint or a stain: a soft-edged ellipse of radii 2 .. 7 px,
    blended towards a random grey with opacity 0.4 .. 1."""
    n, _, h, w = x.shape
    cy, cx = uniform(g, (n, 1, 1, 1), x, 0, h), uniform(g, (n, 1, 1, 1), x, 0, w)
    ry, rx = (lerp(2.0, 7.0, s) * uniform(g, (n, 1, 1, 1), x, 0.6, 1.0) for _ in range(2))
    yy, xx = pixel_grid(x)
    blob = torch.exp(-(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) ** 2)   # flat top, soft edge
    opacity = lerp(0.4, 1.0, s) * blob
    return torch.lerp(x, uniform(g, (n, 1, 1, 1), x).expand_as(x), opacity)


def stroke_width(x, s, g):
    """Ink bleeding or a thin pen: grey dilation (3 x 3 max) or erosion (3 x 3 min)
    blended in by 0.3 .. 1, thicker or thinner at random."""
    thicker = F.max_pool2d(x, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-x, 3, stride=1, padding=1)
    pick = uniform(g, (x.shape[0], 1, 1, 1), x) < 0.5
    return torch.lerp(x, torch.where(pick, thicker, thinner), lerp(0.3, 1.0, s))


# -- Geometry: hand-held pose, framing, lens and glass

def hand_held(x, s, g):
    """Misalignments of a hand-held shot: rotation up to +-3 .. 25 degrees,
    scale 1 +- 0.03 .. 0.2, shear up to +-0.3, shift up to +-0.5 .. 4.5 px."""
    return random_affine(x, s, g, degrees=(3, 25), scale=(0.03, 0.2), shear=(0.0, 0.3),
                         shift=(0.5, 4.5))


def framing(x, s, g):
    """A digit framed by a person, not by MNIST's centring and size
    normalisation: rotation up to +-10 .. 45 degrees, scale 1 +- 0.1 .. 0.4,
    shear up to +-0.2, off-centre by up to +-1 .. 6 px."""
    return random_affine(x, s, g, degrees=(10, 45), scale=(0.1, 0.4), shear=(0.0, 0.2),
                         shift=(1.0, 6.0))


def warp(x, s, g):
    """Lens distortion, rolling shutter and glass: a smooth random displacement
    of 0.3 .. 2 px plus per-pixel jitter of 0 .. 0.8 px (bilinear resampling)."""
    n, _, h, w = x.shape
    smooth = lerp(0.3, 2.0, s) * smooth_field(g, n, 2, h, w, x)
    jitter = lerp(0.0, 0.8, s) * normal(g, (n, 2, h, w), x)
    shift = (smooth + jitter).permute(0, 2, 3, 1) * (2 / torch.tensor([w, h], device=x.device))
    base = F.affine_grid(torch.eye(2, 3, device=x.device).expand(n, 2, 3), list(x.shape),
                         align_corners=False)
    return F.grid_sample(x, base + shift, mode="bilinear", padding_mode="border",
                         align_corners=False)


def lens_distortion(x, s, g):
    """A cheap wide-angle or zoom lens: radial distortion r -> r (1 + k r^2) about
    a centre near the middle, barrel or pincushion, |k| 0.03 .. 0.25 (r = 1 at the edge)."""
    n, _, h, w = x.shape
    k = lerp(0.03, 0.25, s).view(n, 1, 1, 1) * torch.sign(uniform(g, (n, 1, 1, 1), x, -1, 1))
    centre = uniform(g, (n, 1, 1, 2), x, -0.2, 0.2)
    base = F.affine_grid(torch.eye(2, 3, device=x.device).expand(n, 2, 3), list(x.shape),
                         align_corners=False)                  # (n, H, W, 2) in [-1, 1]
    offset = base - centre
    grid = centre + offset * (1 + k * (offset ** 2).sum(-1, keepdim=True))
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


# -- The catalogue and the augmentation

# Name -> op. The order is part of the random stream: `camera_noise` draws
# each op's per-image coin flips and strengths in this order (after a shuffle
# that is itself drawn over these positions), so reordering, adding or removing
# an op changes every training batch; retrain and compare when you do.
DEGRADATIONS = {op.__name__: op for op in (
    shot_noise, read_noise, speckle, salt_pepper, defocus, motion_blur,
    exposure, gamma, contrast, illumination, fixed_pattern,
    low_resolution, jpeg, specks, quantise, hand_held, scratches, warp,
    stroke_width, occlusion,
    sharpen, threshold, periodic, smudge, lens_distortion, framing,
)}
# The first 20: the camera model before the six newest ops were added.
FIRST_OPS = tuple(DEGRADATIONS)[:20]


def apply_degradations(x, steps, g):
    """Apply named degradations in order at fixed strengths to the whole batch:
    steps = [(name, strength), ...]. Clipped to [0, 1] like a sensor's output."""
    for name, strength in steps:
        x = DEGRADATIONS[name](x, torch.full((x.shape[0],), strength, device=x.device), g)
    return x.clamp(0, 1)


def camera_noise(x, g, ops, clean_fraction, ops_per_image):
    """The training augmentation: x (B, 1, H, W) in [0, 1] -> same shape, degraded.

    Per image: with probability `clean_fraction` it stays clean; otherwise each
    op named in `ops` (names of DEGRADATIONS, in its order) is applied with
    probability ops_per_image / len(ops), at its own uniform random strength:
    about ops_per_image at once, a binomial count. The order of the ops is
    shuffled for every batch. Output clipped to [0, 1].
    """
    n = x.shape[0]
    degraded = uniform(g, (n,), x) >= clean_fraction
    p = ops_per_image / len(ops)
    for i in torch.randperm(len(ops), generator=g, device=x.device).tolist():
        idx = ((uniform(g, (n,), x) < p) & degraded).nonzero().view(-1)
        if len(idx):
            x = x.index_copy(0, idx, DEGRADATIONS[ops[i]](x[idx], uniform(g, (len(idx),), x), g))
    return x.clamp(0, 1)


# ----------------------------------------------------------------------------
# The camera-noise validation suite: named degradations at fixed strengths
# ----------------------------------------------------------------------------
# Each entry is applied to a whole split with a generator seeded from its
# position, so the numbers are reproducible. Single degradations at heavy but
# readable strengths, plus mixes in a real camera's order. Checkpoints are
# chosen by the mean over the suite on the validation split. The strengths
# stand for fixed physical values (read noise sigma 0.32 alone, 0.085, 0.17 and
# 0.15 in mixes; occluders up to 6.6 px), so the numbers stay comparable across
# models: when an op's training range changes, rescale its strengths here. The
# six newest ops are left out for the same reason.

SUITE = {
    "clean": [],
    "shot noise": [("shot_noise", 0.9)],
    "read noise": [("read_noise", 0.52)],
    "speckle": [("speckle", 0.8)],
    "salt & pepper": [("salt_pepper", 0.6)],
    "defocus": [("defocus", 0.7)],
    "motion blur": [("motion_blur", 0.8)],
    "exposure": [("exposure", 0.9)],
    "gamma": [("gamma", 0.9)],
    "low contrast": [("contrast", 0.85), ("read_noise", 0.11)],
    "uneven light": [("illumination", 0.8)],
    "banding": [("fixed_pattern", 0.7)],
    "low resolution": [("low_resolution", 0.7)],
    "jpeg": [("jpeg", 0.8)],
    "specks": [("specks", 0.8)],
    "scratches": [("scratches", 0.7)],
    "warp": [("warp", 0.7)],
    "stroke width": [("stroke_width", 0.6)],
    "occlusion": [("occlusion", 0.4)],
    "quantised": [("quantise", 0.9)],
    "hand-held": [("hand_held", 0.8)],
    "cheap camera": [("hand_held", 0.5), ("defocus", 0.4), ("illumination", 0.4),
                     ("shot_noise", 0.6), ("read_noise", 0.26), ("fixed_pattern", 0.3),
                     ("low_resolution", 0.3), ("jpeg", 0.5)],
    "night shot": [("exposure", 0.5), ("contrast", 0.5), ("shot_noise", 0.6),
                   ("read_noise", 0.22), ("salt_pepper", 0.1)],
}


def suite_accuracy(model, images, labels, suite, seed, batch_size=1000):
    """Accuracy of `model` on each named degradation of `suite`.

    images (N, 1, 28, 28) uint8, labels (N,) -> {name: accuracy in [0, 1]}.
    Degradations run on the model's device, seeded by seed + the entry's index.
    """
    device = next(model.parameters()).device
    results = {}
    for i, (name, steps) in enumerate(suite.items()):
        g = torch.Generator(device).manual_seed(seed + i)
        correct = 0
        for xb, yb in zip(images.split(batch_size), labels.split(batch_size)):
            x = apply_degradations(xb.to(device).float() / 255, steps, g)
            correct += (classify(model, x) == yb.cpu()).sum().item()
        results[name] = correct / max(len(labels), 1)
    return results


def summarise(accuracies):
    """{name: accuracy} -> (mean, (worst name, worst accuracy))."""
    worst = min(accuracies.items(), key=lambda item: item[1])
    return sum(accuracies.values()) / len(accuracies), worst


# ----------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------

def resolve_device(name):
    """'auto' -> 'cuda' when present, else 'cpu'; asking for a missing CUDA is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device {name!r}: use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda asked for, but no CUDA device is available")
    return device


def progress(iterable, **kwargs):
    """tqdm's progress bar when tqdm is installed (the grader may lack it)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, **kwargs)


def js_divergence(log_probs):
    """Jensen-Shannon divergence of V predictions of the same images:
    log_probs (V, B, 10) -> mean over v and b of KL(p_v || m), m = mean_v p_v."""
    log_m = torch.logsumexp(log_probs, dim=0) - math.log(len(log_probs))   # log of the mean
    return (log_probs.exp() * (log_probs - log_m)).sum(-1).mean()


def train_step(model, optimizer, views, y, cfg):
    """One AdamW step on V camera views of the same batch, views (V, B, 1, 28, 28)
    float, y (B,). Forward in bfloat16 where native (`autocast`), the loss in
    float32: label-smoothed cross-entropy averaged over the views, plus
    cfg.consistency x the views' Jensen-Shannon divergence. -> loss tensor.

    MyNet returns log-probabilities and F.cross_entropy applies log_softmax
    again: that is right, log_softmax leaves log-probabilities unchanged."""
    n_views, batch = views.shape[:2]
    with autocast(views.device, cfg.bf16):
        log_probs = model(views.flatten(0, 1))                       # (V B, 10)
    log_probs = log_probs.float()
    loss = F.cross_entropy(log_probs, y.repeat(n_views), label_smoothing=cfg.label_smoothing)
    if n_views > 1:
        loss = loss + cfg.consistency * js_divergence(log_probs.view(n_views, batch, -1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def camera_ops(text):
    """--camera-ops -> tuple of DEGRADATIONS names: 'all', 'first20' or 'a,b,c'."""
    if text == "all":
        return tuple(DEGRADATIONS)
    if text == "first20":
        return FIRST_OPS
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in DEGRADATIONS]
    if unknown or not names:
        raise UserError(f"--camera-ops: unknown {unknown or 'empty list'}; "
                        f"use all, first20 or names of {', '.join(DEGRADATIONS)}")
    return names


def weight_average(model, decay):
    """An exponential moving average of model's weights and buffers (a copy in
    `.module`), None when decay is 0. `.update_parameters(model)` after each
    step: the first call copies the weights, then average = decay x average +
    (1 - decay) x weights."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn   # torch >= 2.1: training only
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def train_one_epoch(model, optimizer, scheduler, images, labels, cfg, g, max_batches=None, desc="",
                    average=None):
    """One pass over images (N, 1, 28, 28) uint8 in a seeded random order, each
    batch degraded by `camera_noise` (twice, as two views, when cfg.consistency
    is on); `average` (see `weight_average`) follows every step. -> mean training loss."""
    model.train()
    ops, n_views = camera_ops(cfg.camera_ops), 2 if cfg.consistency > 0 else 1
    order = torch.randperm(len(images), generator=g, device=images.device)
    batches = order.split(cfg.batch_size)[:max_batches]
    total, bar = 0.0, progress(batches, desc=desc, leave=False, mininterval=1.0)
    for step, idx in enumerate(bar, 1):
        x = images[idx].float() / 255
        views = torch.stack([camera_noise(x, g, ops, cfg.clean_fraction, cfg.ops_per_image)
                             for _ in range(n_views)])                  # (V, B, 1, 28, 28)
        loss = train_step(model, optimizer, views, labels[idx], cfg)
        scheduler.step()
        if average is not None:
            average.update_parameters(model)
        total += loss.item()
        if hasattr(bar, "set_postfix") and step % 20 == 0:
            bar.set_postfix(loss=f"{total / step:.3f}")
    return total / max(len(batches), 1)


def save_atomic(obj, path):
    """torch.save to a temp file, then rename: an interrupted save never leaves
    a broken file, the previous one stays loadable."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def cpu_state_dict(model):
    """A plain CPU state_dict, contiguous tensors (loads anywhere with weights_only)."""
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def scored(epoch, epochs, val_epochs):
    """Is epoch (1-based) among the last val_epochs of epochs? The last one always is."""
    return epoch > epochs - max(val_epochs, 1)


def train(cfg):
    """Train MyNet with the camera model; keep the checkpoint with the best mean
    suite accuracy on the validation split in cfg.model_path (the weights'
    moving average instead when cfg.ema is on). -> metrics dict."""
    torch.manual_seed(cfg.seed)   # weight init and dropout
    device = resolve_device(cfg.device)
    images, labels = load_mnist(cfg.data_dir, train=True)
    train_idx, val_idx = split_train_val(len(images), cfg.val_size, cfg.seed)
    x_train, y_train = images[train_idx].to(device), labels[train_idx].to(device)
    x_val, y_val = images[val_idx], labels[val_idx]
    max_batches, epochs = None, cfg.epochs
    if cfg.dry_run:
        max_batches, epochs = 5, 1
        x_val, y_val = x_val[:200], y_val[:200]
    model = MyNet().to(device)
    average = weight_average(model, cfg.ema)
    kept = model if average is None else average.module   # what is validated and saved
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = min(math.ceil(len(x_train) / cfg.batch_size), max_batches or math.inf)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr,
                                                    total_steps=epochs * steps, pct_start=cfg.warmup)
    g = torch.Generator(device).manual_seed(cfg.seed)
    print(f"training MyNet on {device}: {len(x_train)} images, {epochs} epochs, "
          f"validation {len(x_val)} images x {len(SUITE)} degradations")
    history, best = [], -1.0
    for epoch in range(1, epochs + 1):
        start = time.time()
        loss = train_one_epoch(model, optimizer, scheduler, x_train, y_train, cfg, g,
                               max_batches, desc=f"epoch {epoch}/{epochs}", average=average)
        record, line = dict(epoch=epoch, train_loss=loss), f"epoch {epoch:2d}  loss {loss:.4f}"
        if scored(epoch, epochs, cfg.val_epochs):
            val = suite_accuracy(kept, x_val, y_val, SUITE, seed=cfg.val_seed)
            mean, (worst_name, worst) = summarise(val)
            record.update(val_clean=val["clean"], val_mean=mean, val_worst=worst, val=val)
            line += (f"  val clean {val['clean']:.2%}  noisy mean {mean:.2%}  "
                     f"worst {worst:.2%} ({worst_name})")
            if mean > best:
                best = mean
                if not cfg.dry_run:
                    save_atomic(cpu_state_dict(kept), cfg.model_path)
                    line += "  * saved"
        record["seconds"] = time.time() - start
        history.append(record)
        print(f"{line}  {record['seconds']:.0f}s")
        if not cfg.dry_run:
            Path(cfg.history_path).write_text(json.dumps(history, indent=1))
    return {"best_val_mean": best, "history": history}


# ----------------------------------------------------------------------------
# Evaluation, plots and photos
# ----------------------------------------------------------------------------

def load_model(path, device="cpu"):
    """Build MyNet through the grader's hook and load `path` as the grader does
    (weights_only=True, strict). A missing or broken file raises UserError."""
    path = Path(path)
    fix = ("restore model.pt with `git checkout -- model.pt` or train one "
           "(`make train-cnn` writes build/model.pt)")
    if not path.is_file():
        raise UserError(f"{path} not found: {fix}")
    model = get_model_class(None)[0]()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle garbage (KeyError, EOFError ...), a whole model
        raise UserError(f"{path} is truncated or not a saved state_dict (torch.load raised "
                        f"{type(err).__name__}): {fix}") from None
    try:
        model.load_state_dict(state)
    except Exception as err:  # another architecture: not a dict, missing, unexpected or resized tensors
        raise UserError(f"{path} does not fit {type(model).__name__} ({state_dict_mismatch(err)}): "
                        f"{fix}") from None
    return model.to(device).eval()


def state_dict_mismatch(err):
    """load_state_dict's error -> what did not fit, one line: its message lists one
    kind of mismatch per line ('Missing key(s) in state_dict: "a", ...'), of which
    the first three kinds are kept, without the key lists."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
    kinds = [line.split(":")[0] for line in lines[1:4]]
    return "; ".join(kinds) if kinds else lines[0].rstrip(".")


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_gallery(model, images, labels, suite, seed, path, n=8):
    """One row per degradation of the first n test images, each titled with
    MyNet's label; mistakes in red."""
    plt = pyplot()
    fig, axes = plt.subplots(len(suite), n, figsize=(n * 0.9, len(suite) * 1.0))
    for row, (i, (name, steps)) in zip(axes, enumerate(suite.items())):
        g = torch.Generator().manual_seed(seed + i)
        x = apply_degradations(images[:n].float() / 255, steps, g)
        pred = classify(model, x)
        for ax, img, p, y in zip(row, x[:, 0], pred.tolist(), labels[:n].tolist()):
            ax.imshow(img.numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(str(p), fontsize=8, color="black" if p == y else "red", pad=2)
            ax.set_xticks([]), ax.set_yticks([])
        row[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle("MyNet on degraded test digits (title: predicted label, red: wrong)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))   # 0.3 inch for the suptitle
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_history(history, path):
    """Training loss and validation accuracy (clean, noisy mean, worst) per epoch."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-")
    ax1.set(xlabel="epoch", ylabel="cross-entropy (label smoothing)",
            title="training loss (degraded images)")
    scored = [h for h in history if "val_mean" in h]     # see Config.val_epochs
    for key, label in [("val_clean", "clean"), ("val_mean", "suite mean"), ("val_worst", "suite worst")]:
        ax2.plot([h["epoch"] for h in scored], [100 * h[key] for h in scored], "o-", label=label)
    ax2.set(xlabel="epoch", ylabel="accuracy (%)",
            title="validation accuracy (scored in the last epochs only)")
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate(cfg, suite=SUITE):
    """Load cfg.model_path like the grader and measure it on the clean test set
    and on every degradation of `suite`. Prints a table, writes the gallery and
    the training curves. -> {accuracy: {name: acc}, mean, worst, worst_name}."""
    model = load_model(cfg.model_path, resolve_device(cfg.device))
    images, labels = load_mnist(cfg.data_dir, train=False)
    acc = suite_accuracy(model, images, labels, suite, seed=cfg.test_seed)
    mean, (worst_name, worst) = summarise(acc)
    print(f"{'test set (10,000 images)':26s} accuracy")
    for name, a in acc.items():
        print(f"  {name:24s} {a:8.2%}")
    print(f"  {'mean':24s} {mean:8.2%}\n  {'worst (' + worst_name + ')':24s} {worst:8.2%}")
    plot_gallery(model.cpu(), images, labels, suite, cfg.test_seed, cfg.gallery_path)
    if Path(cfg.history_path).exists():
        plot_history(json.loads(Path(cfg.history_path).read_text()), cfg.curves_path)
    return {"accuracy": acc, "mean": mean, "worst": worst, "worst_name": worst_name}


def photo_to_mnist(img):
    """A grey photo (H, W) float in [0, 1] -> (28, 28) MNIST-style: light digit on
    dark, cropped to the ink, longest side 20 px, centred in 28 x 28 (as MNIST)."""
    border = torch.cat([img[0], img[-1], img[:, 0], img[:, -1]])
    if border.mean() > img.mean():              # paper brighter than the ink-weighted mean: invert
        img = 1 - img
    img = (img - img.min()) / (img.max() - img.min()).clamp_min(1e-6)
    ink = (img > 0.5).nonzero()
    if len(ink):
        (top, left), (bottom, right) = ink.min(0).values, ink.max(0).values
        img = img[top:bottom + 1, left:right + 1]
    h, w = img.shape
    side = max(h, w)
    square = F.pad(img, ((side - w) // 2, side - w - (side - w) // 2,
                         (side - h) // 2, side - h - (side - h) // 2))
    small = F.interpolate(square[None, None], size=(20, 20), mode="area")[0, 0]
    return F.pad(small, (4, 4, 4, 4))


def classify_files(model, paths):
    """PNG/JPEG files -> list of (path, label). Images are read with Pillow
    (torchvision's own decoders are deprecated since 0.29)."""
    from PIL import Image   # a torchvision dependency; imported here, used only here
    batch = []
    for path in paths:
        try:
            with Image.open(path) as img:
                grey = torch.from_numpy(np.asarray(img.convert("L"), dtype=np.float32) / 255)
        except (OSError, ValueError) as err:
            raise UserError(f"cannot read {path} as an image: {err}") from None
        batch.append(photo_to_mnist(grey))
    labels = classify(model, torch.stack(batch)) if batch else []
    return [(p, int(l)) for p, l in zip(paths, labels)]


# ----------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------

# Each command: what it does, and the Config fields it takes (None: every field
# but NOT_TRAINING, so a new training knob needs no entry here).
COMMANDS = {
    "train": ("train MyNet, write model.pt and its history (no command means train)", None),
    "evaluate": ("model.pt on the clean and SUITE test sets: a table, the gallery and the curves",
                 ("model_path", "history_path", "gallery_path", "curves_path", "test_seed",
                  "data_dir", "device")),
    "classify": ("label PNG/JPEG photos of digits with model.pt", ("model_path",)),
    "data": ("unpack the shipped MNIST offline, write the NumPy lab's npz", ("data_dir", "npz_path")),
}
NOT_TRAINING = ("gallery_path", "curves_path", "test_seed", "npz_path")


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
    """A sentence naming the first invalid Config value by its flag, or None."""
    rules = [("epochs", cfg.epochs > 0, "be positive"),
             ("batch_size", cfg.batch_size > 0, "be positive"),
             ("val_size", cfg.val_size > 0, "be positive"),
             ("val_epochs", cfg.val_epochs > 0, "be positive"),
             ("lr", cfg.lr > 0, "be positive"),
             ("weight_decay", cfg.weight_decay >= 0, "be non-negative"),
             ("warmup", 0 < cfg.warmup < 1, "lie in (0, 1)"),
             ("label_smoothing", 0 <= cfg.label_smoothing < 1, "lie in [0, 1)"),
             ("clean_fraction", 0 <= cfg.clean_fraction <= 1, "lie in [0, 1]"),
             ("ops_per_image", cfg.ops_per_image > 0, "be positive"),
             ("consistency", cfg.consistency >= 0, "be non-negative"),
             ("ema", 0 <= cfg.ema < 1, "lie in [0, 1)")]
    for name, ok, rule in rules:
        if not ok:
            return f"--{name.replace('_', '-')} must {rule}, got {getattr(cfg, name)}"
    try:
        ops = camera_ops(cfg.camera_ops)
    except UserError as err:
        return str(err)
    if cfg.ops_per_image > len(ops):
        return f"--ops-per-image {cfg.ops_per_image} is more than the {len(ops)} camera ops"
    return None


def build_parser():
    """-> (the parser of `pytorch_cnn.py COMMAND ...`, {command: its subparser})."""
    parser = argparse.ArgumentParser(prog="pytorch_cnn.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    subparsers = {}
    for command, (summary, names) in COMMANDS.items():
        sub = subparsers[command] = commands.add_parser(command, help=summary, description=summary)
        if command == "train":
            names = [f.name for f in fields(Config) if f.name not in NOT_TRAINING]
            sub.add_argument("--preset", choices=PRESETS, default="quick",
                             help="named settings: " + "; ".join(
                                 f"{name}: {preset or 'the defaults'}" for name, preset in PRESETS.items())
                             + " (default: quick)")
        add_knobs(sub, Config, names)
        if command == "classify":
            sub.add_argument("images", nargs="+", help="PNG or JPEG files")
    return parser, subparsers


def parse_args(argv):
    """-> (command, Config, image paths). No command means train, as in the
    template; a word that is neither a flag nor a command is an error. A
    --preset sets train's defaults; flags given override them."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, subparsers = build_parser()
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv.insert(0, "train")
    if argv[0] not in COMMANDS and not argv[0].startswith("-"):
        parser.error(f"unknown command {argv[0]!r}: use one of {', '.join(COMMANDS)} "
                     f"(none means train)")
    known = parser.parse_known_args(argv)[0]
    if known.command == "train":
        subparsers["train"].set_defaults(**PRESETS[known.preset])
    args = vars(parser.parse_args(argv))
    command, images = args.pop("command"), args.pop("images", [])
    args.pop("preset", None)
    cfg = Config(**args)
    problem = config_problem(cfg)
    if problem:
        subparsers[command].error(problem)   # prints the usage and the problem, exits with status 2
    return command, cfg, images


def main(argv=None):
    """Run a command; returns its metrics (or None for `data`). User errors exit 2
    with one line."""
    command, cfg, images = parse_args(argv)
    try:
        if command == "data":
            write_npz(cfg.data_dir, cfg.npz_path)
            print(f"MNIST ready in {cfg.data_dir}/MNIST/raw and {cfg.npz_path}")
            return None
        if command == "evaluate":
            return evaluate(cfg)
        if command == "classify":
            results = classify_files(load_model(cfg.model_path), images)
            for path, label in results:
                print(f"{path}: {label}")
            return dict(results)
        metrics = train(cfg)
        if not cfg.dry_run:
            print(f"wrote {cfg.model_path} (the best checkpoint) and {cfg.history_path}")
        return metrics
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"interrupted: {cfg.model_path} holds the best checkpoint saved so far", file=sys.stderr)
        sys.exit(130)   # the shell's code for Ctrl-C


if __name__ == "__main__":
    main()
