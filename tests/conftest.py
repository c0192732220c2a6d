"""What the test files share: the repository on sys.path, the committed graded
files, the MNIST test set, seeded generators and small helpers; the `compat`
marker (the full loader matrix, run by `make compat` or `pytest --compat`)."""
import functools
import io
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The graded scripts and tools/ are scripts, not a package: tests import them by name.
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

PNG = b"\x89PNG\r\n\x1a\n"   # the 8-byte signature every PNG starts with


def is_png(path):
    return Path(path).read_bytes()[:8] == PNG


def committed_bytes(name):
    """The committed version of ROOT/name (`git show HEAD:name`) in a git
    checkout, else the file: the shipped file, not what training or `make ship`
    left in the working tree."""
    try:
        return subprocess.run(["git", "show", f"HEAD:{name}"], cwd=ROOT, capture_output=True,
                              check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):   # no git, not a checkout, not committed
        return (ROOT / name).read_bytes()


@pytest.fixture(scope="session")
def committed_model_path(tmp_path_factory):
    """A copy of the committed model.pt."""
    path = tmp_path_factory.mktemp("committed") / "model.pt"
    path.write_bytes(committed_bytes("model.pt"))
    return path


# -------------------- torch helpers (torch is imported only by the tests that use it)

@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Tests share 2 cores with other work: one intra-op thread avoids OpenMP
    thrashing. Runs after collection, so torch is loaded if any test file uses it."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def g(seed=0):
    """A seeded torch.Generator."""
    import torch
    return torch.Generator().manual_seed(seed)


@functools.lru_cache(maxsize=None)
def load_mnist_test():
    """The MNIST test set, read once. -> images uint8 (10000, 1, 28, 28), labels int64 (10000,).
    Shared: copy before changing them in place."""
    import pytorch_cnn
    return pytorch_cnn.load_mnist(ROOT / "data", train=False)


@pytest.fixture(scope="session")
def mnist_test():
    """(images uint8 (10000, 1, 28, 28), labels int64 (10000,)): see load_mnist_test."""
    return load_mnist_test()


def digits(n=64, start=0):
    """n MNIST test digits from `start` as floats in [0, 1]. -> (n, 1, 28, 28), a new tensor."""
    return load_mnist_test()[0][start:start + n].float() / 255


def saved(obj):
    """torch.save(obj) -> bytes."""
    import torch
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def untrained_state(seed=0):
    """A seeded untrained MyNet's plain CPU state_dict (what model.pt holds)."""
    import torch
    import pytorch_cnn
    torch.manual_seed(seed)
    return pytorch_cnn.cpu_state_dict(pytorch_cnn.MyNet())


def run_main(main, argv, capsys):
    """main(argv) as its command line runs it (each script's `__main__` calls
    only main()), expecting it to exit. -> (exit status, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return exit_info.value.code, capsys.readouterr().err


def assert_one_error_line(status, err, *words):
    """A user error: exit status 2 and one `error:` line holding every word."""
    lines = err.strip().splitlines()
    assert status == 2 and "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert all(word in lines[0] for word in words), lines[0]


def truncated(data):
    return data[: len(data) // 2]


# -------------------- the `compat` marker: slow cases left to `make compat`

def pytest_addoption(parser):
    parser.addoption("--compat", action="store_true",
                     help="also run the tests marked compat (the full loader matrix; `make compat`)")


def pytest_configure(config):
    config.addinivalue_line("markers", "compat: a slow compatibility case, run only with --compat "
                                       "(`make compat`); `make test` keeps one case per loader")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--compat"):
        return
    slow = [item for item in items if item.get_closest_marker("compat")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("compat")]
