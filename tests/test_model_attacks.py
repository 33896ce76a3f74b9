"""Crafted model files cannot run code through any loading path; real models load by default.

The attack: a working LogisticRegression saved with skops, plus one attribute whose node makes
skops *call* a function with arguments from the file while loading. ``sklearn.utils._testing``
re-exports ``subprocess.check_output`` and ``raikit.ledger._store.Ledger(path)`` creates a folder,
so trusting names by prefix (``sklearn.``/``raikit.``) ran both. Each path must refuse the file
with a raikit error, and the marker the payload would create must not exist.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from raikit import RaikitError, load_model, save_model
from raikit._models import TRUSTED_TYPES
from raikit.dataset import Dataset
from raikit.ledger import Ledger, train


def node_of(obj) -> dict:
    """The skops node of ``obj``, without the object ids (they would clash in another file)."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "__id__"}
        return [strip(v) for v in value] if isinstance(value, list) else value

    schema = json.loads(zipfile.ZipFile(io.BytesIO(sio.dumps(obj))).read("schema.json"))
    return strip({k: v for k, v in schema.items() if k not in ("protocol", "_skops_version")})


def call_node(module: str, name: str, *args) -> dict:
    """A skops node that calls ``module.name(*args)`` while the file loads."""
    arguments = node_of(args)
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": arguments,
    }


def with_payload(model, node: dict) -> bytes:
    """The skops bytes of ``model`` with one more attribute, ``payload``, built by ``node``."""
    source = zipfile.ZipFile(io.BytesIO(sio.dumps(model)))
    schema = json.loads(source.read("schema.json"))
    attributes = schema["content"]
    attributes["content"]["payload"] = node
    key_types = attributes["key_types"]["content"]
    key_types.append(key_types[0])  # a str key, as the others: skops builds the value
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(
                name, json.dumps(schema) if name == "schema.json" else source.read(name)
            )
    return out.getvalue()


PAYLOADS = {
    "subprocess": lambda marker: call_node(
        "sklearn.utils._testing", "check_output", ["touch", str(marker)]
    ),
    "raikit-class": lambda marker: call_node("raikit.ledger._store", "Ledger", str(marker)),
}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attack")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "s": rng.choice(["a", "b"], 300)})
    frame["y"] = (frame["x"] + 0.5 * rng.normal(size=300) > 0).astype(int)
    frame.to_csv(folder / "data.csv", index=False)
    return folder / "data.csv", frame


@pytest.fixture
def logistic(table):
    _, frame = table
    return LogisticRegression().fit(frame[["x"]], frame["y"])


@pytest.fixture(params=sorted(PAYLOADS))
def crafted(request, logistic, tmp_path):
    """``(path of the crafted file, marker it would create)``; the model itself works."""
    marker = tmp_path / "pwned"
    path = tmp_path / "model.skops"
    path.write_bytes(with_payload(logistic, PAYLOADS[request.param](marker)))
    return path, marker


def test_the_crafted_file_does_run_code_when_every_type_is_trusted(logistic, tmp_path):
    # The test's own premise: the payload is real (so the refusals below are meaningful).
    for kind, payload in PAYLOADS.items():
        marker = tmp_path / kind
        data = with_payload(logistic, payload(marker))
        loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
        assert marker.exists(), kind
        assert loaded.predict(pd.DataFrame({"x": [2.0]})).tolist() == [1]


def test_api_load_model_refuses(crafted):
    path, marker = crafted
    with pytest.raises(RaikitError, match="does not trust by default") as info:
        load_model(path)
    assert "trusted=[" in str(info.value) and "--trust" not in str(info.value)
    assert not marker.exists()


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """Run the CLI in this process; return its exit code and what it printed."""
    from raikit import cli

    monkeypatch.setattr(sys, "argv", ["raikit", *args])
    monkeypatch.setenv("COLUMNS", "300")
    code = 0
    try:
        cli.main()
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())


