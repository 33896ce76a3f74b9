"""Results in a real Jupyter kernel (nbclient): a notebook computes group metrics and an audit and
displays them; the outputs are raikit's cards with the object's numbers and no error.

The kernel runs this checkout's sources: its kernelspec (written to a temporary folder) starts the
interpreter running the tests with ``PYTHONPATH`` set to the ``src`` folder raikit was imported
from, and the first cell checks which raikit it imported.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import raikit

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

SRC = Path(raikit.__file__).resolve().parents[1]

SETUP = f"""\
import raikit
assert raikit.__file__.startswith({str(SRC)!r}), raikit.__file__
from sklearn.linear_model import LogisticRegression
from raikit.audit import audit
from raikit.datasets import load_german_credit
from raikit.metrics import group_metrics_of

ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
train, test = ds.split(0.3, random_state=0)
model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
result = group_metrics_of(test.with_predictions(model), n_boot=200, random_state=0)
"""
NUMBERS = """\
import json
print(json.dumps({
    "ratio": float(result.ratio()["selection_rate"].min()),
    "accuracy": float(result.overall["accuracy"]),
    "findings": [f.title for f in result.findings],
    "summary": result.summary,
}))
"""
AUDIT = """\
report = audit(model, train=train, test=test, sections=["bias"], n_boot=50, random_state=0)
report
"""
AUDIT_NUMBERS = """\
print(report.scorecard[["principle", "status", "reason"]].to_json(orient="records"))
"""


def _kernel_manager(folder: Path):
    """A kernel of this interpreter that imports raikit from ``SRC`` (a kernelspec in ``folder``)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec = folder / "kernels" / "raikit-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "raikit tests",
                "language": "python",
                "env": {"PYTHONPATH": str(SRC), "IPYTHONDIR": str(folder / "ipython")},
            }
        )
    )
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")])
    return KernelManager(
        kernel_name="raikit-test",
        kernel_spec_manager=specs,
        connection_file=str(folder / "connection.json"),  # not in the user's runtime folder
    )


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kernel")
    cells = [SETUP, "result", NUMBERS, "result", AUDIT, AUDIT_NUMBERS]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = nbclient.NotebookClient(
        notebook,
        km=_kernel_manager(folder),
        timeout=120,
        startup_timeout=60,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return notebook


def _html(cell) -> list[str]:
    return [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]


def test_the_notebook_runs_without_errors(executed):
    errors = [o for cell in executed.cells for o in cell.outputs if o["output_type"] == "error"]
    assert errors == []
    streams = [o["text"] for c in executed.cells for o in c.outputs if o.get("name") == "stderr"]
    assert not any("Traceback" in text for text in streams)


def test_a_result_shows_its_card_with_the_objects_numbers(executed):
    numbers = json.loads(executed.cells[2].outputs[0]["text"])
    (card,) = _html(executed.cells[1])
    assert card.startswith('<div class="raikit-card"') and "Metrics by group" in card
    assert f"lowest selection-rate ratio {numbers['ratio']:.3f}" in card
    summary = numbers["summary"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert summary in card
    assert numbers["findings"] and all(
        t.replace("&", "&amp;").replace("<", "&lt;") in card for t in numbers["findings"]
    )
    assert re.search(r'<div id="raikit-figure-[0-9a-f]+"', card)
    # the text view is still there for consoles
    plain = executed.cells[1].outputs[0]["data"]["text/plain"]
    assert plain.startswith("GroupMetricsResult(")


def test_plotly_js_is_sent_with_the_first_figure_of_the_kernel_only(executed):
    first, again = _html(executed.cells[1])[0], _html(executed.cells[3])[0]
    assert "window.Plotly = Plotly" in first and len(first) > 1_000_000
    assert "window.Plotly = Plotly" not in again and len(again) < 100_000
    assert re.search(r'<div id="raikit-figure-[0-9a-f]+"', again)


def test_an_audit_shows_its_verdicts_inline(executed):
    (card,) = _html(executed.cells[4])
    scorecard = json.loads(executed.cells[5].outputs[0]["text"])
    assert "Audit of LogisticRegression" in card
    assert len(scorecard) >= 5
    for row in scorecard:
        principle = row["principle"].replace("_", " ").capitalize()
        reason = row["reason"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert re.search(
            rf">{re.escape(principle)}</td><td[^>]*>{re.escape(row['status'])}</td>"
            rf"<td[^>]*>{re.escape(reason)}</td>",
            card,
        ), principle
    assert re.search(r"Test accuracy 0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]", card)
    assert "Findings that matter most" in card and "<script" not in card
