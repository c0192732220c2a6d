"""The README and docs/ point at what exists: every relative link names a file
of the repository and, with #anchor, one of its headings; every `make X` they
name is a target of the Makefile."""
import re

import pytest

from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
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
