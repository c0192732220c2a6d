"""How well does a person read the digits of a SUITE entry? A human baseline
to set accuracy goals against.

    .venv/bin/python tools/read_by_eye.py sheets [--entry "cheap camera"] [--n 80] [--out DIR]
    .venv/bin/python tools/read_by_eye.py score ANSWERS [--entry "cheap camera"] [--n 80]

`sheets` writes PNG sheets of n degraded test digits, 20 per sheet, numbered
and unlabelled, drawn large with square pixels. The reader writes one digit
per image, in order, into a text file (whitespace-separated; lines starting
with # are comments; no blanks: guess when unsure, as the model must).
`score` prints the reader's accuracy beside model.pt's on the same images and
which images each got wrong.

The images: the first 2,000 test digits degraded by the entry as `evaluate`
seeds it (test_seed + the entry's index), then n of them picked at random by
a generator seeded --seed, so that a reader does not see them in test-set
order. results/baselines/cheap-camera-by-eye.txt holds one reading
(docs/experiments.md: how readable is "cheap camera").
"""
import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import pytorch_cnn as P  # noqa: E402

POOL = 2000   # test digits degraded before the pick


def sample(entry, n, seed, data_dir=ROOT / "data"):
    """n test digits under SUITE[entry] -> x float (n, 1, 28, 28) in [0, 1], y (n,)."""
    if entry not in P.SUITE:
        raise SystemExit(f"read_by_eye: unknown entry {entry!r}; SUITE has {', '.join(P.SUITE)}")
    images, labels = P.load_mnist(data_dir, train=False)
    g = torch.Generator().manual_seed(P.Config.test_seed + list(P.SUITE).index(entry))
    x = P.apply_degradations(images[:POOL].float() / 255, P.SUITE[entry], g)
    pick = torch.randperm(POOL, generator=torch.Generator().manual_seed(seed))[:n]
    return x[pick], labels[:POOL][pick]


def write_sheets(x, folder, per_sheet=20, columns=5):
    """PNG sheets of x (n, 1, 28, 28), each image titled by its number. -> paths."""
    plt = P.pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for first in range(0, len(x), per_sheet):
        rows = -(-per_sheet // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(2 * columns, 2 * rows))
        for k, ax in enumerate(axes.flat):
            ax.axis("off")
            if first + k < len(x):
                ax.imshow(x[first + k, 0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_title(str(first + k), fontsize=10)
        fig.tight_layout()
        paths.append(folder / f"sheet_{first // per_sheet}.png")
        fig.savefig(paths[-1], dpi=80)
        plt.close(fig)
    return paths


def read_answers(path, n):
    """A reader's file -> (n,) int64 labels; one clear error if it is not n digits."""
    words = [w for line in Path(path).read_text().splitlines()
             if not line.lstrip().startswith("#") for w in line.split()]
    bad = [w for w in words if w not in "0123456789" or len(w) != 1]
    if bad or len(words) != n:
        raise SystemExit(f"read_by_eye: {path} must hold {n} digits 0-9, one per image; "
                         f"found {len(words)} words" + (f", not digits: {bad[:5]}" if bad else ""))
    return torch.tensor([int(w) for w in words])


@P.one_line_errors
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("sheets", "score"))
    parser.add_argument("answers", nargs="?", help="score: the reader's file")
    parser.add_argument("--entry", default="cheap camera", help="a SUITE entry (default: cheap camera)")
    parser.add_argument("--n", type=int, default=80, help="images to read (default: 80)")
    parser.add_argument("--seed", type=int, default=7, help="seeds the pick (default: 7)")
    parser.add_argument("--out", default="by-eye", help="sheets: folder for the PNGs (default: by-eye)")
    parser.add_argument("--model-path", default=str(ROOT / "model.pt"))
    args = parser.parse_args(argv)
    if not 0 < args.n <= POOL:
        parser.error(f"--n must lie in 1..{POOL}")
    x, y = sample(args.entry, args.n, args.seed)
    if args.command == "sheets":
        for path in write_sheets(x, args.out):
            print(f"wrote {path}")
        return None
    if args.answers is None:
        parser.error("score needs the reader's ANSWERS file")
    reader = read_answers(args.answers, args.n)
    model = P.classify(P.load_model(args.model_path), x)
    result = {"reader": (reader == y).float().mean().item(), "model": (model == y).float().mean().item()}
    for who, labels in (("reader", reader), ("model", model)):
        wrong = [f"{i}: {labels[i].item()} for {y[i].item()}" for i in range(args.n) if labels[i] != y[i]]
        print(f"{who:6s} {result[who]:.1%} on {args.n} images of {args.entry!r}; wrong: {', '.join(wrong)}")
    return result


if __name__ == "__main__":
    main()
