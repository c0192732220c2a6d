"""Tests of tools/evaluate.py: the test-set table with its intervals, the
gallery and the training curves."""
import argparse

import torch

import evaluate as E
import pytorch_cnn as P
import splits
from conftest import ROOT


def test_evaluate_prints_table_with_intervals_and_writes_plots(tmp_path, capsys, committed_model_path,
                                                                monkeypatch):
    images, labels = P.load_mnist(ROOT / "data", train=False)
    monkeypatch.setattr(E.P, "load_mnist", lambda root, train: (images[:500], labels[:500]))
    argv = ["--model-path", str(committed_model_path), "--gallery-path", str(tmp_path / "gallery.png"),
            "--curves-path", str(tmp_path / "curves.png")]
    suite = {"clean": [], "read noise": P.SUITE["read noise"]}
    metrics = E.evaluate(argparse.Namespace(
        model_path=str(committed_model_path), history_path=str(ROOT / "results" / "pytorch_cnn_history.json"),
        gallery_path=str(tmp_path / "gallery.png"), curves_path=str(tmp_path / "curves.png"),
        data_dir=str(ROOT / "data"), device="cpu"), suite)
    out = capsys.readouterr().out
    clean = metrics["accuracy"]["clean"]
    low, high = splits.wilson(round(clean * 500), 500)
    assert "clean" in out and f"[{100 * low:.2f}, {100 * high:.2f}]" in out
    assert png_size(tmp_path / "gallery.png")[0] > 0 and png_size(tmp_path / "curves.png")[0] > 0
    assert E.main(argv + ["--history-path", str(tmp_path / "none.json")])["accuracy"].keys() == P.SUITE.keys()


def png_size(path):
    from PIL import Image
    with Image.open(path) as img:
        return img.size


def test_gallery_fits_one_screen_and_shows_every_entry(tmp_path, mnist_test, monkeypatch):
    """Every SUITE entry titled; a digit's title is its label, "true → predicted" in red when wrong."""
    import matplotlib.axes
    import matplotlib.figure
    images, labels = mnist_test
    titles, names = [], []
    text, suptitle = matplotlib.axes.Axes.text, matplotlib.figure.FigureBase.suptitle
    monkeypatch.setattr(matplotlib.axes.Axes, "text", lambda self, x, y, s, **kw: titles.append(
        (s, kw.get("color"))) or text(self, x, y, s, **kw))
    monkeypatch.setattr(matplotlib.figure.FigureBase, "suptitle", lambda self, text, **kw: names.append(
        text) or suptitle(self, text, **kw))
    monkeypatch.setattr(E.P, "classify", lambda model, x: torch.full((len(x),), 7))  # wrong on non-7s
    E.plot_gallery(None, images[:8], labels[:8], P.SUITE, 0, tmp_path / "gallery.png")
    w, h = png_size(tmp_path / "gallery.png")
    assert w <= 1600 and h <= 1000
    assert all(any(t.startswith(name) for t in names) for name in P.SUITE)
    expected = [(str(y), "black") if y == 7 else (f"{y} → 7", "red") for y in labels[:8].tolist()]
    assert titles == expected * len(P.SUITE)


def test_training_curves_bounded_with_and_without_scored_epochs(tmp_path):
    history = [dict(epoch=e, train_loss=1 / e) for e in range(1, 151)]
    for h in history[-10:]:
        h.update(val_clean=0.99 + h["epoch"] * 1e-5, val_mean=0.98, val_worst=0.87)
    for name, hist in [("scored.png", history), ("unscored.png", history[:20])]:
        E.plot_history(hist, tmp_path / name)
        w, h = png_size(tmp_path / name)
        assert w <= 1600 and h <= 1000

def test_training_curves_plot_only_the_scored_epochs_and_mark_the_saved_one(tmp_path, monkeypatch):
    """The right panels get the scored epochs' accuracies and nothing else; the
    dotted line sits at the epoch of the best suite mean; a fine-tune's loss
    gets plain decimals, a run from scratch a log axis."""
    import matplotlib.axes
    lines, vlines, scales = [], [], []
    plot, axvline, set_ = matplotlib.axes.Axes.plot, matplotlib.axes.Axes.axvline, matplotlib.axes.Axes.set
    monkeypatch.setattr(matplotlib.axes.Axes, "plot", lambda self, x, y, *a, **kw: lines.append(
        (list(x), list(y))) or plot(self, x, y, *a, **kw))
    monkeypatch.setattr(matplotlib.axes.Axes, "axvline", lambda self, x, *a, **kw: vlines.append(x) or
                        axvline(self, x, *a, **kw))
    monkeypatch.setattr(matplotlib.axes.Axes, "set", lambda self, **kw: scales.append(kw.get("yscale")) or
                        set_(self, **kw))
    history = [dict(epoch=1, train_loss=0.57), dict(epoch=2, train_loss=0.56),
               dict(epoch=3, train_loss=0.565, val_clean=0.99, val_mean=0.97, val_worst=0.9),
               dict(epoch=4, train_loss=0.566, val_clean=0.98, val_mean=0.96, val_worst=0.8)]
    E.plot_history(history, tmp_path / "curves.png")
    assert lines[0] == ([1, 2, 3, 4], [0.57, 0.56, 0.565, 0.566])
    assert lines[1:] == [([3, 4], [99.0, 98.0]), ([3, 4], [97.0, 96.0]), ([3, 4], [90.0, 80.0])]
    assert vlines == [3, 3, 3] and scales[0] == "linear"
    scales.clear()
    E.plot_history([dict(epoch=e, train_loss=2.0 / e) for e in range(1, 11)], tmp_path / "scratch.png")
    assert scales[0] == "log"
