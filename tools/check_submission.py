"""The upload system's grader, emulated: the pass/fail contracts of submission.zip.

    python tools/check_submission.py [ZIP] [--data PATH] [--n-clean N] ...   (make check)

Outside (this process): the zip must hold exactly the five graded files at its
root and pass its CRC test; they are extracted into an empty temporary folder.

Inside (a fresh `python -I -B` started in that folder with this command line,
so nothing of the repository is on its path and no __pycache__ is written):

  1. static imports: numpy_nn.py and pytorch_cnn.py may import at module level
     (also inside module-level if/try/with/class) only the standard library,
     numpy, matplotlib, torch and torchvision;
  2. import each script with the network blocked and torch's optimizer steps
     and backward passes counted: importing must write no file (the folder
     listing is compared), open no connection, train nothing and end within
     --import-limit seconds (numpy training has no hook: the limit catches it);
  3. numpy_nn: the get_*_class hooks, and Linear, ReLU, Sigmoid, SE against the
     course template's known values and shapes;
  4. pytorch_cnn: model = get_model_class(None)[0](), model.pt loaded with
     torch.load(weights_only=True) and strict load_state_dict; classify(model, x)
     on --n-clean MNIST test images returns a (B,) int64 tensor, leaves x as it
     was, and is right on at least --min-accuracy of them.

Every broken contract is one FAIL line; the exit code is then 1. Figures that
decide nothing here (accuracy under noise, import time, peak memory, speed) are
`make bench`'s: tools/bench_submission.py and tools/bench_cnn.py.
"""
import argparse
import ast
import contextlib
import importlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The graded files, in their order in the zip: make_zip and compat import this tuple.
FILES = ("numpy_nn.py", "numpy_nn_training.png", "numpy_nn_classification.png",
         "pytorch_cnn.py", "model.pt")
SCRIPTS = ("numpy_nn", "pytorch_cnn")
ALLOWED_PACKAGES = ("numpy", "matplotlib", "torch", "torchvision")  # besides the standard library
RESULT_MARK = "@@grader-result@@ "

# The course template's known values for the numpy layers.
TEMPLATE_W = [[1, 0.6], [0.2, -0.2], [-0.6, -1]]
TEMPLATE_B = [[-0.5, 0.5]]
TEMPLATE_X = [[-2, -1.2, -0.4], [0.4, 1.2, 2]]
TEMPLATE_Y = [[-2.5, -0.06], [-1.06, -1.5]]
TEMPLATE_DY = [[1, 1.3333], [1.6667, 2]]
TEMPLATE_DX = [[1.8, -0.0667, -1.9333], [2.8667, -0.0667, -3]]
ATOL = 1e-3   # the template prints its values to 4 decimals (1.3333)


def first_line(err, limit=160):
    """'TypeName: first sentence of the message', at most `limit` characters
    (the tools' one-line error reports use it)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = lines[0].split(". ")[0].rstrip(".") if lines else ""
    return f"{type(err).__name__}: {text}"[:limit]


# ----------------------------------------------------------------------------
# Static check of the imports (pure functions, also used by the tests)
# ----------------------------------------------------------------------------

def is_main_guard(test):
    """True for the test `__name__ == "__main__"` (either side)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = {ast.dump(test.left), ast.dump(test.comparators[0])}
    return sides == {ast.dump(ast.Name("__name__", ast.Load())), ast.dump(ast.Constant("__main__"))}


def module_level_imports(body):
    """Yield the import statements of `body` that run when the module is
    imported: also those nested in if/try/with/for/class, not those in
    functions or under `if __name__ == "__main__":`."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(node, ast.If) and is_main_guard(node.test):
            yield from module_level_imports(node.orelse)
        else:
            for field in ("body", "orelse", "finalbody"):
                value = getattr(node, field, [])
                if isinstance(value, list):
                    yield from module_level_imports(value)
            for sub in getattr(node, "handlers", []) + getattr(node, "cases", []):
                yield from module_level_imports(sub.body)


def imported_packages(node):
    """An import statement -> its top-level package names ('.x' for a relative import)."""
    if isinstance(node, ast.ImportFrom):
        return ["." * node.level + (node.module or "")] if node.level else [node.module.split(".")[0]]
    return [alias.name.split(".")[0] for alias in node.names]


def stdlib_names():
    """Names of the standard library's top-level modules (sys.stdlib_module_names
    from Python 3.10; before it, the stdlib folder's listing)."""
    if hasattr(sys, "stdlib_module_names"):
        return set(sys.stdlib_module_names)
    import pkgutil
    import sysconfig
    stdlib = sysconfig.get_paths()["stdlib"]
    found = pkgutil.iter_modules([stdlib, os.path.join(stdlib, "lib-dynload")])
    return set(sys.builtin_module_names) | {module.name for module in found}


