"""A model's predictions over a table, in batches: bounded memory, any backend.

:meth:`raikit.Dataset.with_predictions` calls :func:`model_outputs` for an in-memory table and
:func:`predict_lazy` for a lazy one. A lazy table (Parquet/CSV files read by DuckDB, or a Spark
DataFrame) is never loaded whole: its rows pass through the model ``BATCH_ROWS`` at a time and
every column plus the prediction and the score is written to a Parquet file, over which a new
lazy Dataset is returned. Every aggregate check then reads that file where it lies.
"""

from __future__ import annotations

import atexit
import inspect
import os
import shutil
import tempfile
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from raikit._errors import DataError, ParameterError
from raikit._features import input_steps

__all__ = [
    "BATCH_ROWS",
    "as_model_inputs",
    "model_categories",
    "model_outputs",
    "positive_index",
    "predict_lazy",
    "predictions_folder",
]

BATCH_ROWS = 100_000  # rows per call of the model: ~100 MB of Adult-like rows at most


def positive_index(model, pos_label) -> int | None:
    """The ``predict_proba`` column of the positive label, or ``None`` when there is no score
    (no ``predict_proba``, not two classes, or a positive label that cannot be inferred)."""
    from raikit.metrics._group_metrics import positive_column

    if not hasattr(model, "predict_proba"):
        return None
    classes = getattr(model, "classes_", None)
    if classes is None or len(classes) != 2:
        return None if classes is not None else 1
    if pos_label is not None:
        return positive_column(classes, pos_label)
    try:
        return positive_column(classes)
    except DataError:
        return None  # the probability of an arbitrary class is never the score


def _extra(model, sensitive: pd.DataFrame | None) -> dict:
    """Keywords ``predict`` needs beyond X: the sensitive features (Fairlearn's
    post-processing), a fixed seed for randomised predictors."""
    parameters = inspect.signature(model.predict).parameters
    extra: dict = {}
    if "sensitive_features" in parameters and sensitive is not None:
        extra["sensitive_features"] = sensitive.iloc[:, 0] if sensitive.shape[1] == 1 else sensitive
    if "random_state" in parameters:
        extra["random_state"] = 0
    return extra


def _final_type(model) -> type:
    """The type of a scikit-learn Pipeline's last step, else of the model."""
    from sklearn.pipeline import Pipeline

    if type(model) is Pipeline:
        return type(model.steps[-1][1])
    return type(model)


def _one_pass(model):
    """How to get both outputs from ONE pass of the model, for the estimators whose
    ``predict`` is by definition computed from the same numbers as ``predict_proba`` (exact
    types only: a subclass may override either); ``None`` for every other model.

    - ``"argmax"``: ``predict`` is ``classes_[argmax(predict_proba)]`` (random forests, extra
      trees, LightGBM's classifier).
    - ``"logit"``: scikit-learn's histogram gradient boosting, binary: ``predict`` is
      ``classes_[decision_function > 0]`` and ``predict_proba[:, 1]`` is
      ``expit(decision_function)``.
    """
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )

    final = _final_type(model)
    if final in (RandomForestClassifier, ExtraTreesClassifier):
        return "argmax"
    if final.__module__.startswith("lightgbm") and final.__name__ == "LGBMClassifier":
        return "argmax"
    classes = getattr(model, "classes_", ())
    if final is HistGradientBoostingClassifier and len(classes) == 2:
        return "logit"
    return None


def _outputs(model, part, kw, column, how):
    """``(prediction, full predict_proba or None)`` of one batch."""
    if how is None or kw or column is None:
        prediction = np.asarray(model.predict(part, **kw))
        return prediction, None if column is None else np.asarray(model.predict_proba(part))
    classes = np.asarray(model.classes_)
    if how == "argmax":
        proba = np.asarray(model.predict_proba(part))
        return classes[np.argmax(proba, axis=1)], proba
    from scipy.special import expit

    raw = np.asarray(model.decision_function(part), dtype=float).ravel()
    positive = expit(raw)
    return classes[(raw > 0).astype(int)], np.column_stack([1.0 - positive, positive])


