"""Training-step time of the same MLP in numpy_nn and in PyTorch on the CPU, and their ratio.

Both train numpy_nn's default network (Config: 784 -> 256 -> 1, ReLU, sigmoid output, squared
error, SGD with momentum, batch 32, float32) for whole epochs on the same random data: a step is
the minibatch gather, forward, loss, backward, parameter update and the running loss/error sums,
as in numpy_nn.train_epoch, which is what is timed on the NumPy side. PyTorch keeps its default
thread count; NumPy gets one OpenBLAS thread, as `python numpy_nn.py` sets it (override with
OPENBLAS_NUM_THREADS=2). Usage: python tools/bench_numpy.py [--steps N] [--repeats R]
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as numpy_nn.py's main; must precede numpy

import argparse  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy_nn as nn  # noqa: E402
from timing import best_time  # noqa: E402


def numpy_epoch(x, y, cfg, seed):
    """A function running one numpy_nn.train_epoch over x (N, 784), y (N, 1)."""
    rng = np.random.default_rng(seed)
    model, loss = nn.build_mlp(x.shape[1], cfg.hidden, 1, rng, np.float32), nn.SE()
    optimizer = nn.SGD(model.params(), cfg.lr, cfg.momentum)
    return lambda: nn.train_epoch(model, loss, optimizer, x, y, cfg.batch_size, rng)


def torch_epoch(x, y, cfg, seed):
    """The same epoch in PyTorch: same layers, init scale, loss (batch mean of the squared error), SGD."""
    torch.manual_seed(seed)
    widths = [x.shape[1], *cfg.hidden]
    layers = []
    for d_in, d_out in zip(widths[:-1], widths[1:]):
        layers += [torch.nn.Linear(d_in, d_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(widths[-1], 1), torch.nn.Sigmoid())
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.01)  # N(0, 1) / 100 as numpy_nn.Linear
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        order = torch.randperm(len(tx))
        total_loss = total_wrong = 0.0
        for start in range(0, len(tx), cfg.batch_size):
            batch = order[start:start + cfg.batch_size]
            xb, yb = tx[batch], ty[batch]
            p = model(xb)
            squared = (p - yb) ** 2
            optimizer.zero_grad(set_to_none=True)
            squared.mean().backward()
            optimizer.step()
            total_loss += float(squared.detach().sum())
            total_wrong += float(((p.detach() > 0.5) != (yb > 0.5)).sum())
        return total_loss / len(tx), total_wrong / len(tx)
    return epoch


def main(argv=None):
    parser = nn.Parser(description=__doc__.split("\n")[0],
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--steps", type=int, default=200, help="training steps per timed epoch")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per framework; the best counts")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error(f"--steps and --repeats must be at least 1, got {args.steps} and {args.repeats}")
    cfg = nn.Config()
    rng = np.random.default_rng(cfg.seed)
    x = rng.standard_normal((args.steps * cfg.batch_size, 784)).astype(np.float32)  # like standardised pixels
    y = (rng.random((len(x), 1)) < 0.5).astype(np.float32)

    t_numpy = best_time(numpy_epoch(x, y, cfg, cfg.seed), args.repeats) / args.steps
    t_torch = best_time(torch_epoch(x, y, cfg, cfg.seed), args.repeats) / args.steps
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # for reference only; the ratio uses PyTorch's default above
    t_torch_1 = best_time(torch_epoch(x, y, cfg, cfg.seed), args.repeats) / args.steps
    torch.set_num_threads(threads)
    print(f"MLP {' -> '.join(map(str, (784, *cfg.hidden, 1)))}, batch {cfg.batch_size}, float32, "
          f"SGD momentum {cfg.momentum}, best of {args.repeats} x {args.steps} steps")
    print(f"numpy_nn step: {1e6 * t_numpy:7.1f} us  (numpy {np.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']})")
    print(f"PyTorch  step: {1e6 * t_torch:7.1f} us  (torch {torch.__version__}, "
          f"{threads} threads: its default)")
    print(f"PyTorch  step: {1e6 * t_torch_1:7.1f} us  (1 thread, for reference)")
    print(f"numpy_nn speed relative to PyTorch: {t_torch / t_numpy:.2f}x (goal: at least 0.8x); "
          f"relative to 1-thread PyTorch: {t_torch_1 / t_numpy:.2f}x")
    return {"numpy_step_s": t_numpy, "torch_step_s": t_torch, "torch_1_thread_step_s": t_torch_1,
            "speed_ratio": t_torch / t_numpy}


if __name__ == "__main__":
    main()
