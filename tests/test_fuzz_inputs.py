"""Fuzzing Dataset and the CLI readers: every failure is a RaikitError (a clean one-line error
with exit code 2 on the command line), never a raw TypeError/ValueError/KeyError."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raikit import Dataset
from raikit._errors import RaikitError

NAMES = ["a", "b", "s", "y", "", " ", "0", "score", "a.b", "<x>", "é", "nan"]

cells = {
    "int": st.integers(-5, 5),
    "float": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(np.nan)),
    "str": st.text(max_size=3),
    "bytes": st.binary(max_size=3),
    "bool": st.booleans(),
    "none": st.none(),
    "date": st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)),
    "mixed": st.one_of(st.integers(-3, 3), st.text(max_size=2), st.none(), st.binary(max_size=2)),
}


@st.composite
def frames(draw):
    """Small frames with cells of every kind; column names mostly unique (sometimes repeated,
    numbers, empty or odd), sometimes no rows or no columns."""
    n_rows = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 8, 12] * 3 + [0]))
    n_cols = draw(st.sampled_from([1, 2, 3, 4, 5] * 4 + [0]))
    name = st.one_of(st.sampled_from(NAMES), st.integers(0, 3), st.text(max_size=3))
    names = draw(
        st.lists(name, min_size=n_cols, max_size=n_cols, unique_by=str)
        | st.lists(name, min_size=n_cols, max_size=n_cols)
    )
    columns = {}
    for i, _ in enumerate(names):
        kind = draw(st.sampled_from(sorted(cells)))
        columns[i] = draw(st.lists(cells[kind], min_size=n_rows, max_size=n_rows))
    frame = pd.DataFrame(columns, index=range(n_rows))
    frame.columns = names
    return frame


JUNK = st.one_of(
    st.integers(-1, 3),
    st.just(()),
    st.just({"a": 1}),
    st.binary(max_size=2),
    st.floats(allow_nan=True),
    st.booleans(),
    st.sampled_from(NAMES),
)


def roles(columns: list):
    """Mostly real column names (so that construction gets far), sometimes junk."""
    real = st.sampled_from(columns) if columns else st.sampled_from(NAMES)
    one = st.one_of(real, real, real, real, real, JUNK)
    return one | st.lists(one, max_size=3) | st.lists(real, min_size=1, max_size=2, unique=True)


def _use(ds: Dataset) -> None:
    ds.X, ds.sensitive, ds.groups(), ds.schema, ds.roles, repr(ds)
    ds.schema.to_json()
    if ds.target is not None:
        assert len(ds.y) == ds.n_rows
        assert ds.task in ("binary", "multiclass", "regression")
    if ds.n_rows >= 4:
        ds.split(0.5, random_state=0)
    ds.sample(3, stratify="sensitive", random_state=0)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_arguments_fail_only_with_raikit_errors(data):
    """Junk in every argument (and odd, repeated or numeric column names)."""
    frame = data.draw(frames())
    pick = roles([str(c) for c in frame.columns])
    kwargs = {
        "target": data.draw(st.none() | pick),
        "sensitive": data.draw(pick),
        "features": data.draw(st.none() | pick),
        "prediction": data.draw(st.none() | st.none() | pick),
        "score": data.draw(st.none() | st.none() | pick),
        "missing_group": data.draw(st.sampled_from([None, None, "(missing)", 0, b"m"])),
    }
    try:
        ds = Dataset(frame, **kwargs)
    except RaikitError:
        return
    try:
        _use(ds)
    except RaikitError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_data_with_valid_roles_fails_only_with_raikit_errors(data):
    """Valid roles over cells of every kind (bytes, NaN, inf, None, mixed types, dates)."""
    n_rows = data.draw(st.integers(1, 12))
    n_cols = data.draw(st.integers(2, 5))
    names = data.draw(
        st.lists(st.sampled_from(NAMES), min_size=n_cols, max_size=n_cols, unique=True)
    )
    frame = pd.DataFrame(
        {
            name: data.draw(
                st.lists(
                    cells[data.draw(st.sampled_from(sorted(cells)))],
                    min_size=n_rows,
                    max_size=n_rows,
                )
            )
            for name in names
        }
    )
    target = data.draw(st.none() | st.sampled_from(names))
    others = [c for c in names if c != target]
    sensitive = data.draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
    missing = data.draw(st.sampled_from([None, "(missing)"]))
    try:
        ds = Dataset(frame, target=target, sensitive=sensitive, missing_group=missing)
    except RaikitError:
        return
    try:
        _use(ds)
    except RaikitError:
        pass


def test_reported_cases():
    """The three raw errors of the issue, now clean."""
    frame = pd.DataFrame({"a": [b"x", b"y", b"x"], "s": ["F", "M", "F"], "y": [0, 1, 0]})
    with pytest.raises(RaikitError, match="sensitive must be a column name"):
        Dataset(frame, target="y", sensitive=0.5)
    with pytest.raises(RaikitError, match=r"lists column\(s\) \['s'\] more than once"):
        Dataset(frame, target="y", sensitive=["s", "s"])
    schema = Dataset(frame, target="y", sensitive="a").schema
    assert schema["a"].categories == ["x", "y"] and '"x"' in schema.to_json()
    # an integer names the column "0", as column names are text once loaded
    numbered = pd.DataFrame({0: ["F", "M"], 1: [0, 1]})
    assert Dataset(numbered, target=1, sensitive=0).sensitive_names == ["0"]


# --------------------------------------------------------------------------- the CLI readers
header = st.lists(
    st.sampled_from(["y", "p", "sex", "sex", "", " ", "a,b", '"q"', "é", "\\x00", "1"]),
    min_size=0,
    max_size=5,
)
cell = st.sampled_from(["0", "1", "", "nan", "NaN", "F", "M", "x", "1e309", "-1", '"', "\\xff"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    names=header,
    rows=st.lists(st.lists(cell, max_size=6), max_size=6),
    raw=st.binary(max_size=20),
    kind=st.sampled_from(["csv", "bytes", "parquet"]),
    command=st.sampled_from(["metrics", "profile", "evaluate"]),
)
def test_cli_readers_exit_2_with_one_line_never_a_traceback(names, rows, raw, kind, command):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="raikit-fuzz-") as name:
        folder = Path(name)
        path = folder / ("data.parquet" if kind == "parquet" else "data.csv")
        if kind == "csv":
            path.write_text("\n".join([",".join(names), *(",".join(r) for r in rows)]))
        elif kind == "bytes":
            path.write_bytes(raw)
        else:
            columns = list(dict.fromkeys(n or "col" for n in names)) or ["y"]
            data = {c: [r[i % len(r)] if r else None for r in rows] for i, c in enumerate(columns)}
            pd.DataFrame(data).to_parquet(path)
        argv = {
            "metrics": ["metrics", str(path), "-t", "y", "-p", "p", "-s", "sex"],
            "profile": ["data", "profile", str(path), "-t", "y", "-s", "sex", "--out", str(folder)],
            "evaluate": [
                *("evaluate", "--data", str(path), "-t", "y", "-s", "sex"),
                *("--prediction", "p", "--out", str(folder)),
            ],
        }[command]
        import contextlib
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                import sys

                from raikit.cli import main

                sys.argv = ["raikit", *argv]
                main()
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
    assert code in (0, 2), err.getvalue()
    if code == 2:
        text = err.getvalue().strip()
        assert text.startswith("error:") and "Traceback" not in text, text
        assert len(text.splitlines()) == 1, text
