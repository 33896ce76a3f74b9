"""Evidence: the ``...Result`` base class, findings, and lossless JSON for tidy DataFrames.

Every check returns a frozen dataclass that subclasses :class:`Result`. Its fields hold numbers
(DataFrames, Series, floats, strings, lists and dicts of them) and findings; ``to_dict`` turns it into
plain JSON types without losing a bit (floats round-trip exactly; NaN and infinities are kept), and
``from_dict`` rebuilds it, so the ledger can store results and cards can read them back.
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from raikit._errors import RaikitError
from raikit._grouping import SliceKey

__all__ = ["SEVERITIES", "Finding", "Result", "result_from_dict", "result_type"]

SEVERITIES = ("info", "warning", "error")

_REGISTRY: dict[str, type[Result]] = {}


@dataclass(frozen=True)
class Finding:
    """Something a check found that a person should read.

    Parameters
    ----------
    severity : {"info", "warning", "error"}
        ``error`` marks a violated criterion, ``warning`` something doubtful (a tiny group, an
        undefined metric), ``info`` context.
    title : str
        One line.
    detail : str
        The numbers behind the finding and what to do about it.
    slice : str, optional
        The group or slice the finding is about, as a person reads it (e.g. ``"race=Black"``).
    key : SliceKey, optional
        The same group as a structured key (attribute -> value), when it is a group of the
        sensitive attributes: compare and join on it, never on the text (a value may hold
        ``" & "`` or ``"="``). Pairs ``[[attribute, value], ...]`` (its JSON form) are accepted.

    See Also
    --------
    raikit.Result : carries its findings in ``findings``.

    Examples
    --------
    >>> Finding("warning", "Tiny group", "race=Other has 3 rows", slice="race=Other").severity
    'warning'
    >>> f = Finding("warning", "Tiny group", key=[["dept", "R & D"]])
    >>> f.key == SliceKey(dept="R & D"), f.slice
    (True, 'dept=R & D')
    """

    severity: str
    title: str
    detail: str = ""
    slice: str | None = None
    key: SliceKey | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise RaikitError(
                f"Finding severity must be one of {SEVERITIES}, got {self.severity!r}."
            )
        if self.key is not None:
            key = self.key if isinstance(self.key, SliceKey) else SliceKey(self.key)
            object.__setattr__(self, "key", key)
            if self.slice is None:
                object.__setattr__(self, "slice", key.text)

    def to_dict(self) -> dict:
        """Plain values only (JSON): the key as its pairs."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["key"] = None if self.key is None else self.key.pairs
        return out


# --------------------------------------------------------------------------- lossless encoding
def _encode_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}  # 'nan', 'inf', '-inf'
    if isinstance(value, pd.Timestamp):
        return {"__timestamp__": value.isoformat()}
    return value


def _decode_scalar(value: Any) -> Any:
    if isinstance(value, dict) and "__float__" in value:
        return float(value["__float__"])
    if isinstance(value, dict) and "__timestamp__" in value:
        return pd.Timestamp(value["__timestamp__"])
    return value


def _encode_column(series: pd.Series) -> dict:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return {
            "dtype": "category",
            "categories": [_encode_scalar(v) for v in dtype.categories],
            "ordered": bool(dtype.ordered),
            "codes": series.cat.codes.astype(int).tolist(),
        }
    values = series.to_numpy(dtype=object)
    return {"dtype": str(dtype), "values": [_encode(v) for v in values]}


def _decode_column(data: dict) -> pd.Series:
    if data["dtype"] == "category":
        categories = [_decode_scalar(v) for v in data["categories"]]
        return pd.Series(
            pd.Categorical.from_codes(data["codes"], categories=categories, ordered=data["ordered"])
        )
    values = [_decode(v) for v in data["values"]]
    dtype = data["dtype"]
    if dtype in ("object", "str", "string"):
        return pd.Series(values, dtype=object if dtype == "object" else dtype)
    try:
        return pd.Series(values, dtype=dtype)
    except (TypeError, ValueError):
        return pd.Series(values, dtype=object)


