"""Tests of the submission: tools/make_zip.py builds the upload zip and refuses
bad files, tools/check_submission.py grades a zip like the upload system."""
import io
import os
import re
import shutil
import subprocess
import time
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

import check_submission
import make_zip
from conftest import ROOT, committed_bytes, saved, truncated, untrained_state

FAST = ["--n-clean", "1000"]   # a short but full check


# -------------------- fixtures

def noise_png(path, seed=0, size=64):
    """A random RGB PNG, large enough (about 12 kB) to truncate meaningfully."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


@pytest.fixture
def fake_root(tmp_path):
    """The five graded files: the repository's scripts, small PNGs, an untrained model.pt."""
    root = tmp_path / "root"
    root.mkdir()
    for name in ("numpy_nn.py", "pytorch_cnn.py"):
        shutil.copy(ROOT / name, root / name)
    noise_png(root / "numpy_nn_training.png", seed=1)
    noise_png(root / "numpy_nn_classification.png", seed=2)
    torch.save(untrained_state(), root / "model.pt")
    return root


@pytest.fixture
def real_root(tmp_path):
    """Copies of the committed graded files (not what training or `make ship` left)."""
    root = tmp_path / "real"
    root.mkdir()
    for name in make_zip.FILES:
        (root / name).write_bytes(committed_bytes(name))
    return root


@pytest.fixture
def data_path():
    path = check_submission.default_data(ROOT)
    if not path.exists():
        pytest.skip(f"no MNIST test data at {path}: run `make data`")
    return path


def zip_of(root, out):
    """A zip of root's graded files without make_zip's validation (to test the check)."""
    return make_zip.write_zip([(name, (root / name).read_bytes()) for name in make_zip.FILES], out)


def error_lines(text):
    return [line for line in text.splitlines() if line.startswith("error:")]


# -------------------- make_zip: layout, reproducibility

def test_the_graded_files_and_first_line_are_defined_once_in_tools():
    definitions = {name: [p.name for p in sorted((ROOT / "tools").glob("*.py"))
                          if re.search(rf"^(def )?{name}\b(\(| =)", p.read_text(), re.M)]
                   for name in ("FILES", "first_line")}
    assert definitions == {"FILES": ["check_submission.py"], "first_line": ["check_submission.py"]}
    assert make_zip.FILES is check_submission.FILES and len(set(make_zip.FILES)) == 5


def test_zip_holds_exactly_the_files_at_the_root_reproducibly(fake_root, tmp_path, capsys):
    first = tmp_path / "first.zip"
    assert make_zip.main([str(first), "--root", str(fake_root)]) == 0
    assert "sha256" in capsys.readouterr().out
    # same contents, other timestamps and another output folder: the same bytes
    for path in fake_root.iterdir():
        os.utime(path, (1e9, 1e9))
    second = make_zip.build(fake_root, tmp_path / "second.zip")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == list(make_zip.FILES)
        for info in infos:
            assert "/" not in info.filename and not info.is_dir()
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.external_attr >> 16 == 0o100644
            assert zf.read(info) == (fake_root / info.filename).read_bytes()
    assert not list(tmp_path.glob(".*.tmp")), "the temp file of the atomic write is left behind"


def test_make_zip_says_which_graded_files_are_not_as_committed(fake_root, tmp_path, capsys):
    if shutil.which("git") is None:
        pytest.skip("no git")
    git = lambda *args: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                                       cwd=fake_root, check=True, capture_output=True, timeout=60)
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "graded files")
    assert make_zip.main([str(tmp_path / "a.zip"), "--root", str(fake_root)]) == 0
    assert "note:" not in capsys.readouterr().out
    with open(fake_root / "numpy_nn.py", "a") as f:
        f.write("# a student's edit\n")
    assert make_zip.main([str(tmp_path / "b.zip"), "--root", str(fake_root)]) == 0
    assert "note: zipped as in the working tree, not as committed: numpy_nn.py" in capsys.readouterr().out


