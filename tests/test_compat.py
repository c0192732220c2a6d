"""The graded scripts load and work under every loader a grader may use, from
the folder of the graded files and from elsewhere, each case in a fresh process
(tools/compat.py); they compile on Python 3.8 to 3.13; the probe catches what
an import must not do; `make install` picks a Python that fits.

`make test` runs one loader case per loader (FAST); the rest of the matrix is
marked `compat`: `make compat` (or `pytest --compat tests/test_compat.py`) runs all."""
import concurrent.futures
import os
import shutil
import subprocess
import sys

import pytest

import compat
from conftest import ROOT

# One case per loader, both scripts, both working directories; pytorch_cnn
# (torch, model.pt, classify: the slow cases) under the two loaders that differ
# most from an import: no sys.modules entry (spec), no __file__ (exec).
FAST = {("import", "files", "numpy_nn"), ("import_module", "elsewhere", "numpy_nn"),
        ("spec+sys.modules", "elsewhere", "numpy_nn"), ("spec", "files", "pytorch_cnn"),
        ("runpy", "files", "numpy_nn"), ("exec", "elsewhere", "pytorch_cnn")}
CASES = [(loader, workdir, name) for name in compat.SCRIPTS
         for loader in compat.LOADERS for workdir in compat.WORKDIRS]
assert FAST <= set(CASES) and {c[0] for c in FAST} == set(compat.LOADERS)


@pytest.fixture(scope="module")
def data():
    path = compat.default_data(str(ROOT))
    if not os.path.exists(path):
        pytest.skip(f"no MNIST test data at {path}: run `make data`")
    return path


def selected(request, test_name, param):
    """The values of `param` in the tests named test_name that this session runs."""
    return [item.callspec.params[param] for item in request.session.items
            if getattr(item, "originalname", "") == test_name]


def run_cases(cases):
    """{key: run_case's arguments} -> {key: result}, each case in a fresh process,
    two at a time (tests run one after the other, the second core would idle)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {key: pool.submit(compat.run_case, sys.executable, *args) for key, args in cases.items()}
        return {key: future.result() for key, future in futures.items()}


@pytest.fixture(scope="module")
def matrix(request, data):
    """The loader cases this session tests (FAST, or all with --compat). -> {case: result}."""
    missing = [f for f in compat.FILES if not (ROOT / f).is_file()]
    if missing:
        pytest.skip(f"the repository lacks {', '.join(missing)}")
    return run_cases({(loader, workdir, name): (loader, name, workdir, str(ROOT), data)
                      for loader, workdir, name in selected(request, "test_loads_and_works", "case")})


@pytest.mark.parametrize("case", [c if c in FAST else pytest.param(c, marks=pytest.mark.compat)
                                  for c in CASES], ids=["-".join(c) for c in CASES])
def test_loads_and_works(matrix, case):
    """Loads without side effects; template values hold / classify on model.pt is right."""
    result = matrix[case]
    assert result["ok"], "; ".join(result["problems"])


@pytest.mark.parametrize("version", compat.PYTHONS)
def test_compiles(version):
    python = compat.find_python(version)
    if python is None:
        pytest.skip(f"no python{version} on PATH or in pyenv")
    ok, detail = compat.compile_on(python, str(ROOT))
    assert ok, detail


# -------------------- the probe sees what an import must not do

MISDEEDS = {
    "reads a file": ('open("model.pt", "rb").close()', "open('model.pt')"),
    "writes a file": ('open("out.txt", "w").close()', "out.txt"),
    "asks for the cwd": ("__import__('pathlib').Path.cwd()", "os.getcwd"),
    "lists a folder": ("__import__('os').listdir('.')", "os.listdir"),
    "sets a variable": ("__import__('os').environ['COMPAT_TEST_VARIABLE'] = '1'", "environment variables"),
    "seeds numpy": ("__import__('numpy').random.seed(0)", "numpy random state"),
    "seeds random": ("__import__('random').seed(0)", "random state"),
    "starts a thread": ("__import__('threading').Thread(target=__import__('time').sleep, args=(3,), "
                        "daemon=True).start()", "Python threads"),
    "sets torch threads": ("import torch; torch.set_num_threads(torch.get_num_threads() + 1)",
                           "torch threads"),
    "looks up a host": ("__import__('socket').getaddrinfo('localhost', 80)", "socket.getaddrinfo"),
    "reads __file__": ("__file__", "NameError"),   # under the `exec` loader (below)
}


def with_misdeed(folder, line):
    """The graded files in folder, numpy_nn.py with `line` at its end. -> folder."""
    folder.mkdir()
    for f in compat.FILES:
        shutil.copy(ROOT / f, folder / f)
    with open(folder / "numpy_nn.py", "a", encoding="utf-8") as f:
        f.write("\n" + line + "\n")
    return folder


@pytest.fixture(scope="module")
def probed(request, data, tmp_path_factory):
    """numpy_nn.py with each misdeed this session tests, loaded the most common way
    (`exec` to have no __file__). -> {misdeed: result}."""
    root = tmp_path_factory.mktemp("misdeeds")
    return run_cases({misdeed: ("exec" if misdeed == "reads __file__" else "spec+sys.modules", "numpy_nn",
                                "files", str(with_misdeed(root / str(i), MISDEEDS[misdeed][0])), data)
                      for i, misdeed in enumerate(selected(request, "test_probe_catches", "misdeed"))})


@pytest.mark.parametrize("misdeed", MISDEEDS)
def test_probe_catches(probed, misdeed):
    """numpy_nn.py with one forbidden line at its end fails, naming what it did."""
    result = probed[misdeed]
    assert not result["ok"] and MISDEEDS[misdeed][1] in "; ".join(result["problems"]), result["problems"]


def test_probe_passes_the_unchanged_script(data):
    """The same cases without the line pass (so the failures above are the lines')."""
    results = run_cases({loader: (loader, "numpy_nn", "files", str(ROOT), data)
                         for loader in ("exec", "spec+sys.modules")})
    assert all(r["ok"] for r in results.values()), results


# -------------------- make install's choice of Python

def fake_pythons(folder, versions):
    """Executables python3.X that answer `-c ''` and fail anything else (no venv is made)."""
    folder.mkdir()
    for v in versions:
        exe = folder / f"python{v}"
        exe.write_text(f"#!/bin/sh\n[ \"$1\" = -c ] && exit 0\necho \"Python {v}.0\"; exit 3\n")
        exe.chmod(0o755)
    return folder


@pytest.mark.parametrize("versions, chosen", [
    (["3.10", "3.11", "3.13"], "python3.11"),   # the pinned torch's wheels are for 3.11
    (["3.10", "3.12"], "python3.12"),
    (["3.9"], None),
    ([], None),
])
def test_make_install_picks_python(tmp_path, versions, chosen):
    for f in ("Makefile", "requirements.txt", "requirements-dev.txt"):   # what the install rule reads
        shutil.copy(ROOT / f, tmp_path / f)
    bin_dir = fake_pythons(tmp_path / "bin", versions)
    proc = subprocess.run([shutil.which("make"), "install"], cwd=tmp_path, capture_output=True, text=True,
                          env={"PATH": str(bin_dir), "HOME": str(tmp_path)})
    assert proc.returncode != 0   # the fake Python makes no venv
    if chosen:
        assert f"install: {chosen} (Python {chosen[6:]}.0)" in proc.stdout
    else:
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert errors and "python3.10 to python3.13" in errors[0] and not proc.stdout, proc.stderr
