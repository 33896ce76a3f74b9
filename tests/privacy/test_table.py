"""Tests of PrivateTable: OpenDP mechanisms, the persistent odometer, intervals and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

pytest.importorskip("opendp")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raikit._errors import ColumnError, ParameterError
from raikit.privacy import (
    BudgetExceededError,
    PrivacySource,
    PrivacySourceError,
    PrivateAnswer,
    PrivateTable,
)

DOMAINS = {"sex": ["F", "M"], "city": ["a", "b", "c"]}


@pytest.fixture(autouse=True)
def registry(tmp_path_factory, monkeypatch):
    """Every test gets its own registry of data sources (it lives in the home folder)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("RAIKIT_PRIVACY_BUDGET", raising=False)
    return home / ".raikit" / "privacy" / "sources.sqlite"


def source(name="people", epsilon=10.0, **kw):
    """The source ``name``, registered with ``epsilon`` if it is not yet."""
    return PrivacySource.register(name, epsilon=epsilon, **kw)


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    n = 4000
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n).astype(float),
            "income": rng.normal(50, 10, n),
            "sex": pd.Categorical(rng.choice(["F", "M"], n)),
            "city": rng.choice(["a", "b", "c"], n),
        }
    )


@pytest.fixture
def path():
    return "people"


def make(frame, name, epsilon=10.0, **kw):
    source(name, epsilon=epsilon)
    kw.setdefault("domains", DOMAINS)
    return PrivateTable(frame, source=name, bounds={"age": (18, 90), "income": (0, 100)}, **kw)


@pytest.fixture
def cells(tmp_path):
    """2,000 independent noisy cells in one release: 2,000 groups of a categorical key."""
    rng = np.random.default_rng(1)
    key = rng.integers(0, 2000, 20_000)
    frame = pd.DataFrame(
        {"key": pd.Categorical(key, categories=range(2000)), "x": rng.uniform(-5, 10, 20_000)}
    )
    source("cells", epsilon=10)
    table = PrivateTable(
        frame, source="cells", bounds={"x": (-5, 10)}, domains={"key": list(range(2000))}
    )
    return frame, table


def test_count_noise_matches_stated_scale(cells):
    frame, table = cells
    answer = table.group_by("key", epsilon=0.5)
    scale = answer.table["noise_scale"].iloc[0]
    assert scale == pytest.approx(2.0, rel=1e-9)  # sensitivity 1 / epsilon 0.5
    noise = answer.table["value"].to_numpy() - frame["key"].value_counts(sort=False).to_numpy()
    # Discrete Laplace with scale b: P(k) = (1 - r) / (1 + r) r^|k|, r = e^{-1/b};
    # variance 2r / (1 - r)^2 = 7.65 for b = 2.
    r = np.exp(-1 / scale)
    expected_var = 2 * r / (1 - r) ** 2
    # 2,000 draws: relative s.e. of the variance ~ sqrt((kurtosis + 2) / n) ~ 0.06; allow 20%.
    assert noise.var() == pytest.approx(expected_var, rel=0.2)
    assert abs(noise.mean()) < 0.3  # s.e. 0.06
    # Chi-square goodness of fit against the exact discrete-Laplace pmf, |k| <= 6 and a tail bin.
    support = np.arange(-6, 7)
    pmf = (1 - r) / (1 + r) * r ** np.abs(support)
    observed = np.array([(noise == k).sum() for k in support] + [(np.abs(noise) > 6).sum()])
    expected = np.append(pmf, 1 - pmf.sum()) * len(noise)
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_sum_noise_is_laplace_with_stated_scale(cells):
    frame, table = cells
    answer = table.group_by("key", column="x", agg="sum", epsilon=1.0)
    scale = answer.table["noise_scale"].iloc[0]
    assert scale == pytest.approx(10.0, rel=1e-9)  # sensitivity max(|-5|, |10|) = 10
    truth = frame.groupby("key", observed=False)["x"].sum().to_numpy()
    noise = answer.table["value"].to_numpy() - truth
    assert stats.kstest(noise, stats.laplace(scale=scale).cdf).pvalue > 0.001