def forbidden_imports(source, filename="<source>"):
    """Python source -> [(line, package)] of module-level imports outside the
    standard library and ALLOWED_PACKAGES. Raises SyntaxError."""
    allowed = stdlib_names() | set(ALLOWED_PACKAGES)
    tree = ast.parse(source, filename)
    return [(node.lineno, name) for node in module_level_imports(tree.body)
            for name in imported_packages(node) if name not in allowed]


def check_static_imports(folder, report):
    """Step 1: the module-level imports of both scripts."""
    for name in SCRIPTS:
        path = Path(folder) / f"{name}.py"
        try:
            bad = forbidden_imports(path.read_text(encoding="utf-8"), path.name)
        except (SyntaxError, UnicodeDecodeError) as err:
            report.fail(f"static imports of {path.name}", f"cannot parse it ({first_line(err)})")
            continue
        if bad:
            where = ", ".join(f"line {line} imports {pkg}" for line, pkg in bad)
            report.fail(f"static imports of {path.name}",
                        f"{where}; the grader has only the standard library, "
                        f"{', '.join(ALLOWED_PACKAGES)}: import it inside the function that "
                        f"needs it (with a fallback) or drop it")
        else:
            report.ok(f"static imports of {path.name}",
                      f"standard library and {', '.join(ALLOWED_PACKAGES)} only")


# ----------------------------------------------------------------------------
# The grader: runs in the fresh process, in the extracted folder
# ----------------------------------------------------------------------------

class Report:
    """The grader's findings: printed as they come, collected for the result line."""

    def __init__(self):
        self.problems = []

    def ok(self, what, detail):
        """A contract that holds."""
        print(f"  ok    {what}: {detail}", flush=True)

    def fail(self, what, detail):
        """A broken contract: the check will exit 1."""
        self.problems.append(f"{what}: {detail}")
        print(f"  FAIL  {what}: {detail}", flush=True)


def isolate(folder, report):
    """Put the extracted folder first on sys.path; fail if any repository folder is on it."""
    sys.path.insert(0, str(folder))
    repo = {ROOT, ROOT / "tools", ROOT / "tests"}
    leaks = [p for p in sys.path[1:] if p in ("", ".") or Path(p).resolve() in repo]
    if leaks or not sys.flags.isolated:
        report.fail("isolation", f"the grader's sys.path holds {leaks} (isolated={sys.flags.isolated})")
    else:
        report.ok("isolation", f"python -I -B in {folder}; sys.path: that folder, then only "
                               f"Python's own ({len(sys.path) - 1} entries)")


def listing(folder):
    """Every file under folder -> {relative path: (size, mtime_ns)}; folders -> {'path/': None}."""
    files = {}
    for dirpath, dirnames, names in os.walk(folder):
        for name in dirnames:
            files[os.path.relpath(os.path.join(dirpath, name), folder) + "/"] = None
        for name in names:
            st = os.stat(os.path.join(dirpath, name))
            files[os.path.relpath(os.path.join(dirpath, name), folder)] = (st.st_size, st.st_mtime_ns)
    return files


def block_network(attempts):
    """Make every connection and name lookup fail, recording each try in `attempts`."""
    import socket

    def refuse(what):
        def refused(*args, **kwargs):
            target = args[1:2] if what.startswith("connect") else args[:1]   # skip the socket
            attempts.append(f"{what} to {target[0] if target else '?'!r}")
            raise ConnectionRefusedError("network access is blocked by the grader")
        return refused

    for owner, name in ((socket.socket, "connect"), (socket.socket, "connect_ex"),
                        (socket, "create_connection"), (socket, "getaddrinfo")):
        setattr(owner, name, refuse(name))


