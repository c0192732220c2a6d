"""Tests of tools/histories.py: what a model was trained with, followed through its --init."""
import json

import pytest

import histories as H
import pytorch_cnn as P
from conftest import ROOT


def write(path, ops, init=""):
    path.write_text(json.dumps({"trained_with": ops, "config": {"init": init}, "epochs": [{"epoch": 1}]}))


def test_the_shipped_histories_are_found_and_read():
    assert H.history_beside(ROOT / "results" / "mynet-base.pt") == ROOT / "results" / "mynet-base_history.json"
    assert H.history_beside(ROOT / "model.pt") == ROOT / "results" / "pytorch_cnn_history.json"
    epochs, config, ops = H.read_history(ROOT / "results" / "mynet-base_history.json")
    assert len(epochs) == 150 and ops == sorted(P.DEGRADATIONS) and not config.get("init")


def test_trained_with_follows_the_init_chain(tmp_path):
    write(tmp_path / "a.json", ["warp"])
    write(tmp_path / "b.json", ["jpeg"], init=str(tmp_path / "a.pt"))
    write(tmp_path / "c.json", ["haze"], init=str(tmp_path / "b.pt"))
    assert H.trained_with(tmp_path / "c.pt") == ["haze", "jpeg", "warp"]
    assert H.trained_with(tmp_path / "b.pt") == ["jpeg", "warp"]
    write(tmp_path / "d.json", ["haze"], init=str(tmp_path / "d.pt"))    # --init its own output: a loop
    assert H.trained_with(tmp_path / "d.pt") == P.training_ops(P.Config())


def test_a_relative_init_is_read_from_the_checkout(tmp_path, monkeypatch):
    monkeypatch.setattr(H, "ROOT", tmp_path)
    (tmp_path / "runs").mkdir()
    write(tmp_path / "runs" / "base.json", ["warp"])
    write(tmp_path / "tuned.json", ["jpeg"], init="runs/base.pt")
    assert H.trained_with(tmp_path / "tuned.pt") == ["jpeg", "warp"]


def test_without_a_history_every_op_of_todays_training_counts_as_seen(tmp_path):
    assert H.trained_with(tmp_path / "nothing.pt") == P.training_ops(P.Config())
    (tmp_path / "old.json").write_text(json.dumps([{"epoch": 1}]))       # a history before ops were recorded
    assert H.read_history(tmp_path / "old.json") == ([{"epoch": 1}], {}, None)
    assert H.trained_with(tmp_path / "old.pt") == P.training_ops(P.Config())


def test_an_unreadable_history_is_one_line(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(P.UserError, match="cannot read the history .*bad.json"):
        H.read_history(tmp_path / "bad.json")