def test_interval_coverage(cells):
    frame, table = cells
    answer = table.group_by("key", epsilon=0.2)
    truth = frame["key"].value_counts(sort=False).to_numpy()
    covered = np.mean((answer.table["lower"] <= truth) & (truth <= answer.table["upper"]))
    # Nominal 95% per cell (OpenDP's accuracy is conservative for discrete noise); s.e. 0.005.
    assert 0.93 <= covered <= 0.99


def test_answers_close_to_truth(frame, path):
    table = make(frame, path)
    assert table.mean("age", epsilon=1).value == pytest.approx(frame["age"].mean(), abs=1.0)
    var = table.variance("income", epsilon=3)
    assert var.table["lower"][0] <= frame["income"].var() <= var.table["upper"][0]
    q = table.quantile("age", 0.5, epsilon=1)
    assert q.table["lower"][0] <= frame["age"].median() <= q.table["upper"][0]
    assert q.value == pytest.approx(frame["age"].median(), abs=3)
    hist = table.histogram("age", epsilon=1, bins=8)
    assert len(hist.table) == 8 and hist.table["value"].sum() == pytest.approx(len(frame), abs=60)
    by = table.group_by("sex", column="income", agg="mean", epsilon=1)
    truth = frame.groupby("sex", observed=False)["income"].mean()
    np.testing.assert_allclose(by.table["value"], truth.to_numpy(), atol=1.0)


def test_group_by_two_keys_with_public_domain(frame, path):
    table = make(frame, path, domains={"sex": ["F", "M"], "city": ["a", "b", "c", "d"]})
    answer = table.group_by(["sex", "city"], epsilon=1)
    assert list(answer.table.columns[:2]) == ["sex", "city"]
    assert len(answer.table) == 8  # 2 x 4 cells, the empty city "d" included
    truth = frame.groupby(["sex", "city"], observed=False).size()
    got = answer.table.set_index(["sex", "city"])["value"]
    np.testing.assert_allclose(got.loc[truth.index], truth.to_numpy(), atol=20)
    assert abs(got.loc[("F", "d")]) < 20


def test_budget_persists_and_is_enforced(frame, path):
    table = make(frame, path, epsilon=1.0)
    table.count(epsilon=0.4)
    table.mean("age", epsilon=0.4)
    again = make(frame, path, epsilon=1.0)
    assert again.spent == pytest.approx(0.8, abs=1e-6)
    with pytest.raises(BudgetExceededError, match="remains"):
        again.count(epsilon=0.3)
    assert len(again.odometer) == 2
    # The same source without its last row is the same people's data: the same budget (the old
    # odometer keyed by content gave it a fresh one).
    other = make(frame.iloc[:-1], path, epsilon=1.0)
    assert other.spent == pytest.approx(0.8, abs=1e-6)
    # The budget of a source cannot be changed by reopening it.
    with pytest.raises(PrivacySourceError, match="cannot change by reopening"):
        PrivateTable(frame, source=path, epsilon=5.0)
    with pytest.raises(PrivacySourceError, match="already registered"):
        source(path, epsilon=5.0)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    queries=st.lists(
        st.tuples(
            st.sampled_from(["count", "sum", "mean", "hist", "group"]),
            st.floats(min_value=0.01, max_value=1.5),
        ),
        max_size=12,
    ),
    reopen=st.booleans(),
)
def test_no_sequence_of_queries_overspends(frame, tmp_path_factory, queries, reopen):
    path = tmp_path_factory.mktemp("budget").name
    total = 2.0
    table = make(frame.iloc[:300], path, epsilon=total)
    accepted = 0.0
    for kind, eps in queries:
        if reopen:
            table = make(frame.iloc[:300], path, epsilon=total)
        call = {
            "count": lambda e, t=table: t.count(epsilon=e),
            "sum": lambda e, t=table: t.sum("age", epsilon=e),
            "mean": lambda e, t=table: t.mean("income", epsilon=e),
            "hist": lambda e, t=table: t.histogram("age", epsilon=e, bins=4),
            "group": lambda e, t=table: t.group_by("sex", epsilon=e),
        }[kind]
        before = table.spent
        try:
            answer = call(eps)
        except BudgetExceededError:
            assert before + eps > total - 1e-9
            assert table.spent == before
            continue
        assert answer.epsilon <= eps + 1e-12
        accepted += answer.epsilon
    assert table.spent == pytest.approx(accepted, abs=1e-9)
    assert table.spent <= total + 1e-9


