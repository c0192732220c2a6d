"""A person as the baseline: blind readings of every suite's hard entries,
kept, and scored beside the model on the same images.

    .venv/bin/python tools/read_by_eye.py sheets [--suite light] [--entry NAME ...] [--out by-eye]
    .venv/bin/python tools/read_by_eye.py score [--model-path model.pt] [--plot results/by_eye.png]

`sheets` draws, per entry, one sheet of READ_N development digits (never the
scored test digits) under that entry, numbered and unlabelled, large with
square pixels. The reader writes the 24 digits they see, in order, into
results/baselines/readings/<suite>/<entry>.txt (`answers_path`): whitespace-
separated, `#` lines are comments (who read, when), no blanks (guess when
unsure, as the model must). The labels are never shown.

`score` takes every kept reading and, per entry: the person's accuracy with
its Wilson interval, the model's on the same images, their difference, a
McNemar exact test of it (paired, on the same 24 images), and the error
consistency (Cohen's kappa of the two right/wrong patterns, as in Geirhos et
al. 2021). An entry is readable when the person reads at least READABLE of
24. Per suite it prints the model's mean over readable entries (on the whole
development split, tools/score_runs.py's figures, when --dev-json gives them)
and the entries where the model trails the person beyond the noise (p < 0.05);
--plot draws model against person, entry by entry.

The images: the development split (`splits.images("dev")`), READ_N of them
picked by a generator seeded from the entry's name, degraded by the entry
with its own seeded generator: the same images for every reader and model.
"""
import argparse
import json
import functools
import math
import re
import sys
import zlib
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
import light_suite  # noqa: E402
import splits  # noqa: E402
import unseen_suite as U  # noqa: E402

READ_N = 24          # digits per entry: 22 of 24 read is a person's 92 % [74, 98]
READABLE = 22        # readable: at least this many of READ_N read right
READINGS = ROOT / "results" / "baselines" / "readings"
SUITES = ("camera", "unseen", "library", "light")


def suite_entries(suite):
    """{entry name: degrade(x, g) -> x} of one suite, every entry at its fixed strength."""
    if suite == "camera":
        return {name: (lambda x, g, steps=steps: P.apply_degradations(x, steps, g))
                for name, steps in P.SUITE.items() if name != "clean"}
    if suite == "unseen":
        return {U.entry_name(f, level): (lambda x, g, f=f, s=s: U.degrade(f, x, s, g))
                for f, levels in U.SUITE_STRENGTHS.items() for level, s in levels.items()}
    if suite == "light":
        return {name: (lambda x, g, fn=fn, s=s: fn(x, s, g).clamp(0, 1)) for name, fn, s in light_suite.entries()}
    if suite == "library":
        import library_suite as L   # kornia: a tools-only dependency
        return {e.name: (lambda x, g, e=e: L.apply(e, x, int(torch.randint(2 ** 31, (1,), generator=g))))
                for e in L.entries(readings=False)}
    raise P.UserError(f"unknown suite {suite!r}: use one of {', '.join(SUITES)}")


def entry_seed(suite, name):
    """A stable seed per entry (crc32 of 'suite/name'): its pick and its degradation."""
    return zlib.crc32(f"{suite}/{name}".encode())


def sample(suite, name, dev=None):
    """READ_N development digits under one entry -> x (READ_N, 1, 28, 28) in [0, 1], y (READ_N,)."""
    entries = suite_entries(suite)
    if name not in entries:
        raise P.UserError(f"unknown entry {name!r} of the {suite} suite; it has: {', '.join(entries)}")
    x, y = dev if dev is not None else splits.images("dev")
    seed = entry_seed(suite, name)
    pick = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:READ_N]
    return entries[name](x[pick], torch.Generator().manual_seed(seed)).clamp(0, 1), y[pick]


