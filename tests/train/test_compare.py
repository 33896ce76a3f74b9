"""compare_mitigations: accuracy and disparity against a direct computation, Pareto, evidence."""

import numpy as np
import pytest

from raikit._errors import DataError, ParameterError
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
            train=train,
            test=test,
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
    with pytest.raises(ParameterError, match=r"compare_mitigations\(\): methods must be a list"):
        compare_mitigations(train=ds, test=ds, methods=["magic"])  # refused before any training
    with pytest.raises(ParameterError, match=r"compare_mitigations\(\): n_boot must be"):
        compare_mitigations(train=ds, test=ds, n_boot=0)
    with pytest.raises(TypeError):  # the pair is keyword-only
        compare_mitigations(ds, ds)
    with pytest.raises(ParameterError, match="Dataset"):
        compare_mitigations(train=ds.frame, test=ds)
    with pytest.raises(ParameterError, match="constraint"):
        compare_mitigations(train=ds, test=ds, constraint="x")


def test_frtrain_with_a_clean_dataset_matches_a_direct_fit():
    from raikit.train import FRTrainClassifier

    train = make_fairness_synthetic(800, random_state=2)
    clean = make_fairness_synthetic(150, random_state=3)
    test = make_fairness_synthetic(600, random_state=4)
    fr_params = {"epochs": 120, "pretrain_epochs": 40, "learning_rate": 0.01}
    r = compare_mitigations(
        train=train,
        test=test,
        methods=["none", "frtrain"],
        constraint="dp",
        params={"frtrain": fr_params},
        clean_validation=clean,
        ci=None,
        random_state=0,
    )
    direct = FRTrainClassifier(constraint="dp", random_state=0, **fr_params).fit(
        train.X,
        train.y,
        sensitive_features=train.sensitive,
        clean_validation=(clean.X, clean.y, clean.sensitive),
    )
    p, y, z = direct.predict(test.X), np.asarray(test.y), np.asarray(test.sensitive["z"])
    row = r.table.set_index("method").loc["frtrain"]
    assert row["accuracy"] == pytest.approx((p == y).mean(), abs=1e-12)
    gap = max(abs(p[z == g].mean() - p.mean()) for g in (0, 1))
    assert row["disparity"] == pytest.approx(gap, abs=1e-12)
    assert r.meta["frtrain_n_clean"] == 150 and r.meta["frtrain_n_train"] == 800
    chart = r.figures()[0]
    marked = [name for trace in chart.data if trace.text is not None for name in trace.text]
    assert "frtrain" in marked


def test_frtrain_holds_out_a_share_of_train():
    train = make_fairness_synthetic(600, random_state=5)
    test = make_fairness_synthetic(300, random_state=6)
    r = compare_mitigations(
        train=train,
        test=test,
        methods=["frtrain"],
        constraint="eqopp",
        params={"frtrain": {"epochs": 30, "pretrain_epochs": 10}},
        clean_validation=0.2,
        ci=None,
    )
    assert r.meta["frtrain_n_clean"] == 120 and r.meta["frtrain_n_train"] == 480
    assert r.meta["frtrain_clean_source"] == "0.2 of train held out"
    with pytest.raises(
        ParameterError, match=r"clean_validation must be a raikit Dataset .* in \(0, 0\.5\]"
    ):
        compare_mitigations(train=train, test=test, methods=["frtrain"], clean_validation=0.9)
    with pytest.raises(ParameterError, match="clean_validation"):
        compare_mitigations(train=train, test=test, methods=["frtrain"], clean_validation="x")


def test_string_labels_need_pos_label_and_match_the_coded_run():
    train = make_fairness_synthetic(800, random_state=0)
    test = make_fairness_synthetic(500, random_state=1)
    names = np.array(["denied", "approved"], dtype=object)  # 1 -> 'approved' (classes_[0])

    def as_text(ds):
        frame = ds.frame.copy()
        frame[ds.target] = names[frame[ds.target].to_numpy()]
        return ds.replace(frame)

    kwargs = {
        "methods": ["none", "threshold"],
        "constraint": "eqopp",
        "ci": None,
        "random_state": 0,
    }
    with pytest.raises(DataError, match="pos_label"):
        compare_mitigations(train=as_text(train), test=as_text(test), **kwargs)
    coded = compare_mitigations(train=train, test=test, **kwargs)
    text = compare_mitigations(
        train=as_text(train), test=as_text(test), pos_label="approved", **kwargs
    )
    assert text.meta["pos_label"] == "approved" and "'approved'" in text.summary
    columns = ["accuracy", "disparity"]
    np.testing.assert_allclose(text.table[columns], coded.table[columns], rtol=0, atol=1e-12)
    # by hand for the baseline: equal opportunity measured on the 'approved' rows
    from raikit.train._compare import make_mitigator

    base = make_mitigator("none", "eqopp").fit(train.X, train.y)
    p, y, z = base.predict(test.X), np.asarray(test.y), np.asarray(test.sensitive["z"])
    gap = max(abs(p[(y == 1) & (z == g)].mean() - p[y == 1].mean()) for g in (0, 1))
    assert text.table.set_index("method").loc["none", "disparity"] == pytest.approx(gap, abs=1e-12)


def test_one_evidence_row_and_a_progress_step_per_method(tmp_path):
    import raikit
    from raikit.ledger import Ledger

    train = make_fairness_synthetic(400, random_state=0)
    test = make_fairness_synthetic(300, random_state=1)
    ledger = Ledger(tmp_path / "ledger")
    steps = []
    with raikit.track("compare", ledger=ledger) as run:
        compare_mitigations(
            train=train,
            test=test,
            methods=["none", "reweigh"],
            constraint="dp",
            n_boot=50,
            progress=lambda done, total, description: steps.append((done, total, description)),
        )
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["train.compare_mitigations"]
    assert steps == [(1, 2, "none"), (2, 2, "reweigh")]
