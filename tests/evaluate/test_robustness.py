"""stress_test(): flip rates and accuracy drops from perturbations, failures reported, and
label-flip poisoning evaluated through group_metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from raikit import Result
from raikit._errors import DataError, ParameterError
from raikit.evaluate import StressTestResult, stress_test


@pytest.fixture(scope="module")
def boosting_stress(compas_split, compas_boosting):
    _, test = compas_split
    return stress_test(
        compas_boosting, test, noise=[0.0, 0.2], swap_rate=[0.2], missing_rate=[0.2], random_state=0
    )


def test_zero_noise_flips_nothing(boosting_stress):
    p = boosting_stress.perturbations
    zero = p[(p["perturbation"] == "numeric_noise") & (p["level"] == 0.0)]
    assert (zero["flip_rate"] == 0).all() and (zero["accuracy_drop"] == 0).all()


def test_group_rates_add_up_and_bounds_hold(boosting_stress):
    p = boosting_stress.perturbations
    for _, part in p.groupby(["perturbation", "level"]):
        overall = part[part["attribute"] == "overall"].iloc[0]
        sex = part[part["attribute"] == "sex"]
        # overall flip rate is the size-weighted mean of the groups of one attribute
        assert (sex["flip_rate"] * sex["n"]).sum() / sex["n"].sum() == pytest.approx(
            overall["flip_rate"], abs=1e-12
        )
        assert overall["accuracy"] - overall["perturbed_accuracy"] == pytest.approx(
            overall["accuracy_drop"], abs=1e-12
        )
    assert (p["flip_lower"] <= p["flip_rate"] + 1e-12).all()
    assert (p["flip_rate"] <= p["flip_upper"] + 1e-12).all()
    noisy = p[
        (p["perturbation"] == "numeric_noise") & (p["level"] == 0.2) & (p["attribute"] == "overall")
    ]
    assert noisy["flip_rate"].iloc[0] > 0


def test_wilson_interval_by_hand(boosting_stress):
    row = boosting_stress.perturbations.iloc[-1]
    k, n, z = row["flip_rate"] * row["n"], row["n"], 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert row["flip_lower"] == pytest.approx(centre - half, abs=1e-12)
    assert row["flip_upper"] == pytest.approx(centre + half, abs=1e-12)


def test_model_that_rejects_missing_values_is_reported(compas_split, compas_logistic):
    _, test = compas_split
    r = stress_test(compas_logistic, test, noise=[0.05], swap_rate=[], missing_rate=[0.1])
    assert list(r.failures["perturbation"]) == ["missing_values"]
    assert any(f.title == "Model fails under missing_values" for f in r.findings)


def test_poisoning_with_logistic_regression(compas_split, compas_logistic, make_logistic):
    train, test = compas_split
    r = stress_test(
        compas_logistic,
        test,
        estimator=make_logistic(),
        train=train,
        noise=[],
        swap_rate=[],
        missing_rate=[],
        poison_rates=[0.0, 0.1, 0.2],
        n_boot=200,
    )
    acc = r.poisoning[
        (r.poisoning["attribute"] == "overall") & (r.poisoning["metric"] == "accuracy")
    ]
    assert acc["poison_rate"].tolist() == [0.0, 0.1, 0.2]
    clean = (compas_logistic.predict(test.X) == test.y.to_numpy()).mean()
    assert acc["value"].iloc[0] == pytest.approx(clean, abs=1e-12)  # rate 0 = the clean model
    assert (acc["lower"] <= acc["value"]).all() and (acc["value"] <= acc["upper"]).all()
    assert set(r.disparity["metric"]) == {
        "selection_rate",
        "true_positive_rate",
        "false_positive_rate",
    }
    assert len(r.figures()) == 2
    back = Result.from_json(r.to_json())
    assert isinstance(back, StressTestResult)
    pd.testing.assert_frame_equal(back.poisoning, r.poisoning)


def test_bad_input(compas_split, compas_boosting, make_logistic):
    _, test = compas_split
    with pytest.raises(
        ParameterError, match=r"stress_test\(\): swap_rate must be a list of shares"
    ):
        stress_test(compas_boosting, test, swap_rate=[1.5])
    with pytest.raises(ParameterError, match="half inverts the labels"):
        stress_test(compas_boosting, test, estimator=make_logistic(), poison_rates=[0.6])
    with pytest.raises(ParameterError, match=r"stress_test\(\): model must be a fitted classifier"):
        stress_test(None, test)
    with pytest.raises(ParameterError, match=r"stress_test\(\): estimator must be an unfitted"):
        stress_test(compas_boosting, test, estimator="logistic")
    with pytest.raises(ParameterError, match=r"stress_test\(\): n_boot must be"):
        stress_test(compas_boosting, test, n_boot=0)
    with pytest.raises(ParameterError, match=r"stress_test\(\): data must be a raikit Dataset"):
        stress_test(compas_boosting, test.frame)


def test_poisoning_metrics_use_pos_label(approval):
    from sklearn.linear_model import LogisticRegression

    ds, model = approval
    train, test = ds.split(0.3, random_state=0)
    kwargs = {
        "estimator": LogisticRegression(),
        "train": train,
        "noise": [],
        "swap_rate": [],
        "missing_rate": [],
        "poison_rates": [0.0],
        "ci": None,
    }
    with pytest.raises(DataError, match="pos_label"):
        stress_test(model, test, **kwargs)
    r = stress_test(model, test, pos_label="approved", **kwargs)
    assert r.meta["pos_label"] == "approved" and "'approved'" in r.summary
    clean = LogisticRegression().fit(train.X, train.y)
    pred = clean.predict(test.X) == "approved"
    y = (test.y == "approved").to_numpy()
    table = r.poisoning[r.poisoning["attribute"] == "overall"].set_index("metric")["value"]
    assert table["selection_rate"] == pytest.approx(pred.mean(), abs=1e-12)
    assert table["true_positive_rate"] == pytest.approx(pred[y].mean(), abs=1e-12)
    assert table["false_positive_rate"] == pytest.approx(pred[~y].mean(), abs=1e-12)


def test_findings_name_the_confidence_level_and_track_records_one_row(
    tmp_path, compas_split, compas_boosting
):
    # the perturbation loop used to overwrite the CI label with the perturbation level
    import json

    import raikit
    from raikit.ledger import Ledger

    _, test = compas_split
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("stress", ledger=ledger) as run:
        r = stress_test(compas_boosting, test, noise=[3.0], swap_rate=[], missing_rate=[], ci=0.9)
    unstable = [f for f in r.findings if f.title.startswith("Predictions unstable")]
    assert unstable and "(90% CI from" in unstable[0].detail
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["evaluate.stress_test"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["noise"] == [3.0] and params["ci"] == 0.9 and params["n_boot"] == 1000


def test_no_intervals_with_ci_none(compas_split, compas_boosting):
    _, test = compas_split
    r = stress_test(compas_boosting, test, noise=[0.2], swap_rate=[], missing_rate=[], ci=None)
    p = r.perturbations
    assert p["flip_lower"].isna().all() and p["drop_upper"].isna().all()
    assert (p["flip_rate"] >= 0).all() and p["flip_rate"].notna().all()


class _Threshold:
    """Predicts 1 when x > 0: its predictions flip under noise only for rows near 0."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return (np.asarray(X["x"], dtype=float) > 0).astype(int)


