"""MNIST digits with PyTorch: the lab's reference models and MyNet, a CNN made
to survive photos from an unknown, heavily noisy cheap camera.

    python pytorch_cnn.py [--epochs N ...]      train MyNet, write model.pt (--help: every knob)

The grader imports this file alone and uses `get_model_class`, `MyNet`,
`classify` and `model.pt`; importing it trains nothing and writes nothing.
Shapes: B batch, C channels, H = W = 28 pixels. Contents, in order:

    UserError                    errors a user can fix: one line, exit status 2
    Config, PRESETS              every knob of training, with its reason
    load_mnist, split_train_val  the data, and the development split held out of training
    FCNet, SimpleCNN, MyNet      the models (MyNet's input stage: standardise, top-hats)
    classify                     the grader's entry point
    DEGRADATIONS                 the camera model: 26 seeded ops op(x, s, g)
    PRIMITIVES, LIGHT            random primitives (PRIME, PixMix); haze, glare, shadows
    SUITE                        named degradations that pick the checkpoint
    model.pt I/O                 load_model, save_atomic (as the grader loads it)
    train                        the training loop, resumable (--resume)
    parse_args, main             the command line

Beside it (not graded): tools/evaluate.py (the test-set table, gallery,
curves), photo_reader.py (photos -> digits), tools/mnist_data.py (`make data`).
"""
import argparse
import difflib
import functools
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


# ----------------------------------------------------------------------------
# Errors a user can fix: one line, exit status 2
# ----------------------------------------------------------------------------

class UserError(RuntimeError):
    """A problem the user can fix (bad arguments, missing or broken data or
    model files); main prints it as one `error:` line and exits 2."""


def one_line_errors(command):
    """Wraps a command's main(argv): a UserError ends it with one `error:` line
    on stderr and exit status 2 (argparse's code for a bad command line), no
    traceback. The tools' mains wear it too."""
    @functools.wraps(command)
    def run(argv=None):
        try:
            return command(argv)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
    return run


def knob(default, help, **argparse_options):
    """A Config field; `--help` prints `help` and the default. Extra options
    (nargs, metavar) go to argparse."""
    return field(default=default, metadata=dict(help=help, **argparse_options))


@dataclass(frozen=True)
class Config:
    """Every knob of training in one place. The defaults
    (`--preset full`) make the shipped model.pt: a short fine-tune, with the
    stroke channels, the random primitives and the light ops, of
    results/mynet-base.pt, which `--preset base` makes from scratch."""
    epochs: int = knob(16, "passes over the 57,500 training images (the fine-tune: 16 epochs with "
                           "--light 0.7 read glare and flare better than 12 with 0.5, at no cost "
                           "elsewhere, on 2 seeds: docs/experiments.md)")
    batch_size: int = knob(128, "images per AdamW step")
    lr: float = knob(1e-3, "peak learning rate of the one-cycle schedule (a fine-tune: a third "
                           "of --preset base's 3e-3 from scratch, so the base's features are refined, "
                           "not relearnt)")
    warmup: float = knob(0.3, "share of the steps in which the learning rate rises from lr/25 "
                              "to --lr; then it falls on a cosine to lr/25/10^4 (OneCycleLR)")
    weight_decay: float = knob(5e-4, "AdamW's decoupled weight decay")
    label_smoothing: float = knob(0.05, "heavy noise makes some labels unknowable: do not force certainty")
    clean_fraction: float = knob(0.2, "share of images left undegraded, so clean accuracy stays top")
    camera_ops: str = knob("all", "the camera model's degradations: all, or names of "
                                  "DEGRADATIONS, comma-separated")
    ops_per_image: float = knob(4.0, "mean number of degradations on a degraded image: enough "
                                     "to mix several, few enough that the digit stays readable")
    primitives: float = knob(0.3, "share of training images first remixed from random primitives "
                                  "(`primitive_mix`: kinds of change that no camera op models); 0: off")
    light: float = knob(0.7, "share of training images lit by one large-area light op (`light_mix`: "
                             "haze, glare, a hard shadow) at up to full strength; the camera model's "
                             "uneven light is one op in 26, too rare for what a person reads through")
    stroke_channels: bool = knob(True, "MyNet's input stage adds two top-hat channels (bright and "
                                       "dark strokes with the background removed)")
    init: str = knob("results/mynet-base.pt", "start from this MyNet state_dict instead of random weights (a "
                         "fine-tune); a one-channel model's first layer is widened with zeros "
                         "for the stroke channels, so training starts from the same function")
    val_size: int = knob(2500, "training images held out, never trained on: the development set, "
                               "scored under every degradation of SUITE to pick the checkpoint")
    split_seed: int = knob(0, "seeds the development split; fixed, not --seed, so a base and every "
                              "fine-tune of it hold out the same images (0: the base's split)")
    val_epochs: int = knob(4, "score the validation suite in the last N epochs only: earlier "
                              "ones, at a high learning rate, are not worth keeping")
    bf16: bool = knob(True, "bfloat16 autocast where the device runs it natively")
    seed: int = knob(0, "seeds the weights, the batch order and the camera model")
    val_seed: int = knob(1000, "seeds the validation suite: entry i draws from val_seed + i")
    device: str = knob("auto", "auto (CUDA when present), cpu or cuda")
    data_dir: str = knob("data", "holds MNIST/raw/, unpacked by `make data`")
    model_path: str = knob("model.pt", "MyNet's state_dict: the best checkpoint is written there")
    history_path: str = knob("results/pytorch_cnn_history.json", "the ops trained with and per-epoch "
                                                                  "losses and accuracies (tools/evaluate.py plots them)")
    resume: str = knob("", "continue the interrupted run whose resumable checkpoint is here "
                           "(train writes <model-path stem>.resume.pt every epoch); the other "
                           "knobs must match that run's")
    dry_run: bool = knob(False, "5 batches of one epoch on 200 validation images; writes nothing")


