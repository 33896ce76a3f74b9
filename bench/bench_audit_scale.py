"""The whole audit at scale against its goals (issue 24): time, memory and growth, side by side.

UCI Adult is resampled with replacement (seeded) to N training and N test rows, written in
chunks (the generator never holds N rows) as Parquet files of 100,000-row row groups in a folder
per side, read back as a glob: only the columns the audit needs (the twelve features, ``sex``,
``race`` and the target), categoricals dictionary-encoded. One HistGradientBoosting pipeline
(``bench_audit_report._pipeline``) is fitted once on Adult's training split. Then, per size, each
measurement in its own subprocess (peak RSS = that process's ``ru_maxrss``; a timeout each):

* reference: ``model.predict_proba`` over the 2N rows, read from the Parquet files in 100,000-row
  batches, plus one ``group_metrics_of`` (1,000-replicate intervals) of the scored test rows;
* audit, lazy: ``raikit.audit.audit(model, train=Dataset(glob, lazy=True), test=...,
  n_boot=1000, random_state=0)``: predictions stream through the model to Parquet and the
  sections read them where they lie;
* audit, in memory (sizes up to ``--memory-max-rows``): the same on the frames read whole.

Goals printed beside the figures: audit / reference at most 5 at 1M + 1M rows, peak memory
under 1,000 MB there, at most linear growth from 100k to 10M rows (at most ~10x seconds per 10x
rows), the report opening in under 2 s (headless Chromium, when installed, with
``bench_audit_report``'s timing). ``--aggregate-rows`` adds a test set of that many rows on
DuckDB audited with only the aggregate sections (goal: peak memory under 2,000 MB);
``--spark-rows`` the same audit on Spark ``local[2]`` (``raikit.metrics.local_session``).

Each section runs guarded: one that raises is
reported as failed with its error and where it was raised, and the audit goes on with the next,
so the table says honestly what runs, how long each section took and the peak memory after it.
The disk space the data and the audit's prediction files need is estimated before anything is
written; a size that does not fit is refused with a message. The files are deleted at the end
unless ``--keep``.

Last runs (2026-12-06, 2 cores). Quiet, nothing else running:

    rows (train+test)        mode   ref s  audit s  ratio  peak MB  report MB  open s
    100,000 + 100,000        lazy     2.6     30.9   12.1      732       1.49    0.16
    100,000 + 100,000      memory     2.6     25.8   10.1      720       1.49    0.14
    1,000,000 + 1,000,000    lazy    12.7     46.7    3.7      946       1.48    0.18
    1,000,000 + 1,000,000  memory    12.7     57.7    4.5    1,178       1.49    0.12
    10,000,000 + 10,000,000  lazy   125.8    203.2    1.6    1,387       1.48    0.13

Later, with two or three benchmarks sharing the cores (seconds inflated, memory comparable):
1M + 1M in memory 911 MB (after the memory fixes of that day), lazy 890 MB; 1M train + 100M test
rows, aggregate sections on DuckDB: 579 MB, report 1.30 MB, interactive in 0.59 s; Spark
local[2], 10M + 10M rows: every section ran in 3,047 s, Python 432 MB + JVM 1,882 MB, report
1.48 MB, interactive in 0.57 s.

Run::

    python bench/bench_audit_scale.py --rows 100000 1000000
    python bench/bench_audit_scale.py --rows 20000 --aggregate-rows 200000   # a quick check
    python bench/bench_audit_scale.py --rows 10000000 --aggregate-rows 100000000 --spark-rows 10000000
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import itertools
import json
import math
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
from bench_audit_report import _browser_timings, _pipeline

ROW_GROUP = 100_000  # rows per Parquet row group (and per reference batch)
BATCH = 100_000
AGGREGATE_SECTIONS = ["bias", "accuracy", "data_profile", "data_representation", "data_drift"]
# the prediction files the audit writes hold every column plus the prediction and the score
PREDICTIONS_FACTOR = 1.4
HEADROOM = 1 << 30  # bytes left free on the disk


# --------------------------------------------------------------------------- the data
def _adult_parts():
    """Adult's training and test splits, only the columns the audit needs, and the roles."""
    from raikit.datasets import load_adult

    adult = load_adult()
    columns = [*adult.feature_names, *adult.sensitive_names, adult.target]
    roles = {
        "target": adult.target,
        "sensitive": list(adult.sensitive_names),
        "features": list(adult.feature_names),
    }
    split = adult.frame["split"]
    train = adult.frame.loc[split == "train", columns].reset_index(drop=True)
    test = adult.frame.loc[split == "test", columns].reset_index(drop=True)
    return adult, train, test, roles