def test_bad_input(frame, path):
    source(path, epsilon=1)
    table = PrivateTable(frame, source=path)
    with pytest.raises(ParameterError, match=r"bounds=\{'age': \(lower, upper\)\}"):
        table.mean("age", epsilon=0.1)
    with pytest.raises(ParameterError, match=r"no declared public domain.*domains=\{'city'"):
        table.group_by("city", epsilon=0.1)
    # A pandas category is not a public domain: its categories were read off the data.
    with pytest.raises(ParameterError, match="no declared public domain"):
        table.group_by("sex", epsilon=0.1)
    with pytest.raises(ColumnError, match="nope"):
        table.count("nope", epsilon=0.1)
    with pytest.raises(ParameterError, match="positive"):
        table.count(epsilon=0)
    with pytest.raises(ParameterError, match="positive"):
        PrivateTable(frame, source=path, epsilon=-1)
    with pytest.raises(ParameterError, match="positive"):
        table.count(epsilon=float("nan"))
    with pytest.raises(ParameterError, match=r"PrivateTable\(\): bounds\['age'\].*lower < upper"):
        PrivateTable(frame, source=path, bounds={"age": (5, 1)})
    with pytest.raises(ParameterError, match=r"PrivateTable\(\): ci must be a number in \(0, 1\)"):
        PrivateTable(frame, source=path, ci=95)
    with pytest.raises(ParameterError, match=r"quantile\(\): q must be a number in \[0, 1\]"):
        table.quantile("age", 1.5, epsilon=0.1)
    with pytest.raises(ParameterError, match=r"histogram\(\): bins must be an integer >= 2"):
        table.histogram("age", epsilon=0.1, bins=1)
    with pytest.raises(ParameterError, match=r"group_by\(\): agg must be one of"):
        table.group_by("sex", epsilon=0.1, agg="max")
    with pytest.raises(ParameterError, match=r"group_by\(\): agg='mean' needs column="):
        table.group_by("sex", epsilon=0.1, agg="mean")
    with pytest.raises(PrivacySourceError, match="privacy_unit"):
        PrivateTable(frame, source=path, privacy_unit="person")
    with pytest.raises(ParameterError, match="source= is required"):
        PrivateTable(frame, source=None)
    with pytest.raises(PrivacySourceError, match="No data source named 'nobody'"):
        PrivateTable(frame, source="nobody")
    with pytest.raises(BudgetExceededError):
        table.count(epsilon=1.5)
    assert table.spent == 0


def test_answer_roundtrip_and_figures(frame, path):
    answer = make(frame, path).group_by("sex", epsilon=1)
    back = PrivateAnswer.from_json(answer.to_json())
    pd.testing.assert_frame_equal(back.table, answer.table)
    assert "count(*) by sex" in answer.summary
    assert len(answer.figures()[0].data[0].x) == 2
    assert "<table" in answer.to_html()


@pytest.mark.slow
def test_adult_end_to_end(tmp_path):
    from raikit.datasets import load_adult

    adult = load_adult(split="test")
    source("adult", epsilon=2)
    table = PrivateTable(
        adult,
        source="adult",
        bounds={"hours_per_week": (1, 99)},
        domains={c: list(adult.frame[c].cat.categories) for c in ("sex", "race")},
    )
    answer = table.group_by(["sex", "race"], column="hours_per_week", agg="mean", epsilon=1)
    truth = adult.frame.groupby(["sex", "race"], observed=False)["hours_per_week"].mean()
    rows = answer.table.set_index(["sex", "race"]).loc[truth.index]
    # Cells with >= 500 people have a noise scale under 0.3 hours; each lies within 12 scales of
    # the truth (a Laplace draw exceeds that with probability e^-12: the test is not flaky).
    big = (adult.frame.groupby(["sex", "race"], observed=False).size() >= 500).to_numpy()
    assert (rows["noise_scale"].to_numpy()[big] < 0.3).all()
    error = np.abs(rows["value"].to_numpy() - truth.to_numpy())[big]
    assert (error <= 12 * rows["noise_scale"].to_numpy()[big]).all()


