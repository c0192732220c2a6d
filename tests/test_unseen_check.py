"""Tests of tools/unseen_check.py: the unseen suite (degradations outside the
camera model), its determinism and its report."""
import ast
import json
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
import pytorch_cnn as P  # noqa: E402
import unseen_check as U  # noqa: E402

torch.set_num_threads(1)   # tests share 2 cores with other work


@pytest.fixture(scope="module")
def digits():
    images, _ = P.load_mnist(ROOT / "data", train=False)
    return images[:32].float() / 255


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def seen_difference(y, x):
    """Mean absolute difference at a reader's scale (3 x 3 box average): a
    halftone's dots or a shift by a few pixels count by what they move, not by
    how many pixels flip."""
    return (F.avg_pool2d(y, 3, 1, 1) - F.avg_pool2d(x, 3, 1, 1)).abs().mean().item()


def test_suite_has_30_families_each_at_a_moderate_and_a_strong_strength():
    assert len(U.FAMILIES) >= 30
    for family, levels in U.SUITE_STRENGTHS.items():
        assert 0 < levels[U.MODERATE] < levels[U.STRONG] <= 1, family
    names = list(U.degradations(g()))
    assert len(names) == len(set(names)) == 2 * len(U.FAMILIES)
    assert names[:2] == [U.entry_name(next(iter(U.FAMILIES)), level) for level in (U.MODERATE, U.STRONG)]
    assert list(U.degradations(g(), strength=0.5)) == list(U.FAMILIES)


@pytest.mark.parametrize("family", list(U.FAMILIES))
def test_each_family_keeps_shape_and_range_changes_the_image_and_grows_with_strength(family, digits):
    before = digits.clone()
    moderate, strong = (U.degrade(family, digits, s, g(7)) for s in U.SUITE_STRENGTHS[family].values())
    assert torch.equal(digits, before)                                   # the input is left alone
    for y in (moderate, strong):
        assert y.shape == digits.shape and y.dtype == torch.float32
        assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
    d_moderate, d_strong = seen_difference(moderate, digits), seen_difference(strong, digits)
    assert d_moderate > 0.01, f"{family} (moderate) barely changes the image: {d_moderate:.4f}"
    assert d_strong > d_moderate, f"{family}: strong {d_strong:.4f} <= moderate {d_moderate:.4f}"


def test_suite_is_reproducible_for_the_same_seed(digits):
    first = {name: fn(digits) for name, fn in U.degradations(g(123)).items()}
    again = {name: fn(digits) for name, fn in U.degradations(g(123)).items()}
    assert all(torch.equal(first[name], again[name]) for name in first)
    other = {name: fn(digits) for name, fn in U.degradations(g(124)).items()}
    assert not torch.equal(first["gaussian noise (strong)"], other["gaussian noise (strong)"])


def test_suite_does_not_use_the_camera_model():
    """From pytorch_cnn only loading, classifying and summarising: nothing of the
    training augmentation, so the suite stays independent of what MyNet saw."""
    tree = ast.parse((ROOT / "tools" / "unseen_check.py").read_text())
    used = {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "P"}
    assert used <= {"load_model", "load_mnist", "classify", "summarise"}, used


def test_main_scores_every_entry_and_writes_json(tmp_path, capsys):
    path = tmp_path / "unseen.json"
    accuracy = U.main(["--n", "200", "--json", str(path)])
    assert list(accuracy) == list(U.degradations(g()))
    assert all(0 <= a <= 1 for a in accuracy.values())
    assert accuracy["gaussian noise (strong)"] <= accuracy["gaussian noise (moderate)"]
    out = capsys.readouterr().out
    assert "worst" in out and "families x 2 strengths on 200 images" in out
    written = json.loads(path.read_text())
    assert written["n"] == 200 and written["accuracy"] == accuracy
    assert written["worst"]["accuracy"] == min(accuracy.values())
    assert written["mean"] == pytest.approx(sum(accuracy.values()) / len(accuracy))


def test_held_out_mean_leaves_out_the_families_modelled_since():
    assert set(U.MODELLED_SINCE) <= set(U.FAMILIES)
    accuracy = {U.entry_name(f, level): (0.5 if f in U.MODELLED_SINCE else 1.0)
                for f in U.FAMILIES for level in (U.MODERATE, U.STRONG)}
    assert U.held_out_mean(accuracy) == 1.0


def test_robustness_curves_and_plot(tmp_path, digits, monkeypatch):
    """tools/robustness.py: a curve per model and family, worse at full strength, one PNG."""
    import robustness
    monkeypatch.setattr(U, "FAMILIES", {f: U.FAMILIES[f] for f in ("gaussian noise", "rotation")})
    labels = P.load_mnist(ROOT / "data", train=False)[1][:32]
    models = {"MyNet": P.load_model(ROOT / "model.pt"), "FCNet": P.FCNet().eval()}
    result = robustness.curves(models, digits, labels, strengths=(0.0, 1.0))
    assert set(result) == {"MyNet", "FCNet"} and set(result["MyNet"]) == set(U.FAMILIES)
    assert result["MyNet"]["gaussian noise"][0] > result["MyNet"]["gaussian noise"][1]
    robustness.plot(result, (0.0, 1.0), tmp_path / "robustness.png", columns=2)
    assert (tmp_path / "robustness.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_robustness_marks_modelled_families_and_draws_library_bars(tmp_path, digits):
    """The plot takes the modelled families; library_bars draws one bar per model
    and entry of the library suite (tools/library_check.py)."""
    import robustness
    pytest.importorskip("kornia", reason="tools-only dependency: pip install -r requirements-dev.txt")
    import library_check as L
    result = {"MyNet": {"rotation": [1.0, 0.5], "gaussian noise": [1.0, 0.2]}}
    robustness.plot(result, (0.0, 1.0), tmp_path / "r.png", columns=2, modelled=("rotation",))
    suite = L.entries()[:4]
    library = {"MyNet": {e.name: 0.5 for e in suite}, "FCNet": {e.name: 0.25 for e in suite}}
    robustness.library_bars(library, suite, tmp_path / "bars.png")
    for name in ("r.png", "bars.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_template_recipe_trains_a_baseline():
    import robustness
    images, labels = P.load_mnist(ROOT / "data", train=False)
    x, y = images[:512], labels[:512]
    model = robustness.train_template(P.FCNet, x, y, seed=0, epochs=6)
    assert (P.classify(model, x.float() / 255) == y).float().mean() > 0.8, "chance is 0.1"
    torch.randn(100)   # whatever ran before, the seed fixes the weights
    again = robustness.train_template(P.FCNet, x, y, seed=0, epochs=1)
    other = robustness.train_template(P.FCNet, x, y, seed=1, epochs=1)
    assert torch.equal(robustness.train_template(P.FCNet, x, y, seed=0, epochs=1).fc.weight, again.fc.weight)
    assert not torch.equal(other.fc.weight, again.fc.weight)


def test_baseline_loads_saved_weights_without_reading_the_training_set(tmp_path):
    """A saved baseline loads as is: data_dir points nowhere and is never read."""
    import robustness
    saved = P.FCNet()
    torch.save(P.cpu_state_dict(saved), tmp_path / "FCNet.pt")
    model = robustness.baseline(P.FCNet, tmp_path, tmp_path / "no-data-here", seed=0)
    assert not model.training
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                  saved.state_dict().values()))