def _chunk_table(source, rng, rows: int, schema):
    import pyarrow as pa

    take = rng.integers(0, len(source), size=rows)
    return pa.Table.from_pandas(source.iloc[take], schema=schema, preserve_index=False)


def _bytes_per_row(source, *, rows: int = 100_000) -> float:
    """Bytes per row of the Parquet files, from one chunk written to memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(source, preserve_index=False)
    buffer = io.BytesIO()
    table = _chunk_table(source, np.random.default_rng(12345), rows, schema)
    pq.write_table(table, buffer, row_group_size=ROW_GROUP, compression="zstd")
    return buffer.tell() / rows


def write_rows(source, folder: Path, rows: int, *, seed: int, file_rows: int) -> int:
    """``rows`` rows drawn with replacement from ``source`` into ``folder/part-*.parquet`` (at
    least two files), ``ROW_GROUP`` rows at a time; returns the bytes written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    schema = pa.Schema.from_pandas(source, preserve_index=False)
    n_files = max(2, math.ceil(rows / file_rows))
    bounds = np.linspace(0, rows, n_files + 1).astype(np.int64)
    for index, count in enumerate(np.diff(bounds)):
        path = folder / f"part-{index:04d}.parquet"
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            for start in range(0, int(count), ROW_GROUP):
                writer.write_table(_chunk_table(source, rng, min(ROW_GROUP, count - start), schema))
    return sum(p.stat().st_size for p in folder.glob("*.parquet"))


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _room(folder: Path, needed: float, what: str) -> str | None:
    """``None`` when the disk holding ``folder`` has ``needed`` bytes to spare, else why not."""
    free = shutil.disk_usage(folder).free
    if needed + HEADROOM <= free:
        return None
    return (
        f"refused: {what} needs about {needed / 1e9:.1f} GB (data and the audit's prediction "
        f"files) plus {HEADROOM / 1e9:.1f} GB headroom, and {folder} has {free / 1e9:.1f} GB "
        "free. Free some space, pass --folder on a larger disk, or ask for fewer rows."
    )


