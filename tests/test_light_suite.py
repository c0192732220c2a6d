"""Tests of tools/light_suite.py: the development entries for light, written
independently of the training's light ops."""
import ast

import pytest
import torch

import light_suite as S
from conftest import ROOT, digits, g


@pytest.mark.parametrize("family", list(S.FAMILIES))
def test_each_family_keeps_shape_and_range_is_seeded_and_grows_with_strength(family):
    x, fn = digits(32), S.FAMILIES[family][0]
    weak, strong = fn(x, 0.1, g(1)).clamp(0, 1), fn(x, 1.0, g(1)).clamp(0, 1)
    assert strong.shape == x.shape and torch.equal(strong, fn(x, 1.0, g(1)).clamp(0, 1))
    assert (strong - x).abs().mean() > (weak - x).abs().mean() > 0


def test_suite_has_a_moderate_and_a_strong_entry_per_family_in_order():
    names = [name for name, _, _ in S.entries()]
    assert len(names) == 2 * len(S.FAMILIES) and names[:2] == ["fog (ImageNet-C) (moderate)",
                                                              "fog (ImageNet-C) (strong)"]
    assert list(S.degraded(digits(4))) == names


def test_the_suite_uses_nothing_of_the_camera_model():
    """It measures the training's light ops: it must not be built from them."""
    tree = ast.parse((ROOT / "tools" / "light_suite.py").read_text())
    used = {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "P"}
    assert used <= {"load_model", "classify", "one_line_errors"}, used


def test_plasma_is_seeded_and_spans_zero_to_one():
    import numpy as np
    a, b = S.plasma(np.random.default_rng(0)), S.plasma(np.random.default_rng(0))
    assert a.shape == (32, 32) and np.array_equal(a, b) and a.min() == 0 and a.max() == 1


def test_glare_only_brightens():
    x = digits(16)
    out = S.glare(x, 1.0, g(2))
    assert (out >= x - 1e-6).all() and (out - x).amax() > 0.5
