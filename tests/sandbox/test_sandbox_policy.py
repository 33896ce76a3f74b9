"""Exports pass the policy: group size k, no raw rows, the row cap and differential privacy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from raikit._errors import ParameterError
from raikit._result import Result
from raikit.metrics import group_metrics_of
from raikit.sandbox import ExportPolicy, PolicyError, open_sandbox, verify_log


@dataclass(frozen=True, eq=False)
class _PerRowResult(Result):
    """A result that carries one score per row (what a careless check could return)."""

    scores: np.ndarray
    findings: tuple = ()


def _metrics(box, sensitive):
    data = box.dataset("people.csv", target="y", sensitive=sensitive, prediction="pred")
    return box.run(group_metrics_of, data, n_boot=20, random_state=0)


def _open(tmp_path, owner, table, policy):
    box = open_sandbox(tmp_path / "strict", key=owner[0], attestor=owner[1], policy=policy)
    box.add(table)
    return box


def test_group_under_k_is_refused_with_the_rule_and_the_fix(tmp_path, owner, table):
    frame = pd.read_csv(table)
    smallest = int(frame["region"].value_counts().min())  # the 'tiny' region
    box = _open(tmp_path, owner, table, {"min_group_size": smallest + 1})
    with pytest.raises(PolicyError) as refused:
        box.export(_metrics(box, ["region"]), name="by_region")
    message = str(refused.value)
    assert f"'min_group_size' (k={smallest + 1})" in message
    assert f"group=tiny with {smallest}" in message and "merge rare categories" in message
    assert not (box.folder / "exports" / "by_region.json").exists()
    # the same check without the small attribute passes
    assert box.export(_metrics(box, ["sex"]), name="by_sex").exists()


def test_k_exactly_at_the_smallest_group_passes(tmp_path, owner, table):
    smallest = int(pd.read_csv(table)["region"].value_counts().min())
    box = _open(tmp_path, owner, table, {"min_group_size": smallest})
    assert box.export(_metrics(box, ["region"]), name="ok").exists()


def test_raw_rows_are_refused(box, table):
    box.add(table)
    data = box.dataset("people.csv", target="y", sensitive=["sex"], prediction="pred")
    with pytest.raises(PolicyError, match="rule 'no raw rows': a DataFrame is not the Result"):
        box.export(data.frame, name="rows")
    per_row = _PerRowResult(scores=np.zeros(len(data.frame)))
    with pytest.raises(PolicyError, match=r"result.scores has 400 lines, one per row"):
        box.export(per_row, name="scores")


def test_raw_rows_rule_holds_across_processes(box, table, owner):
    box.add(table)
    box.dataset("people.csv", target="y", sensitive=["sex"], prediction="pred")
    resumed = open_sandbox(box.folder, key=owner[0], attestor=owner[1])  # e.g. another command
    with pytest.raises(PolicyError, match="one per row"):
        resumed.export(_PerRowResult(scores=np.zeros(400)), name="scores")


def test_max_rows_caps_every_table(tmp_path, owner, table):
    box = _open(tmp_path, owner, table, {"min_group_size": 1, "max_rows": 10})
    with pytest.raises(PolicyError, match=r"rule 'max_rows': result.table has .* more than the"):
        box.export(_metrics(box, ["sex"]), name="m")


def test_dp_policy_refuses_exact_results_and_lets_dp_answers_leave(
    tmp_path, owner, table, monkeypatch
):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    from raikit.privacy import PrivacySource, PrivateAnswer

    PrivacySource.register("people", epsilon=1.0, privacy_unit="row")
    policy = {"min_group_size": 1, "dp": {"source": "people", "max_epsilon": 0.5}}
    box = _open(tmp_path, owner, table, policy)
    with pytest.raises(
        PolicyError, match=r"rule 'dp'.*Sandbox.private_table\(name, source='people'"
    ):
        box.export(_metrics(box, ["sex"]), name="exact")
    private = box.private_table("people.csv", source="people", domains={"sex": ["F", "M"]})
    answer = private.group_by("sex", epsilon=0.25)
    assert isinstance(answer, PrivateAnswer) and private.spent == pytest.approx(0.25)
    assert box.export(answer, name="noisy_counts").exists()
    with pytest.raises(PolicyError, match=r"rule 'dp.max_epsilon'"):
        box.export(private.count(epsilon=0.6), name="too_much")
    actions = [e["action"] for e in verify_log(box.folder)]
    assert actions.count("export") == 1 and actions.count("export-refused") == 2


def test_policy_from_yaml_and_its_errors(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("min_group_size: 25\nmax_rows: 500\n")
    assert ExportPolicy.load(path) == ExportPolicy(min_group_size=25, max_rows=500)
    with pytest.raises(ParameterError, match="unknown rule 'k'"):
        ExportPolicy.load({"k": 5})
    with pytest.raises(ParameterError, match="min_group_size must be an integer >= 1, got 0"):
        ExportPolicy.load({"min_group_size": 0})
    with pytest.raises(ParameterError, match="dp must be a mapping"):
        ExportPolicy.load({"dp": True})


def test_row_level_tables_of_a_split_are_refused_too(box, table):
    """Per-row output on a part of a table (e.g. local explanations of the test rows) is caught:
    the rows of every Dataset given to a check count, not only the tables imported."""
    box.add(table)
    data = box.dataset("people.csv", target="y", sensitive=["sex"], prediction="pred")
    train, test = data.split(0.3, random_state=0)
    per_row = box.run(lambda d: _PerRowResult(scores=np.zeros(len(d.frame))), test)
    with pytest.raises(PolicyError, match=f"result.scores has {len(test.frame)} lines, one per"):
        box.export(per_row, name="scores")
    assert len(train.frame) + len(test.frame) == 400


@pytest.mark.slow  # two audits
def test_an_audit_run_in_the_sandbox_exports_only_its_aggregate_sections(tmp_path, owner):
    """An audit's local explanations are one row per test row: refused. The bias section alone
    (group metrics of groups above k) leaves."""
    from sklearn.linear_model import LogisticRegression

    from raikit.audit import audit
    from raikit.datasets import load_german_credit

    frame = load_german_credit(as_frame=True)[["duration_months", "age", "sex", "credit"]]
    box = open_sandbox(tmp_path / "audit", key=owner[0], attestor=owner[1])
    box.add(frame, name="credit.parquet")
    data = box.dataset("credit.parquet", target="credit", sensitive=["sex"])
    train, test = data.split(0.3, random_state=0)
    model = LogisticRegression().fit(train.X, train.y)
    explained = box.run(
        audit, model, train=train, test=test, n_boot=20, sections=["explainability"]
    )
    with pytest.raises(PolicyError, match=f"has {len(test.frame)} lines, one per row"):
        box.export(explained, name="explained")
    report = box.run(audit, model, train=train, test=test, n_boot=20, sections=["bias"])
    assert box.export(report, name="bias").exists()
