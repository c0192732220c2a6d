"""The shipped model on the MNIST test set: the camera SUITE table, the gallery
of degraded test digits and the training curves.

    .venv/bin/python tools/evaluate.py [--model-path model.pt] [--history-path ...]
        [--gallery-path results/pytorch_cnn_gallery.png] [--curves-path results/pytorch_cnn_training.png]

The test set is the shipped model's report, scored once per model; decisions
are taken on the development split (tools/score_runs.py, --split dev).
"""
import argparse
import math
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
import splits  # noqa: E402
from histories import read_history  # noqa: E402
from plots import digit_strip, pyplot  # noqa: E402

TEST_SEED = 2000   # SUITE entry i on the test set draws from TEST_SEED + i (the README's figures)


def plot_gallery(model, images, labels, suite, seed, path, n=8, columns=3):
    """The first n test images under each degradation of `suite`, `columns`
    entries side by side so the whole suite fits one screen (about 1500 x 900 px
    for 24 entries). Each digit is titled with its label when MyNet reads it
    right, "true → predicted" in red when not."""
    plt = pyplot()
    rows = math.ceil(len(suite) / columns)
    cell = 0.62    # inches per digit at 100 dpi: 28 px shown at about twice their size
    height = rows * (cell + 0.42) + 0.4     # 0.42 inch for two lines of titles, 0.4 for the top one
    fig = plt.figure(figsize=(columns * n * cell + 0.3 * (columns - 1), height))
    grid = fig.add_gridspec(rows + 1, columns, height_ratios=[0.4] + [cell + 0.42] * rows,
                            wspace=0.04, hspace=0)
    fig.add_subfigure(grid[0, :]).suptitle(
        "MyNet on degraded test digits: title = true label, red \"true → predicted\" = a mistake",
        fontsize=10, y=0.5, va="center")
    blocks = [fig.add_subfigure(grid[r + 1, c]) for r in range(rows) for c in range(columns)]
    cmap = plt.get_cmap("gray").with_extremes(bad="white")
    for block, (i, (name, steps)) in zip(blocks, enumerate(suite.items())):
        g = torch.Generator().manual_seed(seed + i)
        x = P.apply_degradations(images[:n].float() / 255, steps, g)
        pred = P.classify(model, x).tolist()
        ax = block.subplots()
        ax.imshow(digit_strip(x, 4).numpy(), cmap=cmap, vmin=0, vmax=1)
        truth = labels[:n].tolist()
        for j, (p, y) in enumerate(zip(pred, truth)):   # one axes per entry: 8 x faster than per digit
            ax.text(j * 32 + 13.5, -2, str(y) if p == y else f"{y} → {p}", fontsize=8,
                    ha="center", va="bottom", color="black" if p == y else "red")
        ax.set_axis_off()
        wrong = sum(p != y for p, y in zip(pred, truth))
        block.suptitle(f"{name}" + (f"  ({wrong} wrong)" if wrong else ""), fontsize=9, y=0.98)
        block.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.72)
    for block in blocks[len(suite):]:
        block.set_visible(False)
    fig.savefig(path, dpi=100)
    plt.close(fig)


VAL_CURVES = [("val_clean", "clean"), ("val_mean", "suite mean"), ("val_worst", "suite worst")]


