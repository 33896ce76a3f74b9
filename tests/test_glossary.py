"""docs/glossary.md cannot fall behind the public API.

Every keyword name that two or more public callables share (walked as tests/test_conventions.py
walks them) has an entry in the glossary, and every name the conventions single out is there too.
The README and docs/architecture.md link the page.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pytest

import test_conventions as conventions

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"

# Named by DESIGN.md's conventions and issue 18 even where one function alone uses them.
SINGLED_OUT = {
    "data", "model", "estimator", "network", "train", "test", "reference", "current",
    "sensitive", "sensitive_features", "attribute", "pos_label", "random_state", "ci", "alpha",
    "n_boot", "sample_weight", "weight", "ledger", "progress", "backend", "min_group_size",
    "missing_group", "error_weight", "step_size",
}  # fmt: skip


def _shared_keywords() -> dict[str, set[str]]:
    """Keyword name -> the public callables that take it, for names taken by two or more."""
    uses = collections.defaultdict(set)
    for key, obj in conventions._public_callables().items():
        if isinstance(obj, type) and not conventions._is_estimator(obj):
            continue  # results, tables and stores: their constructors are not an API's keywords
        signature = conventions._signature(obj)
        if signature is None:
            continue
        for name, p in signature.parameters.items():
            if name in ("self", "cls") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            uses[name].add(key)
    return {name: keys for name, keys in uses.items() if len(keys) >= 2}


def _documented() -> set[str]:
    """The names in the first column of the glossary's tables (``a``, ``b`` cells count both)."""
    names = set()
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if len(cells) > 2 and line.startswith("|") and not set(cells[1].strip()) <= {"-"}:
            names.update(re.findall(r"`(\w+)`", cells[1]))
    return names


def test_the_walk_finds_shared_keywords():
    shared = _shared_keywords()
    # a property of the API this test relies on: the core names are shared widely
    assert len(shared["random_state"]) >= 10 and len(shared["ledger"]) >= 10
    assert "data" in shared and "pos_label" in shared


def test_every_shared_keyword_is_in_the_glossary():
    missing = {
        name: sorted(keys)[:3]
        for name, keys in _shared_keywords().items()
        if name not in _documented()
    }
    assert missing == {}, f"add these to docs/glossary.md: {missing}"


@pytest.mark.parametrize("name", sorted(SINGLED_OUT))
def test_the_conventions_names_are_in_the_glossary(name):
    assert name in _documented()


def test_the_glossary_reader_sees_only_the_first_column(tmp_path, monkeypatch):
    page = tmp_path / "glossary.md"
    page.write_text(
        "| name | meaning |\n|---|---|\n| `alpha`, `beta` | not `gamma` |\ntext `delta`\n",
        encoding="utf-8",
    )
    monkeypatch.setitem(globals(), "GLOSSARY", page)
    assert _documented() == {"alpha", "beta"}


def test_the_glossary_is_linked():
    assert "docs/glossary.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "glossary.md" in (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
