"""Accuracy against strength for every family of the unseen suite: MyNet beside
the lab's FCNet and SimpleCNN. Writes results/pytorch_cnn_robustness.png.

    .venv/bin/python tools/robustness.py [--n 1000] [--out results/pytorch_cnn_robustness.png]

The baselines are trained by the template's recipe (clean images, Adam, 2
epochs) when results/baselines/<name>.pt is missing, about a minute on 2 cores; they
are neither graded nor zipped. The families come from tools/unseen_check.py,
so the curves show what training never saw; each strength of each family
draws from its own generator (seeded from the family's position), so every
model sees the same images.
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
import unseen_check as U  # noqa: E402

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


def plot(result, strengths, path, columns=6):
    """One panel per family: accuracy (%) against strength, a line per model."""
    plt = P.pyplot()
    families = list(next(iter(result.values())))
    rows = -(-len(families) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 1.9 * rows),
                             sharex=True, sharey=True)
    for ax, family in zip(axes.flat, families):
        for name, accs in result.items():
            ax.plot(strengths, [100 * a for a in accs[family]], "o-", ms=3, label=name)
        ax.set_title(family, fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(families):]:
        ax.axis("off")
    axes.flat[0].set_ylim(0, 100)
    axes.flat[0].legend(fontsize=7, loc="lower left")
    fig.supxlabel("strength (0: mildest, 1: heaviest a person can still read)", fontsize=9)
    fig.supylabel("accuracy (%)", fontsize=9)
    fig.suptitle("Unseen degradations (tools/unseen_check.py): MyNet and the lab's baselines",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-path", default=str(ROOT / "model.pt"))
    parser.add_argument("--baselines-dir", default=str(ROOT / "results" / "baselines"))
    parser.add_argument("--n", type=int, default=1000, help="test images per point (default: 1000)")
    parser.add_argument("--out", default=str(ROOT / "results" / "pytorch_cnn_robustness.png"))
    parser.add_argument("--seed", type=int, default=0, help="seeds the baselines' training")
    args = parser.parse_args(argv)
    models = {"MyNet": P.load_model(args.model_path)}
    for cls in (P.SimpleCNN, P.FCNet):
        models[cls.__name__] = baseline(cls, args.baselines_dir, ROOT / "data", args.seed)
    images, labels = P.load_mnist(ROOT / "data", train=False)
    result = curves(models, images[:args.n].float() / 255, labels[:args.n])
    plot(result, STRENGTHS, args.out)
    for name, families in result.items():
        mean = sum(sum(a) for a in families.values()) / sum(len(a) for a in families.values())
        print(f"{name:10s} mean accuracy over {len(families)} families x {len(STRENGTHS)} strengths: {mean:.2%}")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
