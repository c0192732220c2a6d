"""Accuracy of model.pt on 15 degradations that the camera model does not make.

    .venv/bin/python tools/unseen_check.py [--model-path model.pt] [--n 2000]

A stand-in for the course's hidden suite: other noise laws (clipped and
unclipped Gaussian, uniform, impulse), other blurs, morphology, a black
occluder, a fixed 30 degree rotation, pixelation, brightness, a dotted line
and a 4 px shift. It is only printed, never used to train or to pick a
checkpoint. On the first `--n` test images, one generator seeded 123, the
degradations applied in the order below (so the numbers are reproducible).
"""
import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import pytorch_cnn as P  # noqa: E402


def degradations(g):
    """{name: x (n, 1, 28, 28) in [0, 1] -> degraded x}, drawing from generator g."""
    def gauss(sigma, clip=True):
        def f(x):
            y = x + sigma * torch.randn(x.shape, generator=g)
            return y.clamp(0, 1) if clip else y
        return f

    def box_blur(k):
        return lambda x: F.avg_pool2d(F.pad(x, (k // 2,) * 4, mode="replicate"), k, 1)

    def occlude(x):                      # a black 7 x 7 square over the digit's middle area
        x = x.clone()
        for img in x:
            r, c = torch.randint(4, 17, (2,), generator=g).tolist()
            img[:, r:r + 7, c:c + 7] = 0
        return x

    def rotate(degrees):
        a = math.radians(degrees)
        theta = torch.tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0]])
        return lambda x: F.grid_sample(x, F.affine_grid(theta.expand(len(x), 2, 3), list(x.shape),
                                                        align_corners=False), align_corners=False)

    def dotted_line(x):                  # every third pixel of one random row set to white
        x = x.clone()
        for img in x:
            img[0, torch.randint(0, 28, (1,), generator=g).item(), ::3] = 1
        return x

    uniform = lambda a: lambda x: (x + a * (2 * torch.rand(x.shape, generator=g) - 1)).clamp(0, 1)
    impulse = lambda p: lambda x: torch.where(torch.rand(x.shape, generator=g) < p,
                                              torch.rand(x.shape, generator=g).round(), x)
    return {
        "gauss 0.5": gauss(0.5), "gauss 0.7": gauss(0.7), "gauss unclipped 0.5": gauss(0.5, clip=False),
        "uniform 0.8": uniform(0.8), "impulse 0.3": impulse(0.3), "box blur 5": box_blur(5),
        "dilate": lambda x: F.max_pool2d(x, 3, 1, 1), "erode": lambda x: -F.max_pool2d(-x, 3, 1, 1),
        "occlude 7x7": occlude, "rotate 30": rotate(30),
        "pixelate 4": lambda x: F.interpolate(F.avg_pool2d(x, 4), size=28, mode="nearest"),
        "brightness +0.6": lambda x: (x + 0.6).clamp(0, 1), "dotted line": dotted_line,
        "translate 4": lambda x: torch.roll(x, shifts=(4, -4), dims=(2, 3)),
        "gauss0.3+blur3": lambda x: gauss(0.3)(box_blur(3)(x)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", default=str(ROOT / "model.pt"))
    parser.add_argument("--n", type=int, default=2000, help="test images scored (default: 2000)")
    args = parser.parse_args(argv)
    model = P.load_model(args.model_path)
    images, labels = P.load_mnist(ROOT / "data", train=False)
    x, y = images[:args.n].float() / 255, labels[:args.n]
    accuracy = {}
    for name, degrade in degradations(torch.Generator().manual_seed(123)).items():
        accuracy[name] = (P.classify(model, degrade(x)) == y).float().mean().item()
        print(f"{name:22s} {accuracy[name]:7.2%}")
    mean, (worst_name, worst) = P.summarise(accuracy)
    print(f"{'mean':22s} {mean:7.2%}   worst {worst:.2%} ({worst_name})")
    return accuracy


if __name__ == "__main__":
    main()
