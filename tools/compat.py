"""The graded scripts under every loader a grader may use, on every Python and stack we reach.

    python tools/compat.py                          # every part below (make compat)
    python tools/compat.py --parts loaders compile  # the fast parts (tests/test_compat.py runs them too)
    python tools/compat.py --source DIR             # check DIR's graded files instead of the repository's

Parts (a table each; the exit code is 1 when any case fails):

  loaders    every loader in LOADERS x two working directories (one holding only the
             five graded files, one holding none of them) x both scripts, each case in
             a fresh `python -I -B` (the current one, or --python);
  compile    both scripts compile on every Python 3.8 to 3.13 found (PATH, then pyenv);
  pythons    numpy_nn's loader matrix on each of those Pythons, with numpy installed
             in .compat/pyXY-numpy (created on demand; numpy 1.x on 3.8, 2.x on the newer);
  old-stack  Python 3.9 + torch 1.13.1, torchvision 0.14.1, numpy<1.25 in
             .compat/py39-torch113 (created on demand, about 3 GB): the loader matrix
             of both scripts, then tools/check_submission.py (the emulated grader).

What one case checks, in the fresh process (`--probe`, below): the script loads;
while it loads it opens no file outside Python's own library, lists no folder,
asks for no working directory, touches no network, and leaves the environment
variables, threads, random states and torch/numpy settings as they were; after
loading, numpy_nn's layers give the course template's values, and pytorch_cnn's
`get_model_class(None)[0]()` takes model.pt (torch.load weights_only=True,
strict) and `classify` reaches MIN_ACCURACY on clean test digits and agrees
with the plain float32 forward on AGREEMENT of clean and noisy ones.

This file also runs on Python 3.8: no newer syntax or API.
"""
import argparse
import ast
import concurrent.futures
import glob
import importlib
import importlib.util
import json
import os
import random
import runpy
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))   # `python -I` leaves the script's folder out
import check_submission  # noqa: E402  (the numpy layer checks: one source with the grader's)
COMPAT_DIR = os.path.join(ROOT, ".compat")
from check_submission import FILES  # noqa: E402  (the graded files)
SCRIPTS = ("numpy_nn", "pytorch_cnn")
LOADERS = ("import", "import_module", "spec+sys.modules", "spec", "runpy", "exec")
WORKDIRS = ("files", "elsewhere")     # cwd: the folder of the graded files / an empty one
PYTHONS = tuple("3.%d" % minor for minor in range(8, 14))
OLD_STACK = ("torch==1.13.1", "torchvision==0.14.1", "numpy<1.25", "matplotlib", "pillow")
MARK = "@@compat-result@@ "
MIN_ACCURACY = 0.98   # the grader's minimum clean accuracy
AGREEMENT = 0.998     # classify (bf16 where native) against the float32 forward
N_IMAGES = 1000

# ----------------------------------------------------------------------------
# The probe: one case, in a fresh `python -I -B` whose cwd is the case's
# working directory
# ----------------------------------------------------------------------------

def load(loader, name, folder):
    """Load folder/name.py the way `loader` does. -> the module, or a namespace of its globals."""
    path = os.path.join(folder, name + ".py")
    if loader in ("import", "import_module"):
        here = os.path.realpath(os.getcwd()) == os.path.realpath(folder)
        sys.path.insert(0, "" if here else folder)   # '' as `python -c` in that folder has
        return __import__(name) if loader == "import" else importlib.import_module(name)
    if loader.startswith("spec"):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        if loader == "spec+sys.modules":
            sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    if loader == "runpy":
        return types.SimpleNamespace(**runpy.run_path(path))
    if loader == "exec":   # a fresh namespace: no __file__, no module in sys.modules
        with open(path, encoding="utf-8") as f:
            namespace = {"__name__": name}
            exec(compile(f.read(), path, "exec"), namespace)
        return types.SimpleNamespace(**namespace)
    raise ValueError("unknown loader %r" % loader)


