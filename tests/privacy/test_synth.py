"""Tests of synthesize: DP synthetic data from OpenDP marginals, and its fidelity report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("opendp")

from raikit._errors import ParameterError
from raikit.dataset import Dataset
from raikit.privacy import (
    BudgetExceededError,
    PrivacySource,
    PrivacySourceError,
    SynthesisResult,
    synthesis_utility,
    synthesize,
)
from raikit.privacy._synth import _tvd

ADULT_BOUNDS = {
    "age": (17, 90),
    "fnlwgt": (0, 1_500_000),
    "education_num": (1, 16),
    "capital_gain": (0, 99_999),
    "capital_loss": (0, 4_356),
    "hours_per_week": (1, 99),
}


def categories(frame):
    """The public codebook of a bundled dataset: the categories it documents."""
    return {
        c: list(frame[c].cat.categories)
        for c in frame.columns
        if isinstance(frame[c].dtype, pd.CategoricalDtype)
    }


@pytest.fixture(autouse=True)
def home(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture(scope="module")
def adult_synth(tmp_path_factory):
    from raikit.datasets import load_adult

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(tmp_path_factory.mktemp("adult-home")))
        train, test = load_adult(split="train"), load_adult(split="test")
        PrivacySource.register("adult", epsilon=10.0)
        domains = categories(train.frame)
        result = synthesize(
            train, source="adult", epsilon=10.0, domains=domains, bounds=ADULT_BOUNDS
        )
        odometer = PrivacySource.open("adult").odometer
    return train, test, result, domains, odometer


def test_adult_fidelity_and_accounting(adult_synth):
    train, _, result, _, odometer = adult_synth
    # 13 count tables (the hub, plus hub x each of the 12 other columns), each of sensitivity 1:
    # OpenDP's composition gives epsilon = 13 / scale.
    assert result.noise_scale == pytest.approx(13 / 10.0, rel=1e-6)
    assert result.epsilon <= 10.0 + 1e-9
    # The release was charged to the source before it was computed.
    assert odometer["epsilon"].tolist() == [pytest.approx(result.epsilon)]
    assert odometer["query"][0].startswith("synthesize(")
    assert list(result.data.columns) == [c for c in train.frame.columns if c != "split"]
    assert (result.data.dtypes == train.frame[result.data.columns].dtypes).all()
    assert len(result.data) == pytest.approx(train.n_rows, abs=200)  # noisy total count
    # The rows follow the release closely (sampling error only).
    overall = result.marginals[result.marginals["attribute"] == "overall"]
    assert overall["tvd"].max() < 0.05
    # The released cells: income (2) x sex (2 + missing) x race (5 + missing), noisy counts
    # near the real ones (nobody has a missing sex or race).
    assert len(result.released) == 2 * 3 * 6
    cells = result.released.set_index(["income", "sex", "race"])["count"]
    truth = train.frame.groupby(["income", "sex", "race"], observed=False).size()
    np.testing.assert_allclose(cells.loc[truth.index], truth, atol=20 * result.noise_scale)
    missing = cells.drop(index=truth.index)
    assert len(missing) == 16 and (missing.abs() < 20 * result.noise_scale).all()
    # The hub (income x sex x race) is kept: P(income=1 | sex) within 0.02 of the real rates.
    real = train.frame.groupby("sex", observed=True)["income"].mean()
    synth = result.data.groupby("sex", observed=True)["income"].mean()
    np.testing.assert_allclose(synth.loc[real.index], real, atol=0.02)


def test_private_utility_report(adult_synth):
    train, test, result, domains, _ = adult_synth
    report = synthesis_utility(result, train, domains=domains, bounds=ADULT_BOUNDS, test=test)
    assert set(report) == {"marginals", "pairs", "utility"}
    overall = report["marginals"].query("attribute == 'overall'")
    assert overall["tvd"].max() < 0.05  # real vs synthetic; measured ~0.005 mean at epsilon 10
    # Train on synthetic, test on real: well above the majority rate (0.764), near real (~0.87).
    acc = report["utility"].query("attribute == 'overall'").set_index("train_on")["accuracy"]
    assert acc["synthetic"] > 0.80
    assert acc["real"] - acc["synthetic"] < 0.07
    groups = report["utility"].query("attribute == 'race' and train_on == 'synthetic'")
    assert len(groups) == 5 and groups["n"].sum() == test.n_rows


def test_summary_figures_roundtrip(adult_synth):
    result = adult_synth[2]
    assert "synthetic rows at epsilon=10" in result.summary
    assert len(result.figures()) == 2
    back = SynthesisResult.from_json(result.to_json())
    pd.testing.assert_frame_equal(back.released, result.released)
    assert back.data.shape == result.data.shape
    # Nothing computed on the real data is published.
    assert not {"utility", "pairs"} & set(result.to_dict())


def _people(n_f=194, n_m=206, seed=0):
    rng = np.random.default_rng(seed)
    n = n_f + n_m
    frame = pd.DataFrame(
        {
            "x": rng.normal(5, 2, n),
            "sex": ["F"] * n_f + ["M"] * n_m,
            "y": rng.integers(0, 2, n),
        }
    )
    return Dataset(frame, target="y", sensitive=["sex"], features=["x"])


def test_spends_the_sources_budget_and_is_refused_beyond_it(tmp_path):
    from raikit.ledger import Ledger

    ds = _people()
    PrivacySource.register("people", epsilon=1.0)
    ledger = Ledger(tmp_path / "ledger")
    options = {"domains": {"sex": ["F", "M"]}, "bounds": {"x": (-5, 15)}, "ledger": ledger}
    first = synthesize(ds, source="people", epsilon=0.6, random_state=0, **options)
    source = PrivacySource.open("people")
    assert source.spent == pytest.approx(first.epsilon) and first.epsilon <= 0.6 + 1e-9
    with pytest.raises(BudgetExceededError, match="remains of data source 'people'"):
        synthesize(ds, source="people", epsilon=0.6, random_state=0, **options)
    assert source.spent == pytest.approx(first.epsilon) and len(source.odometer) == 1
    # A rearranged copy of the same people pays from the same budget.
    shuffled = Dataset(
        ds.frame.sample(frac=1, random_state=1).assign(extra=0),
        target="y",
        sensitive=["sex"],
        features=["x"],
    )
    with pytest.raises(BudgetExceededError):
        synthesize(shuffled, source="people", epsilon=0.5, **options)
    assert len(ledger.evidence(check="privacy.synthesize")) == 1
    with pytest.raises(PrivacySourceError, match="No data source named 'nobody'"):
        synthesize(ds, source="nobody", epsilon=0.1, **options)


def test_published_counts_are_noisy_not_exact():
    ds = _people()  # 194 F and 206 M
    PrivacySource.register("people", epsilon=1.0)
    result = synthesize(
        ds,
        source="people",
        epsilon=1e-3,
        domains={"sex": ["F", "M"]},
        bounds={"x": (-5, 15)},
        random_state=0,
    )
    truth = ds.frame.groupby(["y", "sex"]).size()
    released = result.released.set_index(["y", "sex"])["count"]
    # Discrete Laplace noise of scale 2,000: an exact count turns up with probability < 1e-3.
    assert (released.loc[truth.index].to_numpy() != truth.to_numpy()).all()
    assert result.noise_scale == pytest.approx(2 / 1e-3, rel=1e-6)
    published = result.to_json()
    per_sex = result.data["sex"].value_counts()
    assert not (per_sex.get("F") == 194 and per_sex.get("M") == 206)
    assert "utility" not in published


def test_tvd_by_hand():
    # P = (0.5, 0.5, 0), Q = (0.25, 0.25, 0.5): TVD = 0.5 * (0.25 + 0.25 + 0.5) = 0.5.
    assert _tvd(np.array([0, 1]), np.array([0, 1, 2, 2]), 3) == pytest.approx(0.5)


def test_small_data_and_missing_values():
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame(
        {
            "x": np.where(rng.random(n) < 0.1, np.nan, rng.normal(5, 2, n)),
            "c": pd.Categorical(rng.choice(["a", "b", None], n)),
            "g": pd.Categorical(rng.choice(["u", "v"], n)),
            "y": rng.integers(0, 2, n),
        }
    )
    ds = Dataset(frame, target="y", sensitive=["g"], features=["x", "c"])
    PrivacySource.register("small", epsilon=20.0)
    result = synthesize(
        ds,
        source="small",
        epsilon=20.0,
        domains={"c": ["a", "b"], "g": ["u", "v"]},
        bounds={"x": (-5, 15)},
        bins=8,
        n_rows=5000,
    )
    assert len(result.data) == 5000
    # Missing shares survive (10% of x, ~1/3 of c), within noise.
    assert result.data["x"].isna().mean() == pytest.approx(0.1, abs=0.03)
    assert result.data["c"].isna().mean() == pytest.approx(frame["c"].isna().mean(), abs=0.05)
    assert result.data["x"].dropna().between(-5, 15).all()


def test_bad_input():
    from raikit.datasets import load_german_credit

    ds = load_german_credit()
    PrivacySource.register("german", epsilon=5.0)
    domains = categories(ds.frame)
    with pytest.raises(ParameterError, match=r"bounds=\{'duration_months'"):
        synthesize(ds, source="german", epsilon=1.0, domains=domains, bounds={})
    with pytest.raises(ParameterError, match="positive"):
        synthesize(ds, source="german", epsilon=0.0)
    with pytest.raises(ParameterError, match="must be a number"):
        synthesize(ds, source="german", epsilon="0.5")
    with pytest.raises(ParameterError, match=r"synthesize\(\): method must be one of .star."):
        synthesize(ds, source="german", epsilon=1.0, method="gan")
    with pytest.raises(ParameterError, match="source= is required"):
        synthesize(ds, source=None, epsilon=1.0)
    frame = pd.DataFrame({"name": ["a", "b"] * 20, "g": ["u", "v"] * 20, "y": [0, 1] * 20})
    free_text = Dataset(frame, target="y", sensitive=["g"], features=["name"])
    with pytest.raises(ParameterError, match="no declared public domain"):
        synthesize(free_text, source="german", epsilon=1.0, domains={"g": ["u", "v"]})
    # A pandas category is not a public domain: its categories come from the data.
    categorical = Dataset(frame.astype("category"), target="y", sensitive=["g"], features=[])
    with pytest.raises(ParameterError, match=r"no declared public domain: pass domains=\{'g'"):
        synthesize(categorical, source="german", epsilon=1.0)
    assert PrivacySource.open("german").spent == 0


@pytest.mark.slow
def test_cli_synth(tmp_path):
    import os
    import subprocess
    import sys

    from raikit.datasets import load_german_credit

    frame = load_german_credit().frame
    data = tmp_path / "german.parquet"
    frame.to_parquet(data)
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "iuf"]
    bounds = [f"--bounds={c}=0:{20_000 if c == 'credit_amount' else 80}" for c in numeric]
    domains = [f"--domain={c}=" + "|".join(map(str, v)) for c, v in categories(frame).items()]
    env = {"COLUMNS": "200", "PATH": "", "HOME": str(tmp_path / "home")}
    if "PYTHONPATH" in os.environ:
        entries = os.environ["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(e) for e in entries if e)

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "raikit.cli", "privacy", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    assert cli("register", "german", "--budget", "4").returncode == 0
    common = [str(data), "--source", "german", "-t", "credit", "-s", "sex,age_group"]
    out = ["--out", str(tmp_path / "out")]
    result = cli("synth", *common, "--epsilon", "3", *bounds, *domains, *out)
    assert result.returncode == 0, result.stderr
    synthetic = pd.read_csv(tmp_path / "out" / "synthetic.csv")
    assert set(synthetic.columns) <= set(frame.columns)
    assert abs(len(synthetic) - len(frame)) < 150  # noisy count, scale ~ 20 / 3
    assert "synthetic rows at epsilon=3" in result.stdout
    published = (tmp_path / "out" / "synth.json").read_text()
    assert '"utility"' not in published and '"pairs"' not in published
    # The source has 1 of its 4 left: a second release of 3 is refused.
    again = cli("synth", *common, "--epsilon", "3", *bounds, *domains, *out)
    assert again.returncode == 2 and "remains of data source 'german'" in again.stderr
    missing = cli("synth", *common, "--epsilon", "0.5", *domains, *out)
    assert missing.returncode == 2 and "--bounds duration_months=LOWER:UPPER" in missing.stderr
    undeclared = cli("synth", *common, "--epsilon", "0.5", *bounds, *out)
    assert undeclared.returncode == 2 and "--domain" in undeclared.stderr


def test_parameters_are_refused_before_any_spend():
    ds = _people()
    PrivacySource.register("params", epsilon=1.0)
    options = {"source": "params", "epsilon": 0.5, "domains": {"sex": ["F", "M"]}}
    options["bounds"] = {"x": (-5, 15)}
    with pytest.raises(ParameterError, match=r"synthesize\(\): bins must be an integer >= 2"):
        synthesize(ds, bins=1, **options)
    with pytest.raises(ParameterError, match=r"synthesize\(\): n_rows must be"):
        synthesize(ds, n_rows=0, **options)
    with pytest.raises(ParameterError, match=r"synthesize\(\): random_state must be"):
        synthesize(ds, random_state=-1, **options)
    with pytest.raises(ParameterError, match=r"synthesize\(\): data must be a raikit Dataset"):
        synthesize(ds.frame, **options)
    assert PrivacySource.open("params").spent == 0


def test_track_records_one_row_and_the_release_is_paid_once(tmp_path):
    import json

    import raikit
    from raikit.ledger import Ledger

    ds = _people()
    PrivacySource.register("tracked", epsilon=2.0)
    ledger = Ledger(tmp_path / "ledger")
    options = {"domains": {"sex": ["F", "M"]}, "bounds": {"x": (-5, 15)}, "n_rows": 300}
    with raikit.track("synth", ledger=ledger) as run:
        first = synthesize(ds, source="tracked", epsilon=1.0, **options)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["privacy.synthesize"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["source"] == "tracked" and params["epsilon"] == 1.0 and params["bins"] == 10
    assert isinstance(params["random_state"], int)
    assert PrivacySource.open("tracked").spent == pytest.approx(first.epsilon)
    assert len(PrivacySource.open("tracked").odometer) == 1  # one release, paid once
