"""Which images a figure is measured on, and how much noise it carries.

Two splits. `dev`: the development images, held out of MNIST's training set
by the fixed split that training uses (`Config.split_seed`, the same for a base
and every fine-tune of it); every recipe, strength and checkpoint is decided
on them. `test`: the MNIST test set, scored once per shipped model for the
README.

Intervals: a single accuracy gets a Wilson score interval (95 %); a mean over
entries or a difference between two models on the same images gets a
percentile bootstrap over images (the same images resampled for every entry
and both models, so the pairing is kept).
"""
import argparse
import math
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import pytorch_cnn as P  # noqa: E402

SPLITS = ("dev", "test")
Z95 = 1.959964
BOOTSTRAP = 2000     # resamples: the 2.5 % and 97.5 % quantiles settle to about 0.1 point


def images(split, n=None, data_dir=ROOT / "data"):
    """The first n images of a split -> x (n, 1, 28, 28) float in [0, 1], y (n,).

    dev: MNIST training images at the development indices of
    `P.split_train_val(60000, Config.val_size, Config.split_seed)`; test: the
    MNIST test set in its order."""
    if split not in SPLITS:
        raise P.UserError(f"unknown split {split!r}: use {' or '.join(SPLITS)}")
    if split == "dev":
        all_x, all_y = P.load_mnist(data_dir, train=True)
        idx = P.split_train_val(len(all_x), P.Config.val_size, P.Config.split_seed)[1]
        x, y = all_x[idx], all_y[idx]
    else:
        x, y = P.load_mnist(data_dir, train=False)
    return x[:n].float() / 255, y[:n]


def wilson(k, n, z=Z95):
    """Wilson score interval of k successes in n trials -> (low, high) in [0, 1]."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def interval(correct):
    """Per-image correctness (n,) bool -> 'acc % [low, high]' with Wilson's 95 % interval."""
    k, n = int(correct.sum()), len(correct)
    low, high = wilson(k, n)
    return f"{100 * k / max(n, 1):6.2f} % [{100 * low:.2f}, {100 * high:.2f}]"


def bootstrap(per_image, seed=0, resamples=BOOTSTRAP):
    """per_image (n,) -> (its mean, low, high): a 95 % percentile bootstrap over images."""
    g = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(per_image), (resamples, len(per_image)), generator=g)
    low, high = torch.quantile(per_image[picks].mean(dim=1), torch.tensor([0.025, 0.975])).tolist()
    return per_image.mean().item(), low, high


def mean_interval(correct, seed=0):
    """correct (entries, n) bool -> (mean over entries and images, low, high),
    the images resampled together for every entry."""
    return bootstrap(correct.float().mean(dim=0), seed)


def paired_difference(a, b, seed=0):
    """a, b (entries, n) bool, two models on the same images and entries ->
    (mean of b - a, low, high), the images resampled together for both."""
    return bootstrap((b.float() - a.float()).mean(dim=0), seed)


def verdict(diff, low, high):
    """A difference with its interval -> 'better', 'worse' or 'no difference'
    (an interval that holds 0 is no difference)."""
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    return "no difference"


def suite_parser(doc):
    """The command line the suites share: --model-path, --split, --n, --json."""
    parser = P.Parser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", default=str(ROOT / "model.pt"),
                        help="the MyNet state_dict to score (default: model.pt)")
    parser.add_argument("--split", choices=SPLITS, default="dev",
                        help="dev: the development images (decisions); test: the MNIST test set "
                             "(the shipped model's report) (default: dev)")
    parser.add_argument("--n", type=int, default=2000, help="images scored (default: 2000)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    return parser