def slug(name):
    """'glare (strong)' -> 'glare-strong': a file name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def answers_path(suite, name, root=READINGS):
    return Path(root) / suite / f"{slug(name)}.txt"


def write_sheet(x, path, title, columns=6):
    """A PNG sheet of x (n, 1, 28, 28), each digit numbered, no label anywhere."""
    from plots import pyplot
    plt = pyplot()
    rows = -(-len(x) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.75 * rows + 0.4))
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(x):
            ax.imshow(x[k, 0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(str(k), fontsize=10)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def read_answers(path, n=READ_N):
    """A reader's file -> (n,) int64 labels; one clear error if it is not n digits."""
    words = [w for line in Path(path).read_text().splitlines()
             if not line.lstrip().startswith("#") for w in line.split()]
    bad = [w for w in words if w not in "0123456789" or len(w) != 1]
    if bad or len(words) != n:
        raise P.UserError(f"{path} must hold {n} digits 0-9, one per image; found {len(words)} words"
                          + (f", not digits: {bad[:5]}" if bad else ""))
    return torch.tensor([int(w) for w in words])


def mcnemar(a, b):
    """Exact two-sided McNemar test of two right/wrong patterns on the same items:
    the discordant pairs under Binomial(n, 1/2). -> p-value."""
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def kappa(a, b):
    """Error consistency (Cohen's kappa) of two right/wrong patterns (n,) bool:
    (observed agreement - expected) / (1 - expected), expected from the two
    accuracies as if independent. NaN when an accuracy is 0 or 1."""
    pa, pb = a.float().mean().item(), b.float().mean().item()
    if {pa, pb} & {0.0, 1.0}:       # one never errs (or never succeeds): no pattern to compare
        return math.nan
    expected = pa * pb + (1 - pa) * (1 - pb)
    observed = (a == b).float().mean().item()
    return (observed - expected) / (1 - expected)


def compare(person, model):
    """Two right/wrong patterns on the same READ_N images -> the row of `score`."""
    k, n = int(person.sum()), len(person)
    low, high = splits.wilson(k, n)
    return {"person": k / n, "person_low": low, "person_high": high, "model": model.float().mean().item(),
            "difference": model.float().mean().item() - k / n, "p": mcnemar(person, model),
            "kappa": kappa(person, model), "readable": k >= READABLE}


def score(model, root=READINGS, dev=None):
    """Every kept reading -> {suite: {entry: compare(...) row}}."""
    dev = dev if dev is not None else splits.images("dev")
    out = {}
    for suite in SUITES:
        for path in sorted((Path(root) / suite).glob("*.txt")):
            name = path.read_text().splitlines()[0].removeprefix("# entry:").strip()
            x, y = sample(suite, name, dev)
            person = read_answers(path) == y
            out.setdefault(suite, {})[name] = compare(person, P.classify(model, x) == y)
    return out


def unreadable(suite, root=READINGS, dev=None):
    """The entries of a suite that its kept readings call unreadable (fewer than
    READABLE of READ_N read right). An entry nobody read is readable: every
    entry where a model scores below 95 % on development images is read."""
    out = set()
    for path in sorted((Path(root) / suite).glob("*.txt")):
        name = path.read_text().splitlines()[0].removeprefix("# entry:").strip()
        dev = dev if dev is not None else splits.images("dev")
        _, y = sample(suite, name, dev)
        if int((read_answers(path) == y).sum()) < READABLE:
            out.add(name)
    return out


@functools.lru_cache(maxsize=None)
def kept_unreadable(suite):
    """`unreadable(suite)` of the kept readings on the development split, worked
    out once per suite and process (it draws each read entry's images again)."""
    return frozenset(unreadable(suite))