def watch_training(events):
    """Record every optimizer step and backward pass of torch in `events`."""
    import torch
    try:   # torch >= 2.0; before it, backward passes alone are counted
        from torch.optim.optimizer import register_optimizer_step_pre_hook
        register_optimizer_step_pre_hook(
            lambda optimizer, args, kwargs: events.append(f"{type(optimizer).__name__}.step()"))
    except ImportError:
        pass
    backward = torch.autograd.backward

    def counted_backward(*args, **kwargs):
        events.append("backward()")
        return backward(*args, **kwargs)

    torch.autograd.backward = counted_backward   # Tensor.backward calls it too


def import_dependencies():
    """Import the allowed packages first, so what an import of a script does is its own."""
    import matplotlib  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import torchvision  # noqa: F401


@contextlib.contextmanager
def time_limit(seconds):
    """Raise TimeoutError in the block after `seconds` (SIGALRM)."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds:g} s, training at import?")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def import_submitted(name, folder, report, limit_s, network, training):
    """Step 2 for one script: import it and compare what it did with what an
    import may do. -> module, or None if it did not import."""
    before, n_net, n_train = listing(folder), len(network), len(training)
    module, problems = None, []
    quiet = io.StringIO()   # what the import prints is no verdict
    try:
        with time_limit(limit_s), contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            module = importlib.import_module(name)
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # anything, SystemExit included, is the module's fault
        problems.append(f"raised {first_line(err)}")
    after = listing(folder)
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    if changed:
        problems.append(f"wrote or changed files: {', '.join(changed[:5])}")
    if network[n_net:]:
        problems.append(f"tried to use the network: {', '.join(network[n_net:][:3])}")
    if training[n_train:]:
        problems.append(f"trains: {len(training) - n_train} calls such as {training[n_train]}")
    where = getattr(module, "__file__", None) or "?"
    if module is not None and Path(where).resolve().parent != Path(folder).resolve():
        problems.append(f"resolved to {where}, not the extracted file")
    fix = "module level must only define things; put work under `if __name__ == \"__main__\":`"
    for problem in problems:
        report.fail(f"import {name}", f"{problem}: {fix}")
    if not problems:
        report.ok(f"import {name}", f"no file written, no network, no training, "
                                    f"within {limit_s:g} s")
    return module


def layer_class(nn, hook, name):
    """A class the way the grader gets it: through its hook, else by name."""
    try:
        return getattr(nn, hook)()[0]
    except Exception:
        return getattr(nn, name)


def check_hooks(nn):
    """The get_*_class hooks return one-element lists holding the class."""
    for hook, name in (("get_linear_class", "Linear"), ("get_relu_class", "ReLU"),
                       ("get_sigmoid_class", "Sigmoid"), ("get_se_loss_class", "SE")):
        if not callable(getattr(nn, hook, None)):
            return f"{hook}() is missing"
        got = getattr(nn, hook)()
        if not (isinstance(got, list) and len(got) == 1 and isinstance(got[0], type)) \
                or got[0] is not getattr(nn, name, got[0]):
            return f"{hook}() returned {got!r}, expected [{name}]"
    return None


def check_linear(nn, np):
    """Linear(3, 2) with the template's W, b set in place: forward, backward, grads()."""
    x, dy = np.array(TEMPLATE_X), np.array(TEMPLATE_DY)
    layer = layer_class(nn, "get_linear_class", "Linear")(3, 2)
    params = layer.params()
    shapes = {k: np.shape(params.get(k)) for k in ("W", "b")}
    if shapes != {"W": (3, 2), "b": (1, 2)}:
        return f"params() shapes {shapes}, expected W (3, 2) and b (1, 2)"
    params["W"][...], params["b"][...] = TEMPLATE_W, TEMPLATE_B
    y = np.asarray(layer.forward(x))
    if y.shape != (2, 2) or not np.allclose(y, TEMPLATE_Y, atol=ATOL):
        return f"forward of the template x gave {np.round(y, 4).tolist()}, expected {TEMPLATE_Y}"
    dx = np.asarray(layer.backward(dy))
    if dx.shape != (2, 3) or not np.allclose(dx, TEMPLATE_DX, atol=ATOL):
        return f"backward of the template gradient gave {np.round(dx, 4).tolist()}, expected {TEMPLATE_DX}"
    grads = layer.grads()
    expected = {"W": x[:, :, None] * dy[:, None, :], "b": dy[:, None, :]}   # (B, in, out), (B, 1, out)
    for key, want in expected.items():
        got = np.asarray(grads.get(key))
        if got.shape != want.shape or not np.allclose(got, want, atol=ATOL):
            return f"grads()['{key}'] has shape {got.shape} or wrong values, expected shape {want.shape}"
    return None


