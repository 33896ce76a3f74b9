"""Long commands show real progress with an ETA: one progress-bar factory, fed by the work."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import TimeRemainingColumn

from raikit import Dataset
from raikit._cli_utils import progress_bar


def test_one_factory_with_an_eta_column():
    bar = progress_bar(Console(quiet=True))
    assert any(isinstance(column, TimeRemainingColumn) for column in bar.columns)
    from raikit.data import _cli as data_cli
    from raikit.evaluate import _cli as evaluate_cli
    from raikit.train import _cli as train_cli

    for factory in (data_cli._bar, evaluate_cli._progress, train_cli._progress):
        assert any(isinstance(column, TimeRemainingColumn) for column in factory().columns)


def test_explain_reports_rows_as_it_goes_and_the_values_do_not_depend_on_it():
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from raikit.explain import explain

    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "c": rng.choice(["x", "y", "z"], n),
            "s": rng.choice(["F", "M"], n),
        }
    )
    frame["y"] = (frame["a"] + (frame["c"] == "x") + rng.normal(size=n) > 0.5).astype(int)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["c"]), remainder="passthrough"),
        LogisticRegression(),
    ).fit(frame[["a", "c"]], frame["y"])
    ds = Dataset(frame, target="y", sensitive="s")
    calls: list[tuple[int, int]] = []
    kwargs = {
        "method": "permutation",
        "max_rows": 60,
        "background": 20,
        "permutation": False,
        "random_state": 0,
    }
    with_bar = explain(
        model, ds, progress=lambda done, total: calls.append((done, total)), **kwargs
    )
    assert calls[-1] == (60, 60) and len(calls) >= 10
    done = [d for d, _ in calls]
    assert done == sorted(done) and all(total == 60 for _, total in calls)
    plain = explain(model, ds, **kwargs)
    np.testing.assert_array_equal(with_bar.attributions.to_numpy(), plain.attributions.to_numpy())


def test_every_progress_report_is_done_total_description():
    """One protocol: ``progress(done, total, description)``, done rising to total."""
    from sklearn.linear_model import LogisticRegression

    from raikit.audit import audit
    from raikit.data import clean

    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({"a": rng.normal(size=n), "s": rng.choice(["F", "M"], n)})
    frame["y"] = (frame["a"] + rng.normal(size=n) > 0).astype(int)
    ds = Dataset(frame, target="y", sensitive="s")
    steps: list[tuple] = []
    clean(ds, cv=3, random_state=0, progress=lambda *call: steps.append(call))
    assert [s[:2] for s in steps] == [(i, 7) for i in range(1, 8)]  # 4 steps + 3 folds
    assert steps[2][2] == "fold 1 of 3" and steps[-1][2] == "reweighed"

    model = LogisticRegression().fit(ds.X, ds.y)
    sections: list[tuple] = []
    audit(
        model,
        train=ds,
        test=ds,
        sections=["bias", "accuracy"],
        n_boot=20,
        random_state=0,
        progress=lambda *call: sections.append(call),
    )
    assert [s[:2] for s in sections] == [(0, 2), (1, 2), (2, 2)]
    assert sections[0][2] == "Group metrics and fairness criteria" and sections[-1][2] is None