@pytest.mark.parametrize("name", make_zip.FILES)
def test_make_zip_refuses_a_missing_file(fake_root, tmp_path, capsys, name):
    (fake_root / name).unlink()
    out = tmp_path / "submission.zip"
    assert make_zip.main([str(out), "--root", str(fake_root)]) == 1
    errors = error_lines(capsys.readouterr().err)
    assert len(errors) == 1 and name in errors[0] and "missing" in errors[0]
    assert ("make train" in errors[0]) or ("git checkout" in errors[0])
    assert not out.exists()


@pytest.mark.parametrize("damage, message", [
    pytest.param(lambda data: b"GIF89a" + data[6:], "no PNG signature", id="not-a-png"),
    pytest.param(truncated, "not a valid PNG image", id="truncated"),
    pytest.param(lambda data: data[:8] + b"\0" * (len(data) - 8), "not a valid PNG image", id="zeroed"),
])
def test_make_zip_refuses_a_broken_png(fake_root, tmp_path, capsys, damage, message):
    png = fake_root / "numpy_nn_classification.png"
    png.write_bytes(damage(png.read_bytes()))
    out = tmp_path / "submission.zip"
    out.write_bytes(b"the previous zip")
    assert make_zip.main([str(out), "--root", str(fake_root)]) == 1
    errors = error_lines(capsys.readouterr().err)
    assert len(errors) == 1
    assert errors[0].startswith("error: numpy_nn_classification.png") and message in errors[0]
    assert "make train-numpy" in errors[0]
    assert not out.exists()     # a refused build leaves no old zip to upload by mistake


def renamed_key(state):
    first = next(iter(state))
    return {("renamed." + k if k == first else k): v for k, v in state.items()}


def wrong_shape(state):
    key = next(k for k, v in state.items() if v.dim() == 4)
    return {**state, key: torch.zeros(1, 1, 3, 3)}


@pytest.mark.parametrize("damage, message", [
    pytest.param(lambda data: saved(renamed_key(torch.load(io.BytesIO(data), weights_only=True))),
                 "does not fit the current MyNet (missing keys: features.0.0.weight; unexpected keys: renamed.",
                 id="wrong-key"),
    pytest.param(lambda data: saved(wrong_shape(torch.load(io.BytesIO(data), weights_only=True))),
                 "wrong shapes", id="wrong-shape"),
    pytest.param(truncated, "is truncated, corrupted or not a state_dict", id="truncated"),
    pytest.param(lambda data: b"\x80\x04garbage" * 100, "is truncated, corrupted or not a state_dict", id="garbage"),
    pytest.param(lambda data: saved(torch.zeros(3)), "holds a Tensor, not a state_dict", id="tensor"),
])
def test_make_zip_refuses_a_broken_model(fake_root, tmp_path, capsys, damage, message):
    model = fake_root / "model.pt"
    model.write_bytes(damage(model.read_bytes()))
    out = tmp_path / "submission.zip"
    assert make_zip.main([str(out), "--root", str(fake_root)]) == 1
    err = capsys.readouterr().err
    errors = error_lines(err)
    assert len(errors) == 1, err
    assert errors[0].startswith("error: model.pt") and message in errors[0]
    assert "make train-cnn" in errors[0] and "git checkout -- model.pt" in errors[0]
    assert "Traceback" not in err and not out.exists()


def test_every_tool_loads_model_pt_one_way():
    """make_zip, the grader, compat and bench_submission share load_as_grader:
    a path and its bytes give the same weights, the project's load_model agrees,
    and what the grader refuses names the file in one line."""
    import pytorch_cnn as P
    from_path = check_submission.load_as_grader(P, ROOT / "model.pt")
    from_bytes = check_submission.load_as_grader(P, (ROOT / "model.pt").read_bytes())
    ours = P.load_model(ROOT / "model.pt")
    for a, b in ((from_path, from_bytes), (from_path, ours)):
        assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    assert check_submission.load_as_grader(P, bytearray((ROOT / "model.pt").read_bytes())) is not None
    for data, message in ((saved(torch.zeros(3)), "model.pt holds a Tensor, not a state_dict"),
                          (truncated(saved(untrained_state())), "it is truncated, corrupted or not"),
                          (saved({0: torch.zeros(1)}), "unexpected keys: 0"),
                          (str(ROOT / "nope" / "model.pt"), "model.pt not found")):
        with pytest.raises(check_submission.ModelLoadError) as err:
            check_submission.load_as_grader(P, data)
        assert message in str(err.value) and "\n" not in str(err.value)
    sources = {name: (ROOT / "tools" / f"{name}.py").read_text() for name in
               ("make_zip", "compat", "bench_submission")}
    for name, source in sources.items():
        assert "load_as_grader(" in source and ".load_state_dict(" not in source, name