# Named settings; flags given on the command line override them. full is
# Config's defaults and what `make` runs. base trains results/mynet-base.pt
# from scratch with the camera model alone; 150 epochs because the held-out
# means still rose from 90 to 150 (docs/experiments.md), hours on 2 CPU cores.
PRESETS = {
    "full": {},
    "base": {"init": "", "epochs": 150, "lr": 3e-3, "val_epochs": 10, "stroke_channels": False,
             "primitives": 0.0, "light": 0.0},
}


# ----------------------------------------------------------------------------
# Data: MNIST as torchvision reads it, and the development split
# ----------------------------------------------------------------------------

def load_mnist(root, train):
    """-> images (N, 1, 28, 28) uint8, labels (N,) int64, read by torchvision from
    root/MNIST/raw/ (`make data` verifies the shipped copy and unpacks it there)."""
    try:
        ds = torchvision.datasets.MNIST(str(root), train=train, download=False)
    except Exception as err:  # not unpacked, or broken unpacked files
        raise UserError(f"cannot load MNIST from {Path(root) / 'MNIST' / 'raw'} ({type(err).__name__}): "
                        f"run `make data` (or tools/mnist_data.py --data-dir {root}), which verifies "
                        f"the shipped copy and unpacks it there") from None
    return ds.data.unsqueeze(1), ds.targets


def split_train_val(n, val_size, seed):
    """A seeded permutation of range(n) -> (train indices, development indices).
    Seeded by Config.split_seed, never --seed: every model holds out the same images."""
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


STROKE_WINDOW = 7   # px: wider than MNIST's thickest strokes (about 5 px when the ink bleeds)


def window_max(x, k):
    """Max over k x k windows (k odd), same size, x (B, C, H, W): equal to
    F.max_pool2d(x, k, stride=1, padding=k // 2), about 10x faster on CPU.
    Separable, and along each axis a running max whose width doubles per step
    (van Herk / Gil-Werman): log2(k) elementwise maxima instead of k x k."""
    r = k // 2
    for dim, pad in ((2, (0, 0, r, r)), (3, (r, r))):
        out = F.pad(x, pad, value=float("-inf"))        # -inf: the border never wins
        width = 1                                        # out[i] = max of `width` pixels from i
        while width < k:
            step = min(width, k - width)
            n = out.shape[dim] - step
            out = torch.maximum(out.narrow(dim, 0, n), out.narrow(dim, step, n))
            width += step
        x = out
    return x


def opening(x, k):
    """Grey-level opening over k x k windows, x (B, C, H, W) -> same shape: the
    min then the max, which deletes every bright detail narrower than k px and
    keeps what varies more slowly."""
    return window_max(-window_max(-x, k), k)


def top_hats(x, k=STROKE_WINDOW):
    """Bright and dark details narrower than k px: x (B, 1, H, W) -> (B, 2, H, W).

    White top-hat x - open(x) and black top-hat close(x) - x, where
    close(x) = -open(-x). Light and shade that vary over more than k px (a
    lamp, a shadow, a stain, the paper's grey) are removed; strokes stay, light
    on dark in the first channel, dark on light in the second."""
    return torch.cat([x - opening(x, k), -opening(-x, k) - x], dim=1)