def check_activation(nn, np, hook, name, f, df):
    """An elementwise layer keeps any input shape: y = f(x), dL/dx = g * df(x)."""
    rng = np.random.default_rng(0)
    for shape in ((2, 3), (2, 3, 4, 5)):
        layer = layer_class(nn, hook, name)()
        x, g = rng.standard_normal(shape), rng.standard_normal(shape)
        y = np.asarray(layer.forward(x))
        if y.shape != shape or not np.allclose(y, f(x), atol=ATOL):
            return f"forward of a {shape} input gave shape {y.shape} or wrong values"
        dx = np.asarray(layer.backward(g))
        if dx.shape != shape or not np.allclose(dx, g * df(x), atol=ATOL):
            return f"backward of a {shape} gradient gave shape {dx.shape} or wrong values"
    return None


def check_se(nn, np):
    """SE backward for x = linspace(-5, 5, 9), y = x / 2 is linspace(-5, 5, 9)."""
    x = np.linspace(-5, 5, 9)
    loss = layer_class(nn, "get_se_loss_class", "SE")()
    loss.forward(x, 0.5 * x)
    dx = np.asarray(loss.backward())
    if dx.shape != x.shape or not np.allclose(dx, x, atol=ATOL):
        return f"backward gave {np.round(dx, 4).tolist()}, expected linspace(-5, 5, 9)"
    return None


def numpy_layer_problems(nn):
    """The numpy_nn template API, check by check. -> {what: problem, or None when ok}."""
    import numpy as np
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    checks = {
        "hooks": lambda: check_hooks(nn),
        "Linear": lambda: check_linear(nn, np),
        "ReLU": lambda: check_activation(nn, np, "get_relu_class", "ReLU",
                                         lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0),
        "Sigmoid": lambda: check_activation(nn, np, "get_sigmoid_class", "Sigmoid", sigmoid,
                                            lambda x: sigmoid(x) * (1 - sigmoid(x))),
        "SE": lambda: check_se(nn, np),
    }
    problems = {}
    for what, check in checks.items():
        try:
            problems[what] = check()
        except Exception as err:
            problems[what] = f"raised {first_line(err)}"
    return problems


def check_numpy_layers(nn, report):
    """Step 3: the numpy_nn template API."""
    problems = {what: p for what, p in numpy_layer_problems(nn).items() if p}
    for what, problem in problems.items():
        report.fail(f"numpy_nn {what}", problem)
    if not problems:
        report.ok("numpy_nn layers", "get_*_class hooks, Linear, ReLU, Sigmoid and SE give the "
                                     "template's values and shapes")


class ModelLoadError(Exception):
    """model.pt does not load as the upload system loads it; the message is one line."""


