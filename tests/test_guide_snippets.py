"""Every code example of the user guide runs and prints what the page says it prints.

The guide's pages (``docs/*.md``) write their examples as ``pycon`` blocks (``>>>`` prompts and
their output). Each page's blocks run in order as one doctest, in a fresh folder and with a fresh
home folder (the privacy page registers a data source in ``~/.raikit``), so a page that drifts
from the API fails here, naming the page and the line.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
_BLOCK = re.compile(r"^```pycon\n(.*?)^```", re.M | re.S)
PAGES = sorted(p.name for p in DOCS.glob("*.md") if _BLOCK.search(p.read_text("utf-8")))
GUIDE = ("dataset", "metrics", "data", "sensitive_data", "synthetic", "evaluation", "evasion",
         "training", "constraints", "explanations", "privacy", "federated", "ledger",
         "deployment")  # fmt: skip


def test_every_stage_has_a_guide_page_with_examples():
    assert {f"{name}.md" for name in GUIDE} <= set(PAGES)
    toctree = (DOCS / "guide.rst").read_text("utf-8")
    assert all(f"   {name}\n" in toctree for name in GUIDE)


@pytest.mark.parametrize("page", PAGES)
def test_the_examples_of_the_page_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    path = DOCS / page
    source = "\n".join(_BLOCK.findall(path.read_text("utf-8")))
    test = doctest.DocTestParser().get_doctest(source, {}, page, str(path), 0)
    assert test.examples, f"{page}: no examples found"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)
