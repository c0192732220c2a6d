"""MNIST, offline: verify the shipped copy, unpack it for torchvision, write the
NumPy lab's npz. `make data` runs it every time (it takes well under a second).

    .venv/bin/python tools/mnist_data.py [--data-dir data] [--npz-path full-mnist.npz]

data/mnist/ holds the four `.gz` files and their SHA256SUMS (its README gives
their provenance and licence). Every run checks the four checksums, then
unpacks into data/MNIST/raw/ (where torchvision reads them) each file that
is missing or older than its `.gz`, and writes the npz when it is missing or
older than what it is made from. Standard library and numpy only: no torch
to import, so the check costs nothing.
"""
import argparse
import gzip
import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from check_submission import Parser   # one-line argument errors; imports only the standard library

ROOT = Path(__file__).resolve().parent.parent
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class UserError(RuntimeError):
    """A problem the user can fix: `main` prints it as one `error:` line and exits 2
    (pytorch_cnn.UserError's convention; this module does not import torch)."""


def read_checksums(sums_path):
    """`sha256sum` format -> {file name: hex digest}."""
    sums = {}
    for line in Path(sums_path).read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def restore_hint(shipped):
    """How to get a damaged shipped file back, whatever the folder is called."""
    try:
        inside = Path(shipped).resolve().relative_to(ROOT)
        return f"restore it with `git checkout -- {inside.as_posix()}`"
    except ValueError:   # a --data-dir outside this checkout
        return f"copy the project's data/mnist/ into {shipped}"


def verify(shipped):
    """Check every `.gz` in `shipped` against SHA256SUMS. -> {name: compressed bytes}.
    Raises UserError naming the first missing or damaged file."""
    sums = read_checksums(shipped / "SHA256SUMS")
    fix = restore_hint(shipped)
    data = {}
    for name in MNIST_FILES:
        gz = shipped / f"{name}.gz"
        if not gz.is_file():
            raise UserError(f"{gz} is missing: {fix}")
        data[name] = gz.read_bytes()
        if hashlib.sha256(data[name]).hexdigest() != sums.get(gz.name):
            raise UserError(f"{gz} is corrupted (SHA-256 mismatch with SHA256SUMS): {fix}")
    return data


def write_atomic(path, content):
    """Write bytes to a temp file, then rename: an interrupted write leaves no half file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def unpack(root):
    """Verify `root/mnist/*.gz` and decompress into `root/MNIST/raw/` each file
    missing there or older than its `.gz`. -> the names unpacked."""
    shipped, raw = Path(root) / "mnist", Path(root) / "MNIST" / "raw"
    if not (shipped / "SHA256SUMS").is_file():
        raise UserError(f"{shipped}/SHA256SUMS not found: {restore_hint(shipped)} "
                        f"(or name the folder holding mnist/ with --data-dir)")
    data = verify(shipped)
    done = []
    for name, compressed in data.items():
        target, gz = raw / name, shipped / f"{name}.gz"
        if target.is_file() and target.stat().st_mtime >= gz.stat().st_mtime:
            continue
        try:
            content = gzip.decompress(compressed)
        except (OSError, EOFError) as err:
            raise UserError(f"{gz} does not decompress ({err}): {restore_hint(shipped)}") from None
        raw.mkdir(parents=True, exist_ok=True)
        write_atomic(target, content)
        done.append(name)
    return done


def read_idx(path):
    """An IDX file (MNIST's format: big-endian magic, sizes, then uint8 data) -> numpy array."""
    content = Path(path).read_bytes()
    dims = content[3]
    shape = tuple(int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_npz(root, path):
    """The NumPy lab's data file: x_train (60000, 28, 28) uint8, y_train (60000,)
    int64, x_test (10000, 28, 28) uint8, y_test (10000,) int64, from the
    unpacked files. Written atomically."""
    raw = Path(root) / "MNIST" / "raw"
    arrays = {key: read_idx(raw / name) for key, name in
              zip(("x_train", "y_train", "x_test", "y_test"), MNIST_FILES)}
    for key in ("y_train", "y_test"):
        arrays[key] = arrays[key].astype(np.int64)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    try:
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)
    except OSError as err:   # a missing folder, no permission, a full disk
        raise UserError(f"cannot write {path} ({err.strerror or type(err).__name__}): "
                        f"choose a writable --npz-path or free some disk space") from None
    finally:
        tmp.unlink(missing_ok=True)


def main(argv=None):
    parser = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data", help="holds mnist/ (shipped) and MNIST/raw/ (default: data)")
    parser.add_argument("--npz-path", default="full-mnist.npz", help="the NumPy lab's data file (default: full-mnist.npz)")
    args = parser.parse_args(argv)
    try:
        unpacked = unpack(args.data_dir)
        raw = Path(args.data_dir) / "MNIST" / "raw"
        newest = max((raw / name).stat().st_mtime for name in MNIST_FILES)
        npz = Path(args.npz_path)
        if unpacked or not npz.is_file() or npz.stat().st_mtime < newest:
            write_npz(args.data_dir, npz)
            unpacked.append(str(npz))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    print(f"MNIST verified (SHA-256) in {args.data_dir}/mnist; "
          + (f"wrote {', '.join(unpacked)}" if unpacked else f"{raw} and {npz} up to date"))
    return unpacked


if __name__ == "__main__":
    main()