class MyNet(nn.Module):
    """Noise-robust CNN: (B, 1, 28, 28) in [0, 1] -> (B, 10) log-probabilities.

    Each image is first standardised by its own mean and std, so gain, offset,
    exposure and contrast changes of the camera cancel before the first
    convolution. With `stroke_channels` (the shipped model) two more channels
    hold the image's top-hats (`top_hats`), each standardised the same way:
    strokes without the large-area light and shade that a photo adds, in
    either polarity. The 5 x 5 stride-2 stem averages over more pixels than a 3 x 3
    (pixel noise) and halves the resolution at once: 32 channels at 14 x 14
    hold the 28 x 28 strokes without loss and cost a quarter of full-resolution
    layers. Global average pooling keeps it small (no large linear layer).
    Weights and activations are channels-last, the layout oneDNN's CPU
    convolutions run fastest in.
    """

    def __init__(self, stroke_channels=True):
        super().__init__()
        self.stroke_channels = stroke_channels
        self.features = nn.Sequential(
            conv_bn(3 if stroke_channels else 1, 32, 5, stride=2),   # (B, 32, 14, 14)
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
        """Per-image, per-channel (x - mean) / std; the std floor 1e-3 keeps a blank image finite."""
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = x.std(dim=(2, 3), keepdim=True).clamp_min(1e-3)
        return (x - mean) / std

    def forward(self, x):
        if self.stroke_channels:
            x = torch.cat([x, top_hats(x)], dim=1)     # (B, 3, 28, 28)
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
    speed-up is in docs/experiments.md (Speed)."""
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
    thicker, thinner = window_max(x, 3), -window_max(-x, 3)
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


def displace(x, shift):
    """Resample x (n, 1, H, W) at each pixel moved by shift (n, 2, H, W) pixels
    (x then y), bilinear, edges repeated."""
    n, _, h, w = x.shape
    shift = shift.permute(0, 2, 3, 1) * (2 / torch.tensor([w, h], device=x.device))   # px -> [-1, 1]
    base = F.affine_grid(torch.eye(2, 3, device=x.device).expand(n, 2, 3), list(x.shape),
                         align_corners=False)
    return F.grid_sample(x, base + shift, mode="bilinear", padding_mode="border",
                         align_corners=False)


def warp(x, s, g):
    """Lens distortion, rolling shutter and glass: a smooth random displacement
    of 0.3 .. 2 px plus per-pixel jitter of 0 .. 0.8 px (bilinear resampling)."""
    n, _, h, w = x.shape
    smooth = lerp(0.3, 2.0, s) * smooth_field(g, n, 2, h, w, x)
    jitter = lerp(0.0, 0.8, s) * normal(g, (n, 2, h, w), x)
    return displace(x, smooth + jitter)


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
# Random primitives: broad families of change, after PRIME and PixMix
# ----------------------------------------------------------------------------
# The camera model copies what we know a camera does; a test written by
# someone else holds kinds that nobody here listed. PRIME (Modas et al. 2022)
# and PixMix (Hendrycks et al. 2022) train on random members of broad families
# instead: smooth random displacement fields, random filters, random tone
# curves, random low-frequency light and hard-edged shapes, mixed with the
# clean image at random weights. Each primitive is `op(x, s, g)` like the
# camera ops; `primitive_mix` chains and mixes them.

def random_tone(x, s, g):
    """A random tone curve: piecewise linear through 6 random levels, monotone
    (rising or falling, so ink and paper may swap) in half the images, any
    shape in the others; blended with the identity by 0.3 .. 1."""
    n, k = x.shape[0], 6     # 6 levels: wiggles up to 5 times, smooth enough to keep strokes
    levels = uniform(g, (n, k), x)
    monotone = uniform(g, (n, 1), x) < 0.5
    rising = levels.sort(dim=1).values
    levels = torch.where(monotone, torch.where(uniform(g, (n, 1), x) < 0.5, rising, rising.flip(1)), levels)
    curve = torch.lerp(torch.linspace(0, 1, k, device=x.device).expand(n, k), levels,
                       lerp(0.3, 1.0, s).view(n, 1))
    pos = x.clamp(0, 1) * (k - 1)
    i = pos.floor().clamp(max=k - 2).long()
    b = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    return torch.lerp(curve[b, i], curve[b, i + 1], pos - i)


def random_filter(x, s, g):
    """A random spectral filter: each image convolved with its own 9 x 9 kernel,
    a Gaussian envelope (sigma up to 1.5 .. 3.5 px, so blur up to the spacing
    of strokes) times 1 + a N(0, 1) with a = 0.2 .. 1 (random ringing and
    edge gains), normalised so that flat areas keep their level on average."""
    n = x.shape[0]
    yy, xx = kernel_grid(x)
    sigma = uniform(g, (n, 1, 1), x, 0.3, 1.0) * lerp(1.5, 3.5, s).view(n, 1, 1)
    envelope = torch.exp(-(yy ** 2 + xx ** 2) / (2 * sigma ** 2))
    k = envelope * (1 + lerp(0.2, 1.0, s).view(n, 1, 1) * normal(g, (n, KERNEL, KERNEL), x))
    return per_sample_conv(x, k / envelope.sum(dim=(1, 2), keepdim=True))


def light_field(x, s, g):
    """Light over large areas with soft edges: x (1 + a m) + b f, with m and f
    random low-frequency fields of 2 .. 5 cells across, a and b up to 0.2 .. 0.8."""
    n, _, h, w = x.shape
    cells = 2 + int(uniform(g, (1,), x).item() * 4)
    m, f = smooth_field(g, n, 2, h, w, x, cells).unbind(1)
    amp = lambda: lerp(0.2, 0.8, s) * uniform(g, (n, 1, 1, 1), x)
    return x * (1 + amp() * m.unsqueeze(1)) + amp() * f.unsqueeze(1)


def light_shapes(x, s, g):
    """Light and shade with hard or soft edges: a random half-plane or ellipse
    (a shadow's edge, a lamp's spot, a sheet over part of the digit) within
    which the image gets a gain in 1 -+ 0.3 .. 0.8 and an offset of up to
    +-0.2 .. 0.7; its edge is blurred over 0.05 .. 3 px (sharp to soft)."""
    n, _, h, w = x.shape
    yy, xx = pixel_grid(x)
    r = lambda lo, hi: uniform(g, (n, 1, 1, 1), x, lo, hi)
    angle, cy, cx = r(0, 2 * math.pi), r(0, h), r(0, w)
    plane = torch.cos(angle) * (xx - cx) + torch.sin(angle) * (yy - cy)      # signed px
    ry, rx = r(4, 14), r(4, 14)
    ellipse = (1 - torch.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)) * torch.minimum(ry, rx)
    inside = torch.where(r(0, 1) < 0.5, plane, ellipse) / r(0.05, 3.0)
    mask = torch.sigmoid(inside)
    gain = 1 + lerp(0.3, 0.8, s) * r(-1, 1)
    offset = lerp(0.2, 0.7, s) * r(-1, 1)
    return x + mask * ((gain - 1) * x + offset)


def ink_loss(x, s, g):
    """Strokes that lose ink (a dry pen, a worn print): where a random
    low-frequency field falls below its quantile, 5 .. 35 % of the area, the
    ink fades by 0.5 .. 0.9; the rest keeps it (past that a person guesses)."""
    n, _, h, w = x.shape
    patches = smooth_field(g, n, 1, h, w, x, cells=7)    # 7 cells: patches about a stroke's length
    patches = (patches - patches.mean(dim=(2, 3), keepdim=True)) / patches.std(dim=(2, 3), keepdim=True)
    cut = torch.special.ndtri(lerp(0.05, 0.35, s))      # the field's quantile for that share
    return x * (1 - lerp(0.5, 0.9, s) * (patches < cut).to(x.dtype))


def coarse_pixels(x, s, g):
    """Coarse pixelation on a random grid: blocks of 2 .. 3 up to 2 .. 6 px
    averaged, the grid's phase drawn per image (a digital zoom, a mosaic filter)."""
    out = x.clone()
    sizes = (2 + uniform(g, (x.shape[0],), x) * (lerp(2.0, 5.0, s).view(-1) - 1)).floor().long()
    for size in sizes.unique().tolist():
        idx = (sizes == size).nonzero().view(-1)
        dy, dx = (int(uniform(g, (1,), x).item() * size) for _ in range(2))
        shifted = torch.roll(x[idx], (dy, dx), dims=(2, 3))
        blocks = F.interpolate(F.avg_pool2d(shifted, size, ceil_mode=True), scale_factor=size,
                               mode="nearest")[..., :x.shape[2], :x.shape[3]]
        out[idx] = torch.roll(blocks, (-dy, -dx), dims=(2, 3))
    return out


def paper_warp(x, s, g):
    """A bent or crumpled sheet: a smooth random displacement of 2 .. 6 cells
    across (PRIME's random diffeomorphisms: low frequencies at random) with a
    standard deviation of 1 .. 3.5 px."""
    n, _, h, w = x.shape
    cells = 2 + int(uniform(g, (1,), x).item() * 5)
    return displace(x, lerp(1.0, 3.5, s) * smooth_field(g, n, 2, h, w, x, cells))


# Name -> primitive. As with DEGRADATIONS, the order is part of the random stream.
PRIMITIVES = {op.__name__: op for op in (
    random_tone, random_filter, light_field, light_shapes, ink_loss, coarse_pixels, paper_warp,
)}


def primitive_chain(x, g, depth):
    """1 .. depth random primitives in a row (depth drawn per image), at random
    strengths. Each step draws one primitive for the whole batch: one call per
    step is cheap, and batches differ from each other."""
    n, ops = x.shape[0], list(PRIMITIVES.values())
    steps = 1 + (uniform(g, (n, 1, 1, 1), x) * depth).long()
    for step in range(depth):
        op = ops[int(uniform(g, (1,), x).item() * len(ops))]
        x = torch.where(steps > step, op(x, uniform(g, (n,), x), g).clamp(0, 1), x)
    return x


def primitive_mix(x, g, share, width=3, depth=3):
    """PRIME's mix: x (B, 1, H, W) -> same shape. For a share of the images,
    `width` chains of primitives are mixed with Dirichlet(1) weights, and the
    mix is blended with the image itself at a weight uniform in [0, 0.5]
    (PRIME's 3 chains of up to 3 ops: varied, but each output still a digit;
    at most half of the clean image, so that the primitives show)."""
    idx = (uniform(g, (x.shape[0],), x) < share).nonzero().view(-1)
    if not len(idx):
        return x
    clean = x[idx]
    weights = -torch.log(uniform(g, (width, len(idx), 1, 1, 1), x).clamp_min(1e-6))
    weights = weights / weights.sum(dim=0)                  # Dirichlet(1, ..., 1)
    mixed = sum(w * primitive_chain(clean, g, depth) for w in weights)
    keep = uniform(g, (len(idx), 1, 1, 1), x, 0.0, 0.5)
    return x.index_copy(0, idx, keep * clean + (1 - keep) * mixed)


# ----------------------------------------------------------------------------
# Light over large areas: haze, glare and hard shadows
# ----------------------------------------------------------------------------
# A person reads through a bright, cloudy haze or a few glare spots over the
# strokes; the camera model's `illumination` is one op in 26 and
# `light_shapes` one primitive in 7, too rare and too weak. `light_mix` gives
# a share of the images one of these at up to full strength.

def fractal_cloud(g, n, h, w, like, octaves=4):
    """A cloud (n, 1, h, w) in [0, 1]: smooth fields of 2, 4, 8, 16 cells summed
    at amplitudes 1, 1/2, 1/4, 1/8 (fog's 1/f spectrum), min-max scaled per image."""
    cloud = sum(0.5 ** k * smooth_field(g, n, 1, h, w, like, cells=2 ** (k + 1)) for k in range(octaves))
    lo, hi = cloud.amin(dim=(2, 3), keepdim=True), cloud.amax(dim=(2, 3), keepdim=True)
    return (cloud - lo) / (hi - lo).clamp_min(1e-6)


def haze(x, s, g):
    """Haze, fog or a veil of light over the whole frame: c x (1 - m + m C) +
    (1 - c) b (1 - t + t C'), C and C' fractal clouds. The digit keeps a share c
    of its contrast, 0.7 down to 0.2; the veil has a brightness b in [0.2, 1]
    and a texture t in [0.2, 1]; half the images are also lit through a cloud
    (m in [0, 0.6]), the multiplicative part of uneven haze."""
    n, _, h, w = x.shape
    r = lambda lo, hi: uniform(g, (n, 1, 1, 1), x, lo, hi)
    veil, light = fractal_cloud(g, n, h, w, x), fractal_cloud(g, n, h, w, x)
    c, b, t = lerp(0.7, 0.2, s), r(0.2, 1.0), r(0.2, 1.0)
    m = r(0.0, 0.6) * (r(0, 1) < 0.5).to(x.dtype)
    return c * x * (1 - m + m * light) + (1 - c) * b * (1 - t + t * veil)


def glare(x, s, g):
    """Glare: 1 .. 4 bright, partly transparent discs (radius 5 .. 15 px), rings
    or streaks laid over the image, x + a (1 - x) inside them (a screen blend
    towards white), opacity a up to 0.4 .. 0.92, edges hard (0.2 px) to soft (3 px)."""
    n, _, h, w = x.shape
    k = 4
    yy, xx = pixel_grid(x)                                      # (1, 1, H, 1), (1, 1, 1, W)
    r = lambda lo, hi: uniform(g, (n, k, 1, 1), x, lo, hi)
    cy, cx, radius, kind = r(-2, h + 2), r(-2, w + 2), r(5, 15), r(0, 1)
    angle, half_length, half_width = r(0, math.pi), r(4, 14), r(0.7, 3.0)
    dy, dx = half_length * torch.sin(angle), half_length * torch.cos(angle)
    dist = torch.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)         # (n, k, H, W)
    inside = torch.where(kind < 0.5, radius - dist,             # a disc
                         torch.where(kind < 0.75, 2 * half_width - (dist - radius).abs(),   # a ring
                                     half_width - segment_distance(yy, xx, cy - dy, cx - dx,
                                                                   cy + dy, cx + dx)))      # a streak
    count = uniform(g, (n, 1, 1, 1), x, 0, k)                   # ceil: 1 .. 4 marks
    alpha = lerp(0.4, 0.92, s).view(n, 1, 1, 1) * r(0.6, 1.0) * first_marks(count, k, x)
    mask = alpha * torch.sigmoid(inside / r(0.2, 3.0))
    bright = 1 - torch.prod(1 - mask, dim=1, keepdim=True)     # (n, 1, H, W): marks screened
    return x + bright * (1 - x)


