"""The demo end to end on the bundled Adult data."""

from __future__ import annotations

import pytest
from rich.console import Console

from raikit import Result
from raikit.ledger import Ledger


@pytest.mark.slow
def test_demo_audits_three_models_into_the_ledger_and_writes_reports(tmp_path):
    from raikit._demo import run_demo

    console = Console(record=True, width=160)
    out = run_demo(out=tmp_path / "demo", seed=0, n_boot=200, console=console)
    text = console.export_text()
    assert "Four-fifths rule violated for sex" in text and "Comparison report:" in text
    paths = out["paths"]
    for name in ("baseline", "fairbatch", "threshold_optimizer"):
        for file in ("audit.html", "model_card.md", "model_card.json", "annex_iv.html"):
            assert (paths[name] / file).exists(), (name, file)
    # Both audits are in the ledger, each with its results and its report as evidence.
    ledger = Ledger(paths["ledger"])
    checks = ledger.evidence()["check_name"].value_counts()
    assert checks["audit.report"] == 3 and checks["metrics.group_metrics"] == 3
    # Every model of the demo is stored as skops, none as a pickle, and reloads by default.
    stored = ledger._query(
        "SELECT m.id, a.media_type FROM models m JOIN artifacts a ON a.hash = m.artifact"
    )
    assert len(stored) >= 3 and set(stored["media_type"]) == {"application/x-skops"}
    for model_id in stored["id"]:
        assert hasattr(ledger.load_model(model_id), "predict")
    # Post-processing for demographic parity shrinks the selection-rate gap between the sexes.
    comparison = Result.from_json(str(paths["comparison"]).replace(".html", ".json"))
    gaps = comparison.table[
        (comparison.table["quantity"] == "selection_rate difference")
        & (comparison.table["attribute"] == "sex")
    ].set_index("model")["value"]
    assert gaps["baseline"] > 0.1 and gaps["threshold_optimizer"] < 0.05
    # FairBatch for equal opportunity narrows the true-positive-rate gap between the sexes.
    tpr = comparison.table[
        (comparison.table["quantity"] == "true_positive_rate difference")
        & (comparison.table["attribute"] == "sex")
    ].set_index("model")["value"]
    assert tpr["fairbatch"] < tpr["baseline"]
    # The comparison says what post-processing for demographic parity cost: a wider TPR gap.
    changes = comparison.changes[comparison.changes["attribute"] == "sex"]
    verdicts = changes.set_index(["model", "criterion"])["verdict"]
    assert verdicts[("threshold_optimizer", "TPR gap")] == "worse"
    assert verdicts[("threshold_optimizer", "selection-rate gap")] == "better"
    assert "raised the TPR gap between sex groups" in text
    assert out["reports"]["baseline"].results["metrics.group_metrics"].overall["count"] == 16281
    # The datasheet answers composition from evidence and leaves the rest unanswered.
    sheet = (paths["datasheet"]).read_text()
    assert "32,561" in sheet or "32561" in sheet
    assert "Unanswered" in sheet or "unanswered" in sheet