def test_make_zip_help():
    with pytest.raises(SystemExit) as exit_info:
        make_zip.main(["--help"])
    assert exit_info.value.code == 0


# -------------------- check_submission: static rules

STATIC_SAMPLE = '''\
from __future__ import annotations
import os, numpy as np
from torch import nn
import scipy.linalg
try:
    import tqdm
except ImportError:
    tqdm = None
if os.name:
    from PIL import Image
class Holder:
    import pandas
def helper():
    import sklearn
if __name__ == "__main__":
    import yaml
from . import sibling
import matplotlib.pyplot, torchvision, json
'''


def test_static_check_finds_module_level_imports_only():
    assert check_submission.forbidden_imports(STATIC_SAMPLE) == [
        (4, "scipy"), (6, "tqdm"), (10, "PIL"), (12, "pandas"), (17, ".")]


def test_static_check_passes_the_repository_scripts():
    for name in ("numpy_nn.py", "pytorch_cnn.py"):
        assert check_submission.forbidden_imports((ROOT / name).read_text(), name) == []


# -------------------- check_submission: the zip

@pytest.mark.parametrize("layout, message, status", [
    ("folder", "must sit at the zip's root", 1),
    ("extra", "files the grader does not expect (notes.txt)", 1),
    ("missing", "lacks model.pt", 1),
    ("not a zip", "not a readable zip", 1),
    ("absent", "not found: build it with `make zip`", 2),     # the caller's mistake, not the zip's
])
def test_check_rejects_a_bad_zip_before_grading(fake_root, tmp_path, data_path, capsys, layout, message,
                                                status):
    out = tmp_path / "submission.zip"
    entries = [(name, (fake_root / name).read_bytes()) for name in make_zip.FILES]
    if layout == "folder":
        make_zip.write_zip([(f"submission/{name}", data) for name, data in entries]
                           + [("__pycache__/numpy_nn.cpython-311.pyc", b"x")], out)
    elif layout == "extra":
        make_zip.write_zip(entries + [("notes.txt", b"x")], out)
    elif layout == "missing":
        make_zip.write_zip(entries[:-1], out)
    elif layout == "not a zip":
        out.write_bytes(b"PK\x03\x04 not really")
    assert check_submission.main([str(out), "--data", str(data_path)]) == status
    captured = capsys.readouterr()
    assert message in captured.err and "grader:" not in captured.out
    if status == 2:
        assert captured.out == "" and len(captured.err.splitlines()) == 1


def test_check_help():
    with pytest.raises(SystemExit) as exit_info:
        check_submission.main(["--help"])
    assert exit_info.value.code == 0


# -------------------- check_submission: the grader in a fresh process

def test_check_passes_on_the_committed_files(real_root, tmp_path, data_path, capsys):
    """CI's guard: the zip of the repository's files passes the emulated grader,
    which runs in a fresh process with the driver's flags."""
    out = make_zip.build(real_root, tmp_path / "submission.zip")
    flags = ["--data", str(data_path), *FAST, "--min-accuracy", "0.985"]
    result = check_submission.check(check_submission.parse_args([str(out), *flags]))
    printed = capsys.readouterr().out
    assert result == {"ok": True, "problems": []}, printed
    for expected in ("ok    isolation", "ok    static imports of numpy_nn.py",
                     "ok    static imports of pytorch_cnn.py", "ok    import numpy_nn",
                     "ok    import pytorch_cnn", "ok    numpy_nn layers", "ok    model",
                     "ok    classify", "ok    clean accuracy: "):
        assert expected in printed, printed
    assert "on 1,000 MNIST test images (minimum 98.5%)" in printed   # both flags reached the grader


