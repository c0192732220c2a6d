"""Tests of tools/read_by_eye.py: blind sheets of development digits, the kept
readings, and the statistics that put a person beside the model."""
import json
import math

import pytest
import torch

import pytorch_cnn as P
import read_by_eye as R
import splits
from conftest import assert_one_error_line, run_main


@pytest.fixture(scope="module")
def dev():
    return splits.images("dev")


def test_sample_is_seeded_per_entry_and_drawn_from_the_development_split(dev):
    x, y = R.sample("light", "glare (strong)", dev)
    again, _ = R.sample("light", "glare (strong)", dev)
    other, _ = R.sample("light", "haze (strong)", dev)
    assert x.shape == (R.READ_N, 1, 28, 28) and torch.equal(x, again) and not torch.equal(x, other)
    pick = torch.randperm(len(dev[0]), generator=torch.Generator().manual_seed(
        R.entry_seed("light", "glare (strong)")))[:R.READ_N]
    assert torch.equal(y, dev[1][pick])                     # development labels, never the test set's


def test_unknown_entry_is_one_clear_error(capsys):
    status, err = run_main(R.main, ["sheets", "--suite", "light", "--entry", "fog"], capsys)
    assert_one_error_line(status, err, "unknown entry 'fog' of the light suite")


def test_sheets_are_numbered_and_show_no_label(tmp_path, monkeypatch):
    import matplotlib.axes
    titles = []
    set_title = matplotlib.axes.Axes.set_title
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", lambda self, t, **kw: titles.append(t) or
                        set_title(self, t, **kw))
    R.main(["sheets", "--suite", "light", "--entry", "glare (strong)", "--out", str(tmp_path)])
    assert (tmp_path / "light" / "glare-strong.png").is_file()
    assert titles == [str(k) for k in range(R.READ_N)]       # the numbers, nothing else


@pytest.mark.parametrize("text, problem", [("1 2 3", "found 3 words"), ("1 2 x 4", "not digits: ['x']"),
                                           ("1 2 34 5", "not digits: ['34']")])
def test_bad_answers_are_one_clear_error(tmp_path, text, problem):
    (tmp_path / "a.txt").write_text(text)
    with pytest.raises(P.UserError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        R.read_answers(tmp_path / "a.txt", 4)


def test_mcnemar_and_kappa_against_hand_computed_values():
    right = torch.ones(10, dtype=torch.bool)
    five_wrong = right.clone()
    five_wrong[:5] = False
    assert R.mcnemar(right, five_wrong) == pytest.approx(2 / 2 ** 5)     # 5 discordant pairs, all one way
    assert R.mcnemar(five_wrong, five_wrong) == 1.0
    a = torch.tensor([1, 1, 0, 0, 1, 1, 0, 0], dtype=torch.bool)
    b = torch.tensor([1, 1, 0, 0, 0, 0, 1, 1], dtype=torch.bool)
    assert R.kappa(a, a) == pytest.approx(1.0) and R.kappa(a, ~a) == pytest.approx(-1.0)
    assert R.kappa(a, b) == pytest.approx(0.0)                           # independent errors
    assert math.isnan(R.kappa(right, a))                                 # one never errs


def test_score_puts_the_person_beside_the_model_on_the_same_images(tmp_path, dev):
    _, y = R.sample("light", "glare (strong)", dev)
    path = R.answers_path("light", "glare (strong)", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("# entry: glare (strong)\n# reader: a test\n" + " ".join(map(str, y.tolist())))
    torch.manual_seed(0)
    untrained = P.MyNet().eval()
    rows = R.score(untrained, tmp_path, dev)
    row = rows["light"]["glare (strong)"]
    assert row["person"] == 1.0 and row["readable"] and row["model"] < 0.5 and row["p"] < 0.001
    lines = R.report(rows, {"light": [0.6, 0.55, 0.65]})
    assert "the model trails the person beyond the noise on 1: glare (strong)" in lines[-1]
    assert "mean over readable entries (dev): 60.00 [55.00, 65.00] %" in lines[-1]


def test_every_kept_reading_is_24_digits_of_a_known_entry():
    paths = sorted(R.READINGS.glob("*/*.txt"))
    assert len(paths) >= 40
    for path in paths:
        name = path.read_text().splitlines()[0].removeprefix("# entry:").strip()
        assert name in R.suite_entries(path.parent.name) and R.answers_path(path.parent.name, name) == path
        assert len(R.read_answers(path)) == R.READ_N
        assert "blind" in path.read_text().splitlines()[1]


def test_score_takes_the_readable_means_of_the_model_it_scores(tmp_path, dev, capsys):
    _, y = R.sample("light", "glare (strong)", dev)
    path = R.answers_path("light", "glare (strong)", tmp_path / "readings")
    path.parent.mkdir(parents=True)
    path.write_text("# entry: glare (strong)\n# reader: a test\n" + " ".join(map(str, y.tolist())))
    model = R.ROOT / "model.pt"
    figures = {"other.pt": {"readable": {"light": [0.5, 0.4, 0.6]}},
               str(model): {"readable": {"light": [0.9, 0.85, 0.95]}}}
    (tmp_path / "dev.json").write_text(json.dumps(figures))
    argv = ["score", "--readings", str(tmp_path / "readings"), "--dev-json", str(tmp_path / "dev.json")]
    R.main(argv)
    assert "mean over readable entries (dev): 90.00 [85.00, 95.00] %" in capsys.readouterr().out
    figures[str(model)]["split"] = "test"                 # the test split's figures are not dev's
    (tmp_path / "dev.json").write_text(json.dumps(figures))
    with pytest.raises(SystemExit):
        R.main(argv)
    assert "has no development-split readable means of" in capsys.readouterr().err
    del figures[str(model)]
    (tmp_path / "dev.json").write_text(json.dumps(figures))
    with pytest.raises(SystemExit):
        R.main(argv)
    assert "has no development-split readable means of" in capsys.readouterr().err
