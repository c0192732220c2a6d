"""Tests of tools/score_runs.py: rows with intervals, paired differences with verdicts."""
import torch

import score_runs



def fake(p, n=200, seed=0, entries=("a (moderate)", "a (strong)")):
    g = torch.Generator().manual_seed(seed)
    return {e: torch.rand(n, generator=g) < p for e in entries}


def test_report_gives_intervals_and_a_verdict_per_column():
    scores = {"one.pt": {"clean": torch.ones(200, dtype=torch.bool), "light": fake(0.7)},
              "two.pt": {"clean": torch.ones(200, dtype=torch.bool), "light": fake(0.7)}}
    scores["two.pt"]["light"] = {e: c | (torch.rand(200, generator=torch.Generator().manual_seed(1)) < 0.6)
                                 for e, c in scores["one.pt"]["light"].items()}
    lines = score_runs.report(["one.pt", "two.pt"], scores, "dev", 200, entries="light")
    text = "\n".join(lines)
    assert "| one.pt | 100.00 [98.12, 100.00] |" in text                     # Wilson on one entry
    assert "paired: two.pt minus one.pt" in text and "better" in text and "no difference" in text
    assert "a (strong)" in text


def test_main_scores_two_models_on_the_same_dev_images(committed_model_path, capsys):
    base = score_runs.ROOT / "results" / "mynet-base.pt"
    figures = score_runs.main([str(base), str(committed_model_path), "--n", "60", "--suites", "camera,light"])
    out = capsys.readouterr().out
    assert set(figures) == {str(base), str(committed_model_path)}
    assert set(figures[str(base)]["columns"]) == {"clean", "camera mean", "cheap camera", "light mean"}
    assert "dev split, 60 images" in out and f"paired: {committed_model_path} minus {base}" in out


def test_readable_means_leave_out_what_the_kept_readings_call_unreadable():
    import read_by_eye
    unread = read_by_eye.unreadable("light")
    assert "flare (strong)" in unread                                   # a person read 21 of 24
    import light_suite
    names = [name for name, _, _ in light_suite.entries()]
    s = {"light": {e: torch.full((50,), e not in unread) for e in names}}  # right exactly where readable
    mean, low, high = score_runs.readable_means(s, ["light"])["light"]
    assert mean == low == high == 1.0
