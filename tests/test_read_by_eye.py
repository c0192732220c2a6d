"""Tests of tools/read_by_eye.py: the human baseline's images, sheets and scoring."""
import pytest
import torch

import pytorch_cnn as P
import read_by_eye as R
from conftest import ROOT, is_png


def test_sample_is_the_seeded_pick_of_evaluates_images(mnist_test):
    x, y = R.sample("cheap camera", 12, seed=7)
    again, _ = R.sample("cheap camera", 12, seed=7)
    other, _ = R.sample("cheap camera", 12, seed=8)
    assert x.shape == (12, 1, 28, 28) and y.shape == (12,) and torch.equal(x, again)
    assert not torch.equal(x, other)
    images, labels = mnist_test
    clean, clean_y = R.sample("clean", 2000, seed=7)
    assert torch.equal(clean_y.sort().values, labels[:2000].sort().values)
    assert torch.equal(clean.sum((1, 2, 3)).sort().values,
                       (images[:2000].float() / 255).sum((1, 2, 3)).sort().values)


def test_unknown_entry_is_one_clear_error():
    with pytest.raises(SystemExit, match="unknown entry 'fog'"):
        R.sample("fog", 4, seed=0)


def test_sheets_hold_every_image(tmp_path):
    x, _ = R.sample("night shot", 25, seed=0)
    paths = R.write_sheets(x, tmp_path / "sheets", per_sheet=20)
    assert [p.name for p in paths] == ["sheet_0.png", "sheet_1.png"]
    assert all(is_png(p) for p in paths)


@pytest.mark.parametrize("text, problem", [("1 2 3", "found 3 words"), ("1 2 x 4", "not digits: ['x']"),
                                           ("1 2 34 5", "not digits: ['34']")])
def test_bad_answers_are_one_clear_error(tmp_path, text, problem):
    (tmp_path / "a.txt").write_text(text)
    with pytest.raises(SystemExit, match=problem.replace("[", r"\[").replace("]", r"\]")):
        R.read_answers(tmp_path / "a.txt", 4)


def test_score_compares_the_reader_and_the_model(tmp_path, capsys, committed_model_path):
    _, y = R.sample("cheap camera", 10, seed=7)
    wrong = (y + 1) % 10
    answers = "# a comment line\n" + " ".join(map(str, y[:8].tolist() + wrong[8:].tolist())) + "\n"
    (tmp_path / "a.txt").write_text(answers)
    result = R.main(["score", str(tmp_path / "a.txt"), "--n", "10", "--model-path", str(committed_model_path)])
    assert result["reader"] == pytest.approx(0.8) and 0 <= result["model"] <= 1
    assert f"8: {wrong[8].item()} for {y[8].item()}" in capsys.readouterr().out


def test_the_recorded_reading_scores_below_the_model(committed_model_path):
    """results/baselines/cheap-camera-by-eye.txt is a valid reading of the default 80 images."""
    x, y = R.sample("cheap camera", 80, seed=7)
    reader = R.read_answers(ROOT / "results" / "baselines" / "cheap-camera-by-eye.txt", 80)
    assert 0.3 < (reader == y).float().mean() < (P.classify(P.load_model(committed_model_path), x) == y).float().mean()
