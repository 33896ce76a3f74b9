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
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from raikit._errors import DataError

__all__ = ["BATCH_ROWS", "model_outputs", "positive_index", "predict_lazy", "predictions_folder"]

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


def model_outputs(model, X: pd.DataFrame, sensitive=None, *, column: int | None):
    """``(predictions, scores or None)`` of ``model`` on ``X``, ``BATCH_ROWS`` rows per call;
    one pass of the model per batch where its ``predict`` follows from its probabilities."""
    extra = _extra(model, sensitive)
    how = _one_pass(model)
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
    reader = table.connection.execute(f"SELECT {names} FROM {table.relation}").fetch_record_batch(
        batch_rows
    )
    yield from reader


def _as_arrow(values: np.ndarray, kind=None):
    import pyarrow as pa

    array = pa.array(values if values.dtype != object else list(values), from_pandas=True)
    return array if kind is None else array.cast(kind)


def predict_lazy(ds, model, *, prediction: str, score: str | None, column, path, progress=None):
    """Stream ``ds``'s rows through ``model`` and write them with the prediction (and score)
    to the Parquet file ``path`` (a folder for Spark); return ``(source, score)``: what a lazy
    Dataset is built on (the path, or the Spark DataFrame read back) and the score column's
    name, ``None`` when the model gave no score.

    ``ds`` is a lazy Dataset whose features are the model's inputs. ``progress(rows_done,
    rows_total)`` is called after each batch.
    """
    if ds.table.format == "spark":
        return _predict_spark(
            ds, model, prediction=prediction, score=score, column=column, path=path
        )
    import pyarrow as pa
    import pyarrow.parquet as pq

    from raikit._lazy import restore_dtypes

    needed = list(dict.fromkeys([*ds.feature_names, *ds.sensitive_names]))
    writer, kinds, done = None, None, 0
    try:
        for batch in _batches(ds.table, BATCH_ROWS):
            frame = restore_dtypes(batch.select(needed).to_pandas(), ds.dtypes, needed)
            predicted, scores = model_outputs(
                model, frame[ds.feature_names], frame[ds.sensitive_names], column=column
            )
            added = (
                {prediction: predicted}
                if scores is None or score is None
                else {prediction: predicted, score: scores}
            )
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
    return path, score if kinds is not None and score in kinds else None


def _predict_spark(ds, model, *, prediction, score, column, path):
    """Spark: ``mapInPandas`` runs the model on each partition; the result is written to
    Parquet at ``path`` (a folder) and read back, so later aggregates do not predict again."""
    from pyspark.sql.pandas.types import from_arrow_type
    from pyspark.sql.types import DoubleType, StructField

    from raikit._lazy import restore_dtypes

    frame = ds.table.frame
    feature_names, sensitive_names = list(ds.feature_names), list(ds.sensitive_names)
    dtypes = ds.dtypes
    head = restore_dtypes(ds.table.head, dtypes)
    first, first_score = model_outputs(
        model, head[feature_names], head[sensitive_names], column=column
    )
    kind = _as_arrow(first).type
    scored = score is not None and first_score is not None
    fields = [*frame.schema.fields, StructField(prediction, from_arrow_type(kind), True)]
    if scored:
        fields.append(StructField(score, DoubleType(), True))

    def run(parts):
        for part in parts:
            if not len(part):
                continue
            ready = restore_dtypes(part, dtypes, [*feature_names, *sensitive_names])
            predicted, scores = model_outputs(
                model,
                ready[feature_names],
                ready[sensitive_names],
                column=column if scored else None,
            )
            part = part.copy()
            part[prediction] = _as_arrow(predicted, kind).to_pandas()
            if scored:
                part[score] = scores.astype(float)
            yield part

    from pyspark.sql.types import StructType

    out = frame.mapInPandas(run, schema=StructType(fields))
    out.write.mode("overwrite").parquet(str(path))
    return frame.sparkSession.read.parquet(str(path)), score if scored else None
