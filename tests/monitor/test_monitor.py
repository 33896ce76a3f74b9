"""Monitor on real Adult predictions: drift from counts, labels joined by id, alerts, ledger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from raikit._errors import ColumnError, DataError, ParameterError
from raikit.ledger import Ledger
from raikit.metrics import group_metrics
from raikit.monitor import Monitor, MonitorWindowResult, monitor_history


@pytest.fixture(scope="module")
def halves(adult_scored):
    frame = adult_scored.frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame["id"] = np.arange(len(frame))
    ref = adult_scored.replace(frame=frame.iloc[:8000].reset_index(drop=True))
    return ref, frame.iloc[8000:].reset_index(drop=True)


def test_no_drift_on_same_distribution_and_chi2_matches_scipy(tmp_path, halves):
    ref, prod = halves
    monitor = Monitor(ref, ledger=Ledger(tmp_path), windows=4000, n_boot=50)
    results = monitor.ingest(prod)
    assert [r.n_rows for r in results] == [4000, 4000]
    r = results[0]
    assert not r.drift["drifted"].any()
    # chi-square from the stored histograms equals scipy's on the same counts (rtol 1e-9)
    age = r.histograms[r.histograms["column"] == "age"]
    ref_counts = np.round(age["reference"].to_numpy() * 8000)
    cur_counts = np.round(age["window"].to_numpy() * 4000)
    keep = (ref_counts + cur_counts) > 0
    expected = chi2_contingency(np.vstack([ref_counts[keep], cur_counts[keep]]), correction=False)
    row = r.drift.set_index(["column", "attribute"]).loc[("age", "overall")]
    assert row["chi2"] == pytest.approx(expected.statistic, rel=1e-9)
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert monitor.flush().n_rows == len(prod) - 8000


def test_drift_and_prediction_drift_alerts(tmp_path, halves):
    ref, prod = halves
    shifted = prod.iloc[:5000].copy()
    shifted["age"] = shifted["age"] + 15
    shifted["prediction"] = 1  # the model suddenly approves everyone
    monitor = Monitor(ref, ledger=Ledger(tmp_path), windows=5000, n_boot=50)
    (r,) = monitor.ingest(shifted)
    whole = r.drift[r.drift["attribute"] == "overall"]
    drifted = set(whole.loc[whole["drifted"], "column"])
    assert {"age", "prediction"} <= drifted and "workclass" not in drifted
    titles = [f.title for f in r.findings]
    assert "Data drift in age" in titles and "Prediction drift in prediction" in titles
    sel = r.selection.set_index(["attribute", "group"])
    assert sel.loc[("sex", "Female"), "window_rate"] == 1.0
    alerts = monitor.alerts()
    assert set(alerts["title"]) >= {"Data drift in age", "Prediction drift in prediction"}


def test_labels_joined_by_id_give_group_metrics_and_fairness_alert(tmp_path, halves):
    ref, prod = halves
    ledger = Ledger(tmp_path)
    window = prod.iloc[:6000].copy()
    window.loc[window["sex"] == "Female", "prediction"] = 0  # unfair to women
    monitor = Monitor(ref, ledger=ledger, windows=6000, id_column="id", n_boot=100)
    labelled = window.sample(4000, random_state=1)  # labels arrive for 2/3 of rows, out of order
    assert monitor.add_labels(labelled["id"], labelled["income"]) == 0  # nothing ingested yet
    (r,) = monitor.ingest(window)
    assert r.n_labelled == 4000
    rows = window.set_index("id").loc[labelled["id"]]
    direct = group_metrics(
        rows["income"].to_numpy(),
        rows["prediction"].to_numpy(),
        sensitive_features=rows[["sex", "race"]].reset_index(drop=True),
        metrics=["accuracy", "true_positive_rate"],
    )
    got = r.metrics.set_index(["attribute", "group", "metric"])["value"]
    assert got[("sex", "Male", "accuracy")] == pytest.approx(
        direct.by_group.loc[("sex", "Male"), "accuracy"], abs=1e-12
    )
    assert got[("sex", "Female", "true_positive_rate")] == 0.0
    assert any(f.title == "Unfair true positive rate across sex" for f in r.findings)
    assert (r.metrics["lower"] <= r.metrics["value"] + 1e-12).all()
    # stored: evidence, window row and time series
    back = ledger.load_evidence(monitor_history(ledger, table="windows")["evidence_id"].iloc[0])
    assert isinstance(back, MonitorWindowResult)
    pd.testing.assert_frame_equal(back.metrics, r.metrics)
    series = monitor.history()
    tpr = series[(series["kind"] == "true_positive_rate") & (series["group"] == "Female")]
    assert tpr["value"].iloc[0] == 0.0 and tpr["upper"].notna().all()
    # late labels: refresh re-evaluates the closed window
    rest = window[~window["id"].isin(labelled["id"])]
    assert monitor.add_labels(rest["id"], rest["income"]) == 2000
    assert monitor.refresh(0).n_labelled == 6000
    assert len(monitor_history(ledger, table="windows")) == 2
    assert "Drift per column" in r.to_html(tmp_path / "w.html")


def test_bad_input(tmp_path, halves):
    ref, prod = halves
    ledger = Ledger(tmp_path)
    with pytest.raises(ParameterError, match=r"raikit\.Dataset"):
        Monitor(prod, ledger=ledger)
    with pytest.raises(ParameterError, match="positive number of rows"):
        Monitor(ref, ledger=ledger, windows=0)
    monitor = Monitor(ref, ledger=ledger, windows=100)
    with pytest.raises(ColumnError, match="age"):
        monitor.ingest(prod.drop(columns=["age"]))
    with pytest.raises(ParameterError, match="id_column"):
        monitor.add_labels([1], [0])
    with pytest.raises(DataError, match="non-numbers"):
        monitor.ingest(prod.iloc[:10].assign(age="old"))
    with pytest.raises(ParameterError, match="not a closed window"):
        monitor.refresh(5)
    labelled = Monitor(ref, ledger=ledger, windows=100, id_column="id", name="with-ids")
    with pytest.raises(DataError, match="differ in length"):
        labelled.add_labels([1, 2], [0])
    with pytest.raises(DataError, match="missing"):
        labelled.add_labels([1, 2], [0, None])


def test_time_windows_close_on_a_later_period_and_count_late_rows(tmp_path, halves):
    ref, prod = halves
    rows = prod.iloc[:3000].copy()
    # 1,000 rows per day over three days (UTC), shuffled across two batches
    rows["ts"] = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        np.repeat([0, 1, 2], 1000) * 24 + 12, unit="h"
    )
    monitor = Monitor(ref, ledger=Ledger(tmp_path), windows="1D", time_column="ts", n_boot=50)
    first = monitor.ingest(rows.iloc[:1500].sample(frac=1.0, random_state=0))
    assert [r.n_rows for r in first] == [1000]
    assert first[0].start == "2026-01-01T00:00:00" and first[0].end == "2026-01-02T00:00:00"
    late = rows.iloc[[0]]  # a day-1 row arriving during day 2
    assert monitor.ingest(late) == []
    (second,) = monitor.ingest(rows.iloc[1500:])
    assert second.n_rows == 1001 and second.n_late == 1
    assert monitor.flush().n_rows == 1000
    windows = monitor_history(monitor.ledger, table="windows")
    assert windows["window_start"].tolist() == [
        "2026-01-01T00:00:00",
        "2026-01-02T00:00:00",
        "2026-01-03T00:00:00",
    ]
    with pytest.raises(ParameterError, match="time_column"):
        Monitor(ref, ledger=monitor.ledger, windows="1D")
    with pytest.raises(ParameterError, match="frequency"):
        Monitor(ref, ledger=monitor.ledger, windows="fortnightly", time_column="ts")
    with pytest.raises(DataError, match="missing timestamp"):
        monitor.ingest(rows.iloc[:5].assign(ts=pd.NaT))


def test_count_windows_span_rows(tmp_path, halves):
    ref, prod = halves
    monitor = Monitor(ref, ledger=Ledger(tmp_path), windows=300, n_boot=20)
    results = monitor.ingest(prod.iloc[:250]) + monitor.ingest(prod.iloc[250:700])
    assert [(r.start, r.end) for r in results] == [("0", "299"), ("300", "599")]


def test_drift_in_one_group_only_is_found(tmp_path, halves):
    ref, prod = halves
    window = prod.iloc[:6000].copy()
    black = window["race"] == "Black"
    window.loc[black, "age"] = window.loc[black, "age"] + 20
    monitor = Monitor(ref, ledger=Ledger(tmp_path), windows=6000, n_boot=20, min_group_size=100)
    (r,) = monitor.ingest(window)
    age = r.drift[r.drift["column"] == "age"].set_index(["attribute", "group"])
    assert not age.loc[("overall", "overall"), "drifted"]
    assert age.loc[("race", "Black"), "drifted"]
    assert not age.loc[("race", "White"), "drifted"]
    # per-group counts equal a direct count of the group's rows (exact)
    assert age.loc[("race", "Black"), "n_window"] == black.sum()
    assert "Data drift in age for race=Black only" in [f.title for f in r.findings]
    tiny = r.drift[(r.drift["n_window"] < 100) & (r.drift["attribute"] != "overall")]
    assert len(tiny) and tiny["p_value"].isna().all()  # too small to test


def test_late_labels_from_a_later_session_are_joined_and_windows_refreshed(tmp_path, halves):
    ref, prod = halves
    window = prod.iloc[:3000]
    with Monitor(ref, ledger=Ledger(tmp_path), windows=2000, id_column="id", n_boot=50) as first:
        (closed,) = first.ingest(window)  # window 0 closes; window 1 (1,000 rows) stays open
        assert closed.n_labelled == 0
    # the context manager flushed the open window: both are stored
    assert list(monitor_history(tmp_path, table="windows")["n_rows"]) == [2000, 1000]

    later = Monitor.open(tmp_path)  # a new session: no state but the ledger
    assert later.windows_closed == 2 and later.id_column == "id"
    labelled = window.iloc[500:2500]  # 1,500 rows of window 0, 500 of window 1
    assert later.add_labels(labelled["id"].astype(str), labelled["income"]) == 2000
    results = later.refresh_pending()
    assert [(r.window, r.n_labelled) for r in results] == [(0, 1500), (1, 500)]
    rows = window.iloc[500:2000]
    direct = group_metrics(
        rows["income"].to_numpy(),
        rows["prediction"].to_numpy(),
        sensitive_features=rows[["sex", "race"]].reset_index(drop=True),
        metrics=["accuracy"],
    )
    got = results[0].metrics.set_index(["attribute", "group", "metric"])["value"]
    assert got[("sex", "Female", "accuracy")] == pytest.approx(
        direct.by_group.loc[("sex", "Female"), "accuracy"], abs=1e-12
    )
    # drift of a refreshed window is recomputed from the stored counts: unchanged
    pd.testing.assert_frame_equal(results[0].drift, closed.drift)
    assert later.refresh_pending() == []  # nothing new since
    latest = monitor_history(tmp_path, table="windows", latest=True)
    assert latest["n_labelled"].tolist() == [1500, 500]  # one row per window: its newest
    series = monitor_history(tmp_path, latest=True)
    assert not series.duplicated(["window", "kind", "name", "group"]).any()
    assert len(monitor_history(tmp_path, table="windows")) == 4  # every evaluation is kept
    # a corrected label replaces the earlier one
    later.add_labels([window["id"].iloc[500]], [1 - window["income"].iloc[500]])
    assert later._label_map()[str(window["id"].iloc[500])] == 1 - window["income"].iloc[500]


def test_a_resumed_monitor_continues_numbering_and_refuses_another_reference(tmp_path, halves):
    ref, prod = halves
    Monitor(ref, ledger=Ledger(tmp_path), windows=1000, n_boot=20).ingest(prod.iloc[:2000])
    again = Monitor(ref, ledger=Ledger(tmp_path), windows=1000, n_boot=20)
    (r,) = again.ingest(prod.iloc[2000:3000])
    assert (r.window, r.start, r.end) == (2, "2000", "2999")
    other = ref.replace(frame=ref.frame.assign(age=ref.frame["age"] * 2))
    with pytest.raises(DataError, match="different reference"):
        Monitor(other, ledger=Ledger(tmp_path), windows=1000)
    with pytest.raises(DataError, match="No monitor named 'nope'"):
        Monitor.open(tmp_path, name="nope")
    with pytest.raises(ParameterError, match=r"not a closed window .*windows 0\.\.2"):
        again.refresh(7)


def test_ingest_file_streams_parquet_and_equals_ingesting_the_frame(tmp_path, halves):
    ref, prod = halves
    part = prod.iloc[:5000]
    part.iloc[:2500].to_parquet(tmp_path / "a.parquet")
    part.iloc[2500:].to_parquet(tmp_path / "b.parquet")
    from_frame = Monitor(ref, ledger=Ledger(tmp_path / "l1"), windows=2000, n_boot=20)
    expected = from_frame.ingest(part)
    from_file = Monitor(ref, ledger=Ledger(tmp_path / "l2"), windows=2000, n_boot=20)
    seen = []
    got = from_file.ingest_file(
        str(tmp_path / "*.parquet"), batch_size=700, progress=lambda d, t: seen.append((d, t))
    )
    assert len(got) == len(expected) == 2
    for a, b in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a.drift, b.drift)
    assert seen[-1] == (5000, 5000)
    with pytest.raises(DataError, match="No file matches"):
        from_file.ingest_file(str(tmp_path / "*.csv"))
    part.drop(columns=["age"]).to_parquet(tmp_path / "noage.parquet")
    with pytest.raises(ColumnError, match="age"):
        from_file.ingest_file(tmp_path / "noage.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="Cannot read"):
        from_file.ingest_file(tmp_path / "bad.parquet")


def test_open_keeps_the_monitors_roles_when_the_table_was_logged_with_other_roles(tmp_path, halves):
    """The ledger keys a dataset by content: the same reference table logged earlier with other
    roles (as training data of a recorded run) must not change the roles a resumed monitor sees."""
    ref, prod = halves
    ledger = Ledger(tmp_path)
    ledger.log_dataset(
        ref.replace(sensitive=["race"]), store_data=True
    )  # logged first, other roles
    with Monitor(ref, ledger=ledger, windows=4000, id_column="id", n_boot=20) as monitor:
        monitor.ingest(prod.iloc[:4000])
    later = Monitor.open(tmp_path)
    assert later.reference.roles == ref.roles
    assert later.add_labels(prod["id"][:50], prod["income"][:50]) == 50


def test_one_minimum_group_size_policy_across_the_package():
    """Monitor, drift, selective prediction and group metrics share raikit.metrics.MIN_GROUP_SIZE."""
    import inspect

    from raikit.data import drift
    from raikit.metrics import MIN_GROUP_SIZE
    from raikit.review import SelectiveClassifier

    for target in (Monitor.__init__, drift, SelectiveClassifier.__init__, group_metrics):
        default = inspect.signature(target).parameters["min_group_size"].default
        assert default == MIN_GROUP_SIZE, target


def test_label_free_estimates_alert_before_labels_and_show_realised_after(tmp_path, halves):
    ref, prod = halves
    window = prod.iloc[:6000].copy()
    window.loc[window["sex"] == "Female", "prediction"] = 0  # unfair to women
    monitor = Monitor(ref, ledger=Ledger(tmp_path), windows=6000, id_column="id", n_boot=100)
    (r,) = monitor.ingest(window)  # no label yet
    assert r.n_labelled == 0 and r.metrics.empty
    est = r.estimates.set_index(["attribute", "group", "metric"])
    assert est.loc[("sex", "Female", "true_positive_rate"), "estimate"] == 0.0
    assert est["realised"].isna().all()
    titles = [f.title for f in r.findings]
    assert "Unfair true positive rate across sex (estimated without labels)" in titles
    series = monitor.history()
    assert (series["kind"] == "estimated_true_positive_rate").any()
    # the labels arrive: the realised value stands beside the estimate, and lies in its interval
    assert monitor.add_labels(window["id"], window["income"]) == 6000
    later = monitor.refresh(0)
    assert later.n_labelled == 6000
    est = later.estimates.set_index(["attribute", "group", "metric"])
    truth = group_metrics(
        window["income"].to_numpy(),
        window["prediction"].to_numpy(),
        sensitive_features=window[["sex", "race"]],
        metrics=["accuracy", "true_positive_rate"],
        ci=None,
    ).by_group
    male = est.loc[("sex", "Male", "accuracy")]
    assert male["realised"] == pytest.approx(truth.loc[("sex", "Male"), "accuracy"], abs=1e-12)
    for key in [("overall", "overall", "accuracy"), ("sex", "Male", "true_positive_rate")]:
        row = est.loc[key]
        assert row["lower"] <= row["realised"] <= row["upper"], key
    # once every label is in, the estimate's alert gives way to the measured one
    titles = [f.title for f in later.findings]
    assert "Unfair true positive rate across sex" in titles
    assert not any("estimated without labels" in t for t in titles)
    assert isinstance(MonitorWindowResult.from_json(later.to_json()), MonitorWindowResult)
    assert len(later.figures()) == 4


def test_no_estimates_without_a_score(tmp_path, halves):
    ref, prod = halves
    unscored = ref.replace(score=None)
    monitor = Monitor(unscored, ledger=Ledger(tmp_path), windows=3000, n_boot=30)
    (r,) = monitor.ingest(prod.iloc[:3000].drop(columns="score"))
    assert r.estimates.empty and r.estimated_disparities.empty