# --------------------------------------------------------------------------- the children
def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _where(error: BaseException) -> str:
    """Where a section broke: the innermost raikit frame and the innermost one outside
    ``dataset.py`` (which names the step that asked for all rows of a lazy Dataset)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "raikit" in f.filename]
    callers = [f for f in frames if Path(f.filename).name != "dataset.py"]
    frames = [*frames[-1:], *(f for f in callers[-1:] if f is not frames[-1])]
    frames = frames or traceback.extract_tb(error.__traceback__)[-1:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames)


def _dataset(spec: dict, side: str):
    """The ``side`` ("train"/"test") Dataset of ``spec``: lazy over the glob, in memory, or a
    Spark DataFrame; plus the seconds its rows took to load (in memory only)."""
    from raikit import Dataset

    roles, glob = spec["roles"], spec[side]
    start = time.perf_counter()
    if spec["mode"] == "memory":
        import pandas as pd

        data = pd.read_parquet(Path(glob).parent)
    elif spec["mode"] == "spark":
        import os

        from raikit.metrics import local_session

        # Spark's Python workers (mapInPandas) run "python3" from PATH unless told otherwise;
        # outside an activated virtual environment that one lacks pandas
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

        data = local_session("local[2]").read.parquet(str(Path(glob).parent))
    else:
        data = glob
    lazy = True if spec["mode"] != "memory" else None
    ds = Dataset(data, name=side, lazy=lazy, **roles)
    return ds, time.perf_counter() - start


def _watch_loads(loads: dict, current: dict) -> None:
    """Record every full load of a lazy Dataset's rows (``Dataset.materialize``) under the
    step running when it happened: a section that "runs" on lazy data by loading all rows."""
    from raikit.dataset import Dataset

    original = Dataset.materialize

    def materialize(self, purpose=None, *, max_rows=None):
        fresh = self.is_lazy and self._cache is None
        frame = original(self, purpose, max_rows=max_rows)
        if fresh:
            loads.setdefault(current["step"], []).append(f"{self.name}: {len(frame):,} rows")
        return frame

    Dataset.materialize = materialize


def _guard_sections(failures: dict, peaks: dict, current: dict) -> None:
    """Wrap every registered audit section: an exception becomes a recorded failure (and the
    section is left out, so the audit goes on); the peak RSS after each section is kept."""
    from raikit.audit import _audit

    for name, section in list(_audit._SECTIONS.items()):

        def run(ctx, _run=section.run, _name=name):
            current["step"] = _name
            try:
                return _run(ctx)
            except _audit.SectionSkipped:
                raise
            except Exception as error:
                text = " ".join(str(error).split())
                failures[_name] = f"{type(error).__name__}: {text[:400]} [{_where(error)}]"
                raise _audit.SectionSkipped(
                    f"The benchmark caught {type(error).__name__} in this section."
                ) from None
            finally:
                peaks[_name] = _peak_mb()
                current["step"] = "report"

        _audit._SECTIONS[name] = dataclasses.replace(section, run=run)


def child_reference(spec: dict) -> dict:
    """``predict_proba`` over both sides' rows in batches, then ``group_metrics_of`` once."""
    import pandas as pd
    import pyarrow.parquet as pq

    from raikit import Dataset
    from raikit.metrics import group_metrics_of

    model = pickle.loads(Path(spec["model"]).read_bytes())
    roles = spec["roles"]
    features, sensitive, target = roles["features"], roles["sensitive"], roles["target"]
    kept = []
    start = time.perf_counter()
    for side in ("train", "test"):
        for path in sorted(Path(spec[side]).parent.glob("*.parquet")):
            columns = features + ([target, *sensitive] if side == "test" else [])
            for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH, columns=columns):
                frame = batch.to_pandas()
                proba = model.predict_proba(frame[features])
                if side == "test":
                    part = frame[[target, *sensitive]].copy()
                    part["prediction"] = model.classes_[np.argmax(proba, axis=1)]
                    part["score"] = proba[:, 1]
                    kept.append(part)
    predict_s = time.perf_counter() - start
    scored = pd.concat(kept, ignore_index=True)
    del kept
    data = Dataset(
        scored, target=target, sensitive=sensitive, prediction="prediction", score="score"
    )
    start = time.perf_counter()
    group_metrics_of(data, ci=0.95, n_boot=spec["n_boot"], random_state=0)
    metrics_s = time.perf_counter() - start
    return {"predict_s": predict_s, "metrics_s": metrics_s, "seconds": predict_s + metrics_s}


def child_audit(spec: dict) -> dict:
    """The audit of one mode (lazy, memory, spark), every section guarded."""
    import raikit.dataset
    from raikit.audit import audit

    if spec.get("materialize_limit") is not None:
        raikit.dataset.MATERIALIZE_LIMIT = spec["materialize_limit"]
    failures, peaks, loads, current = {}, {}, {}, {"step": "loading"}
    _guard_sections(failures, peaks, current)
    _watch_loads(loads, current)
    model = pickle.loads(Path(spec["model"]).read_bytes())
    train, load_train = _dataset(spec, "train")
    test, load_test = _dataset(spec, "test")
    out = Path(spec["out"])
    steps, timings = {}, {}
    start = time.perf_counter()
    # what audit() does first (raikit.audit._audit._predictions), timed apart
    for side, ds in (("train", train), ("test", test)):
        lazy = {"out": out / f"{side}.parquet"} if ds.is_lazy else {}
        current["step"] = f"predictions ({side})"
        begun = time.perf_counter()
        scored = ds.with_predictions(model, **lazy)
        timings[f"predictions ({side})"] = time.perf_counter() - begun
        peaks[f"predictions ({side})"] = _peak_mb()
        steps[side] = scored
    error = None
    try:
        report = audit(
            model,
            train=steps["train"],
            test=steps["test"],
            sections=spec["sections"],
            n_boot=spec["n_boot"],
            random_state=0,
        )
    except Exception as caught:  # outside any section: the report itself
        report, error = None, f"{type(caught).__name__}: {str(caught)[:400]} [{_where(caught)}]"
    seconds = time.perf_counter() - start
    result = {
        "seconds": seconds,
        "load_s": load_train + load_test,
        "peak_mb": _peak_mb(),
        "failures": failures,
        "loads": loads,
        "peaks": peaks,
        "sections": timings,
        "error": error,
        "predictions_bytes": _folder_bytes(out) if out.exists() else 0,
    }
    if spec["mode"] == "spark":
        result["jvm_peak_mb"] = _jvm_peak_mb()
    if report is None:
        return result
    result["sections"] |= {k: v for k, v in report.meta["seconds"].items() if k != "total"}
    result["skipped"] = {k: v for k, v in report.meta["skipped"].items() if k not in failures}
    begun = time.perf_counter()
    html = Path(spec["html"])
    report.to_html(html)
    result["html_s"] = time.perf_counter() - begun
    result["report_bytes"] = html.stat().st_size
    return result