# Name -> light op; `light_shapes` is the hard shadow (and spot). Order is part of the random stream.
LIGHT = {op.__name__: op for op in (haze, glare, light_shapes)}


def light_mix(x, g, share):
    """x (B, 1, H, W) -> same shape: a share of the images gets one light op of
    LIGHT (drawn per image) at a uniform random strength. share 0 draws nothing."""
    if share <= 0:
        return x
    n, ops = x.shape[0], list(LIGHT.values())
    lit = uniform(g, (n,), x) < share
    pick = (uniform(g, (n,), x) * len(ops)).long()
    for j, op in enumerate(ops):
        idx = (lit & (pick == j)).nonzero().view(-1)
        if len(idx):
            x = x.index_copy(0, idx, op(x[idx], uniform(g, (len(idx),), x), g).clamp(0, 1))
    return x


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


def suite_correct(model, images, labels, suite, seed, batch_size=1000):
    """Per-image correctness of `model` under each named degradation of `suite`.

    images (N, 1, 28, 28) uint8, labels (N,) -> {name: (N,) bool}.
    Degradations run on the model's device, seeded by seed + the entry's index.
    """
    device = next(model.parameters()).device
    results = {}
    for i, (name, steps) in enumerate(suite.items()):
        g = torch.Generator(device).manual_seed(seed + i)
        results[name] = torch.cat([
            classify(model, apply_degradations(xb.to(device).float() / 255, steps, g)) == yb.cpu()
            for xb, yb in zip(images.split(batch_size), labels.split(batch_size))])
    return results