def test_sql_front_end(frame, path):
    table = make(frame, path, epsilon=5.0)
    answer = table.sql("SELECT sex, COUNT(*), AVG(income) FROM t GROUP BY sex", epsilon=2)
    assert answer.epsilon <= 2 + 1e-9
    assert table.spent == pytest.approx(answer.epsilon)
    counts = answer.table.query("aggregate == 'COUNT(*)'").set_index("sex")["value"]
    truth = frame["sex"].value_counts()
    np.testing.assert_allclose(counts.loc[truth.index], truth, atol=15)  # scale 2: 15 is 7.5 b
    means = answer.table.query("aggregate == 'AVG(income)'").set_index("sex")["value"]
    np.testing.assert_allclose(
        means.loc[truth.index], frame.groupby("sex", observed=True)["income"].mean(), atol=1.0
    )
    single = table.sql("select median(age) as med, variance(income) from t;", epsilon=1)
    assert single.table["aggregate"].tolist() == ["med", "variance(income)"]
    assert single.table["value"][0] == pytest.approx(frame["age"].median(), abs=4)


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("SELECT COUNT(*) FROM t WHERE age > 3", "WHERE"),
        ("DELETE FROM t", "unsupported SQL"),
        ("SELECT city, COUNT(*) FROM t GROUP BY sex", "neither an aggregate"),
        ("SELECT MAX(age) FROM t", "not supported"),
        ("SELECT sex, MEDIAN(age) FROM t GROUP BY sex", "cannot be grouped"),
        ("SELECT sex FROM t GROUP BY sex", "no aggregate"),
        ("SELECT city, COUNT(*) FROM t GROUP BY city", "no declared public domain"),
    ],
)
def test_sql_bad_queries(frame, path, query, match):
    table = make(frame, path, domains={"sex": ["F", "M"]})
    # a malformed query and an undeclared domain are both a bad argument: ParameterError
    with pytest.raises(ParameterError, match=match):
        table.sql(query, epsilon=1)
    assert table.spent == 0