def _jvm_peak_mb() -> float | None:
    try:
        from pyspark.sql import SparkSession

        pid = SparkSession.getActiveSession().sparkContext._gateway.proc.pid
        with open(f"/proc/{pid}/status") as status:
            hwm = next(line for line in status if line.startswith("VmHWM"))
        return int(hwm.split()[1]) / 1024
    except Exception:
        return None


def _child(kind: str, spec: dict) -> None:
    started = time.perf_counter()
    result = (child_reference if kind == "reference" else child_audit)(spec)
    result.setdefault("peak_mb", _peak_mb())
    result["process_s"] = time.perf_counter() - started
    print("RESULT " + json.dumps(result), flush=True)


_PARTIAL: list[Path] = []  # with --json: each measurement is appended here as it ends


def measure(kind: str, spec: dict, timeout: float, *, label: str) -> dict:
    """Run one measurement in a fresh Python process; its result, or why it has none. The
    result is logged (and, with ``--json``, appended to ``<json>.partial.jsonl``) at once, so
    a run stopped half-way keeps what it measured."""
    command = [sys.executable, __file__, "--child", kind, json.dumps(spec)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        result = {"error": f"timed out after {timeout:.0f} s"}
    else:
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            tail = " | ".join(done.stderr.strip().splitlines()[-3:])
            result = {"error": f"exit code {done.returncode}: {tail[-600:]}"}
        else:
            result = json.loads(lines[-1][len("RESULT ") :])
    _log(
        f"{label}: {_fmt(result.get('seconds'))} s, peak {_fmt(result.get('peak_mb'), ',.0f')} MB,"
        f" {result.get('error') or _status(result) if kind == 'audit' else 'done'}"
    )
    for path in _PARTIAL:
        with path.open("a", encoding="utf-8") as partial:
            partial.write(json.dumps({"label": label, **result}) + "\n")
    return result


# --------------------------------------------------------------------------- the runs
def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _write_sides(sources, folder: Path, train_rows: int, test_rows: int, file_rows: int) -> dict:
    paths = {}
    for side, rows, seed in (("train", train_rows, 0), ("test", test_rows, 1)):
        target = folder / side
        _log(f"writing {rows:,} {side} rows to {target}")
        write_rows(sources[side], target, rows, seed=seed, file_rows=file_rows)
        paths[side] = str(target / "*.parquet")
    return paths


def _spec(base: dict, paths: dict, folder: Path, mode: str, tag: str, sections) -> dict:
    return {
        **base,
        **paths,
        "mode": mode,
        "sections": sections,
        "out": str(folder / f"predictions-{tag}"),
        "html": str(folder / f"audit-{tag}.html"),
    }


def _open(result: dict, spec: dict, browser: bool) -> None:
    if browser and "report_bytes" in result:
        timings = _browser_timings(Path(spec["html"]))
        if timings is not None:
            result["open_s"] = timings["interactive_ms"] / 1000
            result["drawn_s"] = timings["drawn_ms"] / 1000


def run_size(rows: int, args, base: dict, sources: dict, bytes_per_row: float) -> dict:
    folder = args.folder / f"rows-{rows}"
    reason = _room(
        args.folder,
        2 * rows * bytes_per_row * (1 + PREDICTIONS_FACTOR),
        f"{rows:,} + {rows:,} rows",
    )
    if reason:
        return {"rows": rows, "error": reason}
    paths = _write_sides(sources, folder, rows, rows, args.file_rows)
    out = {"rows": rows, "data_bytes": _folder_bytes(folder), "runs": {}}
    _log(f"{rows:,} rows: reference")
    out["reference"] = measure(
        "reference", {**base, **paths}, args.timeout, label=f"{rows:,} rows, reference"
    )
    modes = ["lazy"] + (["memory"] if rows <= args.memory_max_rows else [])
    for mode in modes:
        _log(f"{rows:,} rows: audit, {mode}")
        spec = _spec(base, paths, folder, mode, f"{mode}-{rows}", args.sections)
        result = measure("audit", spec, args.timeout, label=f"{rows:,} rows, audit {mode}")
        _open(result, spec, args.browser)
        out["runs"][mode] = result
        shutil.rmtree(spec["out"], ignore_errors=True)
    if not args.keep:
        shutil.rmtree(folder / "train", ignore_errors=True)
        shutil.rmtree(folder / "test", ignore_errors=True)
    return out


def run_aggregate(args, base: dict, sources: dict, bytes_per_row: float) -> dict:
    rows, train_rows = args.aggregate_rows, min(args.aggregate_train_rows, args.aggregate_rows)
    folder = args.folder / f"aggregate-{rows}"
    reason = _room(
        args.folder,
        (rows + train_rows) * bytes_per_row * (1 + PREDICTIONS_FACTOR),
        f"the {rows:,}-row test set",
    )
    out = {"rows": rows, "train_rows": train_rows}
    if reason:
        return {**out, "error": reason}
    paths = _write_sides(sources, folder, train_rows, rows, args.file_rows)
    out["data_bytes"] = _folder_bytes(folder)
    _log(f"{rows:,} test rows: aggregate sections, lazy")
    spec = _spec(base, paths, folder, "lazy", f"aggregate-{rows}", args.aggregate_sections)
    out["run"] = measure("audit", spec, args.timeout, label=f"{rows:,} test rows, aggregate")
    _open(out["run"], spec, args.browser)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def run_spark(args, base: dict, sources: dict, bytes_per_row: float) -> dict:
    rows = args.spark_rows
    folder = args.folder / f"spark-{rows}"
    reason = _room(
        args.folder,
        2 * rows * bytes_per_row * (1 + 2 * PREDICTIONS_FACTOR),
        f"Spark on {rows:,} rows",
    )
    if reason:
        return {"rows": rows, "error": reason}
    paths = _write_sides(sources, folder, rows, rows, args.file_rows)
    _log(f"{rows:,} rows: audit on Spark local[2]")
    spec = _spec(base, paths, folder, "spark", f"spark-{rows}", args.sections)
    out = {"rows": rows, "run": measure("audit", spec, args.timeout, label=f"{rows:,} rows, spark")}
    _open(out["run"], spec, args.browser)
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- the tables
def _fmt(value, spec: str = ".1f", missing: str = "-") -> str:
    return (
        missing
        if value is None or (isinstance(value, float) and math.isnan(value))
        else format(value, spec)
    )


def _status(run: dict) -> str:
    if "error" in run and "seconds" not in run:
        return f"no result: {run['error']}"
    failed, loaded = len(run.get("failures", {})), len(set(run.get("loads", {})) - {"report"})
    text = f"{failed} section(s) failed" if failed else "all sections ran"
    if loaded:
        text += f", {loaded} step(s) loaded all rows of a lazy Dataset"
    if "report" in run.get("loads", {}):
        text += ", the report assembly loaded all rows"
    return text


def print_sizes(results: list[dict]) -> None:
    print(
        "\n== 1. The audit against its reference (goals: ratio <= 5 and peak < 1,000 MB at 1M + 1M)"
    )
    header = (
        f"{'rows (train+test)':>20} {'mode':>7} {'ref s':>8} {'predict':>8} {'metrics':>8}"
        f" {'audit s':>8} {'ratio':>6} {'peak MB':>8} {'report MB':>9} {'open s':>7}  status"
    )
    print(header)
    for r in results:
        label = f"{r['rows']:,} + {r['rows']:,}"
        if "error" in r:
            print(f"{label:>20}  {r['error']}")
            continue
        ref = r["reference"]
        ref_s = ref.get("seconds")
        ref_text = (
            f"{_fmt(ref_s):>8} {_fmt(ref.get('predict_s')):>8} {_fmt(ref.get('metrics_s')):>8}"
        )
        if ref_s is None:
            print(f"{label:>20} {'ref':>7}  reference: {ref.get('error')}")
        for mode, run in r["runs"].items():
            seconds = run.get("seconds")
            ratio = seconds / ref_s if seconds and ref_s else None
            report = run.get("report_bytes")
            print(
                f"{label:>20} {mode:>7} {ref_text} {_fmt(seconds):>8} {_fmt(ratio, '.2f'):>6}"
                f" {_fmt(run.get('peak_mb'), ',.0f'):>8}"
                f" {_fmt(None if report is None else report / 1e6, '.2f'):>9}"
                f" {_fmt(run.get('open_s'), '.2f'):>7}  {_status(run)}"
            )
            if run.get("load_s") and mode == "memory":
                print(
                    f"{'':>20} {'':>7} (reading both frames into memory first:"
                    f" {run['load_s']:.1f} s, not counted)"
                )
            if run.get("error") and "seconds" in run:
                print(f"{'':>20} {'':>7} the report failed: {run['error']}")


def print_growth(results: list[dict]) -> None:
    ok = [r for r in results if "error" not in r]
    if len(ok) < 2:
        return
    print("\n== 2. Growth with rows (goal: at most linear, i.e. <= ~10x seconds per 10x rows)")
    print(f"{'from':>12} {'to':>12} {'what':>16} {'seconds':>18} {'ratio':>7} {'per 10x rows':>13}")
    for a, b in itertools.pairwise(ok):
        decades = math.log10(b["rows"] / a["rows"])
        pairs = [("reference", a["reference"], b["reference"])]
        pairs += [(f"audit, {m}", a["runs"][m], b["runs"][m]) for m in a["runs"] if m in b["runs"]]
        for what, x, y in pairs:
            if not x.get("seconds") or not y.get("seconds"):
                continue
            ratio = y["seconds"] / x["seconds"]
            per_decade = ratio ** (1 / decades) if decades > 0 else float("nan")
            print(
                f"{a['rows']:>12,} {b['rows']:>12,} {what:>16}"
                f" {x['seconds']:>8.1f} -> {y['seconds']:>6.1f} {ratio:>7.2f} {per_decade:>13.2f}"
            )


def _section_table(columns: list[tuple[str, dict]]) -> None:
    names: list[str] = []
    for _, run in columns:
        for name in [*run.get("sections", {}), *run.get("failures", {})]:
            if name not in names:
                names.append(name)
    print(f"{'section':>26}" + "".join(f" {label:>24}" for label, _ in columns))
    for name in names:
        cells = []
        for _, run in columns:
            seconds = run.get("sections", {}).get(name)
            peak = run.get("peaks", {}).get(name)
            mark = ""
            if name in run.get("failures", {}):
                mark = " FAIL"
            elif name in run.get("loads", {}):
                mark = " LOAD"
            elif name in run.get("skipped", {}):
                mark = " skip"
            text = "-" if seconds is None else f"{seconds:.1f} s{mark}"
            if peak is not None:
                text += f" {peak:,.0f} MB"
            cells.append(f" {text:>24}")
        print(f"{name:>26}" + "".join(cells))


def print_sections(results: list[dict], aggregate: dict | None, spark: dict | None) -> None:
    columns = [
        (f"{m} {r['rows']:,}", run)
        for r in results
        if "error" not in r
        for m, run in r["runs"].items()
        if "sections" in run
    ]
    for label, extra in (("aggregate", aggregate), ("spark", spark)):
        if extra and "run" in extra and "sections" in extra["run"]:
            columns.append((f"{label} {extra['rows']:,}", extra["run"]))
    if not columns:
        return
    print("\n== 3. Seconds per step (report.meta['seconds']) and peak RSS after it")
    _section_table(columns)
    print(
        "\nsections that failed (error, innermost raikit frames), loaded every row of a lazy"
        " Dataset into memory (LOAD), or were skipped:"
    )
    seen = set()
    for label, run in columns:
        for name, what in run.get("loads", {}).items():
            print(f"  LOAD {label}: {name}: {'; '.join(what)}")
        for name, why in run.get("failures", {}).items():
            if (name, why) not in seen:
                seen.add((name, why))
                print(f"  FAIL {label}: {name}: {why}")
        for name, why in run.get("skipped", {}).items():
            if (name, why) not in seen:
                seen.add((name, why))
                print(f"  skip {label}: {name}: {why}")


def print_extra(title: str, goal: str, extra: dict | None) -> None:
    if extra is None:
        return
    print(f"\n== {title} ({goal})")
    if "error" in extra:
        print(f"  {extra['error']}")
        return
    run = extra["run"]
    train = extra.get("train_rows", extra["rows"])
    print(
        f"  {train:,} train + {extra['rows']:,} test rows: {_status(run)};"
        f" {_fmt(run.get('seconds'))} s, peak {_fmt(run.get('peak_mb'), ',.0f')} MB"
        + (f" (+ JVM {_fmt(run.get('jvm_peak_mb'), ',.0f')} MB)" if "jvm_peak_mb" in run else "")
        + f", report {_fmt((run.get('report_bytes') or math.nan) / 1e6, '.2f')} MB"
        + f", opens in {_fmt(run.get('open_s'), '.2f')} s"
        + (f", data {extra['data_bytes'] / 1e6:,.0f} MB" if "data_bytes" in extra else "")
        + (
            f", predictions {run['predictions_bytes'] / 1e6:,.0f} MB"
            if run.get("predictions_bytes")
            else ""
        )
    )
    if run.get("error") and "seconds" in run:
        print(f"  the report failed: {run['error']}")


# --------------------------------------------------------------------------- main
def _arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--aggregate-rows", type=int, help="test rows of the aggregate-only run")
    parser.add_argument("--aggregate-train-rows", type=int, default=1_000_000)
    parser.add_argument("--aggregate-sections", nargs="+", default=AGGREGATE_SECTIONS)
    parser.add_argument("--spark-rows", type=int, help="rows per side of the Spark local[2] run")
    parser.add_argument("--sections", nargs="+", help="audit sections (default: all)")
    parser.add_argument("--memory-max-rows", type=int, default=1_000_000)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument(
        "--materialize-limit",
        type=int,
        help="raikit.dataset.MATERIALIZE_LIMIT in the audits (e.g. 5000: any full load of a lazy"
        " Dataset fails, so the table shows which sections are not lazy yet)",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measurement")
    parser.add_argument("--file-rows", type=int, default=2_000_000, help="rows per Parquet file")
    parser.add_argument(
        "--folder", type=Path, help="where the data goes (default: a temporary folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data and the reports")
    parser.add_argument("--no-browser", dest="browser", action="store_false")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = _arguments(argv)
    made = args.folder is None
    args.folder = args.folder or Path(tempfile.mkdtemp(prefix="raikit-bench-scale-"))
    args.folder.mkdir(parents=True, exist_ok=True)
    adult, train, test, roles = _adult_parts()
    model = _pipeline(adult).fit(train[roles["features"]], train[roles["target"]])
    model_path = args.folder / "model.pkl"
    model_path.write_bytes(pickle.dumps(model))  # our own file, read back by our children
    base = {
        "model": str(model_path),
        "roles": roles,
        "n_boot": args.n_boot,
        "materialize_limit": args.materialize_limit,
    }
    sources = {"train": train, "test": test}
    bytes_per_row = max(_bytes_per_row(train), _bytes_per_row(test))
    _log(f"data: ~{bytes_per_row:.1f} bytes per row on disk; folder {args.folder}")
    if args.json:
        _PARTIAL.append(args.json.with_suffix(".partial.jsonl"))
    results = [run_size(rows, args, base, sources, bytes_per_row) for rows in sorted(args.rows)]
    aggregate = run_aggregate(args, base, sources, bytes_per_row) if args.aggregate_rows else None
    spark = run_spark(args, base, sources, bytes_per_row) if args.spark_rows else None
    print(
        f"\nAdult resampled, HistGradientBoosting pipeline, n_boot={args.n_boot}, Parquet"
        f" {bytes_per_row:.1f} bytes/row; reference = predict_proba over train + test rows"
        " (100k-row batches from Parquet) + one group_metrics_of with intervals on the scored"
        " test rows; every measurement in its own process (peak = its ru_maxrss)"
    )
    print_sizes(results)
    print_growth(results)
    print_extra("4. Aggregate sections on DuckDB", "goal: peak < 2,000 MB", aggregate)
    print_extra("5. Spark local[2]", "goal: the audit completes", spark)
    print_sections(results, aggregate, spark)
    if args.json:
        args.json.write_text(
            json.dumps({"sizes": results, "aggregate": aggregate, "spark": spark}, indent=1)
        )
    if args.keep:
        print(f"\ndata and reports kept in {args.folder}")
    elif made:
        shutil.rmtree(args.folder, ignore_errors=True)
    else:
        model_path.unlink(missing_ok=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], json.loads(sys.argv[3]))
    else:
        main()