def model_categories(model) -> dict[str, pd.CategoricalDtype]:
    """The inputs ``model`` was fitted on as pandas ``category`` columns, with their categories.

    Spark, CSV files and Parquet files written by other tools give such columns as strings; a
    model that reads a column's dtype (LightGBM, HistGradientBoosting with
    ``categorical_features="from_dtype"``) needs them back as categories with the categories it
    learned. Models that learned none give ``{}``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> X = pd.DataFrame({"colour": pd.Categorical(["red", "blue"] * 10), "x": range(20)})
    >>> model = HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=2)
    >>> model = model.fit(X, [0, 1] * 10)
    >>> model_categories(model)["colour"].categories.tolist()
    ['blue', 'red']
    """
    *_, model = input_steps(model)  # the innermost step that reads the raw table
    found: dict[str, pd.CategoricalDtype] = {}
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_name_", None)  # LightGBM
    if names is None:
        return found
    names = [str(n) for n in names]
    booster = getattr(model, "_Booster", None)  # LightGBM: categories of its category columns
    if booster is not None and getattr(booster, "pandas_categorical", None):
        columns = booster.params.get("categorical_column") or []
        if len(columns) == len(booster.pandas_categorical):
            for index, categories in zip(columns, booster.pandas_categorical, strict=True):
                found[names[int(index)]] = pd.CategoricalDtype(list(categories))
        return found
    preprocessor = getattr(model, "_preprocessor", None)  # HistGradientBoosting, from_dtype
    flags = getattr(model, "is_categorical_", None)
    if preprocessor is None or flags is None:
        return found
    encoder = getattr(preprocessor, "named_transformers_", {}).get("encoder")
    if encoder is None or not hasattr(encoder, "categories_"):
        return found
    chosen = [n for n, flag in zip(names, flags, strict=True) if flag]
    for name, categories in zip(chosen, encoder.categories_, strict=False):
        found[name] = pd.CategoricalDtype([c for c in categories if c == c])  # NaN is not one
    return found


def as_model_inputs(X: pd.DataFrame, categories: dict) -> pd.DataFrame:
    """``X`` with every column the model learned as a category (``model_categories``) that is
    not one (strings from Spark or CSV) turned into that category; values the model never saw
    become missing, as they are to the model. Other columns are left as they are."""
    convert = [
        name
        for name in categories
        if name in X.columns
        and not isinstance(X[name].dtype, pd.CategoricalDtype)
        # a column of numbers becomes categories only when the model's categories are numbers
        and (
            not pd.api.types.is_numeric_dtype(X[name].dtype)
            or pd.api.types.is_numeric_dtype(categories[name].categories.dtype)
        )
    ]
    if not convert:
        return X
    X = X.copy()
    for name in convert:
        values, dtype = X[name], categories[name]
        values = values.where(values.isin(dtype.categories))  # unseen values: missing
        X[name] = pd.Categorical(values, dtype=dtype)
    return X


def model_outputs(model, X: pd.DataFrame, sensitive=None, *, column: int | None):
    """``(predictions, scores or None)`` of ``model`` on ``X``, ``BATCH_ROWS`` rows per call;
    one pass of the model per batch where its ``predict`` follows from its probabilities."""
    extra = _extra(model, sensitive)
    how = _one_pass(model)
    X = as_model_inputs(X, model_categories(model))
    predictions, scores = [], []
    for start in range(0, max(len(X), 1), BATCH_ROWS):
        part = X.iloc[start : start + BATCH_ROWS]
        kw = dict(extra)
        if "sensitive_features" in kw:
            kw["sensitive_features"] = kw["sensitive_features"].iloc[start : start + BATCH_ROWS]
        prediction, proba = _outputs(model, part, kw, column, how)
        predictions.append(prediction)
        if column is not None:
            if proba.ndim != 2 or proba.shape[1] != 2:
                column = None
                continue
            scores.append(proba[:, column])
    prediction = np.concatenate(predictions) if len(predictions) > 1 else predictions[0]
    if column is None:
        return prediction, None
    return prediction, (np.concatenate(scores) if len(scores) > 1 else scores[0])


_TEMPORARY: list[str] = []


def _remove_temporary() -> None:
    for folder in _TEMPORARY:
        shutil.rmtree(folder, ignore_errors=True)


def predictions_folder(folder=None) -> Path:
    """``folder`` (created), or a new temporary folder removed when Python exits."""
    if folder is not None:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        return path
    if not _TEMPORARY:
        atexit.register(_remove_temporary)
    path = tempfile.mkdtemp(prefix="raikit-predictions-")
    _TEMPORARY.append(path)
    return Path(path)


