"""Figures of the submission that decide nothing in `make check` (a benchmark that prints).

    .venv/bin/python tools/bench_submission.py [--n N]   (make bench)

For the repository's graded files, loaded as the grader does (tools/check_submission.py):
- import time of numpy_nn and pytorch_cnn, after numpy, matplotlib, torch and torchvision;
- accuracy of model.pt through classify on clean MNIST test images and under two noises
  of fixed strength that the submission's camera model does not define (its own SUITE is
  `make evaluate`'s);
- peak memory of this process.
classify's throughput is tools/bench_cnn.py's.
"""
import argparse
import importlib
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from check_submission import Parser, accuracy, default_data, load_as_grader, load_test_images  # noqa: E402

PACKAGES = ("numpy", "matplotlib", "torch", "torchvision")


def import_seconds(*names):
    """Import the modules in order. -> seconds it took."""
    start = time.perf_counter()
    for name in names:
        importlib.import_module(name)
    return time.perf_counter() - start


def gaussian_noise(x, sigma, rng):
    """x + sigma N(0, 1), clipped to [0, 1]."""
    return (x + sigma * rng.standard_normal(x.shape)).clip(0, 1).astype(x.dtype)


def salt_and_pepper(x, fraction, rng):
    """A `fraction` of the pixels set to 0 or 1 (half each)."""
    hit = rng.random(x.shape) < fraction
    return (x * ~hit + hit * (rng.random(x.shape) < 0.5)).astype(x.dtype)


def peak_memory_mib():
    """Peak resident memory of this process in MiB (ru_maxrss)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10   # bytes on macOS, KiB elsewhere


def main(argv=None):
    parser = Parser(description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000,
                        help="MNIST test images per noise: the accuracy's standard error is then "
                             "0.2 points at 99 %% (default 2000)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n must be at least 1, got {args.n}")
    # The packages first, so each script's own import time shows alone.
    packages_s = import_seconds(*PACKAGES)
    numpy_s, pytorch_s = import_seconds("numpy_nn"), import_seconds("pytorch_cnn")
    print(f"import: numpy_nn {numpy_s:.2f} s, pytorch_cnn {pytorch_s:.2f} s "
          f"(after {packages_s:.1f} s for {', '.join(PACKAGES)})")
    import numpy as np  # imported above already; these lines only name them
    import pytorch_cnn as pc
    import torch

    model = load_as_grader(pc, ROOT / "model.pt")
    x, y = load_test_images(default_data(ROOT), args.n)
    rng = np.random.default_rng(1)
    for name, images in (("clean", x), ("Gaussian noise sigma 0.3", gaussian_noise(x, 0.3, rng)),
                         ("salt & pepper 10 %", salt_and_pepper(x, 0.10, rng))):
        acc = accuracy(pc.classify, model, torch.from_numpy(images), torch.from_numpy(y))
        print(f"{name:26s} {acc:7.2%} on {len(y):,} MNIST test images")
    print(f"peak memory: {peak_memory_mib():.0f} MiB (ru_maxrss of this process)")


if __name__ == "__main__":
    main()
