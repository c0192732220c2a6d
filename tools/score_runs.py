"""Score trained models with the noise on every figure, and compare them on the
same images: the runs tables of docs/experiments.md and the README's Results.

    .venv/bin/python tools/score_runs.py MODEL [MODEL ...] [--split dev|test] [--n N]
        [--suites camera,unseen,library,light] [--entries SUITE] [--json PATH]

Per model, one markdown row: clean, the camera SUITE's mean and "cheap camera",
the unseen suite's mean and held-out mean (the families none of whose
counterparts that model was trained with, `unseen_suite.held_out`), the
library suite's mean over the entries a person reads (the kept blind readings
of tools/read_by_eye.py), the light suite's mean; each with
its 95 % interval (Wilson for one entry, a bootstrap over images for a mean).
With two models or more, each one after the first is compared with the first
on the same images and entries: the paired difference of every suite's mean
with its bootstrap interval, and a verdict ("no difference" when the interval
holds 0). `--entries light` adds the entry-by-entry table of one suite.

Decisions are taken on `--split dev` (the default): the development images,
held out of MNIST's training set for every model here. `--split test` is the
shipped model's report, once per model.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
import library_suite as L  # noqa: E402
import light_suite  # noqa: E402
import read_by_eye  # noqa: E402
from evaluate import TEST_SEED  # noqa: E402
import splits  # noqa: E402
import unseen_suite as U  # noqa: E402

SUITES = ("camera", "unseen", "library", "light")


def suite_correct(suite, model, x, y):
    """{entry: correctness (n,) bool} of one suite; the library suite keeps only
    the entries a person reads (its `readable` flags)."""
    if suite == "camera":   # uint8 again (x is uint8 / 255): P.suite_correct draws as `evaluate` does
        images = (x * 255).round().to(torch.uint8)
        return {k: v for k, v in P.suite_correct(model, images, y, P.SUITE, TEST_SEED).items() if k != "clean"}
    if suite == "unseen":
        return U.unseen_correct(model, x, y)
    if suite == "library":
        return L.library_correct(model, x, y, L.entries())
    return light_suite.light_accuracy(model, x, y)


def stack(correct, names=None):
    """{entry: (n,) bool} -> (entries, n) bool, the entries in `names` (default: all)."""
    return torch.stack([c for k, c in correct.items() if names is None or k in names])


def score(model_path, x, y, suites):
    """-> {"clean": (n,) bool, suite: {entry: (n,) bool}, "held_out": [family, ...]}."""
    model = P.load_model(model_path)
    out = {"clean": P.classify(model, x) == y}
    for suite in suites:
        start = time.perf_counter()
        out[suite] = suite_correct(suite, model, x, y)
        print(f"  {Path(model_path).name}: {suite} suite, {len(out[suite])} entries in "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    out["held_out"] = U.held_out(U.trained_with(model_path))
    return out


def columns(s):
    """The row's figures -> {column: (entries, n) bool}."""
    cols = {"clean": s["clean"][None]}
    if "camera" in s:
        cols["camera mean"] = stack(s["camera"])
        cols["cheap camera"] = s["camera"]["cheap camera"][None]
    if "unseen" in s:
        cols["unseen mean"] = stack(s["unseen"])
        held = [k for k in s["unseen"] if U.family_of(k) in s["held_out"]]
        if held:
            cols["held-out"] = stack(s["unseen"], held)
    if "library" in s:
        # over the entries a person reads: the kept blind readings decide
        unread = read_by_eye.kept_unreadable("library")
        cols["library readable"] = stack(s["library"], [e for e in s["library"] if e not in unread])
    if "light" in s:
        cols["light mean"] = stack(s["light"])
    return cols


def readable_means(s, suites):
    """{suite: [mean, low, high]}: each suite's mean over the entries a person
    reads (the kept blind readings, `read_by_eye.kept_unreadable`), with its bootstrap interval."""
    out = {}
    for suite in suites:
        unread = read_by_eye.kept_unreadable(suite)
        out[suite] = list(splits.mean_interval(stack(s[suite], [e for e in s[suite] if e not in unread])))
    return out


def cell(correct):
    """(entries, n) bool -> 'mean [low, high]' in %: Wilson for one entry, else the bootstrap."""
    if len(correct) == 1:
        k, n = int(correct.sum()), correct.shape[1]
        low, high = splits.wilson(k, n)
        return f"{100 * k / n:.2f} [{100 * low:.2f}, {100 * high:.2f}]"
    mean, low, high = splits.mean_interval(correct)
    return f"{100 * mean:.2f} [{100 * low:.2f}, {100 * high:.2f}]"


