"""Reading an audit back: from an ``audit.json``, a ``raikit audit --out`` folder or a ledger run.

The one home of "which audit did the user mean" for the commands and functions that take an audit
they did not just compute (``raikit compare``, ``raikit check``, the cards). Files are read as JSON
into an :class:`~raikit.audit.AuditReport` (no code runs); a ledger is opened only where one
exists, never created by a typo.
"""

from __future__ import annotations

import json
from pathlib import Path

from raikit._errors import DataError, FileFormatError, ParameterError

__all__ = ["load_audit", "recorded_audit"]


def load_audit(audit, *, ledger=None):
    """The audit report behind ``audit``: an AuditReport, an ``audit.json`` file, a ``raikit
    audit --out`` folder, or the id of a recorded audit run in ``ledger``.

    Parameters
    ----------
    audit : AuditReport, str or path
        The report itself, a file or folder, or a run id (looked up in ``ledger``).
    ledger : Ledger, path or str, optional
        Where run ids are looked up: a :class:`~raikit.ledger.Ledger`, a ledger folder or a
        ``postgresql://`` URI.

    Returns
    -------
    AuditReport

    Raises
    ------
    FileFormatError
        Nothing named ``audit`` exists, or the file is not an audit report.
    DataError
        The run holds no audit report.

    See Also
    --------
    raikit.gates.check : judges the audit it loads.

    Examples
    --------
    >>> load_audit("no/such/audit.json")
    Traceback (most recent call last):
    ...
    raikit._errors.FileFormatError: No audit at 'no/such/audit.json': ...
    """
    from raikit.audit import AuditReport

    if isinstance(audit, AuditReport):
        return audit
    if not isinstance(audit, str | Path):
        raise ParameterError(
            f"audit must be an AuditReport, a path or a run id, got {type(audit).__name__}."
        )
    path = Path(audit)
    if path.is_dir():
        if not (path / "audit.json").is_file():
            raise FileFormatError(
                f"Folder {str(path)!r} holds no audit.json; give the folder `raikit audit --out` "
                f"wrote, an audit.json file, or a run id with --ledger."
            )
        path = path / "audit.json"
    if path.is_file():
        return _read_audit_json(path)
    text = str(audit)
    if ledger is not None and not path.suffix and "/" not in text and "\\" not in text:
        return recorded_audit(ledger, text)[0]
    raise FileFormatError(
        f"No audit at {text[:200]!r}: it is neither an audit.json file, a folder holding one, nor "
        f"a run id"
        + (" in the ledger" if ledger is not None else " (pass a ledger to look run ids up)")
        + "."
    )


def recorded_audit(ledger, run: str):
    """The last audit report recorded in ``run`` of ``ledger``, and its evidence id.

    Examples
    --------
    >>> recorded_audit("no/such/ledger", "abc123")
    Traceback (most recent call last):
    ...
    raikit._errors.FileFormatError: 'abc123' is not a file or folder, and there is no ledger at ...
    """
    store = _open(ledger, run)
    info = store.run(run)
    records = info["evidence"]
    records = records[records["check_name"] == "audit.report"]
    if not len(records):
        raise DataError(
            f"Run {info['id'][:12]} ({info.get('name')!r}) holds no audit report; pick the run of "
            f"a `raikit audit` (see `raikit runs list`)."
        )
    evidence_id = records["id"].iloc[-1]
    return store.load_evidence(evidence_id), evidence_id


def _open(ledger, run: str):
    """The Ledger itself, the one at a PostgreSQL URI, or the one in an existing folder."""
    from raikit.ledger import Ledger

    if isinstance(ledger, Ledger):
        return ledger
    text = str(ledger)
    if text.startswith(("postgres:/", "postgresql:/")):  # Path() folds the double slash
        return Ledger(text.replace(":/", "://", 1) if "://" not in text else text)
    if not (Path(ledger) / "ledger.sqlite").is_file():
        raise FileFormatError(
            f"{run!r} is not a file or folder, and there is no ledger at {text!r} to look it up "
            f"as a run id; pass the ledger folder (e.g. --ledger raikit-audit/.raikit)."
        )
    return Ledger(ledger)


def _read_audit_json(path: Path):
    from raikit.audit import AuditReport

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FileFormatError(f"{str(path)!r} is not JSON: {error}.") from None
    if not isinstance(data, dict) or data.get("type") != "AuditReport":
        found = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise FileFormatError(
            f"{str(path)!r} holds a {str(found)[:60]}, not an audit report; give the audit.json "
            f"that `raikit audit --out` writes."
        )
    try:
        return AuditReport.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise FileFormatError(
            f"{str(path)!r} is a damaged audit report ({type(error).__name__}: {error})."
        ) from None
