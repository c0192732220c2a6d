"""Tests of tools/splits.py: which images a figure is measured on, and its noise."""
import pytest
import torch

import pytorch_cnn as P
import splits
from conftest import ROOT


def test_dev_images_are_the_ones_training_holds_out():
    x, y = splits.images("dev", 50)
    train_x, train_y = P.load_mnist(ROOT / "data", train=True)
    train_idx, dev_idx = P.split_train_val(len(train_x), P.Config.val_size, P.Config.split_seed)
    assert torch.equal(x, train_x[dev_idx[:50]].float() / 255) and torch.equal(y, train_y[dev_idx[:50]])
    assert not set(dev_idx.tolist()) & set(train_idx.tolist())
    assert len(splits.images("dev")[0]) == P.Config.val_size


def test_the_split_does_not_move_with_the_seed():
    """--seed changes the weights and the batches, never which images are held out."""
    assert P.Config(seed=1).split_seed == P.Config(seed=0).split_seed


def test_test_images_are_the_test_set_in_order(mnist_test):
    x, y = splits.images("test", 10)
    assert torch.equal(y, mnist_test[1][:10]) and torch.equal(x, mnist_test[0][:10].float() / 255)


def test_wilson_interval_against_known_values():
    assert splits.wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert splits.wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    low, high = splits.wilson(9500, 10000)
    assert low == pytest.approx(0.9456, abs=1e-4) and high == pytest.approx(0.9541, abs=1e-4)


def test_bootstrap_intervals_hold_the_mean_and_no_difference_is_called_so():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(5, 400, generator=g) < 0.9
    mean, low, high = splits.mean_interval(a)
    assert low < mean < high and mean == pytest.approx(a.float().mean().item())
    assert splits.paired_difference(a, a) == (0.0, 0.0, 0.0)
    assert splits.verdict(*splits.paired_difference(a, a)) == "no difference"
    better = a | (torch.rand(5, 400, generator=g) < 0.5)
    d, low, high = splits.paired_difference(a, better)
    assert 0 < low < d < high and splits.verdict(d, low, high) == "better"
    assert splits.verdict(-d, -high, -low) == "worse"


def test_an_unknown_split_is_a_user_error():
    with pytest.raises(P.UserError, match="unknown split 'val'"):
        splits.images("val")
