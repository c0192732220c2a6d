"""Tests of tools/plots.py, the plotting helpers the tools share."""
import torch

import plots
from conftest import digits


def test_digit_strip_puts_each_digit_in_its_slot_and_nan_between():
    x = digits(3)
    strip = plots.digit_strip(x, gap=4, columns=5)
    assert strip.shape == (28, 5 * 32 - 4)
    for k in range(3):
        assert torch.equal(strip[:, 32 * k:32 * k + 28], x[k, 0])
        assert strip[:, 32 * k + 28:32 * k + 32].isnan().all()
    assert strip[:, 96:].isnan().all()                                   # the two empty slots