def model_commands(data: Path, model: Path, out: Path) -> dict[str, list[str]]:
    roles = ["--target", "y", "--sensitive", "s", "--out", str(out)]
    model_option = ["--model", str(model)]
    quick_explain = ["--max-rows", "40", "--background", "20", "--method", "linear"]
    return {
        "audit": ["audit", "--train", str(data), "--test", str(data), *model_option, *roles],
        "evaluate": ["evaluate", "--data", str(data), *model_option, *roles, "--n-boot", "20"],
        "slices": ["slices", "--data", str(data), *model_option, *roles[:2], *roles[4:]],
        "evasion": ["evasion", "--data", str(data), *model_option, *roles, "--max-steps", "2"],
        "explain": ["explain", "--data", str(data), *model_option, *roles, *quick_explain],
        "privacy report": [
            *["privacy", "report", "--train", str(data), "--holdout", str(data)],
            *model_option,
            *roles,
        ],
    }


@pytest.mark.parametrize(
    "command", ["audit", "evaluate", "slices", "evasion", "explain", "privacy report"]
)
def test_every_cli_command_with_model_refuses(
    command, crafted, table, tmp_path, monkeypatch, capsys
):
    path, marker = crafted
    args = model_commands(table[0], path, tmp_path / "out")[command]
    code, printed = run_cli(monkeypatch, capsys, *args)
    assert code == 2, printed
    assert "does not trust by default" in printed
    fixes = ("--trust sklearn.utils._testing.check_output", "--trust raikit.ledger._store.Ledger")
    assert any(fix in printed for fix in fixes), printed
    assert "Traceback" not in printed and "trusted=[" not in printed
    assert not marker.exists()


class Doubler(LogisticRegression):
    """A user-defined type: not on the allow-list, loads with its exact name trusted."""


@pytest.mark.parametrize("command", ["evaluate", "explain"])
def test_cli_trust_adds_exact_types_and_refuses_prefixes(
    command, table, tmp_path, monkeypatch, capsys
):
    data, frame = table
    path = save_model(Doubler().fit(frame[["x"]], frame["y"]), tmp_path / "d.skops")
    args = model_commands(data, path, tmp_path / "out")[command]
    code, printed = run_cli(monkeypatch, capsys, *args)
    name = f"{Doubler.__module__}.Doubler"
    assert code == 2 and f"--trust {name}" in printed
    code, printed = run_cli(monkeypatch, capsys, *args, "--trust", Doubler.__module__ + ".")
    assert code == 2 and "prefixes" in printed
    code, printed = run_cli(monkeypatch, capsys, *args, "--trust", name)
    assert code == 0, printed
    assert (tmp_path / "out").is_dir()


def test_trust_pickle_does_not_open_skops_files(crafted, table, tmp_path, monkeypatch, capsys):
    path, marker = crafted
    args = model_commands(table[0], path, tmp_path / "out")["evaluate"]
    code, printed = run_cli(monkeypatch, capsys, *args, "--trust-pickle")
    assert code == 2 and "does not trust by default" in printed
    assert not marker.exists()


def test_ledger_load_model_refuses(crafted, tmp_path):
    path, marker = crafted
    ledger = Ledger(tmp_path / "ledger")
    data = path.read_bytes()
    artifact = ledger.put_artifact(data, media_type="application/x-skops")
    with ledger._write() as conn:
        conn.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?)",
            (artifact, "m", "LogisticRegression", "{}", artifact, None, "2026-01-01"),
        )
    with pytest.raises(RaikitError, match="does not trust by default"):
        ledger.load_model(artifact[:10])
    assert not marker.exists()


@pytest.fixture
def poisoned_training(crafted, table, tmp_path):
    """A ledger whose recorded training's estimator is the crafted file."""
    path, marker = crafted
    _, frame = table
    ledger = Ledger(tmp_path / "ledger")
    ds = Dataset(frame, target="y", sensitive=["s"], features=["x"])
    _, run = train(LogisticRegression(), ds, ledger=ledger)
    artifact = ledger.put_artifact(path.read_bytes(), media_type="application/x-skops")
    with ledger._write() as conn:
        conn.execute(
            "UPDATE trainings SET estimator_artifact = ? WHERE run_id = ?", (artifact, run.id)
        )
    return ledger, run, marker