def strict_mismatch(model, state):
    """What keeps `state` from loading strictly into `model`: '' when nothing,
    else 'missing keys: a, b; unexpected keys: c; wrong shapes: d (1, 2) != (3, 4)'."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
              if k in state and hasattr(state[k], "shape") and state[k].shape != v.shape]
    return "; ".join(f"{what}: {', '.join(map(str, keys[:4]))}{' ...' if len(keys) > 4 else ''}"
                     for what, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                        ("wrong shapes", shapes)) if keys)


def load_as_grader(pc, source, name="model.pt"):
    """The upload system's load, the one every tool uses: model =
    pc.get_model_class(None)[0](), then `source` (model.pt's path or bytes)
    through torch.load(weights_only=True) on the CPU and a strict
    load_state_dict. -> model, in the mode it was built in. A failure raises
    ModelLoadError: one line, `name` and what did not load, without the fix."""
    import warnings

    import torch
    model = pc.get_model_class(None)[0]()
    in_memory = isinstance(source, (bytes, bytearray, memoryview))
    if not in_memory and not Path(source).is_file():
        raise ModelLoadError(f"{name} not found ({source})")
    try:
        with warnings.catch_warnings():   # torch warns before failing on some garbage: one line only
            warnings.simplefilter("ignore")
            state = torch.load(io.BytesIO(bytes(source)) if in_memory else source,
                               map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip archive, pickle garbage, forbidden objects ...
        raise ModelLoadError(f"{name} does not load with torch.load(weights_only=True): it is "
                             f"truncated, corrupted or not a state_dict ({first_line(err)})") from None
    if not isinstance(state, dict):
        raise ModelLoadError(f"{name} holds a {type(state).__name__}, not a state_dict")
    mismatch = strict_mismatch(model, state)
    if mismatch:
        raise ModelLoadError(f"{name} does not fit the current {type(model).__name__} ({mismatch})")
    try:
        model.load_state_dict(state, strict=True)
    except Exception as err:   # a value that is not a tensor, or other trouble the check above misses
        detail = "; ".join(line.strip() for line in str(err).splitlines()[1:3]) or first_line(err)
        raise ModelLoadError(f"{name} does not load strictly into {type(model).__name__} "
                             f"({detail[:200]})") from None
    return model


def load_submitted_model(pc, folder, report):
    """Step 4a: build the model through the hook and load model.pt as the grader does. -> model or None."""
    import torch
    try:
        classes = pc.get_model_class(None)
        cls = classes[0]
        if not (isinstance(classes, list) and len(classes) == 1 and isinstance(cls, type)
                and issubclass(cls, torch.nn.Module)) or cls is not getattr(pc, "MyNet", cls):
            report.fail("get_model_class", f"get_model_class(None) returned {classes!r}, expected [MyNet]")
            return None
        cls()
    except Exception as err:
        report.fail("get_model_class", f"get_model_class(None)[0]() raised {first_line(err)}")
        return None
    try:
        model = load_as_grader(pc, Path(folder) / "model.pt")
    except ModelLoadError as err:
        report.fail("model.pt", f"{err}: restore it with `git checkout -- model.pt` and `make zip`, "
                                f"or ship a retrained one: `make ship`")
        return None
    report.ok("model", f"get_model_class(None)[0]() = {cls.__name__}; model.pt loads with "
                       f"weights_only=True, strict")
    return model


def load_test_images(path, n, seed=0):
    """A seeded random subset of n MNIST test images, from a torchvision raw
    folder (t10k-*-ubyte) or an npz (x_test, y_test). -> x float32 (n, 1, 28, 28)
    in [0, 1], y int64 (n,), numpy arrays."""
    import numpy as np
    path = Path(path)
    if path.is_dir():
        images = np.frombuffer((path / "t10k-images-idx3-ubyte").read_bytes(), np.uint8, offset=16)
        labels = np.frombuffer((path / "t10k-labels-idx1-ubyte").read_bytes(), np.uint8, offset=8)
    else:
        with np.load(path) as data:
            images, labels = data["x_test"], data["y_test"]
    images, labels = images.reshape(-1, 1, 28, 28), labels.astype(np.int64)
    idx = np.random.default_rng(seed).permutation(len(labels))[:n]
    return images[idx].astype(np.float32) / 255, labels[idx]


class ContractError(Exception):
    """classify broke its contract."""


def accuracy(classify, model, x, y):
    """classify(model, x) checked against its contract -> accuracy in [0, 1]."""
    import torch
    kept = x.clone()
    pred = classify(model, x)
    if not (isinstance(pred, torch.Tensor) and pred.shape == (len(x),) and pred.dtype == torch.int64):
        got = (type(pred).__name__, getattr(pred, "shape", None), getattr(pred, "dtype", None))
        raise ContractError(f"returned {got}, expected a ({len(x)},) int64 tensor")
    if not torch.equal(x, kept):
        raise ContractError("changed its input in place")
    return (pred.cpu() == y).double().mean().item()


def check_classify(pc, model, data, n_clean, min_accuracy, report):
    """Step 4b: classify's contract on n_clean MNIST test images, and the clean-accuracy floor."""
    import torch
    try:
        x, y = load_test_images(data, n_clean)
    except (OSError, KeyError, ValueError) as err:
        report.fail("test data", f"cannot read the MNIST test set at {data} ({first_line(err)}): "
                                 f"run `make data`")
        return
    try:
        clean = accuracy(pc.classify, model, torch.from_numpy(x), torch.from_numpy(y))
    except Exception as err:
        report.fail("classify", f"classify(model, x) on float (B, 1, 28, 28) in [0, 1]: {first_line(err)}")
        return
    report.ok("classify", "returns a (B,) int64 tensor and leaves its input as it was")
    line = f"{clean:.2%} on {len(y):,} MNIST test images (minimum {100 * min_accuracy:g}%)"
    if clean < min_accuracy:
        report.fail("clean accuracy", f"{line}: the model is untrained or broken; retrain and "
                                      f"ship it with `make ship`")
    else:
        report.ok("clean accuracy", line)


def run_checks(folder, args, report):
    """Steps 1 to 4 in order; a step that cannot run (its module did not import) is skipped."""
    isolate(folder, report)
    check_static_imports(folder, report)
    network, training = [], []
    import_dependencies()
    block_network(network)
    watch_training(training)
    modules = {name: import_submitted(name, folder, report, args.import_limit, network, training)
               for name in SCRIPTS}
    if modules["numpy_nn"] is not None:
        check_numpy_layers(modules["numpy_nn"], report)
    pc = modules["pytorch_cnn"]
    model = load_submitted_model(pc, folder, report) if pc is not None else None
    if model is not None:
        check_classify(pc, model, args.data, args.n_clean, args.min_accuracy, report)


def grade(args):
    """The grader, in the extracted folder (cwd). Prints a line per check and a
    final result line for the driver. -> exit code (0: every contract holds)."""
    report = Report()
    try:
        run_checks(Path.cwd(), args, report)
    except Exception as err:  # a failure of the grader itself, still reported in one line
        report.fail("grader", f"stopped early on {first_line(err)}")
    print(RESULT_MARK + json.dumps(report.problems), flush=True)
    return 1 if report.problems else 0


# ----------------------------------------------------------------------------
# The driver: checks the zip, extracts it, runs the grader in a fresh process
# ----------------------------------------------------------------------------

def zip_problems(zf, name):
    """The zip's layout -> problem lines: exactly FILES, at the root, intact."""
    names = zf.namelist()
    fix = "rebuild it with `make zip`"
    problems = []
    nested = [n for n in names if "/" in n or "\\" in n]
    if nested:
        problems.append(f"{name} holds folders or paths ({', '.join(nested[:5])}): "
                        f"the files must sit at the zip's root; {fix}")
    extra = sorted(set(names) - set(FILES) - set(nested))
    if extra:
        problems.append(f"{name} holds files the grader does not expect ({', '.join(extra)}); {fix}")
    missing = [f for f in FILES if f not in names]
    if missing:
        problems.append(f"{name} lacks {', '.join(missing)}; {fix}")
    if len(names) != len(set(names)):
        problems.append(f"{name} holds duplicate entries; {fix}")
    if not problems:
        bad = zf.testzip()
        if bad:
            problems.append(f"{name}: {bad} is corrupted (CRC mismatch); {fix}")
    return problems


def extract(zip_path, folder):
    """Check the zip and write its files into `folder`. -> problem lines (empty: extracted)."""
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        return [f"{zip_path} not found: build it with `make zip`"]
    try:
        with zipfile.ZipFile(zip_path) as zf:
            problems = zip_problems(zf, zip_path.name)
            if not problems:
                for name in FILES:
                    (Path(folder) / name).write_bytes(zf.read(name))
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return [f"{zip_path} is not a readable zip ({first_line(err)}): rebuild it with `make zip`"]
    return problems


def run_grader(folder, args):
    """Run this file's grader in a fresh `python -I -B` in `folder` with this
    command line (--data made absolute), echoing its lines. -> problems."""
    cmd = [sys.executable, "-I", "-B", str(Path(__file__).resolve()), *args.argv,
           "--data", str(Path(args.data).resolve()), "--grade"]   # the last --data wins
    proc = subprocess.Popen(cmd, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace")
    expired = threading.Event()
    timer = threading.Timer(args.timeout, lambda: (expired.set(), proc.kill()))
    timer.start()
    result = None
    try:
        for line in proc.stdout:
            if line.startswith(RESULT_MARK):
                result = json.loads(line[len(RESULT_MARK):])
            else:
                print(line, end="", flush=True)
        proc.wait()
    finally:
        timer.cancel()
    if result is None:
        why = (f"timed out after {args.timeout:.0f} s" if expired.is_set()
               else f"died with exit code {proc.returncode}")
        return [f"grader: the grader process {why} before finishing (see its output above)"]
    return result


def check(args):
    """Check the zip end to end. -> {'ok': bool, 'problems': [...]}."""
    with tempfile.TemporaryDirectory(prefix="check_submission_") as tmp:
        folder = Path(tmp) / "submission"
        folder.mkdir()
        problems = extract(args.zip, folder)
        for problem in problems:
            print(f"  FAIL  {problem}")
        if not problems:
            print(f"  ok    {args.zip}: exactly the {len(FILES)} graded files at the root, CRC ok")
            print(f"grader: {sys.executable} -I -B in a fresh folder, test data {args.data}")
            problems = run_grader(folder, args)
    return {"ok": not problems, "problems": problems}


def default_data(root):
    """The MNIST test set of the repository: data/MNIST/raw, else full-mnist.npz."""
    raw = Path(root) / "data" / "MNIST" / "raw"
    return raw if (raw / "t10k-images-idx3-ubyte").exists() else Path(root) / "full-mnist.npz"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `prog: error: what (see prog --help)`, exit 2, no
    usage block (pytorch_cnn.Parser's convention; this file imports nothing of ours).
    The tools that import no graded file (compat, make_zip, bench_submission,
    mnist_data) use it too."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parse_args(argv):
    """Command line -> argparse.Namespace (see --help)."""
    parser = Parser(
        prog="check_submission.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("zip", nargs="?", default="submission.zip", help="default: submission.zip")
    parser.add_argument("--data", type=Path, default=default_data(ROOT),
                        help="MNIST test set: a torchvision raw folder or an npz with x_test, y_test "
                             "(default: the repository's, from `make data`)")
    limits = [  # (flag, type, default, why that default)
        ("--n-clean", int, 2000, "MNIST test images classify is checked on; the accuracy's standard "
                                 "error is then 0.2 points at 99 %%, small next to the floor"),
        ("--min-accuracy", float, 0.98, "clean-accuracy floor: an untrained or broken model falls far "
                                        "below it, any trained MyNet stays above"),
        ("--import-limit", float, 30, "seconds an import of a script may take: defining things takes "
                                      "seconds, training minutes"),
        ("--timeout", float, 900, "seconds for the whole grader, however slow the machine"),
    ]
    for flag, kind, default, why in limits:
        parser.add_argument(flag, type=kind, default=default, help=why + " (default %(default)s)")
    parser.add_argument("--grade", action="store_true", help=argparse.SUPPRESS)  # the fresh process
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)   # forwarded to the fresh process
    return args


def main(argv=None):
    """Check a zip; -> 0 when every contract holds, 1 otherwise (2: no zip or no test data)."""
    args = parse_args(argv)
    if args.grade:
        return grade(args)
    if not (args.data.is_dir() or args.data.is_file()):
        print(f"error: no MNIST test data at {args.data}: run `make data`", file=sys.stderr)
        return 2
    if not Path(args.zip).is_file():
        what = "is a folder, not a zip" if Path(args.zip).is_dir() else "not found"
        print(f"error: {args.zip} {what}: build it with `make zip`, or name the zip to check",
              file=sys.stderr)
        return 2
    print(f"checking {args.zip} as the grader would")
    result = check(args)
    if result["ok"]:
        print(f"PASS: {args.zip} meets every contract checked")
        return 0
    print(f"FAIL: {len(result['problems'])} broken contract(s) in {args.zip}:", file=sys.stderr)
    for problem in result["problems"]:
        print(f"  {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