def _encode_frame(frame: pd.DataFrame) -> dict:
    # A default RangeIndex carries no information; any other index is stored as leading columns.
    plain_index = (
        isinstance(frame.index, pd.RangeIndex)
        and frame.index.name is None
        and frame.index.start == 0
        and frame.index.step == 1
    )
    n_index = 0 if plain_index else frame.index.nlevels
    columns = list(frame.columns)
    data = [_encode_column(frame.iloc[:, i]) for i in range(frame.shape[1])]
    if n_index:
        levels = [frame.index.get_level_values(i).to_series(index=None) for i in range(n_index)]
        data = [_encode_column(level.reset_index(drop=True)) for level in levels] + data
        columns = [f"__index_{i}" for i in range(n_index)] + columns
    return {
        "__frame__": {
            "columns": [_encode(c) for c in columns],
            "n_index": n_index,
            "index_names": [_encode(n) for n in frame.index.names] if n_index else [],
            "data": data,
        }
    }


def _decode_frame(data: dict) -> pd.DataFrame:
    columns = [_decode(c) for c in data["columns"]]
    series = [_decode_column(c) for c in data["data"]]
    frame = pd.DataFrame(dict(enumerate(series))) if series else pd.DataFrame()
    frame.columns = pd.Index([_hashable(c) for c in columns], tupleize_cols=False)
    n_index = data["n_index"]
    if n_index:
        frame = frame.set_index(list(frame.columns[:n_index]))
        frame.index.names = [_decode(n) for n in data["index_names"]]
    return frame