def _batches(table, batch_rows: int):
    """Arrow record batches of every row of a DuckDB table, in file order."""
    if table.format == "parquet":
        import pyarrow.parquet as pq

        for path in table.files:
            yield from pq.ParquetFile(path).iter_batches(
                batch_size=batch_rows, columns=table.columns
            )
        return
    names = ", ".join(table.q(c) for c in table.columns)
    relation = table.connection.sql(f"SELECT {names} FROM {table.relation}")
    # to_arrow_reader since DuckDB 1.4; fetch_arrow_reader before (deprecated since)
    reader = (getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader)(batch_rows)
    yield from reader


def _as_arrow(values: np.ndarray, kind=None):
    import pyarrow as pa

    array = pa.array(values if values.dtype != object else list(values), from_pandas=True)
    return array if kind is None else array.cast(kind)


def _failed(ds, rows: str, error: Exception) -> DataError:
    return DataError(
        f"The model could not predict on {ds.name!r}, {rows}: {type(error).__name__}: "
        f"{str(error).rstrip('.')}. "
        f"Check that those rows hold the values and types the model was trained on; no "
        f"predictions file was written."
    )


def _staging(path: Path) -> Path:
    """A hidden sibling of ``path`` to write to; renamed to ``path`` once complete, so a file
    at ``path`` is never a half-written one."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")


def _check_replaceable(path: Path) -> None:
    """Refuse to write the predictions over a folder that is not an earlier Parquet output
    (Spark writes a folder of ``part-*`` files): a mistyped path must never empty a folder."""
    if not path.is_dir():
        return
    foreign = [
        p.name
        for p in path.iterdir()
        if not (p.is_file() and (p.name.startswith(("part-", "_", ".")) or p.suffix == ".crc"))
    ]
    if foreign:
        raise ParameterError(
            f"The predictions would replace the folder {str(path)!r}, which holds other files "
            f"({', '.join(sorted(foreign)[:5])}). Give a new path, or the folder of an earlier "
            f"predictions run."
        )


def _publish(staged: Path, path: Path) -> None:
    """Move the finished ``staged`` file (or Spark's folder) to ``path``, replacing it."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    os.replace(staged, path)


def _discard(staged: Path) -> None:
    if staged.is_dir():
        shutil.rmtree(staged, ignore_errors=True)
    elif staged.exists():
        staged.unlink()


def predict_lazy(ds, model, *, prediction: str, score: str | None, column, path, progress=None):
    """Stream ``ds``'s rows through ``model`` and write them with the prediction (and score)
    to the Parquet file ``path`` (a folder for Spark); return ``(source, score)``: what a lazy
    Dataset is built on (the path, or the Spark DataFrame read back) and the score column's
    name, ``None`` when the model gave no score.

    ``ds`` is a lazy Dataset whose features are the model's inputs. ``progress(rows_done,
    rows_total)`` is called after each batch. The rows are written to a hidden temporary file
    next to ``path``, renamed to ``path`` only when every row is scored: when the model fails
    on a batch, the :class:`DataError` names the dataset and the rows, the temporary file is
    removed and ``path`` is left as it was (absent, or an earlier complete run). A folder at
    ``path`` is replaced only when it holds an earlier Parquet output (``ParameterError``
    otherwise).
    """
    path = Path(path)
    _check_replaceable(path)
    staged = _staging(path)
    try:
        scoring = _predict_spark if ds.table.format == "spark" else _predict_files
        score = scoring(
            ds,
            model,
            prediction=prediction,
            score=score,
            column=column,
            path=staged,
            progress=progress,
        )
        _publish(staged, path)
    except BaseException:
        _discard(staged)
        raise
    if ds.table.format == "spark":
        return ds.table.frame.sparkSession.read.parquet(str(path)), score
    return str(path), score


def _predict_files(ds, model, *, prediction, score, column, path, progress):
    """DuckDB tables (Parquet or CSV files): one Arrow batch at a time through the model."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from raikit._lazy import restore_dtypes

    needed = list(dict.fromkeys([*ds.feature_names, *ds.sensitive_names]))
    writer, kinds, done = None, None, 0
    try:
        for batch in _batches(ds.table, BATCH_ROWS):
            frame = restore_dtypes(batch.select(needed).to_pandas(), ds.dtypes, needed)
            try:
                predicted, scores = model_outputs(
                    model, frame[ds.feature_names], frame[ds.sensitive_names], column=column
                )
            except Exception as error:
                rows = f"rows {done:,} to {done + batch.num_rows - 1:,} (counted from 0)"
                raise _failed(ds, rows, error) from error
            added = {prediction: predicted}
            if scores is not None and score is not None:
                added[score] = scores
            if kinds is None:
                kinds = {name: _as_arrow(values).type for name, values in added.items()}
            for name, values in added.items():
                batch = batch.append_column(
                    pa.field(name, kinds[name]), _as_arrow(values, kinds[name])
                )
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema.remove_metadata())
            writer.write_batch(batch.replace_schema_metadata(None))
            done += batch.num_rows
            if progress is not None:
                progress(done, ds.n_rows)
    finally:
        if writer is not None:
            writer.close()
    return score if kinds is not None and score in kinds else None


_TYPE_ROWS = 20  # Spark: rows predicted on the driver to learn the prediction's type
_SPARK_FAILURE = "raikit-predict-failed:"  # marks the model's error inside Spark's message


def _predict_spark(ds, model, *, prediction, score, column, path, progress):
    """Spark: ``mapInPandas`` runs the model on each partition (the model travels in the
    closure; each batch gets back the dtypes the model expects); the scored rows are written to
    Parquet at ``path`` (a folder), so later aggregates do not predict again."""
    from pyspark.sql.pandas.types import from_arrow_type
    from pyspark.sql.types import DoubleType, StructField, StructType

    from raikit._lazy import restore_dtypes

    frame = ds.table.frame
    feature_names, sensitive_names = list(ds.feature_names), list(ds.sensitive_names)
    needed = list(dict.fromkeys([*feature_names, *sensitive_names]))
    dtypes = ds.dtypes
    head = restore_dtypes(ds.table.head.iloc[:_TYPE_ROWS], dtypes, needed)
    if not len(head):  # no row: no prediction, nothing to learn the prediction's type from
        raise DataError(f"{ds.name!r} has no rows: there is nothing to predict on.")
    try:
        first, first_score = model_outputs(
            model, head[feature_names], head[sensitive_names], column=column
        )
    except Exception as error:
        raise _failed(ds, f"its first {len(head):,} rows", error) from error
    kind = _as_arrow(first).type
    scored = score is not None and first_score is not None
    fields = [*frame.schema.fields, StructField(prediction, from_arrow_type(kind), True)]
    if scored:
        fields.append(StructField(score, DoubleType(), True))
    use_column = column if scored else None

    def run(parts):  # runs on the workers: everything it uses travels with it
        from pyspark import TaskContext

        done = 0
        for part in parts:
            if not len(part):
                continue
            ready = restore_dtypes(part, dtypes, needed)
            try:
                predicted, scores = model_outputs(
                    model, ready[feature_names], ready[sensitive_names], column=use_column
                )
            except Exception as error:
                context = TaskContext.get()
                where = f" of partition {context.partitionId()}" if context is not None else ""
                raise RuntimeError(
                    f"{_SPARK_FAILURE} rows {done:,} to {done + len(part) - 1:,}{where} "
                    f"(counted from 0): {type(error).__name__}: {error}"
                ) from None
            done += len(part)
            part = part.copy()
            part[prediction] = _as_arrow(predicted, kind).to_pandas()
            if scored:
                part[score] = np.asarray(scores, dtype=float)
            yield part

    try:
        with (
            warnings.catch_warnings()
        ):  # pyspark's notice about pandas 3; raikit's frames are plain
            warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
            frame.mapInPandas(run, schema=StructType(fields)).write.parquet(str(path))
    except Exception as error:
        message = str(error)
        if _SPARK_FAILURE not in message:
            raise
        detail = message.split(_SPARK_FAILURE, 1)[1].strip().splitlines()[0]
        rows, _, cause = detail.partition(": ")
        raise DataError(
            f"The model could not predict on {ds.name!r} (a Spark DataFrame), {rows}: "
            f"{cause.rstrip('.')}. "
            f"Check that those rows hold the values and types the model was trained on; no "
            f"predictions were written."
        ) from None
    if progress is not None:
        progress(ds.n_rows, ds.n_rows)
    return score if scored else None
