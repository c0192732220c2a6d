"""Build the upload zip: the five graded files at its root, validated first.

    python tools/make_zip.py [OUTPUT] [--root DIR]      (make zip: OUTPUT = submission.zip)

The zip holds exactly numpy_nn.py, numpy_nn_training.png,
numpy_nn_classification.png, pytorch_cnn.py and model.pt, no folders, no
caches. Its bytes depend only on the files' contents (fixed timestamps, order
and permissions), so the same inputs give the same zip. Nothing is written
unless every file passes:

  * the scripts compile;
  * the PNGs carry the PNG signature and decode completely;
  * model.pt loads with torch.load(weights_only=True) and strictly into the
    MyNet of the pytorch_cnn.py being zipped (built as get_model_class(None)[0]()).

Each problem is one `error:` line naming the file and the fix; exit code 1.
The zip is written to a temp file and renamed, so an old zip is never half
overwritten. `python tools/check_submission.py` then grades the zip.
"""
import argparse
import hashlib
import io
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

from check_submission import FILES, ModelLoadError, Parser, first_line, load_as_grader  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# What to do when a graded file (check_submission.FILES) is bad.
FIXES = {
    "numpy_nn.py": "restore it with `git checkout -- numpy_nn.py`",
    "numpy_nn_training.png": "restore it with `git checkout -- numpy_nn_training.png` "
                             "(`make train-numpy` rebuilds it in build/, `make ship` ships that)",
    "numpy_nn_classification.png": "restore it with `git checkout -- numpy_nn_classification.png` "
                                   "(`make train-numpy` rebuilds it in build/, `make ship` ships that)",
    "pytorch_cnn.py": "restore it with `git checkout -- pytorch_cnn.py`",
    "model.pt": "restore it with `git checkout -- model.pt` "
                "(`make train-cnn` retrains it in build/, `make ship` ships that)",
}
ZIP_TIME = (1980, 1, 1, 0, 0, 0)   # the earliest time a zip can hold
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class SubmissionError(Exception):
    """The files cannot be zipped; .problems holds one line per problem."""

    def __init__(self, problems):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def read_files(root):
    """-> ({name: bytes} of the graded files present in root, [missing-file problems])."""
    contents, problems = {}, []
    for name in FILES:
        path = Path(root) / name
        if path.is_file():
            contents[name] = path.read_bytes()
        else:
            problems.append(f"error: {name} is missing in {root}: {FIXES[name]}")
    return contents, problems


def python_problem(name, source):
    """A script's source -> None if it compiles, else one problem line."""
    try:
        compile(source, name, "exec")
    except SyntaxError as err:
        return (f"error: {name} does not compile (SyntaxError line {err.lineno}: {err.msg}): "
                f"fix it or {FIXES[name]}")
    except ValueError as err:  # e.g. null bytes
        return f"error: {name} does not compile ({first_line(err)}): fix it or {FIXES[name]}"
    return None


def png_problem(name, data):
    """A PNG file's bytes -> None if it is a complete, decodable PNG, else one problem line."""
    if not data.startswith(PNG_SIGNATURE):
        return f"error: {name} is not a PNG image (no PNG signature): {FIXES[name]}"
    try:
        from PIL import Image
        with Image.open(io.BytesIO(data)) as img:
            img.load()   # decodes every pixel: a truncated file fails here
            size = img.size
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError ... on broken files
        return f"error: {name} is not a valid PNG image ({first_line(err)}): {FIXES[name]}"
    if min(size) < 1:
        return f"error: {name} is an empty image ({size[0]} x {size[1]}): {FIXES[name]}"
    return None


def load_script(name, source):
    """Execute a script's source as a fresh module, registered in sys.modules only
    while it runs (the repository's own `pytorch_cnn` import stays untouched). -> module."""
    module = types.ModuleType(f"_zipped_{name.removesuffix('.py')}")
    module.__file__ = name
    sys.modules[module.__name__] = module   # dataclasses look their module up while it runs
    try:
        exec(compile(source, name, "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    return module


def model_problems(model_bytes, script_source):
    """model.pt's bytes and pytorch_cnn.py's source -> [] if the state_dict loads
    strictly into get_model_class(None)[0](), else problem lines."""
    try:
        script = load_script("pytorch_cnn.py", script_source)
        script.get_model_class(None)[0]()
    except Exception as err:
        return [f"error: pytorch_cnn.py does not import or build its model ({first_line(err)}): "
                f"fix it or {FIXES['pytorch_cnn.py']}"]
    try:
        load_as_grader(script, model_bytes)
    except ModelLoadError as err:
        return [f"error: {err}: {FIXES['model.pt']}"]
    return []


def validate(contents):
    """{name: bytes} of the graded files -> problem lines (empty: all good)."""
    problems = []
    for name, data in contents.items():
        if name.endswith(".py"):
            problem = python_problem(name, data)
        elif name.endswith(".png"):
            problem = png_problem(name, data)
        else:
            continue
        if problem:
            problems.append(problem)
    if "model.pt" in contents and "pytorch_cnn.py" in contents \
            and not any(p.startswith("error: pytorch_cnn.py") for p in problems):
        problems += model_problems(contents["model.pt"], contents["pytorch_cnn.py"])
    return problems


def write_zip(entries, path):
    """Write [(name, bytes), ...] in this order to a zip at `path`, reproducibly
    (fixed time, permissions and system, deflate level 9) and atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3                  # unix, whatever builds it
                info.external_attr = 0o100644 << 16     # regular file, rw-r--r--
                zf.writestr(info, data, compresslevel=9)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def build(root, output):
    """Validate the graded files in `root` and zip them to `output`.
    -> output Path. Raises SubmissionError listing every problem. A previous
    `output` is removed first: a refused build leaves no old zip to upload."""
    Path(output).unlink(missing_ok=True)
    contents, problems = read_files(root)
    problems += validate(contents)
    if problems:
        raise SubmissionError(problems)
    # The bytes zipped are the bytes validated, even if training replaces model.pt meanwhile.
    return write_zip([(name, contents[name]) for name in FILES], output)


def uncommitted(root, names=FILES):
    """The graded files in `root` that differ from git's HEAD ([] outside a git checkout):
    the zip takes the working tree's bytes, which a student may not have meant to ship."""
    try:
        proc = subprocess.run(["git", "diff", "--name-only", "--relative", "HEAD", "--", *names],
                              cwd=root, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return []
    return proc.stdout.split() if proc.returncode == 0 else []


def parse_args(argv):
    """Command line -> argparse.Namespace (see --help)."""
    parser = Parser(
        prog="make_zip.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", nargs="?", default="submission.zip",
                        help="zip to write (default: submission.zip)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help=f"folder holding the graded files (default: {ROOT})")
    return parser.parse_args(argv)


def main(argv=None):
    """Build the zip; -> 0, or 1 after printing one `error:` line per problem of the
    graded files (2: no such --root)."""
    args = parse_args(argv)
    if not args.root.is_dir():
        print(f"error: --root {args.root} is not a folder: name the folder that holds the graded files",
              file=sys.stderr)
        return 2
    try:
        path = build(args.root, args.output)
    except SubmissionError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        print(f"{args.output} not written (nor kept from an earlier build)", file=sys.stderr)
        return 1
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        listing = ", ".join(f"{i.filename} ({i.file_size / 1e3:.0f} kB)" for i in zf.infolist())
    print(f"wrote {path}: {len(data) / 1e3:.0f} kB, sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    print(f"  {listing}")
    changed = uncommitted(args.root)
    if changed:
        print(f"note: zipped as in the working tree, not as committed: {', '.join(changed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