def _encode(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return _encode_frame(value)
    if isinstance(value, pd.Series):
        name = value.name
        return {
            "__series__": _encode_frame(value.to_frame(name="__values__")),
            "name": _encode(name),
        }
    if isinstance(value, Finding):
        return {"__finding__": value.to_dict()}
    if isinstance(value, SliceKey):
        return {"__slice_key__": value.pairs}
    if isinstance(value, Result):
        return {"__result__": value.to_dict()}
    if isinstance(value, np.ndarray):
        return {"__array__": [_encode(v) for v in value.tolist()], "dtype": str(value.dtype)}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return _encode_scalar(value)


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__frame__" in value:
        return _decode_frame(value["__frame__"])
    if "__series__" in value:
        frame = _decode(value["__series__"])
        series = frame["__values__"]
        series.name = _decode(value["name"])
        return series
    if "__finding__" in value:
        return Finding(**value["__finding__"])
    if "__slice_key__" in value:
        return SliceKey(value["__slice_key__"])
    if "__result__" in value:
        return result_from_dict(value["__result__"])
    if "__array__" in value:
        return np.array([_decode(v) for v in value["__array__"]], dtype=value["dtype"])
    if "__dict__" in value:
        return {_hashable(_decode(k)): _decode(v) for k, v in value["__dict__"]}
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    return _decode_scalar(value)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# --------------------------------------------------------------------------- the base class
def _remembers_page(to_html):
    """``to_html`` that also notes, on the result, the file it wrote (for the notebook card)."""

    @functools.wraps(to_html)
    def written(self, *args, **kwargs):
        page = to_html(self, *args, **kwargs)
        path = kwargs.get("path", args[0] if args else None)
        if isinstance(path, str | os.PathLike):
            # not a field: no effect on equality, JSON or the ledger
            object.__setattr__(self, "_written_to", os.path.abspath(os.fspath(path)))
        return page

    return written


@dataclass(frozen=True, eq=False)
class Result:
    """Base class of every ``...Result``: numbers, a summary, findings, figures, lossless JSON.

    Subclasses are frozen dataclasses. They must define ``summary`` (a one-line text) and may
    override ``figures()``. ``findings`` is a tuple of :class:`Finding`. A subclass registers
    itself under its class name when it is defined, which is the ``type`` its JSON carries.

    In a notebook a result shows itself as a compact card (:meth:`_repr_html_`); once
    :meth:`to_html` has written it to a file, the card says where.

    See Also
    --------
    Finding : one thing a check found, with its severity.
    raikit.ledger.Ledger : stores results and loads them back.

    Examples
    --------
    Every check returns a subclass; its JSON form rebuilds an equal result:

    >>> import raikit
    >>> from raikit.metrics import group_metrics
    >>> result = group_metrics([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    >>> isinstance(result, raikit.Result)
    True
    >>> again = raikit.Result.from_dict(result.to_dict())
    >>> again.by_group.equals(result.by_group), type(again).__name__
    (True, 'GroupMetricsResult')
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls  # the name its to_dict() writes as "type"
        if "to_html" in cls.__dict__:  # its own page: the notebook card still says where it went
            cls.to_html = _remembers_page(cls.__dict__["to_html"])

    @property
    def summary(self) -> str:
        """One line saying what was found; subclasses give the numbers."""
        n = len(getattr(self, "findings", ()))
        return f"{type(self).__name__} with {n} finding(s)."

    def figures(self) -> list:
        """Plotly figures of this result (none by default)."""
        return []

    def to_dict(self) -> dict:
        """A dictionary of plain JSON types from which :meth:`from_dict` rebuilds this result."""
        payload = {f.name: _encode(getattr(self, f.name)) for f in fields(self)}
        return {"type": type(self).__name__, "version": 1, "fields": payload}

    @classmethod
    def from_dict(cls, data: dict) -> Result:
        """Rebuild a result written by :meth:`to_dict`."""
        name = data.get("type", "")
        target = result_type(name) if cls is Result or _known(name) else cls
        if cls is not Result and not issubclass(target, cls):
            raise RaikitError(
                f"Cannot read a {data.get('type')!r} as {cls.__name__}; use result_from_dict()."
            )
        values = {name: _decode(value) for name, value in data["fields"].items()}
        return target(**values)

    def to_json(self, path=None, *, indent: int | None = None) -> str:
        """JSON text of :meth:`to_dict`; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str) -> Result:
        """Read a result from JSON text or from a file written by :meth:`to_json`."""
        text = text_or_path
        if not text_or_path.lstrip().startswith("{"):
            with open(text_or_path, encoding="utf-8") as handle:
                text = handle.read()
        return cls.from_dict(json.loads(text))

    def tables(self) -> dict[str, pd.DataFrame]:
        """The DataFrame fields of this result, by name (what reports show as tables)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), pd.DataFrame)
        }

    @_remembers_page
    def to_html(self, path=None, *, title: str | None = None) -> str:
        """A self-contained HTML page (works offline): summary, findings, figures and tables."""
        from raikit._html import figures_html, findings_html, frame_html, page_html

        sections = [
            ("Summary", f"<p>{html.escape(self.summary)}</p>"),
            ("Findings", findings_html(getattr(self, "findings", ()))),
            ("Figures", figures_html(self.figures())),
        ]
        sections += [
            (name.replace("_", " ").capitalize(), frame_html(frame))
            for name, frame in self.tables().items()
        ]
        page = page_html(title or type(self).__name__, sections)
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(page)
        return page

    def _repr_html_(self) -> str:
        """A compact card for notebooks: what the result is, its summary, findings, main figure
        and the tables it holds (names and shapes, never their rows).

        Nothing is recomputed, and nothing in it raises: a summary or a figure that fails is
        replaced by a line saying so. Every text from data is escaped.

        Examples
        --------
        >>> from raikit.data import representation
        >>> from raikit.datasets import load_german_credit
        >>> card = representation(load_german_credit())._repr_html_()
        >>> card.startswith('<div class="raikit-card"'), "Representation of groups" in card
        (True, True)
        """
        from raikit._html import (
            escape,
            notebook_card,
            notebook_findings_html,
            notebook_tables_html,
        )
        from raikit._result_types import result_title

        name = type(self).__name__
        parts = [
            _guarded(lambda: f"<p>{escape(self.summary)}</p>", "The summary could not be written"),
            _guarded(
                lambda: notebook_findings_html(getattr(self, "findings", ())),
                "The findings could not be listed",
            ),
            _guarded(self._main_figure_html, "The figure could not be drawn"),
            _guarded(lambda: notebook_tables_html(self.tables()), "The tables could not be listed"),
            _written_html(self),
        ]
        return notebook_card(result_title(name), parts, kind=name)

    def _main_figure(self):
        """The figure a notebook card shows: the first of :meth:`figures` with data to draw (None
        if there is none). A subclass whose figures are costly may build just that one."""
        from raikit._plots import has_data

        return next((figure for figure in self.figures() if has_data(figure)), None)

    def _main_figure_html(self) -> str:
        from raikit._html import notebook_figure_html

        figure = self._main_figure()
        return "" if figure is None else notebook_figure_html(figure)

    def to_pdf(self, path=None, *, title: str | None = None, figures: str = "omit") -> bytes:
        """The :meth:`to_html` page printed as a PDF document (offline; needs ``raikit[pdf]``).

        The PDF holds what the HTML page shows, laid out for A4 paper by a print stylesheet.
        WeasyPrint runs no JavaScript: each interactive figure is replaced by a note pointing
        at the HTML report, or drawn as a static image with ``figures="static"`` (Kaleido and
        a local Chrome or Chromium). Nothing is fetched over the network or from files.

        Parameters
        ----------
        path : str or path, optional
            Where to write the PDF.
        title : str, optional
            Title of the document (as for :meth:`to_html`).
        figures : {"omit", "static"}, default "omit"
            Leave the interactive figures out (with a note) or draw them statically.

        Returns
        -------
        bytes
            The PDF.

        Examples
        --------
        >>> import pandas as pd
        >>> from raikit.cards import Card
        >>> card = Card(
        ...     kind="model_card",
        ...     title="Model card: credit",
        ...     fields_table=pd.DataFrame(
        ...         [["Details", "Name", "Name of the model.", "credit", "problem definition"]],
        ...         columns=["section", "field", "question", "answer", "source"],
        ...     ),
        ... )
        >>> card.to_pdf()[:5]
        b'%PDF-'
        """
        from raikit._pdf import html_to_pdf

        page = self.to_html() if title is None else self.to_html(title=title)
        return html_to_pdf(page, path, figures=figures)

    def findings_frame(self) -> pd.DataFrame:
        """The findings as a table."""
        rows = [f.to_dict() for f in getattr(self, "findings", ())]
        return pd.DataFrame(rows, columns=["severity", "title", "detail", "slice"])


def _guarded(part, failed: str) -> str:
    """``part()``, or a line saying what ``failed`` and why: a notebook card never raises."""
    from raikit._html import escape

    try:
        return part()
    except Exception as error:  # a card must show what it can, whatever went wrong
        reason = f"{type(error).__name__}: {error}"
        return f'<p style="color: #b26a00;">{escape(failed)} ({escape(reason[:300])}).</p>'


def _written_html(result: Result) -> str:
    from raikit._html import escape

    path = getattr(result, "_written_to", None)
    if path is None:
        return ""
    return f"<p>Full report: <code>{escape(path)}</code></p>"


def _known(name: str) -> bool:
    from raikit._result_types import RESULT_MODULES

    return name in _REGISTRY or name in RESULT_MODULES


def result_type(name: str) -> type[Result]:
    """The ``...Result`` class registered as ``name``.

    A type whose module has not been imported yet is found through the one declared table of
    result modules (:data:`raikit._result_types.RESULT_MODULES`) and only that module is
    imported: evidence written by any stage reads back in a fresh process.

    Examples
    --------
    >>> result_type("EvaluationResult").__module__
    'raikit.evaluate._evaluate'
    """
    if name not in _REGISTRY:
        import importlib

        from raikit._result_types import RESULT_MODULES

        module = RESULT_MODULES.get(name)
        if module is not None:
            try:
                importlib.import_module(module)
            except ImportError as error:
                raise RaikitError(
                    f"Reading a {name!r} result needs {module}, which could not be imported "
                    f"({error}); install the extra that module needs."
                ) from error
    try:
        return _REGISTRY[name]
    except KeyError:
        raise RaikitError(
            f"Unknown result type {name!r}; import the module that defines it first."
        ) from None


def result_from_dict(data: dict) -> Result:
    """Rebuild any ``...Result`` from its :meth:`Result.to_dict` output."""
    return result_type(data.get("type", "")).from_dict(data)
