"""Tests of tools/library_suite.py: the library suite (kornia and torchvision
transforms at two settings), its determinism, its readable flags, its report
and the failure sheet."""
import json

import pytest
import torch

import pytorch_cnn as P
from conftest import assert_one_error_line, is_png, run_main

pytest.importorskip("kornia", reason="tools-only dependency: pip install -r requirements-dev.txt")
import library_suite as L  # noqa: E402  (after the skip: it imports kornia)

SUITE = L.entries()


@pytest.fixture(scope="module")
def digits():
    return L.splits.images("test", 50)


def test_suite_has_at_least_30_distinct_library_transforms_each_at_two_settings():
    makes = [t.make for t in L.TRANSFORMS]
    assert len(set(makes)) == len(makes) >= 30
    assert {m.split(".")[0] for m in makes} == {"kornia", "torchvision"}
    assert all(repr(t.default) != repr(t.harsher) for t in L.TRANSFORMS)
    names = [e.name for e in SUITE]
    assert len(names) == len(set(names)) == 2 * len(makes)
    assert [e.setting for e in SUITE[:2]] == [L.DEFAULT, L.HARSHER]


def test_every_entry_has_a_readable_flag_and_unreadable_ones_a_reason():
    for t in L.TRANSFORMS:
        assert set(t.unreadable or {}) <= {L.DEFAULT, L.HARSHER}, t.make
    unread = L.read_unreadable()                       # from the kept blind readings
    for e in SUITE:
        assert e.readable == (e.name not in unread) and e.readable == (e.reason == ""), e.name
        assert "\n" not in e.reason
    assert 0 < sum(e.readable for e in SUITE) < len(SUITE)


@pytest.mark.parametrize("entry", SUITE, ids=[e.name for e in SUITE])
def test_entry_is_deterministic_keeps_shape_and_range_and_changes_the_image(entry, digits):
    x = digits[0]
    before, state = x.clone(), torch.get_rng_state()
    y = L.apply(entry, x, seed=5)
    assert torch.equal(x, before)                                # the input is left alone
    assert torch.equal(torch.get_rng_state(), state)             # so is the caller's generator
    assert y.shape == x.shape and y.dtype == torch.float32
    assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1
    assert torch.equal(L.apply(entry, x, seed=5), y)             # same seed, same images
    assert (y - x).abs().mean() > 1e-3, f"{entry.name} leaves the digits as they are"


def test_a_random_entry_depends_on_its_seed(digits):
    entry = next(e for e in SUITE if e.name == "kornia.RandomRotation (default)")
    assert not torch.equal(L.apply(entry, digits[0], 1), L.apply(entry, digits[0], 2))


def test_readable_summary_leaves_out_unreadable_entries():
    accuracy = {e.name: (0.0 if not e.readable else 0.95) for e in SUITE}
    first = next(e.name for e in SUITE if e.readable)
    accuracy[first] = 0.5
    mean, (worst_name, worst), below = L.readable_summary(accuracy, SUITE)
    n = sum(e.readable for e in SUITE)
    assert mean == pytest.approx((0.95 * (n - 1) + 0.5) / n)
    assert (worst_name, worst, below) == (first, 0.5, 1)


def test_main_reports_every_entry_for_a_tiny_model_and_draws_the_failures(tmp_path, capsys):
    torch.manual_seed(0)
    model_path = tmp_path / "tiny.pt"
    torch.save(P.MyNet().state_dict(), model_path)               # untrained: near chance
    out = L.main(["--model-path", str(model_path), "--n", "20", "--json", str(tmp_path / "lib.json"),
                  "--failures", str(tmp_path / "failures.png")])
    assert list(out["accuracy"]) == [e.name for e in SUITE]
    assert all(0 <= a <= 1 for a in out["accuracy"].values())
    assert out["worst_readable"]["accuracy"] == min(a for name, a in out["accuracy"].items()
                                                    if out["readable"][name])
    assert 0 <= out["unseen_mean"] <= 1 and 0 <= out["held_out_mean"] <= 1
    assert json.loads((tmp_path / "lib.json").read_text())["accuracy"] == out["accuracy"]
    assert is_png(tmp_path / "failures.png")
    printed = capsys.readouterr().out
    assert "readable mean" in printed and "held-out mean" in printed


def test_draws_the_failures_only_where_told():
    """Run by hand it prints; only `make evaluate` rewrites the committed results/failures.png."""
    assert L.parse_args([]).failures == ""
    assert L.parse_args(["--failures", "f.png"]).failures == "f.png"


def test_missing_model_is_a_one_line_error(tmp_path, capsys):
    status, err = run_main(L.main, ["--model-path", str(tmp_path / "nope.pt"), "--n", "10"], capsys)
    assert_one_error_line(status, err, "nope.pt not found")


def test_failure_sheet_shows_the_worst_readable_entries_of_both_suites(tmp_path, digits):
    x, y = digits[0][:16], digits[1][:16]
    model = P.MyNet().eval()
    accuracy = {e.name: 0.9 for e in SUITE}
    unreadable = next(e.name for e in SUITE if not e.readable)
    readable = [e.name for e in SUITE if e.readable]
    accuracy.update({unreadable: 0.0, readable[3]: 0.1, readable[1]: 0.2})
    names = list(L.U.degradations(torch.Generator()))
    unseen = {name: 0.8 for name in names}
    unseen.update({names[5]: 0.3, names[0]: 0.4})
    path = tmp_path / "failures.png"
    shown = L.failure_sheet(model, x, y, SUITE, accuracy, unseen, path, worst=2, n=4)
    assert shown == [names[5], names[0], readable[3], readable[1]]
    assert is_png(path)


def test_failure_row_puts_mistakes_first_in_red():
    class Fixed(torch.nn.Module):                     # answers 3 for every image
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.nn.functional.one_hot(torch.full((len(x),), 3), 10).float() + 0 * self.w

    y = torch.tensor([3, 1, 3, 7])
    label, images, captions, red = L.failure_row(Fixed(), "row", torch.zeros(4, 1, 28, 28), y, n=3)
    assert captions == ["3 (true 1)", "3 (true 7)", "3 (true 3)"] and red == [True, True, False]
    assert images.shape == (3, 1, 28, 28)