def plot_scored(fig, axes, scored):
    """One validation curve per axis of `axes` over the scored epochs, its
    y-limits padded by a quarter of its range (at least 0.1 point)."""
    x = [h["epoch"] for h in scored]
    best = max(scored, key=lambda h: h["val_mean"])["epoch"]
    for r, (ax, (key, label)) in enumerate(zip(axes, VAL_CURVES)):
        y = [100 * h[key] for h in scored]
        ax.plot(x, y, "o-", color=f"C{r + 1}", markersize=3)
        pad = max((max(y) - min(y)) / 4, 0.1)
        ax.set_ylim(min(y) - pad, max(y) + pad)
        ax.axvline(best, color="grey", linestyle=":", linewidth=1)
        ax.text(0.01, 0.95, f"{label}: last {y[-1]:.2f} %", transform=ax.transAxes,
                va="top", fontsize=8)
        ax.set_xlim(x[0] - 0.5, x[-1] + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        if r < len(axes) - 1:
            ax.tick_params(labelbottom=False)
    axes[0].set_title(f"development accuracy (%), scored epochs; dotted: saved (epoch {best})",
                      fontsize=10)
    axes[-1].set_xlabel("epoch")


def plot_history(history, path):
    """Left: training loss per epoch, the scored epochs shaded; a log axis only
    when the loss spans more than a factor of 3 (a run from scratch), plain
    decimals otherwise (a fine-tune moves it by hundredths). Right: development
    accuracy (clean, suite mean, suite worst) on the scored epochs only, one
    panel each with limits from its own data; the saved epoch marked."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    losses = [h["train_loss"] for h in history]
    scored_epochs = [h for h in history if "val_mean" in h]     # see Config.val_epochs
    fig = plt.figure(figsize=(11, 4.6))
    grid = fig.add_gridspec(len(VAL_CURVES), 2, width_ratios=(1.4, 1), hspace=0.15, wspace=0.25)
    ax = fig.add_subplot(grid[:, 0])
    ax.plot(epochs, losses, "o-" if len(epochs) <= 20 else "-", color="C0", markersize=3, label="training loss")
    wide = max(losses) > 3 * min(losses)
    ax.set(xlabel="epoch", ylabel="cross-entropy (label smoothing)", yscale="log" if wide else "linear",
           title="training loss (on freshly degraded images)")
    if not wide:
        ax.yaxis.set_major_formatter(plt.FormatStrFormatter("%.3f"))
    if scored_epochs:
        ax.axvspan(scored_epochs[0]["epoch"] - 0.5, scored_epochs[-1]["epoch"] + 0.5, color="C1", alpha=0.15,
                   label="development split scored")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False, fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.text(0.01, 0.005, "The loss is measured on images degraded afresh each epoch, with label smoothing "
             "(0.05: its floor is 0.28 nats). In a short fine-tune it moves by thousandths, up or down;\n"
             "the development accuracy on the right is what picks the checkpoint.", fontsize=8, color="dimgray", va="bottom")
    if not scored_epochs:
        ax = fig.add_subplot(grid[:, 1])
        ax.text(0.5, 0.5, "no epoch scored on the development split", ha="center", va="center")
        ax.set_axis_off()
    else:
        plot_scored(fig, [fig.add_subplot(grid[r, 1]) for r in range(len(VAL_CURVES))], scored_epochs)
    fig.subplots_adjust(bottom=0.24)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def evaluate(args, suite=P.SUITE):
    """Load args.model_path like the grader and measure it on the clean test set
    and on every degradation of `suite` (seeded TEST_SEED + the entry's index).
    Prints a table with Wilson intervals, writes the gallery and the training
    curves. -> {accuracy: {name: acc}, mean, worst, worst_name}."""
    model = P.load_model(args.model_path, P.resolve_device(args.device))
    images, labels = P.load_mnist(args.data_dir, train=False)
    acc = P.suite_accuracy(model, images, labels, suite, seed=TEST_SEED)
    mean, (worst_name, worst) = P.summarise(acc)
    n = len(labels)
    print(f"{'test set (' + format(n, ',') + ' images)':26s} accuracy (%) [95 % interval]")
    for name, a in acc.items():
        low, high = splits.wilson(round(a * n), n)
        print(f"  {name:24s} {100 * a:6.2f} [{100 * low:.2f}, {100 * high:.2f}]")
    print(f"  {'mean':24s} {100 * mean:6.2f}\n  {'worst (' + worst_name + ')':24s} {100 * worst:6.2f}")
    plot_gallery(model.cpu(), images, labels, suite, TEST_SEED, args.gallery_path)
    print(f"wrote {args.gallery_path}")
    if Path(args.history_path).exists():
        plot_history(read_history(args.history_path)[0], args.curves_path)
        print(f"wrote {args.curves_path}")
    return {"accuracy": acc, "mean": mean, "worst": worst, "worst_name": worst_name}


@P.one_line_errors
def main(argv=None):
    parser = P.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", default=str(ROOT / "model.pt"), help="MyNet's state_dict (default: model.pt)")
    parser.add_argument("--history-path", default=str(ROOT / "results" / "pytorch_cnn_history.json"),
                        help="its training history, plotted when it exists")
    parser.add_argument("--gallery-path", default=str(ROOT / "results" / "pytorch_cnn_gallery.png"),
                        help="where the gallery of digits under the suite's degradations goes "
                             "(default: results/pytorch_cnn_gallery.png)")
    parser.add_argument("--curves-path", default=str(ROOT / "results" / "pytorch_cnn_training.png"),
                        help="where the training curves go (default: results/pytorch_cnn_training.png)")
    parser.add_argument("--data-dir", default=str(ROOT / "data"),
                        help="holds MNIST/raw/, unpacked by `make data` (default: data)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    return evaluate(parser.parse_args(argv))


if __name__ == "__main__":
    main()
