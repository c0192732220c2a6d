"""Development entries for light over large areas: haze, fog, glare and hard
shadows, the kinds where a person reads every digit and MyNet did not.

    .venv/bin/python tools/light_suite.py [--model-path model.pt] [--split dev] [--n 2500]

Written for the light issue before any model of it was trained, and
independent of the camera model's code: nothing here comes from
pytorch_cnn's degradations, primitives or `LIGHT` ops (they are what is
measured), only load_model, classify and the data split. Each family is
fn(x, s, g) on x (n, 1, 28, 28) in MNIST polarity (ink 1 on paper 0) with a
strength s in [0, 1], scored at two strengths, "moderate" and "strong": the
strong one at about where a person still reads (the blind readings in
results/baselines/ say how well). Deterministic: one generator seeded SEED,
the entries drawn in the order of FAMILIES.

Decisions use `--split dev` (the development images held out of MNIST's
training set); the test split is for the shipped model's report only.
"""
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
import splits  # noqa: E402
from unseen_suite import MODERATE, STRONG, rand  # noqa: E402  (the unseen suite's conventions)

SEED = 321


def plasma(rng, size=32, decay=2.0):
    """ImageNet-C's plasma fractal (diamond-square, Hendrycks and Dietterich
    2019), its `wibble` scaling kept: (size, size) in [0, 1]; a higher decay
    is smoother."""
    grid = np.zeros((size, size))
    step, wibble = size, 100.0

    def mean_wibbled(total):
        return total / 4 + wibble * rng.uniform(-wibble, wibble, total.shape)

    while step >= 2:
        half = step // 2
        corners = grid[0:size:step, 0:size:step]
        square = corners + np.roll(corners, -1, axis=0)
        square = square + np.roll(square, -1, axis=1)
        grid[half:size:step, half:size:step] = mean_wibbled(square)
        centres = grid[half:size:step, half:size:step]
        corners = grid[0:size:step, 0:size:step]
        grid[0:size:step, half:size:step] = mean_wibbled(
            centres + np.roll(centres, 1, axis=0) + corners + np.roll(corners, -1, axis=1))
        grid[half:size:step, 0:size:step] = mean_wibbled(
            centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=0))
        step //= 2
        wibble /= decay
    grid -= grid.min()
    return grid / grid.max()


def plasmas(g, n, decay, h=28, w=28):
    """n plasma fractals (n, 1, h, w), drawn from a numpy generator seeded from g."""
    rng = np.random.default_rng(int(torch.randint(2 ** 31, (1,), generator=g)))
    return torch.from_numpy(np.stack([plasma(rng, 32, decay)[:h, :w] for _ in range(n)])).float()[:, None]


def fog_imagenet_c(x, s, g):
    """ImageNet-C's fog: x + c P, rescaled by max / (max + c), P a plasma
    fractal (32 px, cropped to the frame); c and the decay run from severity 3
    (c 2.5, decay 1.7) at s = 0 to severity 5, the heaviest (c 3, decay 1.4), at s = 1."""
    c, decay = 2.5 + 0.5 * s, 1.7 - 0.3 * s
    top = x.amax(dim=(1, 2, 3), keepdim=True)
    return (x + c * plasmas(g, len(x), decay)) * top / (top + c)


def haze(x, s, g):
    """A bright, cloudy haze: the digit keeps a share 1 - 0.8 s of its contrast
    (a fifth at s = 1) over a veil of brightness 0.5 .. 1 whose texture is a
    plasma (grain 0.3 .. 0.8), and the light through it varies by up to 40 %."""
    n = len(x)
    keep = 1 - 0.8 * s
    level, grain = rand(g, n, 1, 1, 1, lo=0.5, hi=1.0), rand(g, n, 1, 1, 1, lo=0.3, hi=0.8)
    veil = level * (1 - grain + grain * plasmas(g, n, 1.5))
    light = 1 - 0.4 * plasmas(g, n, 2.0)
    return keep * x * light + (1 - keep) * veil


def spots(g, n, count, radius, h=28, w=28):
    """Distances (n, count, h, w) of each pixel to `count` random centres within
    the frame, and radii (n, count, 1, 1) drawn in `radius` = (lo, hi) px."""
    cy, cx = rand(g, n, count, 1, 1, lo=0, hi=h), rand(g, n, count, 1, 1, lo=0, hi=w)
    rows = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1) + 0.5
    cols = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w) + 0.5
    return torch.sqrt((rows - cy) ** 2 + (cols - cx) ** 2), rand(g, n, count, 1, 1, lo=radius[0], hi=radius[1])