def suite_accuracy(model, images, labels, suite, seed, batch_size=1000):
    """{name: accuracy in [0, 1]} of `suite_correct`."""
    return {name: int(c.sum()) / max(len(c), 1)
            for name, c in suite_correct(model, images, labels, suite, seed, batch_size).items()}


def summarise(accuracies):
    """{name: accuracy} -> (mean, (worst name, worst accuracy))."""
    worst = min(accuracies.items(), key=lambda item: item[1])
    return sum(accuracies.values()) / len(accuracies), worst


# ----------------------------------------------------------------------------
# model.pt: read as the grader reads it, written atomically
# ----------------------------------------------------------------------------

def read_state_dict(path, what, fix):
    """torch.load(path) as the grader loads model.pt (weights_only=True, on the
    CPU). A missing or unreadable file raises UserError: `what` (how the user
    named it) and the problem, then `fix`."""
    if not Path(path).is_file():
        raise UserError(f"{what} not found: {fix}")
    try:
        with warnings.catch_warnings():   # garbage warns of its pickle protocol before it fails
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, pickle garbage (KeyError, EOFError ...), a whole model
        raise UserError(f"{what} does not load with torch.load(weights_only=True): it is truncated, "
                        f"corrupted or not a state_dict ({type(err).__name__}): {fix}") from None


