"""Accuracy against strength for every family of the unseen suite: MyNet beside
the lab's FCNet and SimpleCNN. Writes results/pytorch_cnn_robustness.png.

    .venv/bin/python tools/robustness.py [--n 1000] [--out results/pytorch_cnn_robustness.png]
        [--library-out results/robustness_library.png]

The baselines are trained by the template's recipe (clean images, Adam, 2
epochs) when results/baselines/<name>.pt is missing, about a minute on 2 cores; they
are neither graded nor zipped. The families come from tools/unseen_suite.py,
so the curves show what training never saw; each strength of each family
draws from its own generator (seeded from the family's position), so every
model sees the same images. Grey panels: the families that have a
counterpart in MyNet's training (unseen_suite.COUNTERPARTS, from its history). --library-out draws
the library suite (tools/library_suite.py) as bars, default and harsher
setting per transform (its settings are not one strength scale).
"""
import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
import splits  # noqa: E402
import unseen_suite as U  # noqa: E402
from plots import pyplot, title_legend_save  # noqa: E402

BASELINES = ROOT / "results" / "baselines"   # the baselines' weights (<class name>.pt)
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)   # 0: the family's mildest form, 1: its heaviest


def train_template(cls, images, labels, seed, epochs=2, batch_size=64, lr=1e-3):
    """The template's recipe: cls() seeded by `seed`, Adam on clean images
    (N, 1, 28, 28) uint8, NLL loss on the model's log-probabilities, `epochs`
    passes in a seeded order. -> the trained model, in eval mode."""
    torch.manual_seed(seed)   # the initial weights
    model = cls()
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(images), generator=g).split(batch_size):
            loss = F.nll_loss(model(images[idx].float() / 255), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


def baseline(cls, folder, data_dir, seed):
    """cls() with the weights in folder/<cls name>.pt; when missing, trained on
    the MNIST training set in data_dir and saved first."""
    path = Path(folder) / f"{cls.__name__}.pt"
    if path.exists():
        model = cls()
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.eval()
    print(f"training {cls.__name__} by the template's recipe -> {path}")
    images, labels = P.load_mnist(data_dir, train=True)
    model = train_template(cls, images, labels, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    P.save_atomic(P.cpu_state_dict(model), path)
    return model


def curves(models, x, y, strengths=STRENGTHS):
    """{model name: {family: [accuracy at each strength]}} on x (n, 1, 28, 28), y (n,)."""
    result = {name: {} for name in models}
    for i, family in enumerate(U.FAMILIES):
        for s in strengths:
            xd = U.degrade(family, x, s, torch.Generator().manual_seed(U.SEED + i))
            for name, model in models.items():
                acc = (P.classify(model, xd) == y).float().mean().item()
                result[name].setdefault(family, []).append(acc)
    return result


def plot(result, strengths, path, modelled=(), columns=5):
    """One panel per family: accuracy (%) against strength, a line per model.
    Families in `modelled` (a counterpart in the model's training,
    `unseen_suite.COUNTERPARTS`) get grey panels; the rest make the held-out mean."""
    plt = pyplot()
    families = list(next(iter(result.values())))
    rows = -(-len(families) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.3 * rows + 1.0),
                             sharex=True, sharey=True, squeeze=False)
    for ax, family in zip(axes.flat, families):
        for name, accs in result.items():
            ax.plot(strengths, [100 * a for a in accs[family]], "o-", ms=4, label=name)
        seen = family in modelled
        ax.set_title(family + (" (modelled)" if seen else ""), fontsize=10, color="dimgray" if seen else "black")
        ax.set_facecolor("#e8e8e8" if seen else "white")
        ax.grid(alpha=0.4)
        ax.tick_params(labelsize=9)
    for ax in axes.flat[len(families):]:
        ax.axis("off")
    axes.flat[0].set_ylim(0, 102)
    n_modelled = sum(f in modelled for f in families)
    fig.supxlabel("strength (0: mildest, 1: heaviest a person can still read)", fontsize=10)
    fig.supylabel("accuracy (%)", fontsize=10)
    title_legend_save(fig, axes.flat[0], path, 0.75, 0.35,
                      f"Unseen suite (tools/unseen_suite.py), {len(families)} families: accuracy against "
                      f"strength. Grey: the {n_modelled} families modelled in training since the suite "
                      f"was fixed; white: the {len(families) - n_modelled} held-out ones")


def library_bars(result, suite, path):
    """The library suite (tools/library_suite.py), one bar per model and entry:
    result {model name: {entry name: accuracy}}, suite its entries; two panels,
    default and harsher settings; the entries a person does not read (the kept
    blind readings) on a grey band, marked at the right."""
    plt = pyplot()
    settings = ("default", "harsher")
    makes = list(dict.fromkeys(e.transform.make for e in suite))
    readable = {e.name: e.readable for e in suite}
    fig, axes = plt.subplots(1, 2, figsize=(15, 0.32 * len(makes) + 1.8), sharey=True)
    height = 0.8 / len(result)
    for ax, setting in zip(axes, settings):
        for k, (model, accs) in enumerate(result.items()):
            ys = [i + (k - (len(result) - 1) / 2) * height for i in range(len(makes))]
            ax.barh(ys, [100 * accs[f"{m} ({setting})"] for m in makes], height=height, label=model)
        ax.set_title(f"{setting} setting", fontsize=11)
        ax.set_xlim(0, 100)
        ax.grid(axis="x", alpha=0.4)
        ax.set_xlabel("accuracy (%)", fontsize=10)
    axes[0].set_yticks(range(len(makes)))
    axes[0].set_yticklabels(makes, fontsize=9)
    axes[0].invert_yaxis()
    for ax, setting in zip(axes, settings):
        for i, m in enumerate(makes):
            if not readable[f"{m} ({setting})"]:   # a grey band behind the row: out of the readable mean
                ax.axhspan(i - 0.45, i + 0.45, color="#d9d9d9", zorder=0)
                ax.text(99, i, "unreadable (read blind)", fontsize=8, va="center", ha="right",
                        color="black", bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
    title_legend_save(fig, axes[0], path, 0.9, 0.4,
                      "Library suite (tools/library_suite.py): kornia and torchvision transforms at their "
                      "default and a harsher setting")


@P.one_line_errors
def main(argv=None):
    parser = P.Parser(description=__doc__,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", default=str(ROOT / "model.pt"))
    parser.add_argument("--baselines-dir", default=str(BASELINES))
    parser.add_argument("--n", type=int, default=1000, help="test images per point (default: 1000)")
    parser.add_argument("--out", default=str(ROOT / "results" / "pytorch_cnn_robustness.png"))
    parser.add_argument("--library-out", default=str(ROOT / "results" / "robustness_library.png"),
                        help="bars of the library suite (tools/library_suite.py); '' for none")
    parser.add_argument("--seed", type=int, default=0, help="seeds the baselines' training")
    args = parser.parse_args(argv)
    models = {"MyNet": P.load_model(args.model_path)}
    for cls in (P.SimpleCNN, P.FCNet):
        models[cls.__name__] = baseline(cls, args.baselines_dir, ROOT / "data", args.seed)
    x, y = splits.images("test", args.n)
    result = curves(models, x, y)
    held = U.held_out(U.trained_with(args.model_path))
    plot(result, STRENGTHS, args.out, modelled=[f for f in U.FAMILIES if f not in held])
    if args.library_out:
        import library_suite as L   # needs kornia (requirements-dev.txt)
        suite = L.entries()
        library = {name: L.library_accuracy(model, x, y, suite) for name, model in models.items()}
        library_bars(library, suite, args.library_out)
        print(f"wrote {args.library_out}")
    for name, families in result.items():
        mean = sum(sum(a) for a in families.values()) / sum(len(a) for a in families.values())
        print(f"{name:10s} mean accuracy over {len(families)} families x {len(STRENGTHS)} strengths: {mean:.2%}")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