def _cli(*args, home, cwd=None):
    import os
    import subprocess
    import sys

    env = {"COLUMNS": "200", "PATH": "", "HOME": str(home)}
    if "PYTHONPATH" in os.environ:
        entries = os.environ["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(e) for e in entries if e)
    return subprocess.run(
        [sys.executable, "-m", "raikit.cli", "privacy", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )


@pytest.mark.slow
def test_cli_readme_commands_run_as_written(tmp_path):
    """The README's commands, verbatim, on a small CSV."""
    rng = np.random.default_rng(0)
    pd.DataFrame({"sex": rng.choice(["F", "M"], 300), "age": rng.integers(18, 90, 300)}).to_csv(
        tmp_path / "data.csv", index=False
    )
    run = {"home": tmp_path / "home", "cwd": tmp_path}
    register = _cli("register", "survey", "--budget", "2", **run)
    assert register.returncode == 0, register.stderr
    sql = "SELECT sex, COUNT(*) FROM t GROUP BY sex"
    query = ["query", "data.csv", "--source", "survey", "--sql", sql, "--domain", "sex=F,M"]
    first = _cli(*query, "--epsilon", "0.5", **run)
    assert first.returncode == 0, first.stderr
    assert "spent 0.5 of 2, 1.5 left" in first.stdout
    assert (tmp_path / "raikit-privacy" / "query.json").exists()
    # Every way of asking for more is refused, each naming the command-line flag to change.
    checks = [
        (("--epsilon", "1.6"), "remains"),
        (("--epsilon", "0.1", "--budget", "5"), "Drop --budget"),
        (("--epsilon", "0.1", "--budget-file", str(tmp_path / "b.sqlite")), "--budget-file"),
        (("--epsilon", "5e-324"), "--epsilon must be a positive, finite number"),
        (("--epsilon", "1e-300"), "--epsilon must be"),
    ]
    for extra, message in checks:
        refused = _cli(*query, *extra, **run)
        assert refused.returncode == 2, (extra, refused.stdout, refused.stderr)
        assert "error:" in refused.stderr and message in " ".join(refused.stderr.split())
        assert "Traceback" not in refused.stderr
    no_domain = _cli(*query[:6], "--epsilon", "0.1", **run)
    assert no_domain.returncode == 2
    assert "--domain sex=a,b,c" in " ".join(no_domain.stderr.split())
    assert "domains=" not in no_domain.stderr
    budget = _cli("budget", "survey", **run)
    assert budget.returncode == 0 and "spent 0.5 of epsilon=2" in budget.stdout
    reset = _cli("reset", "survey", "--reason", "annual renewal", "--budget", "3", **run)
    assert reset.returncode == 0, reset.stderr
    assert _cli(*query, "--epsilon", "1.6", **run).returncode == 0


@pytest.mark.slow
def test_cli_query_spends_and_refuses(tmp_path):
    from raikit.datasets import load_adult

    data = tmp_path / "adult.csv"
    load_adult(split="test").frame.to_csv(data, index=False)
    assert _cli("register", "adult", "--budget", "1", home=tmp_path).returncode == 0
    common = [
        str(data),
        "--source",
        "adult",
        "--budget",
        "1",
        "--domain",
        "sex=Female|Male",
        "--bounds",
        "age=17:90",
        "--out",
        str(tmp_path / "out"),
    ]
    sql = "SELECT sex, COUNT(*), AVG(age) FROM t GROUP BY sex"
    first = _cli("query", *common, "--sql", sql, "--epsilon", "0.6", home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "spent 0.6 of 1" in first.stdout
    assert (tmp_path / "out" / "query.html").exists()
    odometer = pd.read_csv(tmp_path / "out" / "odometer.csv")
    assert odometer["epsilon"].sum() == pytest.approx(0.6)
    # A second process sees the spent budget and refuses an overspend.
    second = _cli("query", *common, "--sql", sql, "--epsilon", "0.6", home=tmp_path)
    assert second.returncode == 2
    assert "error:" in second.stderr and "remains" in second.stderr
    undeclared = _cli(
        "query",
        *common[:3],
        "--sql",
        "SELECT race, COUNT(*) FROM t GROUP BY race",
        "--epsilon",
        "0.1",
        home=tmp_path,
    )
    assert undeclared.returncode == 2 and "no declared public domain" in undeclared.stderr


def test_answers_are_recorded_in_the_ledger(frame, path, tmp_path):
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    table = make(frame, path, ledger=ledger)
    table.count(epsilon=0.5)
    table.group_by("sex", epsilon=0.5)
    evidence = ledger.evidence(check="privacy.query")
    assert len(evidence) == 2
    params = [json.loads(p) for p in evidence["params"]]
    assert params[0] == {"column": None, "epsilon": 0.5}
    assert params[1] == {"by": "sex", "epsilon": 0.5, "column": None, "agg": "count"}
    # an SQL query with two aggregates is one call: one row, its parts record nothing
    table.sql("SELECT COUNT(*), AVG(age) FROM t", epsilon=0.4)
    evidence = ledger.evidence(check="privacy.query")
    assert len(evidence) == 3
    assert json.loads(evidence["params"].iloc[2])["query"] == "SELECT COUNT(*), AVG(age) FROM t"
    back = ledger.load_evidence(evidence["id"].iloc[2])
    assert back.source == "people" and back.epsilon == pytest.approx(0.4)
    assert table.spent == pytest.approx(1.4)
    # a table opened without a ledger, outside a track run, records nothing
    bare = make(frame, "elsewhere")
    bare.count(epsilon=0.1)
    assert len(ledger.evidence(check="privacy.query")) == 3


def test_track_records_each_query_once(frame, path, tmp_path):
    import raikit
    from raikit.ledger import Ledger

    ledger = Ledger(tmp_path / "ledger")
    table = make(frame, path)
    with raikit.track("queries", ledger=ledger) as run:
        table.mean("age", epsilon=0.2)
        table.sql("SELECT sex, COUNT(*), AVG(income) FROM t GROUP BY sex", epsilon=0.3)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["privacy.query", "privacy.query"]
    assert [json.loads(p)["epsilon"] for p in evidence["params"]] == [0.2, 0.3]
