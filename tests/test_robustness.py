"""Tests of tools/robustness.py: accuracy curves against the strength of the
unseen families, the plot and library bars, the template-recipe baselines."""
import pytest
import torch

import conftest
import pytorch_cnn as P
import robustness
import unseen_suite as U
from conftest import is_png


@pytest.fixture(scope="module")
def digits():
    return conftest.digits(32)


def test_robustness_curves_and_plot(tmp_path, digits, mnist_test, committed_model_path, monkeypatch):
    """A curve per model and family, worse at full strength, one PNG."""
    monkeypatch.setattr(U, "FAMILIES", {f: U.FAMILIES[f] for f in ("gaussian noise", "rotation")})
    labels = mnist_test[1][:32]
    models = {"MyNet": P.load_model(committed_model_path), "FCNet": P.FCNet().eval()}
    result = robustness.curves(models, digits, labels, strengths=(0.0, 1.0))
    assert set(result) == {"MyNet", "FCNet"} and set(result["MyNet"]) == set(U.FAMILIES)
    assert result["MyNet"]["gaussian noise"][0] > result["MyNet"]["gaussian noise"][1]
    robustness.plot(result, (0.0, 1.0), tmp_path / "robustness.png", columns=2)
    assert is_png(tmp_path / "robustness.png")


def test_robustness_marks_modelled_families_and_draws_library_bars(tmp_path, digits, monkeypatch):
    """Modelled families get grey panels titled "(modelled)"; library_bars
    draws one bar per model and entry at its accuracy, and bands and marks
    exactly the entries the readings call unreadable."""
    pytest.importorskip("kornia", reason="tools-only dependency: pip install -r requirements-dev.txt")
    import matplotlib.axes
    import library_suite as L
    titles, bars, marks = [], [], []
    set_title, barh, text = matplotlib.axes.Axes.set_title, matplotlib.axes.Axes.barh, matplotlib.axes.Axes.text
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", lambda self, t, **kw: titles.append(t) or
                        set_title(self, t, **kw))
    monkeypatch.setattr(matplotlib.axes.Axes, "barh", lambda self, y, w, *a, **kw: bars.append(list(w)) or
                        barh(self, y, w, *a, **kw))
    monkeypatch.setattr(matplotlib.axes.Axes, "text", lambda self, x, y, t, **kw: marks.append((y, t)) or
                        text(self, x, y, t, **kw))
    result = {"MyNet": {"rotation": [1.0, 0.5], "gaussian noise": [1.0, 0.2]}}
    robustness.plot(result, (0.0, 1.0), tmp_path / "r.png", columns=2, modelled=("rotation",))
    assert "rotation (modelled)" in titles and "gaussian noise" in titles
    suite = L.entries()[:4]
    suite[1] = L.Entry(suite[1].name, suite[1].transform, suite[1].setting, False, "read blind")
    library = {"MyNet": {e.name: 0.5 for e in suite}, "FCNet": {e.name: 0.25 for e in suite}}
    robustness.library_bars(library, suite, tmp_path / "bars.png")
    assert sorted(map(sorted, bars)) == sorted(map(sorted, [[50.0, 50.0], [50.0, 50.0], [25.0, 25.0],
                                                             [25.0, 25.0]]))
    assert [t for _, t in marks if "unreadable" in t] == ["unreadable (read blind)"]


def test_template_recipe_trains_a_baseline(mnist_test):
    x, y = mnist_test[0][:512], mnist_test[1][:512]
    model = robustness.train_template(P.FCNet, x, y, seed=0, epochs=6)
    assert (P.classify(model, x.float() / 255) == y).float().mean() > 0.8, "chance is 0.1"
    torch.randn(100)   # whatever ran before, the seed fixes the weights
    again = robustness.train_template(P.FCNet, x, y, seed=0, epochs=1)
    other = robustness.train_template(P.FCNet, x, y, seed=1, epochs=1)
    assert torch.equal(robustness.train_template(P.FCNet, x, y, seed=0, epochs=1).fc.weight, again.fc.weight)
    assert not torch.equal(other.fc.weight, again.fc.weight)


def test_baseline_loads_saved_weights_without_reading_the_training_set(tmp_path):
    """A saved baseline loads as is: data_dir points nowhere and is never read."""
    saved = P.FCNet()
    torch.save(P.cpu_state_dict(saved), tmp_path / "FCNet.pt")
    model = robustness.baseline(P.FCNet, tmp_path, tmp_path / "no-data-here", seed=0)
    assert not model.training
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                  saved.state_dict().values()))