BROKEN_NUMPY_NN = """
open("written_at_import.txt", "w").write("an import must not write files")
_forward = Linear.forward
Linear.forward = lambda self, x: _forward(self, x) - self.b    # drops the bias
"""
BROKEN_PYTORCH_CNN = """
try:
    import tqdm
except ImportError:
    pass
import socket
try:
    socket.create_connection(("example.com", 80), timeout=1)
except OSError:
    pass
_net = torch.nn.Linear(2, 1)
_net(torch.ones(1, 2)).sum().backward()
torch.optim.SGD(_net.parameters(), lr=0.1).step()
"""


def test_check_reports_every_broken_contract(fake_root, tmp_path, data_path, capsys):
    """One zip breaking each contract: forbidden import, a file written, a
    connection tried and training at import, a wrong Linear, an untrained model."""
    for name, extra in (("numpy_nn.py", BROKEN_NUMPY_NN), ("pytorch_cnn.py", BROKEN_PYTORCH_CNN)):
        path = fake_root / name
        path.write_text(path.read_text() + extra)
    out = zip_of(fake_root, tmp_path / "submission.zip")
    code = check_submission.main([str(out), "--data", str(data_path), "--n-clean", "300"])
    captured = capsys.readouterr()
    assert code == 1
    fails = [line for line in captured.out.splitlines() if line.startswith("  FAIL")]
    expected = [
        "FAIL  static imports of pytorch_cnn.py: line",
        "FAIL  import numpy_nn: wrote or changed files: written_at_import.txt",
        "FAIL  import pytorch_cnn: tried to use the network",
        "FAIL  import pytorch_cnn: trains",
        "FAIL  numpy_nn Linear: forward of the template x gave",
        "FAIL  clean accuracy:",
    ]
    for text in expected:
        assert any(text in line for line in fails), f"{text!r} not in\n{captured.out}"
    assert len(fails) == len(expected), captured.out
    assert "imports tqdm" in captured.out and "Traceback" not in captured.out + captured.err
    assert f"FAIL: {len(expected)} broken contract(s)" in captured.err


# -------------------- check_submission: grader steps in this process

def test_numpy_checks_pass_on_the_repository_numpy_nn(capsys):
    import numpy_nn
    report = check_submission.Report()
    check_submission.check_numpy_layers(numpy_nn, report)
    assert report.problems == []
    assert "ok    numpy_nn layers" in capsys.readouterr().out


@pytest.mark.parametrize("classify, message", [
    pytest.param(lambda model, x: torch.zeros(len(x)), "int64 tensor", id="float-labels"),
    pytest.param(lambda model, x: torch.zeros(len(x) - 1, dtype=torch.int64), "int64 tensor", id="short"),
    pytest.param(lambda model, x: x.mul_(0).flatten(1)[:, 0].long(), "changed its input", id="in-place"),
])
def test_classify_contract_violations_are_caught(classify, message):
    x, y = torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.int64)
    assert check_submission.accuracy(lambda model, x: torch.zeros(len(x), dtype=torch.int64), None, x, y) == 1
    with pytest.raises(check_submission.ContractError, match=message):
        check_submission.accuracy(classify, None, x, y)


def test_an_import_over_the_limit_fails_as_training_at_import(tmp_path, monkeypatch):
    (tmp_path / "slow_module.py").write_text("import time\nfor _ in range(100):\n    time.sleep(0.05)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    report = check_submission.Report()
    start = time.monotonic()
    module = check_submission.import_submitted("slow_module", tmp_path, report, 0.3, [], [])
    assert module is None and time.monotonic() - start < 3
    assert len(report.problems) == 1
    assert "raised TimeoutError: still running after 0.3 s" in report.problems[0]
    assert "__main__" in report.problems[0]