def diff_cell(a, b):
    """Two (entries, n) bool on the same images -> 'b - a [low, high] verdict' in points."""
    d, low, high = splits.paired_difference(a, b)
    return f"{100 * d:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}] {splits.verdict(d, low, high)}"


def report(paths, scores, split, n, entries=None):
    """The markdown tables -> list of lines."""
    cols = {p: columns(scores[p]) for p in paths}
    names = list(cols[paths[0]])
    lines = [f"{split} split, {n} images; in %, 95 % intervals", "",
             "| model | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {p} | " + " | ".join(cell(cols[p][c]) if c in cols[p] else "-" for c in names) + " |"
              for p in paths]
    base = paths[0]
    for other in paths[1:]:
        shared = [c for c in names if c in cols[other] and cols[base][c].shape == cols[other][c].shape]
        lines += ["", f"paired: {other} minus {base}, in points", "",
                  "| | " + " | ".join(shared) + " |", "|---" * (len(shared) + 1) + "|",
                  "| difference | " + " | ".join(diff_cell(cols[base][c], cols[other][c]) for c in shared) + " |"]
    if entries:
        lines += ["", f"{entries} suite, entry by entry", "",
                  "| entry | " + " | ".join(paths) + "".join(f" | {p} - {base}" for p in paths[1:]) + " |",
                  "|---" * (2 * len(paths)) + "|"]
        for e in scores[base][entries]:
            row = [cell(scores[p][entries][e][None]) for p in paths]
            row += [diff_cell(scores[base][entries][e][None], scores[p][entries][e][None]) for p in paths[1:]]
            lines.append(f"| {e} | " + " | ".join(row) + " |")
    return lines


def parse_args(argv):
    parser = P.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="state_dict files of MyNet (the first is the reference)")
    parser.add_argument("--split", choices=splits.SPLITS, default="dev",
                        help="dev: decisions; test: the shipped model's report (default: dev)")
    parser.add_argument("--n", type=int, default=None,
                        help="images scored (default: all 2,500 dev images, or 2,000 test images)")
    parser.add_argument("--suites", default=",".join(SUITES), help=f"comma-separated of {', '.join(SUITES)}")
    parser.add_argument("--entries", choices=SUITES, help="also print this suite entry by entry")
    parser.add_argument("--json", help="also write {model: {columns: {column: accuracy}, "
                                       "entries: {suite: {entry: accuracy}}, readable: {suite: "
                                       "[mean over the entries a person reads, low, high]}, split}} here")
    args = parser.parse_args(argv)
    args.suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown or not args.suites:
        raise P.UserError(f"--suites: unknown {unknown or 'empty list'}; use {', '.join(SUITES)}")
    if args.entries and args.entries not in args.suites:
        args.suites.append(args.entries)
    return args


@P.one_line_errors
def main(argv=None):
    args = parse_args(argv)
    for path in args.models:
        if not Path(path).is_file():
            wildcard = "*" in path or "?" in path   # the shell passes a pattern that matched nothing
            raise P.UserError(f"no file matches {path}: name saved MyNet state_dicts, e.g. model.pt "
                              f"build/model.pt (`make train-cnn` writes build/model.pt)" if wildcard
                              else f"{path} not found: name saved MyNet state_dicts")
    n = args.n or (None if args.split == "dev" else 2000)
    x, y = splits.images(args.split, n)
    scores, start = {}, time.perf_counter()
    for i, path in enumerate(args.models, 1):
        done = time.perf_counter() - start
        left = f", about {done / (i - 1) * (len(args.models) - i + 1) / 60:.0f} min left" if i > 1 else ""
        print(f"[{i}/{len(args.models)}] scoring {path} on {len(x)} {args.split} images{left} ...",
              file=sys.stderr, flush=True)
        scores[path] = score(path, x, y, args.suites)
    lines = report(args.models, scores, args.split, len(x), args.entries)
    print("\n".join(lines))
    figures = {p: {"columns": {c: v.float().mean().item() for c, v in columns(scores[p]).items()},
                   "entries": {suite: {e: c.float().mean().item() for e, c in scores[p][suite].items()}
                               for suite in args.suites}} for p in args.models}
    if args.json:
        for p in args.models:
            figures[p]["readable"] = readable_means(scores[p], args.suites)
            figures[p]["split"] = args.split
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return figures


if __name__ == "__main__":
    main()