def plot(rows, path):
    """Model against person, one point per read entry, a colour per suite."""
    from plots import pyplot
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 6))
    for i, (suite, entries) in enumerate(rows.items()):
        pts = list(entries.values())
        ax.errorbar([100 * r["person"] for r in pts], [100 * r["model"] for r in pts],
                    xerr=[[max(100 * (r["person"] - r["person_low"]), 0) for r in pts],
                          [max(100 * (r["person_high"] - r["person"]), 0) for r in pts]],
                    fmt="o", ms=4, color=f"C{i}", alpha=0.8, elinewidth=0.6, label=f"{suite} ({len(pts)})")
        trails = [(n, r) for n, r in entries.items() if r["p"] < 0.05 and r["difference"] < 0]
        for k, (name, r) in enumerate(trails):   # to the left, stacked: points at one spot stay legible
            short = name.replace("torchvision.", "tv.").replace("kornia.", "k.")
            ax.annotate(short, (100 * r["person"], 100 * r["model"]), fontsize=7, ha="right",
                        xytext=(-6, 9 * k - 4), textcoords="offset points", arrowprops=dict(arrowstyle="-", lw=0.4))
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls=":")
    ax.axvline(100 * READABLE / READ_N, color="grey", lw=0.8, ls="--")
    ax.text(100 * READABLE / READ_N + 0.5, 2, "readable", fontsize=8, color="dimgray")
    ax.set(xlim=(0, 102), ylim=(0, 102), xlabel=f"person, blind, on {READ_N} development digits (%)",
           ylabel="model on the same digits (%)",
           title="Model against a person, entry by entry\n(named: the model trails, McNemar p < 0.05)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def report(rows, readable_means=None):
    """The per-entry table and per-suite summary -> lines. readable_means:
    {suite: [mean, low, high]}, a model's mean over the readable entries
    (tools/score_runs.py --json writes them)."""
    lines = ["| suite | entry | person | model | model - person | McNemar p | kappa | readable |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for suite, entries in rows.items():
        for name, r in entries.items():
            lines.append(f"| {suite} | {name} | {100 * r['person']:.0f} [{100 * r['person_low']:.0f}, "
                         f"{100 * r['person_high']:.0f}] | {100 * r['model']:.0f} | {100 * r['difference']:+.0f} | "
                         f"{r['p']:.3f} | {r['kappa']:.2f} | {'yes' if r['readable'] else 'no'} |")
    lines.append("")
    for suite, entries in rows.items():
        trails = [n for n, r in entries.items() if r["p"] < 0.05 and r["difference"] < 0]
        unreadable = [n for n, r in entries.items() if not r["readable"]]
        line = (f"{suite}: {len(entries)} entries read, {len(unreadable)} unreadable"
                f"{' (' + ', '.join(unreadable) + ')' if unreadable else ''}; the model trails the person "
                f"beyond the noise on {len(trails)}{': ' + ', '.join(trails) if trails else ''}")
        if readable_means and suite in readable_means:
            mean, low, high = readable_means[suite]
            line += f"; model's mean over readable entries (dev): {100 * mean:.2f} [{100 * low:.2f}, {100 * high:.2f}] %"
        lines.append(line)
    return lines


@P.one_line_errors
def main(argv=None):
    parser = P.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("sheets", "score"))
    parser.add_argument("--suite", choices=SUITES, default="light", help="sheets: the suite (default: light)")
    parser.add_argument("--entry", nargs="+", help="sheets: only these entries (default: all of the suite)")
    parser.add_argument("--out", default="by-eye", help="sheets: folder for the PNGs (default: by-eye)")
    parser.add_argument("--readings", default=str(READINGS), help="the kept readings (default: %(default)s)")
    parser.add_argument("--model-path", default=str(ROOT / "model.pt"))
    parser.add_argument("--dev-json", help="score: a tools/score_runs.py --json file that scored "
                                           "--model-path, for its readable means")
    parser.add_argument("--plot", help="score: draw model against person here")
    args = parser.parse_args(argv)
    if args.command == "sheets":
        dev = splits.images("dev")
        names = args.entry or list(suite_entries(args.suite))
        for name in names:
            x, _ = sample(args.suite, name, dev)
            path = Path(args.out) / args.suite / f"{slug(name)}.png"
            write_sheet(x, path, f"{args.suite}: {name}  (write the {READ_N} digits in order)")
            print(f"wrote {path}   answers go to {answers_path(args.suite, name, args.readings)}")
        return None
    rows = score(P.load_model(args.model_path), args.readings)
    if not rows:
        raise P.UserError(f"no readings under {args.readings}: write some with `read_by_eye.py sheets`")
    readable_means = None
    if args.dev_json:   # tools/score_runs.py --json: this model's readable means with intervals
        figures = json.loads(Path(args.dev_json).read_text())
        mine = [f for path, f in figures.items() if Path(path).resolve() == Path(args.model_path).resolve()]
        readable_means = mine[0].get("readable") if mine and mine[0].get("split", "dev") == "dev" else None
        if readable_means is None:
            raise P.UserError(f"{args.dev_json} has no development-split readable means of "
                              f"{args.model_path}: score it with tools/score_runs.py "
                              f"{args.model_path} --json {args.dev_json}")
    print("\n".join(report(rows, readable_means)))
    if args.plot:
        plot(rows, args.plot)
        print(f"wrote {args.plot}")
    return rows


if __name__ == "__main__":
    main()
