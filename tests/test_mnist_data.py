"""Tests of tools/mnist_data.py: the shipped MNIST copy is verified on every
run, unpacked when missing or older than its .gz, and the npz holds what
torchvision reads."""
import gzip
import os
import shutil

import numpy as np
import pytest

import mnist_data as D
import pytorch_cnn as P
from conftest import ROOT, assert_one_error_line, run_main


def copy_shipped(tmp_path):
    shutil.copytree(ROOT / "data" / "mnist", tmp_path / "mnist")
    return tmp_path


def damage(gz, how):
    data = bytearray(gz.read_bytes())
    if how == "flip":
        data[1000] ^= 0xFF
        gz.write_bytes(bytes(data))
    elif how == "truncate":
        gz.write_bytes(bytes(data[: len(data) // 2]))
    else:
        gz.unlink()


def test_unpack_verifies_and_unpacks_only_what_is_missing_or_stale(tmp_path):
    root = copy_shipped(tmp_path)
    assert D.unpack(root) == list(D.MNIST_FILES)
    raw = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    assert raw.read_bytes() == gzip.decompress((root / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert not list((root / "MNIST" / "raw").glob("*.tmp"))
    assert D.unpack(root) == []                          # up to date: nothing unpacked again
    gz = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    os.utime(gz, (raw.stat().st_mtime + 10,) * 2)        # a newer .gz is unpacked again
    assert D.unpack(root) == ["t10k-labels-idx1-ubyte"]


@pytest.mark.parametrize("how", ["flip", "truncate", "delete"])
def test_a_damaged_shipped_file_is_caught_even_when_already_unpacked(tmp_path, how):
    root = copy_shipped(tmp_path)
    D.unpack(root)
    damage(root / "mnist" / "t10k-images-idx3-ubyte.gz", how)
    with pytest.raises(D.UserError, match="t10k-images-idx3-ubyte.gz is (corrupted|missing)"):
        D.unpack(root)


def test_the_command_says_so_in_one_line_with_a_fix_for_that_path(tmp_path, capsys):
    root = copy_shipped(tmp_path)
    damage(root / "mnist" / "train-labels-idx1-ubyte.gz", "flip")
    status, err = run_main(D.main, ["--data-dir", str(root), "--npz-path", str(tmp_path / "m.npz")], capsys)
    assert_one_error_line(status, err, "train-labels-idx1-ubyte.gz is corrupted", f"into {root / 'mnist'}")
    status, err = run_main(D.main, ["--data-dir", str(ROOT / "nope")], capsys)
    assert_one_error_line(status, err, "SHA256SUMS not found", "--data-dir")


def test_inside_the_checkout_the_fix_is_git_checkout_of_that_path():
    assert D.restore_hint(ROOT / "data" / "mnist") == "restore it with `git checkout -- data/mnist`"


def test_npz_matches_torchvision(tmp_path, mnist_test):
    """write_npz stores what torchvision's loader reads, under the NumPy lab's keys."""
    path = tmp_path / "mnist.npz"
    D.write_npz(ROOT / "data", path)
    train_images, train_labels = P.load_mnist(ROOT / "data", train=True)
    with np.load(path) as npz:
        assert npz["x_train"].dtype == np.uint8 and npz["y_train"].dtype == np.int64
        assert np.array_equal(npz["x_train"], train_images[:, 0].numpy())
        assert np.array_equal(npz["y_train"], train_labels.numpy())
        assert np.array_equal(npz["x_test"], mnist_test[0][:, 0].numpy())
        assert np.array_equal(npz["y_test"], mnist_test[1].numpy())


def test_training_without_unpacked_data_says_make_data(tmp_path, capsys):
    status, err = run_main(P.main, ["--dry-run", "--data-dir", str(tmp_path)], capsys)
    assert_one_error_line(status, err, "cannot load MNIST", "make data")