def test_reproduce_refuses(poisoned_training):
    ledger, run, marker = poisoned_training
    with pytest.raises(RaikitError, match="does not trust by default") as info:
        ledger.reproduce(run.id)
    assert "trusted=[" in str(info.value)
    assert not marker.exists()


def test_reproduce_command_refuses(poisoned_training, monkeypatch, capsys):
    ledger, run, marker = poisoned_training
    code, printed = run_cli(monkeypatch, capsys, "reproduce", run.id[:12], "--ledger", ledger.uri)
    assert code == 2 and "does not trust by default" in printed and "--trust " in printed
    assert not marker.exists()


@pytest.mark.parametrize(
    ("module", "name", "args"),
    [
        # allow-listed names, but called instead of referenced: refused all the same
        ("sklearn.utils.validation", "check_array", ([[1.0]],)),
        ("functools", "partial", ()),
        ("raikit.train._fairbatch", "FairBatchClassifier", ()),
    ],
)
def test_allowed_names_are_refused_in_a_loader_that_calls_them(
    module, name, args, logistic, tmp_path
):
    path = tmp_path / "m.skops"
    path.write_bytes(with_payload(logistic, call_node(module, name, *args)))
    with pytest.raises(RaikitError, match=f"{module}.{name}"):
        load_model(path)


def test_method_nodes_are_never_trusted_by_default(logistic, tmp_path):
    node = node_of(logistic.predict)
    node["__module__"] = node["content"]["obj"]["__module__"]  # skops records the base module
    path = tmp_path / "m.skops"
    path.write_bytes(with_payload(logistic, node))
    with pytest.raises(RaikitError, match="does not trust by default"):
        load_model(path)
    names = sio.get_untrusted_types(file=path)
    loaded = load_model(path, trusted=names)  # trusted by their exact names, it loads
    assert loaded.payload(pd.DataFrame({"x": [2.0]})).tolist() == [1]


def test_the_allow_list_names_classes_only_and_never_a_calling_loader():
    import importlib

    for name, loaders in TRUSTED_TYPES.items():
        module, _, attribute = name.rpartition(".")
        obj = getattr(importlib.import_module(module), attribute)
        assert "ConstructorFromReduceNode" not in loaders and "ReduceNode" not in loaders
        if loaders == {"FunctionNode"}:  # a reference skops returns without calling it
            assert callable(obj) and not isinstance(obj, type), name
        else:
            assert isinstance(obj, type), name


@pytest.mark.parametrize("bad", ["sklearn", "sklearn.", "sklearn.*", "x"])
def test_python_trusted_takes_exact_names(bad, logistic, tmp_path):
    path = save_model(logistic, tmp_path / "m.skops")
    with pytest.raises(RaikitError, match="exact type names"):
        load_model(path, trusted=[bad])
    with pytest.raises(RaikitError, match="exact type names"):
        load_model(path, trusted="sklearn.linear_model._logistic.LogisticRegression")


def test_ledger_models_of_user_types_load_only_with_their_exact_names(table, tmp_path):
    _, frame = table
    ledger = Ledger(tmp_path / "ledger")
    model_id = ledger.log_model(Doubler().fit(frame[["x"]], frame["y"]))
    name = f"{Doubler.__module__}.Doubler"
    with pytest.raises(RaikitError, match=f"trusted=\\['{name}'\\]"):
        ledger.load_model(model_id)
    with pytest.raises(RaikitError, match="exact type names"):
        ledger.load_model(model_id, trusted=[Doubler.__module__ + "."])
    assert isinstance(ledger.load_model(model_id, trusted=[name]), Doubler)
