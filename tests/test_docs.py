"""The README and docs/ point at what exists: every relative link names a file
of the repository and, with #anchor, one of its headings; every `make X` they
name is a target of the Makefile; and every script reads top to bottom, as
the guide asks: a top-level function or class uses only the module's names
defined above it, never one further down."""
import ast
import re

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SCRIPTS = sorted([*ROOT.glob("*.py"), *(ROOT / "tools").glob("*.py")])
LINK = re.compile(r"\]\(([^)\s]+)\)")            # [text](target)
MAKE = re.compile(r"`(?:[A-Za-z_]+=\S+ )*make ([a-z][a-z-]*)")   # `make X`, `CI=true make X`


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path):
    return {slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")}


def test_slug_is_githubs():
    assert slug('How readable is "cheap camera"?') == "how-readable-is-cheap-camera"
    assert slug("MyNet v3 (issue 15)") == "mynet-v3-issue-15"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_reach_a_file_and_a_heading(doc):
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):          # http:, mailto:
            continue
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists() or (anchor and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{doc.name}: {broken}"


def test_every_make_target_named_exists():
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    named = {name for doc in DOCS for name in MAKE.findall(doc.read_text())}
    assert named and named <= targets, sorted(named - targets)


DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def bound_names(node, inside=False):
    """The names a statement binds -> {name: first line}: assignment targets
    (tuples too), imports, def and class names, looking into if, try and with
    blocks. The bodies of the functions and classes it defines count only with
    `inside` (then with every function's arguments): what a function calls its own."""
    found, todo = [], [node]
    while todo:
        n = todo.pop()
        if isinstance(n, DEFS) and n is not node:
            found.append((n.name, n.lineno))
            if not inside:
                continue
        if inside and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = n.args
            found += [(x.arg, n.lineno) for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x]
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            found.append((n.id, n.lineno))
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            found += [((alias.asname or alias.name).split(".")[0], n.lineno) for alias in n.names]
        todo.extend(ast.iter_child_nodes(n))
    names = {}
    for name, line in found:
        names[name] = min(line, names.get(name, line))
    return names


def jumps_down(source):
    """Top-level functions and classes of `source` that use a module-level name
    bound below them -> ["user (line) uses name (line)"]. Names a function binds
    itself (arguments, assignments, imports, nested defs) are its own."""
    tree = ast.parse(source)
    defined = {}
    for node in tree.body:
        names = {node.name: node.lineno} if isinstance(node, DEFS) else bound_names(node)
        for name, line in names.items():
            defined.setdefault(name, line)
    found = []
    for node in tree.body:
        if not isinstance(node, DEFS):
            continue
        own = bound_names(node, inside=True)
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        found += [f"{node.name} ({node.lineno}) uses {name} ({defined[name]})"
                  for name in sorted(used - own.keys()) if defined.get(name, 0) > node.lineno]
    return found


def test_jumps_down_finds_a_use_of_what_comes_later():
    source = "def a(x):\n    return b(x) + x\n\n\ndef b(y):\n    c = 1\n    return y + c\n\n\nC = 2\n"
    assert jumps_down(source) == ["a (1) uses b (5)"]
    assert jumps_down(source.replace("return b(x) + x", "return x")) == []
    later = {"tuple": "B, D = 1, 2", "import": "import os as B", "try": "try:\n    B = 1\nexcept Exception:\n    B = 2",
             "async": "async def B():\n    pass"}
    for kind, binding in later.items():
        assert [line[:14] for line in jumps_down(f"def f():\n    return B\n\n\n{binding}\n")] \
            == ["f (1) uses B ("], kind
    nested = "def f():\n    def g():\n        return 1\n    return g()\n\n\ndef g():\n    return 2\n"
    assert jumps_down(nested) == []   # f's own g, not the module's


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_each_script_reads_top_to_bottom(script):
    assert not jumps_down(script.read_text()), jumps_down(script.read_text())
