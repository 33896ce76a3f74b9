"""compare_mitigations: accuracy and disparity against a direct computation, Pareto, evidence."""

import numpy as np
import pytest

from raikit._errors import DataError
from raikit._result import Result
from raikit.datasets import make_fairness_synthetic
from raikit.train import MitigationResult, compare_mitigations
from raikit.train._compare import _pareto


def test_pareto_by_hand():
    acc = np.array([0.85, 0.84, 0.80, 0.83])
    disp = np.array([0.20, 0.05, 0.02, 0.06])
    assert _pareto(acc, disp).tolist() == [True, True, True, False]


@pytest.fixture(scope="module")
def result():
    train = make_fairness_synthetic(1500, random_state=0)
    test = make_fairness_synthetic(1000, random_state=1)
    return (
        compare_mitigations(
            train,
            test,
            methods=["none", "reweigh", "threshold", "fairbatch"],
            constraint="eqopp",
            params={"fairbatch": {"epochs": 20, "learning_rate": 0.005}},
            n_boot=200,
        ),
        train,
        test,
    )


def test_numbers_match_a_direct_computation(result):
    r, train, test = result
    from raikit.train._compare import make_mitigator

    base = make_mitigator("none", "eqopp").fit(train.X, train.y)
    p, y, z = base.predict(test.X), np.asarray(test.y), np.asarray(test.sensitive["z"])
    row = r.table.set_index("method").loc["none"]
    assert row["accuracy"] == pytest.approx((p == y).mean(), abs=1e-12)
    tpr = p[y == 1].mean()
    gap = max(abs(p[(y == 1) & (z == g)].mean() - tpr) for g in (0, 1))
    assert row["disparity"] == pytest.approx(gap, abs=1e-12)
    assert row["disparity_lower"] <= row["disparity"] <= row["disparity_upper"]
    assert row["accuracy_lower"] <= row["accuracy"] <= row["accuracy_upper"]
    t = r.table.set_index("method")
    assert t.loc["threshold", "disparity"] < t.loc["none", "disparity"]
    assert (r.table["train_seconds"] > 0).all()


def test_result_round_trip_html_and_figures(result, tmp_path):
    r = result[0]
    again = Result.from_json(r.to_json())
    assert isinstance(again, MitigationResult)
    assert again.table.equals(r.table)
    assert "none" in r.summary
    figs = r.figures()
    assert len(figs[0].data[0].x) + len(figs[0].data[1].x) <= 4  # one mark per method
    html = r.to_html(tmp_path / "m.html")
    assert "Pareto" in html


def test_bad_input():
    ds = make_fairness_synthetic(100, random_state=0)
    with pytest.raises(DataError, match="Unknown method"):
        compare_mitigations(ds, ds, methods=["magic"])
    with pytest.raises(DataError, match="Dataset"):
        compare_mitigations(ds.frame, ds)
    with pytest.raises(DataError, match="constraint"):
        compare_mitigations(ds, ds, constraint="x")