def glare(x, s, g):
    """Glare from a lamp or a window: 1 .. 3 bright discs 10 .. 30 px wide over
    the strokes, half of them hard-edged, half with a Gaussian fall-off, of
    opacity 0.5 + 0.4 s: x + a (1 - x) (the strokes wash out under them)."""
    n, count = len(x), 3
    dist, radius = spots(g, n, count, (5, 15))
    hard = (dist < radius).float()
    soft = torch.exp(-0.5 * (dist / (0.6 * radius)) ** 2)
    kind = rand(g, n, count, 1, 1) < 0.5
    used = torch.arange(count).view(1, count, 1, 1) < torch.randint(1, count + 1, (n, 1, 1, 1), generator=g)
    alpha = (0.5 + 0.4 * s) * torch.where(kind, hard, soft) * used
    bright = 1 - torch.prod(1 - alpha, dim=1, keepdim=True)
    return x + bright * (1 - x)


def glare_ring(x, s, g):
    """A lens flare: a bright ring (radius 6 .. 12 px, 2 .. 4 px wide) and a
    streak across the frame, opacity 0.45 + 0.4 s."""
    n = len(x)
    dist, radius = spots(g, n, 1, (6, 12))
    width = rand(g, n, 1, 1, 1, lo=1.0, hi=2.0)
    ring = torch.exp(-0.5 * ((dist - radius) / width) ** 2)
    angle, offset = rand(g, n, 1, 1, 1, lo=0, hi=math.pi), rand(g, n, 1, 1, 1, lo=-8, hi=8)
    rows = torch.arange(28, dtype=torch.float32).view(1, 1, 28, 1) - 13.5
    cols = torch.arange(28, dtype=torch.float32).view(1, 1, 1, 28) - 13.5
    streak = torch.exp(-0.5 * ((rows * torch.cos(angle) - cols * torch.sin(angle) - offset) / width) ** 2)
    alpha = (0.45 + 0.4 * s) * torch.maximum(ring, streak)
    return x + alpha * (1 - x)


def hard_shadows(x, s, g):
    """Hard-edged shadows of objects between the lamp and the page: one or two
    half-planes (a quarter to three quarters of the frame) where the paper gets
    0.75 s less light, in the photo's polarity: x -> 1 - L (1 - x)."""
    n = len(x)
    rows = torch.arange(28, dtype=torch.float32).view(1, 1, 28, 1) - 13.5
    cols = torch.arange(28, dtype=torch.float32).view(1, 1, 1, 28) - 13.5
    shade = torch.zeros_like(x)
    for k in range(2):
        angle, offset = rand(g, n, 1, 1, 1, lo=0, hi=2 * math.pi), rand(g, n, 1, 1, 1, lo=-7, hi=7)
        edge = ((rows * torch.cos(angle) + cols * torch.sin(angle) - offset) > 0).float()
        if k == 1:
            edge = edge * (rand(g, n, 1, 1, 1) < 0.5)
        shade = torch.maximum(shade, edge)
    return 1 - (1 - 0.75 * s * shade) * (1 - x)


# family -> (fn(x, s, g), (moderate strength, strong strength))
FAMILIES = {
    "fog (ImageNet-C)": (fog_imagenet_c, (0.5, 1.0)),
    "haze": (haze, (0.5, 0.9)),
    "glare": (glare, (0.5, 1.0)),
    "flare": (glare_ring, (0.5, 1.0)),
    "hard shadows": (hard_shadows, (0.6, 1.0)),
}


def entries():
    """[(entry name, fn, strength)] in the suite's order."""
    return [(f"{family} ({level})", fn, s) for family, (fn, strengths) in FAMILIES.items()
            for level, s in zip((MODERATE, STRONG), strengths)]


def degraded(x, seed=SEED):
    """{entry name: degraded x} (each (n, 1, 28, 28) in [0, 1]), drawn in order from one generator."""
    g = torch.Generator().manual_seed(seed)
    return {name: fn(x, s, g).clamp(0, 1) for name, fn, s in entries()}


def light_accuracy(model, x, y, seed=SEED):
    """{entry name: per-image correctness (n,) bool} of model on x (n, 1, 28, 28), y (n,)."""
    return {name: P.classify(model, xd) == y for name, xd in degraded(x, seed).items()}


@P.one_line_errors
def main(argv=None):
    args = splits.suite_parser(__doc__).parse_args(argv)
    start = time.perf_counter()
    model = P.load_model(args.model_path)
    x, y = splits.images(args.split, args.n)
    correct = light_accuracy(model, x, y)
    for name, c in correct.items():
        print(f"{name:28s} {splits.interval(c)}")
    print(f"{len(correct)} entries on {len(x)} {args.split} images in {time.perf_counter() - start:.1f} s")
    return {name: c.float().mean().item() for name, c in correct.items()}


if __name__ == "__main__":
    main()
