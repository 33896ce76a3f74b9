"""Result types register themselves; every one round-trips through JSON and reads back anywhere.

The Result subclasses are discovered by importing every module of the package, so a new class is
covered without being listed here; ``raikit._result_types.RESULT_MODULES`` must name its module so
that evidence reads back in a process that never imported it.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import raikit
from raikit._errors import RaikitError
from raikit._result import Finding, Result, result_from_dict, result_type
from raikit._result_types import RESULT_MODULES, RESULT_TITLES

SRC = Path(raikit.__file__).resolve().parents[1]


def _all_result_classes() -> dict[str, type[Result]]:
    for module in pkgutil.walk_packages(raikit.__path__, "raikit."):
        importlib.import_module(module.name)
    found, todo = {}, list(Result.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("raikit."):
            assert cls.__name__ not in found, f"two Result classes named {cls.__name__}"
            found[cls.__name__] = cls
    return found


CLASSES = _all_result_classes()


def _frame() -> pd.DataFrame:
    """Every kind of column a Result table holds, with the awkward values (NaN, inf, None)."""
    return pd.DataFrame(
        {
            "attribute": ["sex", "race", "overall"],
            "group": pd.Categorical(["F", "Black", "all"], categories=["F", "Black", "all", "M"]),
            "value": [0.1 + 0.2, np.nan, -np.inf],
            "n": np.array([3, 0, 7], dtype=np.int64),
            "flag": [True, False, True],
            "note": ["a", None, "<script>"],
        }
    )


def _value(field: dataclasses.Field, depth: int):
    kind = str(field.type)
    if field.name == "findings":
        return (Finding("warning", "Tiny group", "3 rows", slice="race=Other"),)
    if "DataFrame" in kind:
        return _frame()
    if "Series" in kind:
        return pd.Series([1.5, np.nan], name="score")
    if kind == "dict":
        nested = {"threshold": 0.5, "labels": [0, 1], 2: "two", "none": None}
        if field.name == "results" and depth == 0:  # a report holding other results
            nested["privacy.query"] = _instance(CLASSES["PrivateAnswer"], depth + 1)
        return nested
    if kind == "list":
        return ["sex", "race"]
    if kind == "tuple":
        return ("a", 1)
    if "float" in kind:
        return 0.1 + 0.2
    if kind == "int":
        return 42
    if kind == "bool":
        return True
    if kind == "str":
        return "text é"
    return "approved"  # object: e.g. a positive label


def _instance(cls: type[Result], depth: int = 0) -> Result:
    return cls(**{f.name: _value(f, depth) for f in dataclasses.fields(cls)})


def _assert_same(a, b, where: str) -> None:
    assert type(a) is type(b), where
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, obj=where)
    elif isinstance(a, Result):
        for f in dataclasses.fields(a):
            _assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def test_discovery_found_the_stages_results():
    # a floor, not the list: the stages' results are there, whatever gets added later
    assert {"EvaluationResult", "PrivacyReport", "AuditReport", "Card"} <= set(CLASSES)
    assert len(CLASSES) >= 25


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_result_round_trips_through_json(name):
    original = _instance(CLASSES[name])
    data = json.loads(original.to_json())
    assert data["type"] == name
    for rebuilt in (
        result_from_dict(data),
        Result.from_dict(data),
        CLASSES[name].from_json(original.to_json()),
    ):
        _assert_same(original, rebuilt, name)
    assert rebuilt.to_dict() == original.to_dict()  # and again, bit for bit


def test_the_table_names_every_result_and_only_them():
    """The table is the one place a type's module is declared; it must match the code."""
    declared = {name: module for name, module in RESULT_MODULES.items() if name in CLASSES}
    assert declared == {name: cls.__module__ for name, cls in CLASSES.items()}
    stale = sorted(set(RESULT_MODULES) - set(CLASSES))
    assert not stale, f"RESULT_MODULES names classes that no longer exist: {stale}"


def test_every_result_has_a_title_in_plain_words():
    assert sorted(set(CLASSES) - set(RESULT_TITLES)) == []
    assert sorted(set(RESULT_TITLES) - set(RESULT_MODULES)) == []  # no stale titles
    assert all("Result" not in title for title in RESULT_TITLES.values())


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_result_shows_a_card_in_a_notebook(name):
    """Even on numbers its summary and figures cannot read, a card shows what it can."""
    card = _instance(CLASSES[name])._repr_html_()
    assert card.startswith('<div class="raikit-card"') and card.endswith("</div>")
    assert RESULT_TITLES[name] in card
    assert card.count("<table") <= 1  # a verdict table at most, never the result's rows


def test_result_module_imports_no_stage():
    """Importing raikit (and its Result base) loads the bottom layer and the ledger, no stage."""
    code = (
        "import sys, raikit._result\n"
        "print(' '.join(sorted({m.split('.')[1] for m in sys.modules if m.startswith('raikit.')})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
        check=True,
    ).stdout.split()
    assert "_result" in out
    stages = {m.split(".")[1] for m in RESULT_MODULES.values()} - {"metrics"}
    assert not stages & set(out), sorted(stages & set(out))


def test_a_fresh_process_reads_every_type_back(tmp_path):
    """What the ledger does for evidence of older runs: no stage imported beforehand."""
    payloads = {name: json.loads(_instance(cls).to_json()) for name, cls in CLASSES.items()}
    (tmp_path / "all.json").write_text(json.dumps(payloads))
    code = (
        "import json, sys\n"
        "from raikit._result import result_from_dict\n"
        f"payloads = json.load(open({str(tmp_path / 'all.json')!r}))\n"
        "before = {m for m in sys.modules if m.startswith('raikit.')}\n"
        "names = {n: type(result_from_dict(d)).__name__ for n, d in payloads.items()}\n"
        "assert all(n == t for n, t in names.items()), names\n"
        "print(len(names))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) == len(CLASSES)


def test_the_ledger_loads_evidence_of_a_stage_not_imported(tmp_path):
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    table = pd.DataFrame({"value": [1.0], "lower": [0.0], "upper": [2.0], "noise_scale": [1.0]})
    original = CLASSES["PrivateAnswer"](
        query="count(*)", table=table, epsilon=0.5, ci=0.95, mechanism="laplace", source="people"
    )
    evidence_id = ledger.log_evidence(original, check="privacy.query")
    code = (
        "import sys\n"
        "from raikit.ledger import Ledger\n"
        "assert 'raikit.privacy' not in sys.modules\n"
        f"result = Ledger({str(tmp_path / 'ledger')!r}).load_evidence({evidence_id!r})\n"
        "print(type(result).__module__, result.source)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "", "HOME": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["raikit.privacy._table", "people"]


def test_unknown_type_is_a_clear_error():
    with pytest.raises(RaikitError, match="Unknown result type 'NoSuchResult'"):
        result_type("NoSuchResult")
    with pytest.raises(RaikitError, match="Unknown result type"):
        result_from_dict({"type": "NoSuchResult", "version": 1, "fields": {}})
    answer = json.loads(_instance(CLASSES["PrivateAnswer"]).to_json())
    with pytest.raises(RaikitError, match="Cannot read a 'PrivateAnswer' as EvaluationResult"):
        CLASSES["EvaluationResult"].from_dict(answer)
