"""Speed figures for pytorch_cnn.py (a benchmark that prints, not a timed test).

    .venv/bin/python tools/bench_cnn.py [--model-path model.pt] [--repeats 5]

- classify throughput at batch 1000 on the CPU (goal: >= 5,000 images/s on 2 cores);
- size of model.pt (goal: <= 2 MB);
- the camera model's throughput against one training step, and our batched
  per-sample degradations against torchvision's per-image equivalents
  (GaussianBlur, JPEG, RandomAffine take one parameter draw per call, so
  per-sample parameters need a Python loop over the batch).
"""
import argparse
import sys
from pathlib import Path

import torch
import torchvision.transforms.v2 as T

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import pytorch_cnn as P  # noqa: E402
from timing import best_time  # noqa: E402


def bench_classify(model, repeats):
    """classify as shipped (bfloat16 where native) and the same in plain float32."""
    x = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    t = best_time(lambda: P.classify(model, x), repeats)
    native = "bf16 native" if P.bf16_native(torch.device("cpu")) else "no native bf16: float32"
    print(f"classify, batch 1000:           {1000 / t:8.0f} images/s   (goal >= 5,000; {native})")
    with torch.inference_mode():
        t32 = best_time(lambda: model(x).argmax(dim=1), repeats)
    print(f"  same in float32:              {1000 / t32:8.0f} images/s")


def bench_camera(repeats, batch=128):
    g = torch.Generator().manual_seed(0)
    images, labels = P.load_mnist(ROOT / "data", train=False)
    x, y = images[:batch].float() / 255, labels[:batch]
    cfg = P.Config()
    ops = P.parse_camera_ops(cfg.camera_ops)
    t_cam = best_time(lambda: P.camera_noise(x, g, ops, cfg.clean_fraction, cfg.ops_per_image), repeats)
    t_mix = best_time(lambda: P.primitive_mix(x, g, cfg.primitives), repeats)
    model = P.MyNet(stroke_channels=cfg.stroke_channels)
    opt = torch.optim.AdamW(model.parameters())
    t_step = best_time(lambda: P.train_step(model, opt, x, y, cfg), repeats)
    print(f"camera_noise, batch {batch}:        {t_cam * 1e3:8.1f} ms   "
          f"({batch / t_cam:.0f} images/s)")
    print(f"primitive_mix, batch {batch}:       {t_mix * 1e3:8.1f} ms   "
          f"(share {cfg.primitives})")
    print(f"training step, batch {batch}:       {t_step * 1e3:8.1f} ms   "
          f"(camera = {t_cam / t_step:.0%} of a step)")
    return x, g


def bench_against_torchvision(x, g, repeats):
    """Per-sample strengths: ours in one batched call, torchvision image by image."""
    n = len(x)
    s = torch.rand(n, generator=g)
    sigmas = (0.4 + 1.6 * s).tolist()
    quality = [int(q) for q in (50 - 47 * s).round().tolist()]
    u8 = (x * 255).to(torch.uint8)
    pairs = {
        "defocus blur": (lambda: P.defocus(x, s, g),
                         lambda: [T.functional.gaussian_blur(img, [9, 9], [sg]) for img, sg in zip(x, sigmas)]),
        "jpeg": (lambda: P.jpeg(x, s, g),
                 lambda: [T.functional.jpeg(img, q) for img, q in zip(u8, quality)]),
        "hand-held affine": (lambda: P.hand_held(x, s, g),
                             lambda: [T.RandomAffine(20, (0.1, 0.1), (0.8, 1.2), 17)(img) for img in x]),
    }
    for name, (ours, theirs) in pairs.items():
        a, b = best_time(ours, repeats), best_time(theirs, repeats)
        print(f"{name:18s} batch {n}: ours {a * 1e3:6.1f} ms, torchvision per image "
              f"{b * 1e3:6.1f} ms ({b / a:.1f}x)")


@P.one_line_errors
def main(argv=None):
    parser = P.Parser(description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", help="the MyNet state_dict to time (default: model.pt; "
                                             "an untrained MyNet when it is absent: speed does not "
                                             "depend on the weights)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the best counts (default: 5)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    path = Path(args.model_path or ROOT / "model.pt")
    named = args.model_path or path.exists()            # a path the user named must load
    model = P.load_model(path) if named else P.MyNet().eval()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if named:
        print(f"{path.name} size:{' ' * max(1, 25 - len(path.name))}{path.stat().st_size / 1e6:8.2f} MB"
              f"      (goal <= 2 MB)")
    else:
        print(f"{path} absent: timing an untrained MyNet (same speed)")
    bench_classify(model, args.repeats)
    x, g = bench_camera(args.repeats)
    bench_against_torchvision(x, g, args.repeats)


if __name__ == "__main__":
    main()
