"""Tests of synthesize: DP synthetic data from OpenDP marginals, and its fidelity report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("opendp")

from raikit._errors import DataError
from raikit.dataset import Dataset
from raikit.privacy import SynthesisResult, synthesize
from raikit.privacy._synth import _tvd

ADULT_BOUNDS = {
    "age": (17, 90),
    "fnlwgt": (0, 1_500_000),
    "education_num": (1, 16),
    "capital_gain": (0, 99_999),
    "capital_loss": (0, 4_356),
    "hours_per_week": (1, 99),
}


@pytest.fixture(scope="module")
def adult_synth():
    from raikit.datasets import load_adult

    train, test = load_adult(split="train"), load_adult(split="test")
    return train, test, synthesize(train, epsilon=10.0, bounds=ADULT_BOUNDS, test=test)


def test_adult_fidelity_and_accounting(adult_synth):
    train, test, result = adult_synth
    # 13 count tables (the hub, plus hub x each of the 12 other columns), each of sensitivity 1:
    # OpenDP's composition gives epsilon = 13 / scale.
    assert result.noise_scale == pytest.approx(13 / 10.0, rel=1e-6)
    assert result.epsilon <= 10.0 + 1e-9
    assert list(result.data.columns) == [c for c in train.frame.columns if c != "split"]
    assert (result.data.dtypes == train.frame[result.data.columns].dtypes).all()
    assert len(result.data) == pytest.approx(train.n_rows, abs=200)  # noisy total count
    overall = result.marginals[result.marginals["attribute"] == "overall"]
    assert overall["tvd"].max() < 0.05  # measured ~0.005 mean at epsilon 10
    # The hub (income x sex x race) is kept: P(income=1 | sex) within 0.02 of the real rates.
    real = train.frame.groupby("sex", observed=True)["income"].mean()
    synth = result.data.groupby("sex", observed=True)["income"].mean()
    np.testing.assert_allclose(synth.loc[real.index], real, atol=0.02)
    # Train on synthetic, test on real: well above the majority rate (0.764), near real (~0.87).
    acc = result.utility.query("attribute == 'overall'").set_index("train_on")["accuracy"]
    assert acc["synthetic"] > 0.80
    assert acc["real"] - acc["synthetic"] < 0.07
    groups = result.utility.query("attribute == 'race' and train_on == 'synthetic'")
    assert len(groups) == 5 and groups["n"].sum() == test.n_rows


def test_summary_figures_roundtrip(adult_synth):
    result = adult_synth[2]
    assert "synthetic rows at epsilon=10" in result.summary
    assert len(result.figures()) == 2
    back = SynthesisResult.from_json(result.to_json())
    pd.testing.assert_frame_equal(back.pairs, result.pairs)
    assert back.data.shape == result.data.shape


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
    result = synthesize(ds, epsilon=20.0, bounds={"x": (-5, 15)}, bins=8, n_rows=5000)
    assert len(result.data) == 5000
    # Missing shares survive (10% of x, ~1/3 of c), within noise.
    assert result.data["x"].isna().mean() == pytest.approx(0.1, abs=0.03)
    assert result.data["c"].isna().mean() == pytest.approx(frame["c"].isna().mean(), abs=0.05)
    assert result.data["x"].dropna().between(-5, 15).all()


def test_bad_input():
    from raikit.datasets import load_german_credit

    ds = load_german_credit()
    with pytest.raises(DataError, match=r"bounds=\{'duration_months'"):
        synthesize(ds, epsilon=1.0, bounds={})
    with pytest.raises(DataError, match="positive"):
        synthesize(ds, epsilon=0.0)
    with pytest.raises(DataError, match="method"):
        synthesize(ds, epsilon=1.0, method="gan")
    frame = pd.DataFrame({"name": ["a", "b"] * 20, "g": ["u", "v"] * 20, "y": [0, 1] * 20})
    free_text = Dataset(frame, target="y", sensitive=["g"], features=["name"])
    with pytest.raises(DataError, match="no public domain"):
        synthesize(free_text, epsilon=1.0)


@pytest.mark.slow
def test_cli_synth(tmp_path):
    import subprocess
    import sys

    from raikit.datasets import load_german_credit

    frame = load_german_credit().frame
    data = tmp_path / "german.parquet"
    frame.to_parquet(data)
    numeric = [c for c in frame.columns if frame[c].dtype.kind in "iuf"]
    bounds = [f"{c}=0:{20_000 if c == 'credit_amount' else 80}" for c in numeric]
    args = ["--bounds=" + b for b in bounds]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "raikit.cli",
            "privacy",
            "synth",
            str(data),
            "-t",
            "credit",
            "-s",
            "sex,age_group",
            "--epsilon",
            "3",
            *args,
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    synthetic = pd.read_csv(tmp_path / "out" / "synthetic.csv")
    assert set(synthetic.columns) <= set(frame.columns)
    assert abs(len(synthetic) - len(frame)) < 150  # noisy count, scale ~ 20 / 3
    assert "synthetic rows at epsilon=3" in result.stdout
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "raikit.cli",
            "privacy",
            "synth",
            str(data),
            "-t",
            "credit",
            "-s",
            "sex",
            "--epsilon",
            "3",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
        check=False,
    )
    assert missing.returncode == 2 and "has no bounds" in missing.stderr
