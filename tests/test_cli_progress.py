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