def state_dict_mismatch(err):
    """load_state_dict's error -> what did not fit, one line: its message lists one
    kind of mismatch per line ('Missing key(s) in state_dict: "a", ...'), of which
    the first three kinds are kept, without the key lists."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()] or [type(err).__name__]
    kinds = [line.split(":")[0] for line in lines[1:4]]
    return "; ".join(kinds) if kinds else lines[0].rstrip(".")


def load_model(path, device="cpu"):
    """Build MyNet through the grader's hook and load `path` as the grader does
    (weights_only=True, strict). A MyNet without stroke channels (the base,
    results/mynet-base.pt) is built as one, so tools can score it too. A
    missing or broken file raises UserError."""
    fix = ("name a saved MyNet state_dict; `git checkout -- model.pt` restores the shipped one "
           "(`make train-cnn` writes build/model.pt)")
    state = read_state_dict(path, str(path), fix)
    model = get_model_class(None)[0]()
    stem = state.get("features.0.0.weight") if isinstance(state, dict) else None
    if torch.is_tensor(stem) and stem.dim() == 4 and stem.shape[1] == 1:
        model = MyNet(stroke_channels=False)
    try:
        model.load_state_dict(state)
    except Exception as err:  # another architecture: not a dict, missing, unexpected or resized tensors
        raise UserError(f"{path} does not fit {type(model).__name__} ({state_dict_mismatch(err)}): "
                        f"{fix}") from None
    return model.to(device).eval()


def save_atomic(obj, path, write=None):
    """write(obj, temp file), then rename: an interrupted save never leaves a
    broken file, the previous one stays loadable. torch.save by default (looked
    up at the call)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        (write or torch.save)(obj, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def cpu_state_dict(model):
    """A plain CPU state_dict, contiguous tensors (loads anywhere with weights_only)."""
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


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


def train_step(model, optimizer, x, y, cfg):
    """One AdamW step on a degraded batch x (B, 1, 28, 28) float, y (B,). Forward
    in bfloat16 where native (`autocast`), the label-smoothed cross-entropy in
    float32. -> loss tensor.

    MyNet returns log-probabilities and F.cross_entropy applies log_softmax
    again: that is right, log_softmax leaves log-probabilities unchanged."""
    with autocast(x.device, cfg.bf16):
        log_probs = model(x)                                          # (B, 10)
    loss = F.cross_entropy(log_probs.float(), y, label_smoothing=cfg.label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def parse_camera_ops(text):
    """--camera-ops -> tuple of DEGRADATIONS names: 'all' or 'a,b,c'."""
    if text == "all":
        return tuple(DEGRADATIONS)
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in DEGRADATIONS]
    if unknown or not names:
        raise UserError(f"--camera-ops: unknown {unknown or 'empty list'}; "
                        f"use all or names of {', '.join(DEGRADATIONS)}")
    return names


def train_one_epoch(model, optimizer, scheduler, images, labels, cfg, g, max_batches=None, desc=""):
    """One pass over images (N, 1, 28, 28) uint8 in a seeded random order; each
    batch goes through `primitive_mix` (a share cfg.primitives of it),
    `light_mix` (a share cfg.light) and then `camera_noise`. -> mean training loss."""
    model.train()
    ops = parse_camera_ops(cfg.camera_ops)
    order = torch.randperm(len(images), generator=g, device=images.device)
    batches = order.split(cfg.batch_size)[:max_batches]
    total, bar = 0.0, progress(batches, desc=desc, leave=False, mininterval=1.0)
    for step, idx in enumerate(bar, 1):
        x = primitive_mix(images[idx].float() / 255, g, cfg.primitives)
        x = light_mix(x, g, cfg.light)
        x = camera_noise(x, g, ops, cfg.clean_fraction, cfg.ops_per_image)
        loss = train_step(model, optimizer, x, labels[idx], cfg)
        scheduler.step()
        total += loss.item()
        if hasattr(bar, "set_postfix") and step % 20 == 0:
            bar.set_postfix(loss=f"{total / step:.3f}")
    return total / max(len(batches), 1)


def scored(epoch, epochs, val_epochs):
    """Is epoch (1-based) among the last val_epochs of epochs? The last one always is."""
    return epoch > epochs - max(val_epochs, 1)


def warm_start(model, path):
    """Load the state_dict at `path` into `model`. A first convolution with
    fewer input channels than model's (a model without stroke channels) is
    padded with zero weights: the new channels start silent, the output is
    the old model's, and training teaches the new channels what to add."""
    shipped = Path(path).resolve() == Path(__file__).resolve().parent / Config.init
    fix = ("restore it with `git checkout -- results/mynet-base.pt` or train it with `make train-cnn-base`"
           if shipped else "name a saved MyNet state_dict") + ", or train from scratch with --init ''"
    state = read_state_dict(path, f"--init {path}", fix)
    first = model.features[0][0].weight                     # (32, C, 5, 5)
    old = state.get("features.0.0.weight") if isinstance(state, dict) else None
    if torch.is_tensor(old) and old.dim() == 4 and old.shape[1] < first.shape[1]:
        state["features.0.0.weight"] = torch.cat(
            [old, old.new_zeros(old.shape[0], first.shape[1] - old.shape[1], *old.shape[2:])], dim=1)
    try:
        model.load_state_dict(state)
    except Exception as err:   # another architecture, or not a state_dict at all
        raise UserError(f"--init {path} does not fit MyNet ({state_dict_mismatch(err)}): "
                        f"name a MyNet state_dict, or train from scratch with --init ''") from None


def resume_path(model_path):
    """Where `train` keeps its resumable checkpoint: model.pt -> model.resume.pt beside it."""
    path = Path(model_path)
    return path.with_name(f"{path.stem}.resume.pt")


# Knobs that may differ between an interrupted run and its resumption: where
# things are written, and the resumption itself. All others define the run.
RESUME_FREE = ("resume", "model_path", "history_path", "device", "data_dir")


def write_json_atomic(obj, path):
    """json.dumps, written atomically by `save_atomic`."""
    save_atomic(obj, path, lambda o, tmp: Path(tmp).write_text(json.dumps(o, indent=1)))


def training_ops(cfg):
    """The names of every op this run trains with: cfg's camera ops, and the
    primitives and light ops when their share is above 0. Sorted; the history
    records them (what --init brought is in the init's own history)."""
    ops = set(parse_camera_ops(cfg.camera_ops))
    if cfg.primitives > 0:
        ops |= set(PRIMITIVES)
    if cfg.light > 0:
        ops |= set(LIGHT)
    return sorted(ops)


def rng_states(g):
    """The states that decide what comes next: the camera model's generator g,
    and torch's global CPU (and CUDA) generators, which dropout draws from."""
    states = {"g": g.get_state(), "cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(g, states):
    g.set_state(states["g"])
    torch.set_rng_state(states["cpu"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def read_resume(cfg):
    """The checkpoint --resume names, checked against cfg: its knobs (but
    RESUME_FREE) must equal the run's. -> the checkpoint dict."""
    fix = "name the .resume.pt file an interrupted `train` wrote, or leave --resume out to start over"
    ckpt = read_state_dict(cfg.resume, f"--resume {cfg.resume}", fix)
    if not isinstance(ckpt, dict) or not {"config", "epoch", "model", "optimizer"} <= ckpt.keys():
        raise UserError(f"--resume {cfg.resume} is not a resumable checkpoint: {fix}")
    now = {k: v for k, v in vars(cfg).items() if k not in RESUME_FREE}
    then = {k: v for k, v in ckpt["config"].items() if k not in RESUME_FREE}
    differ = [k for k in sorted(now.keys() | then.keys()) if now.get(k) != then.get(k)]
    if differ:
        flags = ", ".join(f"--{k.replace('_', '-')} {then.get(k)!r} (now {now.get(k)!r})" for k in differ)
        raise UserError(f"--resume {cfg.resume} was trained with {flags}: give the same knobs "
                        f"(or its --preset) to resume it, or delete it to start over")
    return ckpt


class Interrupted(Exception):
    """Ctrl-C during training, with the sentence saying what it left behind."""


def train(cfg):
    """Train MyNet with the camera model; keep the checkpoint with the best mean
    suite accuracy on the development split in cfg.model_path, and after every
    epoch a resumable checkpoint (`resume_path`) that `--resume` continues
    bit for bit. -> metrics dict."""
    torch.manual_seed(cfg.seed)   # weight init and dropout
    device = resolve_device(cfg.device)
    images, labels = load_mnist(cfg.data_dir, train=True)
    train_idx, val_idx = split_train_val(len(images), cfg.val_size, cfg.split_seed)
    x_train, y_train = images[train_idx].to(device), labels[train_idx].to(device)
    x_val, y_val = images[val_idx], labels[val_idx]
    max_batches, epochs = None, cfg.epochs
    if cfg.dry_run:
        max_batches, epochs = 5, 1
        x_val, y_val = x_val[:200], y_val[:200]
    ckpt = read_resume(cfg) if cfg.resume else None
    model = MyNet(stroke_channels=cfg.stroke_channels)
    if cfg.init and not ckpt:
        warm_start(model, cfg.init)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = min(math.ceil(len(x_train) / cfg.batch_size), max_batches or math.inf)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr,
                                                    total_steps=epochs * steps, pct_start=cfg.warmup)
    g = torch.Generator(device).manual_seed(cfg.seed)
    history, best, done = [], -1.0, 0
    if ckpt:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_states(g, ckpt["rng"])
        history, best, done = ckpt["history"], ckpt["best"], ckpt["epoch"]
    checkpoint = resume_path(cfg.model_path)
    print(f"training MyNet on {device}: {len(x_train)} images, {epochs} epochs"
          + (f", resumed after epoch {done}" if done else "")
          + f", development split {len(x_val)} images x {len(SUITE)} degradations")
    saved = None    # the epoch whose weights this run saved to cfg.model_path
    try:
        for epoch in range(done + 1, epochs + 1):
            start = time.time()
            loss = train_one_epoch(model, optimizer, scheduler, x_train, y_train, cfg, g,
                                   max_batches, desc=f"epoch {epoch}/{epochs}")
            record, line = dict(epoch=epoch, train_loss=loss), f"epoch {epoch:2d}  loss {loss:.4f}"
            if scored(epoch, epochs, cfg.val_epochs):
                val = suite_accuracy(model, x_val, y_val, SUITE, seed=cfg.val_seed)
                mean, (worst_name, worst) = summarise(val)
                record.update(val_clean=val["clean"], val_mean=mean, val_worst=worst, val=val)
                line += (f"  val clean {val['clean']:.2%}  noisy mean {mean:.2%}  "
                         f"worst {worst:.2%} ({worst_name})")
                if mean > best:
                    best = mean
                    if not cfg.dry_run:
                        save_atomic(cpu_state_dict(model), cfg.model_path)
                        saved, line = epoch, line + "  * saved"
            record["seconds"] = time.time() - start
            history.append(record)
            print(f"{line}  {record['seconds']:.0f}s")
            if not cfg.dry_run:
                # history first: a checkpoint never lists an epoch the history file lacks
                write_json_atomic({"trained_with": training_ops(cfg), "config": vars(cfg), "epochs": history},
                                  cfg.history_path)
                save_atomic({"config": vars(cfg), "epoch": epoch, "best": best, "history": history,
                             "model": cpu_state_dict(model), "optimizer": optimizer.state_dict(),
                             "scheduler": scheduler.state_dict(), "rng": rng_states(g)}, checkpoint)
    except KeyboardInterrupt:
        done = history[-1]["epoch"] if history else 0
        kept = (f"{cfg.model_path} holds epoch {saved}'s weights (the best scored so far)" if saved
                else f"{cfg.model_path} is as it was (no epoch scored yet)")
        again = (f"`--resume {checkpoint}` continues after epoch {done}"
                 if done and not cfg.dry_run else "nothing to resume: no epoch finished")
        raise Interrupted(f"interrupted: {kept}; {again}") from None
    if not cfg.dry_run:
        checkpoint.unlink(missing_ok=True)   # finished: nothing left to resume
    return {"best_val_mean": best, "history": history}


# ----------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------

# Commands that moved out of the graded file: the word -> where it lives now.
MOVED = {"evaluate": "tools/evaluate.py", "classify": "photo_reader.py IMAGE ...",
         "data": "tools/mnist_data.py (or `make data`)"}


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
             ("primitives", 0 <= cfg.primitives <= 1, "lie in [0, 1]"),
             ("light", 0 <= cfg.light <= 1, "lie in [0, 1]")]
    for name, ok, rule in rules:
        if not ok:
            return f"--{name.replace('_', '-')} must {rule}, got {getattr(cfg, name)}"
    try:
        ops = parse_camera_ops(cfg.camera_ops)
    except UserError as err:
        return str(err)
    if cfg.ops_per_image > len(ops):
        return f"--ops-per-image {cfg.ops_per_image} is more than the {len(ops)} camera ops"
    return None


def parse_args(argv):
    """-> Config. The template's `python pytorch_cnn.py [flags]` trains; a leading
    `train` is accepted too. A --preset sets the defaults; flags given override them."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:
        argv = argv[1:]
    parser = Parser(prog="pytorch_cnn.py", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=PRESETS, default="full", help="named settings: " + "; ".join(
        f"{name}: {preset or 'the defaults'}" for name, preset in PRESETS.items()) + " (default: full)")
    add_knobs(parser, Config)
    if argv and not argv[0].startswith("-"):
        word = argv[0]
        if word in MOVED:
            parser.error(f"{word!r} moved out of the graded file: run {MOVED[word]}")
        guess = difflib.get_close_matches(word, ["train", *MOVED], n=1)
        parser.error(f"unknown command {word!r}" + (f": did you mean {guess[0]!r}?" if guess else "")
                     + " (this script trains; flags only)")
    preset = parser.parse_known_args(argv)[0].preset
    parser.set_defaults(**PRESETS[preset])
    args = vars(parser.parse_args(argv))
    args.pop("preset")
    cfg = Config(**args)
    problem = config_problem(cfg)
    if problem:
        parser.error(problem)   # one line, exit status 2
    return cfg


@one_line_errors
def main(argv=None):
    """Train MyNet; returns the metrics. User errors exit 2 with one line."""
    cfg = parse_args(argv)
    try:
        metrics = train(cfg)
    except Interrupted as err:
        print(err, file=sys.stderr)
        sys.exit(130)   # the shell's code for Ctrl-C
    except KeyboardInterrupt:   # before the first batch: loading the data or --init
        print(f"interrupted before training: {cfg.model_path} is as it was", file=sys.stderr)
        sys.exit(130)
    print("dry run: nothing written" if cfg.dry_run else
          f"wrote {cfg.model_path} (the best checkpoint) and {cfg.history_path}")
    return metrics


if __name__ == "__main__":
    main()