def _fragile_minority(rows: int = 20_000, minority: int = 200, seed: int = 12345):
    """A large group far from the threshold (never flips) and a 1% group on it (flips ~half).

    Its seed differs from the checks' (0), so the noise they draw is independent of ``x``.
    """
    from raikit import Dataset

    rng = np.random.default_rng(seed)
    group = np.where(np.arange(rows) < minority, "B", "A")
    x = np.where(group == "B", rng.normal(0, 0.01, rows), rng.normal(8, 1, rows))
    frame = pd.DataFrame({"x": x, "g": group, "y": (x > 0).astype(int)})
    return Dataset(frame, target="y", sensitive="g", features=["x"])


def test_max_rows_perturbs_a_stratified_sample_and_reweights_it():
    ds = _fragile_minority()
    model = _Threshold()
    plan = {"noise": [1.0], "swap_rate": [], "missing_rate": []}
    full = stress_test(model, ds, random_state=0, **plan).perturbations.set_index("group")
    sampled = stress_test(model, ds, max_rows=1000, random_state=0, **plan)
    part = sampled.perturbations.set_index("group")
    # every group kept: 30 rows each first, the other 940 in proportion to what is left, so B
    # has 38 rows (3.8% of the sample against 1% of the data)
    assert part.loc["B", "n"] == 38 and part.loc["A", "n"] == 962
    assert sampled.meta["perturbed_rows"] == 1000 and sampled.meta["n_rows"] == 20_000
    assert sampled.meta["sampling"]["population"].sum() == 20_000
    assert "on a sample of 1,000 of 20,000 rows" in sampled.summary
    # reweighted: the overall flip rate is A's and B's shares of the population, not of the
    # sample; the unweighted sample mean (38 of 1,000 rows at B's rate) would be 3.8x too high
    b_rate = part.loc["B", "flip_rate"]
    expected = (200 * b_rate + 19_800 * part.loc["A", "flip_rate"]) / 20_000
    assert part.loc["overall", "flip_rate"] == pytest.approx(expected)
    assert 0.3 < b_rate < 0.7
    naive = 38 * b_rate / 1000
    low, high = part.loc["overall", ["flip_lower", "flip_upper"]]
    assert low <= full.loc["overall", "flip_rate"] <= high
    assert not low <= naive <= high
    # the sample's intervals are wider than the full data's
    full_width = full.loc["overall", "flip_upper"] - full.loc["overall", "flip_lower"]
    assert high - low > full_width > 0


def test_max_rows_above_the_data_changes_nothing(boosting_stress, compas_split, compas_boosting):
    _, test = compas_split
    again = stress_test(compas_boosting, test, max_rows=10**6, random_state=0)
    assert again.meta["perturbed_rows"] == test.n_rows
    pd.testing.assert_frame_equal(
        again.perturbations, stress_test(compas_boosting, test, random_state=0).perturbations
    )


def test_max_rows_below_100_is_a_parameter_error(compas_split, compas_boosting):
    with pytest.raises(ParameterError, match="max_rows"):
        stress_test(compas_boosting, compas_split[1], max_rows=10)
