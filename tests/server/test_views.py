"""What the dashboard computes from the ledger, checked against rows and reference libraries: the
confusion cells recovered from a group-metrics table, cohorts pooled from them with Wilson
intervals, the slice lattice, the comparison of two audits, the monitor's time axis, the lineage
labels and the runs table's links."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn.metrics import confusion_matrix

from raikit.ledger import Ledger, lineage_figure
from raikit.metrics import group_metrics
from raikit.server._views import (
    cohort_cells,
    cohort_metrics,
    compare_frames,
    monitor_figures,
    runs_frame,
    slice_lattice,
)


@pytest.fixture(scope="module")
def adult_groups(adult_scored):
    frame = adult_scored.frame.head(8000).reset_index(drop=True)
    result = group_metrics(
        frame["income"],
        frame["prediction"],
        sensitive_features=frame[["sex", "race"]],
        ci=None,
    )
    return frame, result


def _cells_of(frame, mask) -> list[int]:
    tn, fp, fn, tp = confusion_matrix(
        frame.loc[mask, "income"], frame.loc[mask, "prediction"], labels=[0, 1]
    ).ravel()
    return [tp, fp, fn, tn]


def test_cells_recovered_from_the_table_equal_the_confusion_matrix_of_the_rows(adult_groups):
    frame, result = adult_groups
    cells = cohort_cells(result.table).set_index(["attribute", "group"])
    assert len(cells) == 1 + 2 + 5 + len(frame.groupby(["sex", "race"], observed=True))
    for (attribute, group), row in cells.iterrows():
        if attribute == "overall":
            mask = np.ones(len(frame), bool)
        elif attribute == "sex & race":
            sex, race = group.split(" & ")
            mask = (frame["sex"] == sex) & (frame["race"] == race)
        else:
            mask = frame[attribute] == group
        assert row[["tp", "fp", "fn", "tn"]].tolist() == _cells_of(frame, mask), (attribute, group)
        assert row["n"] == mask.sum()


def test_weighted_cells_are_the_weighted_sums():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    g = rng.choice(["a", "b"], 400)
    w = rng.uniform(0.5, 2.0, 400)
    result = group_metrics(y, p, sensitive_features=g, sample_weight=w, ci=None)
    cells = cohort_cells(result.table).set_index("group")
    for group in ("a", "b"):
        m = g == group
        expected = [
            w[m & (y == 1) & (p == 1)].sum(),
            w[m & (y == 0) & (p == 1)].sum(),
            w[m & (y == 1) & (p == 0)].sum(),
            w[m & (y == 0) & (p == 0)].sum(),
        ]
        np.testing.assert_allclose(cells.loc[group, ["tp", "fp", "fn", "tn"]], expected, rtol=1e-9)


def test_a_table_without_the_statistics_has_no_cells():
    regression = group_metrics(
        [1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 4.5], sensitive_features=list("aabb"), ci=None
    )
    assert cohort_cells(regression.table) is None


def test_a_cohort_equals_the_metrics_of_its_rows_with_wilson_intervals(adult_groups):
    frame, result = adult_groups
    cells = cohort_cells(result.table)
    groups = ["Female & Black", "Male & Black", "Female & Other"]
    out = cohort_metrics(cells, attribute="sex & race", groups=groups, ci=0.9).set_index(
        ["row", "metric"]
    )
    keys = frame["sex"].astype(str) + " & " + frame["race"].astype(str)
    inside = keys.isin(groups).to_numpy()
    for row, mask in (("cohort", inside), ("rest", ~inside)):
        y, p = frame.loc[mask, "income"].to_numpy(), frame.loc[mask, "prediction"].to_numpy()
        expected = {
            "selection_rate": ((p == 1).sum(), len(p)),
            "accuracy": ((p == y).sum(), len(p)),
            "true_positive_rate": (((p == 1) & (y == 1)).sum(), (y == 1).sum()),
            "precision": (((p == 1) & (y == 1)).sum(), (p == 1).sum()),
        }
        for metric, (k, n) in expected.items():
            got = out.loc[(row, metric)]
            assert (got["successes"], got["trials"]) == (k, n), (row, metric)
            assert got["value"] == pytest.approx(k / n, abs=1e-12)
            reference = binomtest(int(k), int(n)).proportion_ci(0.9, method="wilson")
            assert got["lower"] == pytest.approx(reference.low, abs=1e-9)
            assert got["upper"] == pytest.approx(reference.high, abs=1e-9)
    assert out.loc[("overall", "accuracy"), "trials"] == len(frame)
    assert out.loc[("Female & Black", "accuracy"), "trials"] == (keys == "Female & Black").sum()


def test_unknown_groups_are_ignored_not_invented(adult_groups):
    _, result = adult_groups
    out = cohort_metrics(
        cohort_cells(result.table), attribute="sex", groups=["<script>", "Female"], ci=0.95
    )
    assert set(out["row"]) == {"Female", "cohort", "rest", "overall"}


def test_the_slice_lattice_links_each_slice_to_the_slices_it_refines():
    from raikit.dataset import Dataset
    from raikit.evaluate import find_slices

    rng = np.random.default_rng(1)
    n = 6000
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "y"], n),
            "b": rng.choice(["u", "v"], n),
            "c": rng.choice(["r", "t"], n),
        }
    )
    frame["y"] = rng.integers(0, 2, n)
    frame["s"] = rng.choice(["p", "q"], n)
    # fails where a = x and b = u, and where a = y and b = v: no single condition stands out
    bad = ((frame["a"] == "x") == (frame["b"] == "u")).to_numpy()
    right = np.where(frame["y"] == 1, 0.7, 0.3)
    frame["score"] = np.where(bad, 1 - right, right)
    ds = Dataset(frame, target="y", score="score", sensitive=["s"], features=["a", "b", "c"])
    result = find_slices(None, ds, loss="log_loss", method="lattice", k=10, random_state=0)
    slices, nodes, edges = slice_lattice(result)
    assert {"a = x & b = u", "a = y & b = v"} <= set(slices["slice"])
    assert (slices["n_predicates"] == 2).all()
    text = dict(zip(nodes["node"], nodes["text"], strict=True))
    sets = {k: set() if k == 0 else set(v.split(" & ")) for k, v in text.items()}
    for parent, child in edges:
        assert sets[parent] < sets[child] and len(sets[child] - sets[parent]) == 1
    both = nodes.loc[nodes["text"] == "a = x & b = u", "node"].item()
    parents = {text[p] for p, c in edges if c == both}
    assert parents == {"a = x", "b = u"}
    # every recorded slice is a node, reachable from all rows
    recorded = set(nodes.loc[nodes["slice"] >= 0, "slice"])
    assert recorded == set(range(len(slices)))
    reached, frontier = {0}, {0}
    while frontier:
        frontier = {c for p, c in edges if p in frontier} - reached
        reached |= frontier
    assert reached == set(nodes["node"])


def test_compare_frames_puts_scorecards_and_differences_side_by_side(adult_groups):
    from types import SimpleNamespace

    frame, result_a = adult_groups
    result_b = group_metrics(
        frame["income"], 1 - frame["prediction"], sensitive_features=frame[["sex"]], ci=None
    )
    card = SimpleNamespace(
        scorecard=pd.DataFrame(
            {"principle": ["bias", "privacy"], "status": ["pass", "warn"], "reason": ["x", "y"]}
        )
    )
    other = SimpleNamespace(
        scorecard=pd.DataFrame({"principle": ["bias"], "status": ["fail"], "reason": ["z"]})
    )
    scores, headline = compare_frames(card, other, result_a, result_b)
    assert scores.set_index("principle").loc["bias", ["status A", "status B"]].tolist() == [
        "pass",
        "fail",
    ]
    assert pd.isna(scores.set_index("principle").loc["privacy", "status B"])
    row = headline[(headline["what"] == "overall") & (headline["metric"] == "accuracy")].iloc[0]
    acc_a = (frame["income"] == frame["prediction"]).mean()
    assert row["A"] == f"{acc_a:.3f}" and row["B"] == f"{1 - acc_a:.3f}"
    assert row["B - A"] == f"{(1 - acc_a) - acc_a:+.3f}"


def test_monitor_plots_use_the_windows_times_not_their_numbers(tmp_path, adult_scored):
    from raikit.monitor import Monitor, monitor_history

    frame = adult_scored.frame.head(6000).reset_index(drop=True)
    reference = adult_scored.replace(frame=frame.iloc[:3000].reset_index(drop=True))
    current = frame.iloc[3000:].reset_index(drop=True)
    current["ts"] = pd.Timestamp("2026-03-01") + pd.to_timedelta(np.arange(3000) // 1000, "D")
    ledger = Ledger(tmp_path / "ledger")
    Monitor(reference, ledger=ledger, windows="1D", time_column="ts", n_boot=20).ingest(current)
    Monitor(reference, ledger=ledger, windows="1D", time_column="ts", n_boot=20).flush()
    series = monitor_history(ledger, latest=True)
    windows = monitor_history(ledger, table="windows")
    figures = monitor_figures(series, windows)
    assert figures and all(f.layout.xaxis.type == "date" for f in figures)
    starts = sorted({pd.Timestamp(x) for trace in figures[0].data for x in trace.x})
    assert starts[:2] == [pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-02")]  # UTC


def test_row_windows_are_placed_when_they_closed(tmp_path, adult_scored):
    from raikit.monitor import Monitor, monitor_history

    frame = adult_scored.frame.head(6000).reset_index(drop=True)
    reference = adult_scored.replace(frame=frame.iloc[:3000].reset_index(drop=True))
    ledger = Ledger(tmp_path / "ledger")
    Monitor(reference, ledger=ledger, windows=1500, n_boot=20).ingest(frame.iloc[3000:])
    windows = monitor_history(ledger, table="windows")
    figures = monitor_figures(monitor_history(ledger, latest=True), windows)
    closed = set(
        pd.to_datetime(windows["created_at"], utc=True, format="ISO8601").dt.tz_localize(None)
    )
    xs = {pd.Timestamp(x) for f in figures for trace in f.data for x in trace.x}
    assert xs and xs <= closed  # a time for every point, none of them a window number
    assert figures[0].layout.xaxis.title.text == "window closed at"


def test_lineage_labels_are_names_beside_their_nodes(tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    result = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=list("aabb"), ci=None)
    with ledger.transaction():
        from raikit.ledger import track

        with track("<b>audit</b> of a model with a long name", ledger=ledger) as run:
            for i in range(12):
                run.log_evidence(result, check=f"check.number_{i:02d}")
    fig = lineage_figure(ledger, run.id)
    nodes = [t for t in fig.data if t.mode == "markers+text"]
    labels = [label for t in nodes for label in t.text]
    assert "check.number_11" in labels
    assert any(
        label.startswith("<b>audit</b> of a model") and label.endswith("…") for label in labels
    )
    assert {t.textposition for t in nodes} == {"middle right"}
    # 12 evidence nodes in one column: each gets at least a marker and a text line of height
    plot_height = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    span = fig.layout.yaxis.range[1] - fig.layout.yaxis.range[0]
    spacing = plot_height / span  # pixels between neighbours one unit apart
    assert spacing >= max(fig.data[1].marker.size, 12) + 14


def test_runs_table_links_only_ids_and_escapes_names():
    from raikit._html import table_html

    runs = pd.DataFrame(
        {
            "id": ["ab12cd34ef", "../../etc/passwd", "cd34"],
            "name": ["<script>alert(1)</script>", "../x", "javascript:alert(1)"],
            "kind": "run",
            "status": "finished",
            "started_at": "2026-01-01T00:00:00",
            "n_evidence": [2, 1, 0],
        }
    )
    evidence = pd.DataFrame(
        {
            "id": ["e1e1", "e2e2", "e3e3"],
            "run_id": ["ab12cd34ef", "ab12cd34ef", "../../etc/passwd"],
            "check_name": ["audit.report", "evaluate.find_slices", "audit.report"],
            "result_type": ["AuditReport", "SliceResult", "AuditReport"],
        }
    )
    shown, links = runs_frame(runs, evidence)
    html = table_html(shown, links=links)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    hrefs = __import__("re").findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith("/") and ".." not in h and ":" not in h for h in hrefs)
    assert links["model card"] == ["/cards/ab12cd34ef", None, None]
    assert links["Annex IV"][0] == "/cards/ab12cd34ef/annex-iv"
    assert links["slices"] == ["/slices/ab12cd34ef", None, None]
    assert links["report"] == ["/evidence/e1e1", None, None]
