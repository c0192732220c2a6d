"""Tests of tools/unseen_suite.py: the unseen suite (degradations outside the
camera model), its determinism and its report."""
import ast
import json

import pytest
import torch
import torch.nn.functional as F

import conftest
import pytorch_cnn as P
import unseen_suite as U
from conftest import ROOT, g


@pytest.fixture(scope="module")
def digits():
    return conftest.digits(32)


def seen_difference(y, x):
    """Mean absolute difference at a reader's scale (3 x 3 box average): a
    halftone's dots or a shift by a few pixels count by what they move, not by
    how many pixels flip."""
    return (F.avg_pool2d(y, 3, 1, 1) - F.avg_pool2d(x, 3, 1, 1)).abs().mean().item()


def test_suite_has_at_least_30_families_each_at_a_moderate_and_a_strong_strength():
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
    """From pytorch_cnn only loading, classifying, summarising and its error type: nothing of the
    training augmentation, so the suite stays independent of what MyNet saw."""
    tree = ast.parse((ROOT / "tools" / "unseen_suite.py").read_text())
    used = {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "P"}
    assert used <= {"load_model", "load_mnist", "classify", "summarise", "one_line_errors"}, used


def test_main_scores_every_entry_and_writes_json(tmp_path, capsys, committed_model_path):
    path = tmp_path / "unseen.json"
    accuracy = U.main(["--n", "100", "--json", str(path), "--model-path", str(committed_model_path)])
    assert list(accuracy) == list(U.degradations(g()))
    assert all(0 <= a <= 1 for a in accuracy.values())
    assert accuracy["gaussian noise (strong)"] <= accuracy["gaussian noise (moderate)"]
    out = capsys.readouterr().out
    assert "worst" in out and "families x 2 strengths on 100 dev images" in out
    written = json.loads(path.read_text())
    assert written["n"] == 100 and written["accuracy"] == accuracy
    assert written["worst"]["accuracy"] == min(accuracy.values())
    assert written["mean"] == pytest.approx(sum(accuracy.values()) / len(accuracy))
    held = written["held_out_families"]
    assert held == U.held_out(U.trained_with(committed_model_path)) and "elastic" not in held
    assert written["held_out_mean"] == pytest.approx(U.held_out_mean(accuracy, held))


def test_counterparts_name_every_family_and_only_training_ops():
    ops = set(P.DEGRADATIONS) | set(P.PRIMITIVES) | set(P.LIGHT)
    assert list(U.COUNTERPARTS) == list(U.FAMILIES)
    assert set().union(*map(set, U.COUNTERPARTS.values())) <= ops


def test_held_out_is_computed_from_what_a_model_was_trained_with():
    assert U.held_out([]) == list(U.FAMILIES)
    with_camera = U.held_out(P.DEGRADATIONS)
    assert "elastic" not in with_camera and "wobble" in with_camera      # warp is a camera op
    assert "wobble" not in U.held_out([*P.DEGRADATIONS, "paper_warp"])   # paper_warp, a primitive
    assert "hard shadow" in with_camera and "hard shadow" not in U.held_out(["light_shapes"])
    accuracy = {U.entry_name(f, level): (1.0 if f in with_camera else 0.5)
                for f in U.FAMILIES for level in (U.MODERATE, U.STRONG)}
    assert U.held_out_mean(accuracy, with_camera) == 1.0
    assert U.held_out_mean(accuracy, []) is None


def test_trained_with_reads_the_shipped_histories():
    base = U.trained_with(ROOT / "results" / "mynet-base.pt")
    shipped = U.trained_with(ROOT / "model.pt")
    assert set(base) == set(P.DEGRADATIONS)
    assert set(base) < set(shipped) and set(P.PRIMITIVES) <= set(shipped)
    assert len(U.held_out(shipped)) < len(U.held_out(base))


CLOSE = 0.25   # an op that leaves under a quarter of the family's change unexplained makes the same change


def test_every_family_close_to_a_training_op_declares_it(digits):
    """A family's output within CLOSE of an op's on the same images and seed
    (squared error relative to the family's own change, the op at its best of
    a few strengths) is the same kind of change: COUNTERPARTS must name it.
    Pixel-wise, so it catches deterministic look-alikes (blurs, pixelation) and
    noise laws drawn the same way; a random-parameter twin needs a declaration
    by reading its docstring."""
    x = digits[:24]
    ops = {**P.DEGRADATIONS, **P.PRIMITIVES, **P.LIGHT}
    undeclared = []
    for family, (fn, (_, strong)) in U.FAMILIES.items():
        fx = fn(x, strong, g(0)).clamp(0, 1)
        change = ((fx - x) ** 2).mean()
        for name, op in ops.items():
            gap = min(((fx - op(x, torch.full((len(x),), s), g(0)).clamp(0, 1)) ** 2).mean() / change
                      for s in (0.25, 0.6, 1.0))
            if gap < CLOSE and name not in U.COUNTERPARTS[family]:
                undeclared.append(f"{family} ~ {name} ({gap:.2f})")
    assert not undeclared, undeclared