class Watch:
    """Records what the script itself does while it loads (an audit hook):
    files opened outside Python's library, folders listed, the working
    directory asked for, network, environment changes."""

    EVENTS = ("open", "os.listdir", "os.scandir", "os.chdir", "os.putenv", "os.unsetenv",
              "os.system", "subprocess.Popen", "socket.connect", "socket.getaddrinfo",
              "socket.gethostbyname", "urllib.Request")

    def __init__(self, script):
        self.script = os.path.realpath(script)
        self.library = tuple(os.path.realpath(p) + os.sep for p in
                             {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
        self.active, self.busy, self.seen, self.mine = False, False, [], {}
        sys.addaudithook(self.hook)
        getcwd = os.getcwd

        def watched_getcwd():
            self.record("os.getcwd", ())
            return getcwd()
        os.getcwd = watched_getcwd

    def from_script(self):
        """True when a frame of the script is on the stack."""
        frame = sys._getframe(2)
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename not in self.mine:
                self.mine[filename] = os.path.realpath(filename) == self.script
            if self.mine[filename]:
                return True
            frame = frame.f_back
        return False

    def record(self, event, args):
        """Keep `event` when the script caused it, unless it reads Python's own library."""
        if not self.active or self.busy:
            return
        self.busy = True
        try:
            if event.startswith(("open", "os.listdir", "os.scandir")) and args and \
                    isinstance(args[0], (str, bytes)):
                path = os.path.realpath(os.fsdecode(args[0]))
                if path == self.script or path.startswith(self.library):
                    return
                event = "%s(%r)" % (event, os.fsdecode(args[0]))
            if self.from_script() or event.startswith(("socket", "urllib")):
                self.seen.append(event)
        finally:
            self.busy = False

    def hook(self, event, args):
        """The audit hook."""
        if self.active and event in self.EVENTS:
            self.record(event, args)


def global_state():
    """What a module must not change at import: -> {name: comparable value}."""
    state = {"environment variables": dict(os.environ), "sys.path": list(sys.path),
             "Python threads": sorted(t.name for t in threading.enumerate()),
             "random state": random.getstate(), "recursion limit": sys.getrecursionlimit(),
             "warnings filters": [repr(f) for f in warnings.filters]}
    np = sys.modules.get("numpy")
    if np is not None:
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        state.update({"numpy random state": (kind, keys.tobytes(), pos, has_gauss, gauss),
                      "numpy errors": np.geterr(), "numpy print options": repr(np.get_printoptions())})
    torch = sys.modules.get("torch")
    if torch is not None:
        precision = getattr(torch, "get_float32_matmul_precision", lambda: None)
        state.update({"torch threads": (torch.get_num_threads(), torch.get_num_interop_threads()),
                      "torch random state": (torch.initial_seed(), torch.get_rng_state().numpy().tobytes()),
                      "torch default dtype": str(torch.get_default_dtype()),
                      "torch grad mode": torch.is_grad_enabled(),
                      "torch deterministic": torch.are_deterministic_algorithms_enabled(),
                      "torch matmul precision": precision(),
                      "cudnn flags": (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)})
    return state


def module_imports(path):
    """The modules a script imports at module level (to import them before it)."""
    names = []
    for node in ast.parse(open(path, encoding="utf-8").read()).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.append(node.module)
    return names


def check_numpy_nn(nn):
    """The template's hooks and known values, by the emulated grader's checks. -> problem lines."""
    problems = ["numpy_nn %s: %s" % (what, problem)
                for what, problem in check_submission.numpy_layer_problems(nn).items() if problem]
    return problems, "template values ok" if not problems else ""


def check_pytorch_cnn(pc, folder, data):
    """model.pt through get_model_class, weights_only; classify's accuracy and
    its agreement with the float32 forward. -> (problem lines, summary)."""
    import numpy as np
    import torch
    model = check_submission.load_as_grader(pc, os.path.join(folder, "model.pt"))
    x, y = check_submission.load_test_images(data, N_IMAGES)   # the grader's seeded subset
    noisy = (x + 0.3 * np.random.default_rng(0).standard_normal(x.shape)).clip(0, 1).astype(np.float32)
    problems, accuracies, agreements = [], [], []
    for what, images in (("clean", x), ("noisy", noisy)):
        images = torch.from_numpy(images)
        labels = pc.classify(model, images)
        model.eval()
        with torch.no_grad():
            float32 = model(images).argmax(dim=1)
        accuracy = (labels == torch.from_numpy(y)).double().mean().item()
        agreement = (labels == float32).double().mean().item()
        accuracies.append("%.1f" % (100 * accuracy))
        agreements.append(agreement)
        if what == "clean" and accuracy < MIN_ACCURACY:
            problems.append("clean accuracy %.2f%% < %.0f%%" % (100 * accuracy, 100 * MIN_ACCURACY))
        if agreement < AGREEMENT:
            problems.append("%s: classify agrees with float32 on %.2f%% < %.1f%%"
                            % (what, 100 * agreement, 100 * AGREEMENT))
    return problems, "%s%%, agree %.1f%%" % ("/".join(accuracies), 100 * min(agreements))


def versions():
    """Python and the packages loaded so far -> 'Python 3.11.7, numpy 2.1.0, ...'."""
    found = ["Python %d.%d.%d" % sys.version_info[:3]]
    for name in ("numpy", "torch", "torchvision"):
        if name in sys.modules:
            found.append("%s %s" % (name, sys.modules[name].__version__))
    return ", ".join(found)


def probe(loader, name, folder, data):
    """One case (we are in the fresh process): load, watch, check. -> exit code.
    Prints one result line: MARK + {"problems": [...], "summary": str, "versions": str}."""
    script = os.path.join(folder, name + ".py")
    for module in module_imports(script):   # their own import costs and effects are not the script's
        try:
            importlib.import_module(module)
        except ImportError:
            pass
    watch = Watch(script)
    before = global_state()
    problems, summary = [], ""
    try:
        watch.active = True
        try:
            module = load(loader, name, folder)
        finally:
            watch.active = False
        after = global_state()
        if loader in ("import", "import_module"):   # these two put the folder on sys.path
            after["sys.path"] = before["sys.path"] = None
        changed = [key for key in before if before[key] != after.get(key)]
        if changed:
            problems.append("changed at import: " + ", ".join(changed))
        if watch.seen:
            problems.append("at import: " + ", ".join(sorted(set(watch.seen))[:4]))
        check = check_numpy_nn if name == "numpy_nn" else (lambda m: check_pytorch_cnn(m, folder, data))
        found, summary = check(module)
        problems += found
    except Exception as err:   # any failure of the script is the result
        problems.append("%s: %s" % (type(err).__name__, str(err).splitlines()[0] if str(err) else ""))
    print(MARK + json.dumps({"problems": problems, "summary": summary, "versions": versions()}))
    return 1 if problems else 0


# ----------------------------------------------------------------------------
# The driver: cases in fresh processes, tables
# ----------------------------------------------------------------------------

def default_data(root=ROOT):
    """The repository's MNIST test set: data/MNIST/raw, else full-mnist.npz."""
    raw = os.path.join(root, "data", "MNIST", "raw")
    return raw if os.path.exists(os.path.join(raw, "t10k-images-idx3-ubyte")) \
        else os.path.join(root, "full-mnist.npz")


def listing(folder):
    """Every path under folder -> (size, mtime_ns); to see whether a case wrote anything."""
    found = {}
    for dirpath, dirnames, names in os.walk(folder):
        for entry in dirnames + names:
            st = os.stat(os.path.join(dirpath, entry))
            found[os.path.relpath(os.path.join(dirpath, entry), folder)] = (st.st_size, st.st_mtime_ns)
    return found


def run_case(python, loader, name, workdir, source, data, timeout=300):
    """One case in a fresh `python -I -B`, in its own copies of the folders.
    -> {"ok", "problems", "summary", "versions"}."""
    with tempfile.TemporaryDirectory(prefix="compat_") as tmp:
        files, elsewhere = os.path.join(tmp, "files"), os.path.join(tmp, "elsewhere")
        os.mkdir(files)
        os.mkdir(elsewhere)
        for f in FILES:
            shutil.copy(os.path.join(source, f), files)
        cwd = files if workdir == "files" else elsewhere
        before = listing(tmp)
        cmd = [python, "-I", "-B", os.path.abspath(__file__), "--probe", loader, name, files, data]
        try:
            proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  universal_newlines=True, timeout=timeout)
            output = proc.stdout
        except subprocess.TimeoutExpired:
            output = "timed out after %d s" % timeout
        wrote = sorted(p for p, v in listing(tmp).items() if before.get(p) != v)
    results = [line for line in output.splitlines() if line.startswith(MARK)]
    if results:
        result = json.loads(results[-1][len(MARK):])
    else:
        tail = [line for line in output.splitlines() if line.strip()][-1:] or ["no output"]
        result = {"problems": ["probe died: " + tail[0][:200]], "summary": "", "versions": ""}
    if wrote:
        result["problems"].append("wrote " + ", ".join(wrote[:4]))
    result["ok"] = not result["problems"]
    return result


def loader_matrix(python, source, data, scripts=SCRIPTS, jobs=2):
    """Every (loader, workdir, script) case. -> {(loader, workdir, script): result}."""
    cases = [(loader, workdir, name) for name in scripts for loader in LOADERS for workdir in WORKDIRS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {case: pool.submit(run_case, python, case[0], case[2], case[1], source, data)
                   for case in cases}
        return {case: future.result() for case, future in futures.items()}


def print_loader_table(title, results):
    """A table: a row per loader, a column per (script, workdir); problems below. -> all ok?"""
    columns = sorted({(name, workdir) for _, workdir, name in results},
                     key=lambda c: (SCRIPTS.index(c[0]), WORKDIRS.index(c[1])))
    versions = max((r["versions"] for r in results.values()), key=len) or "?"
    print("\n%s (%s)" % (title, versions))
    if any(name == "pytorch_cnn" for name, _ in columns):
        print("pytorch_cnn: accuracy on %d clean/noisy test digits, agreement of classify with the float32 "
              "forward" % N_IMAGES)
    print("%-18s" % "loader" + "".join("%-28s" % ("%s, cwd %s" % c) for c in columns))
    for loader in LOADERS:
        cells = []
        for name, workdir in columns:
            r = results.get((loader, workdir, name))
            cells.append("" if r is None else ("ok " + r["summary"] if r["ok"] else "FAIL")[:27])
        print("%-18s" % loader + "".join("%-28s" % c for c in cells))
    failed = [(case, r) for case, r in results.items() if not r["ok"]]
    for (loader, workdir, name), r in failed:
        print("  FAIL %s via %s, cwd %s: %s" % (name, loader, workdir, "; ".join(r["problems"])))
    return not failed


def find_python(version):
    """'3.9' -> a working python3.9 (PATH first, then pyenv's versions), or None."""
    candidates = [shutil.which("python" + version)]
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(pyenv, "versions", version + ".*", "bin", "python" + version)),
                         key=lambda p: [int(part) for part in p.split(os.sep)[-3].split(".") if part.isdigit()],
                         reverse=True)
    for path in filter(None, candidates):
        try:
            if subprocess.run([path, "-c", "pass"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0:
                return path
        except OSError:
            continue
    return None


def compile_on(python, source):
    """Both scripts through python's compile(). -> (ok, 'Python 3.x.y' or the error)."""
    code = ("import sys\nfor p in sys.argv[1:]:\n    compile(open(p, encoding='utf-8').read(), p, 'exec')\n"
            "print('Python %d.%d.%d' % sys.version_info[:3])")
    proc = subprocess.run([python, "-I", "-B", "-c", code] + [os.path.join(source, s + ".py") for s in SCRIPTS],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    lines = [line for line in proc.stdout.splitlines() if line.strip()] or ["no output"]
    return proc.returncode == 0, lines[-1]


def compile_matrix(source):
    """compile() of both scripts on each of PYTHONS. -> all ok (a missing Python is not a failure)."""
    print("\ncompile matrix (Python 3.8 to 3.13 found on PATH or in pyenv)")
    ok = True
    for version in PYTHONS:
        python = find_python(version)
        if python is None:
            print("  %-6s not found, skipped" % version)
            continue
        good, detail = compile_on(python, source)
        ok &= good
        print("  %-6s %-4s %s (%s)" % (version, "ok" if good else "FAIL", detail, python))
    return ok


def ensure_venv(python, name, packages):
    """.compat/NAME: a venv of `python` with `packages`, created once. -> its python, or None."""
    venv = os.path.join(COMPAT_DIR, name)
    stamp = os.path.join(venv, ".installed")
    venv_python = os.path.join(venv, "bin", "python")
    if os.path.exists(stamp):
        return venv_python
    print("  creating %s: %s -m venv, pip install %s" % (venv, python, " ".join(packages)), flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    steps = ([python, "-m", "venv", venv], [venv_python, "-m", "pip", "install", "--quiet"] + list(packages))
    for cmd in steps:
        if subprocess.run(cmd).returncode != 0:
            print("  FAIL %s" % " ".join(cmd))
            return None
    open(stamp, "w").close()
    return venv_python


def pythons_matrix(source, data, jobs):
    """numpy_nn's loader matrix on each of PYTHONS with numpy. -> all ok."""
    ok = True
    for version in PYTHONS:
        python = find_python(version)
        venv_python = python and ensure_venv(python, "py%s-numpy" % version.replace(".", ""), ["numpy"])
        if venv_python is None:
            print("\nPython %s: %s" % (version, "not found, skipped" if python is None else "FAIL: no venv"))
            ok &= python is None
            continue
        results = loader_matrix(venv_python, source, data, ("numpy_nn",), jobs)
        ok &= print_loader_table("numpy_nn on Python %s" % version, results)
    return ok


def old_stack(source, data, jobs):
    """Python 3.9 + torch 1.13.1: the loader matrix, then the emulated grader on a zip. -> all ok."""
    print("\nold stack: Python 3.9 + %s in .compat/py39-torch113" % ", ".join(OLD_STACK))
    python = find_python("3.9")
    venv_python = python and ensure_venv(python, "py39-torch113", OLD_STACK)
    if venv_python is None:
        print("  FAIL: %s" % ("no python3.9 found" if python is None else "the venv could not be built"))
        return False
    ok = print_loader_table("old stack loader matrix", loader_matrix(venv_python, source, data, SCRIPTS, jobs))
    zip_path = os.path.join(COMPAT_DIR, "submission.zip")
    steps = ([sys.executable, os.path.join(ROOT, "tools", "make_zip.py"), zip_path, "--root", source],
             [venv_python, os.path.join(ROOT, "tools", "check_submission.py"), zip_path, "--data", data])
    print("\nold stack: tools/check_submission.py with %s" % venv_python, flush=True)
    for cmd in steps:
        code = subprocess.run(cmd).returncode
        ok &= code == 0
        if code != 0:
            print("  FAIL (exit %d): %s" % (code, " ".join(cmd)))
            break
    return ok


PARTS = ("loaders", "compile", "pythons", "old-stack")


def parse_args(argv):
    """Command line -> argparse.Namespace (see --help)."""
    parser = check_submission.Parser(prog="compat.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="what to run (default: all)")
    parser.add_argument("--source", default=ROOT, help="folder of the five graded files (default: the repository)")
    parser.add_argument("--python", default=sys.executable, help="Python of the loaders part (default: this one)")
    parser.add_argument("--data", default=default_data(), help="MNIST test set: raw folder or npz")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--probe", nargs=4, metavar=("LOADER", "SCRIPT", "FOLDER", "DATA"),
                        help=argparse.SUPPRESS)   # one case, in the fresh process
    return parser.parse_args(argv)


def main(argv=None):
    """Run the parts asked for. -> 0 when every case passes, else 1 (2: --source is not a folder)."""
    args = parse_args(argv)
    if args.probe:
        return probe(*args.probe)
    source, start = os.path.abspath(args.source), time.time()
    if not os.path.isdir(source):
        print("error: --source %s is not a folder: name the folder of the graded files" % args.source,
              file=sys.stderr)
        return 2
    missing = [name for name in FILES if not os.path.isfile(os.path.join(source, name))]
    if missing:   # a broken submission, as make_zip reports one: a failed check, nothing to run
        print("FAIL: %s lacks %s" % (args.source, ", ".join(missing)), file=sys.stderr)
        return 1
    outcome = {}
    if "loaders" in args.parts:
        results = loader_matrix(args.python, source, args.data, SCRIPTS, args.jobs)
        outcome["loaders"] = print_loader_table("loader matrix, %s" % args.python, results)
    if "compile" in args.parts:
        outcome["compile"] = compile_matrix(source)
    if "pythons" in args.parts:
        outcome["pythons"] = pythons_matrix(source, args.data, args.jobs)
    if "old-stack" in args.parts:
        outcome["old-stack"] = old_stack(source, args.data, args.jobs)
    print("\nsummary (%.0f s): %s" % (time.time() - start,
                                      ", ".join("%s %s" % (k, "ok" if v else "FAIL") for k, v in outcome.items())))
    return 0 if all(outcome.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
