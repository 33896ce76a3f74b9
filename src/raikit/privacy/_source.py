"""Registered data sources and their privacy-budget odometers.

A privacy budget belongs to a *data source*, registered once by its owner (the curator) under a
stable identity: a name and the privacy unit (``"row"`` when each row is one person, or the name of
the column that identifies a person). Every differentially private release drawn from the source
(:class:`~raikit.privacy.PrivateTable` queries, :func:`~raikit.privacy.synthesize`,
:class:`~raikit.privacy.DPClassifier` with ``source=``) spends from the same odometer, whatever the
row order, columns or dtypes of the table handed in: the table is never hashed, so appending,
removing or shuffling rows, or adding, renaming or retyping columns, never yields a fresh budget.

Where the odometer lives
------------------------
Every source is listed in one registry, ``~/.raikit/privacy/sources.sqlite`` (the home folder of the
user running raikit; it is not configurable, so no per-call path or environment variable can fork
a budget). The registry records where each source's odometer lives: by default the registry file
itself, or a file chosen at registration (``budget_path=``, e.g. a team's shared drive). Opening a
source with another odometer location, or with another budget size, is refused; only the owner's
:meth:`PrivacySource.reset`, with a reason that is stored in the odometer, changes either.

The registry and every odometer are SQLite files read and written through the ledger's table API
(:class:`raikit.ledger.Store` opened on the file itself, not on a project's ledger, so pointing at
another ledger never yields another budget). Spending is committed (an ``IMMEDIATE`` SQLite
transaction that reads and updates the running total of the source) before any answer is
computed, so a crash never leaks an unaccounted answer and concurrent processes never overspend.
The running total makes each spend O(1): the log of past releases is never re-read to check the
budget. A file deleted or replaced since this process opened it is opened again, never trusted.
"""

from __future__ import annotations

import getpass
import math
import numbers
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from raikit._cli_utils import spell
from raikit._errors import ColumnError, FileFormatError, ParameterError, RaikitError
from raikit.ledger import LedgerError, Store

__all__ = ["BudgetExceededError", "PrivacySource", "PrivacySourceError"]

_TOL = 1e-9
EPSILON_RANGE = (1e-6, 100.0)
DELTA_MAX = 0.1
_BUSY_TIMEOUT = 60.0

_BUDGETS = {
    "name": "text not null",
    "privacy_unit": "text not null",
    "rows_per_unit": "integer not null",
    "epsilon": "real not null",
    "delta": "real not null",
    "spent": "real not null",
    "spent_delta": "real not null",
    "owner": "text",
    "created": "real not null",
}
_SPENDS = {
    "id": "serial",
    "name": "text not null",
    "created": "real not null",
    "query": "text",
    "epsilon": "real not null",
    "delta": "real not null",
    "noise_scale": "real",
    "mechanism": "text",
}
_RESETS = {
    "id": "serial",
    "name": "text not null",
    "created": "real not null",
    "reason": "text not null",
    "by": "text",
    "old_epsilon": "real",
    "new_epsilon": "real",
    "old_delta": "real",
    "new_delta": "real",
    "old_store": "text",
    "new_store": "text",
    "spent_before": "real",
    "spent_after": "real",
}
_HISTORY = ("spends", "resets")  # moved along with an odometer (without their ids)


class BudgetExceededError(RaikitError, ValueError):
    """A differentially private release would spend more than the source's remaining budget.

    See Also
    --------
    PrivacySource : the registered source whose budget is enforced.

    Examples
    --------
    >>> import os, tempfile, pandas as pd
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
    >>> from raikit.privacy import BudgetExceededError, PrivacySource, PrivateTable
    >>> _ = PrivacySource.register("small", epsilon=0.5)
    >>> table = PrivateTable(pd.DataFrame({"age": [30, 40] * 50}), source="small")
    >>> try:
    ...     table.count(epsilon=1.0)
    ... except BudgetExceededError as error:
    ...     print("refused")
    refused
    >>> os.environ["HOME"] = home
    """


class PrivacySourceError(RaikitError, ValueError):
    """A data source is unknown, or opened with a budget size, unit or odometer it does not have.

    See Also
    --------
    PrivacySource.register : registers a source before its first query.

    Examples
    --------
    >>> import os, tempfile
    >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
    >>> from raikit.privacy import PrivacySource, PrivacySourceError
    >>> try:
    ...     PrivacySource.open("never-registered")
    ... except PrivacySourceError:
    ...     print("unknown source")
    unknown source
    >>> os.environ["HOME"] = home
    """


def check_epsilon(value, what: str = "epsilon", *, caller: str = "") -> float:
    """``value`` as a float in ``EPSILON_RANGE``, or a :class:`ParameterError` naming ``what``.

    ``what`` is the keyword (or command-line flag) the user wrote, ``caller`` the public function.

    Examples
    --------
    >>> check_epsilon(0.5)
    0.5
    >>> try:
    ...     check_epsilon(-1, caller="synthesize")
    ... except ParameterError as error:
    ...     print(str(error)[:40])
    synthesize(): epsilon must be a positive
    """
    low, high = EPSILON_RANGE
    where = f"{caller}(): " if caller else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"{where}{what} must be a number, got {value!r} ({type(value).__name__}). Pass a float "
            f"such as 0.5; smaller is more private."
        )
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ParameterError(
            f"{where}{what} must be a positive, finite number between {low:g} and {high:g}, got "
            f"{value!r}. Smaller is more private; 0.1 to 10 is the usual range."
        )
    return number


def check_delta(value, what: str = "delta", *, caller: str = "") -> float:
    """``value`` as a float in ``[0, DELTA_MAX]``, or a :class:`ParameterError` naming ``what``.

    Examples
    --------
    >>> check_delta(1e-6)
    1e-06
    >>> try:
    ...     check_delta(0.5, caller="PrivacySource.register")
    ... except ParameterError as error:
    ...     print(str(error)[:49])
    PrivacySource.register(): delta must be a finite
    """
    where = f"{caller}(): " if caller else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"{where}{what} must be a number, got {value!r} ({type(value).__name__})."
        )
    number = float(value)
    if not math.isfinite(number) or not 0 <= number <= DELTA_MAX:
        raise ParameterError(
            f"{where}{what} must be a finite number between 0 and {DELTA_MAX:g}, got {value!r}; "
            "it should be well below 1 / (number of people), e.g. 1e-6."
        )
    return number


def registry_path() -> Path:
    """The registry of every data source: ``~/.raikit/privacy/sources.sqlite``."""
    return Path.home() / ".raikit" / "privacy" / "sources.sqlite"


def _resolve(path) -> Path:
    return Path(path).expanduser().resolve()


class _File:
    """The tables of one registry or odometer file, through the ledger's table API."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path)  # no WAL: the file may live on a network drive
        self.locations = self.store.table(
            "locations",
            {"name": "text not null", "store": "text not null", "created": "real not null"},
            primary_key="name",
        )
        self.budgets = self.store.table("budgets", _BUDGETS, primary_key="name")
        self.spends = self.store.table(
            "spends", _SPENDS, indexes={"spends_by_name": ("name", "id")}
        )
        self.resets = self.store.table("resets", _RESETS)

    def transaction(self):
        return self.store.transaction()


_FILES: dict[Path, tuple[tuple[int, int], _File]] = {}  # path -> (file identity, its tables)
_FILES_LOCK = threading.Lock()
_MAX_OPEN = 16


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _file(path: Path, *, create: bool) -> _File:
    """The tables of the file at ``path``, opened once per process while it is the same file.

    A file deleted or replaced since it was opened is opened again (its old connection would
    still see the old file). Without ``create``, a missing file is an error, never a new budget.
    """
    identity = _identity(path)
    if identity is None and not create:
        raise FileFormatError(
            f"The privacy budget store {str(path)!r} holds no budgets: it was deleted or "
            "replaced. raikit will not start a new budget over it; restore it from a backup."
        )
    with _FILES_LOCK:
        cached = _FILES.pop(path, None)
    if cached is not None and cached[0] == identity:
        opened = cached[1]
    else:
        if cached is not None:
            cached[1].store.close()
        opened = _File(path)
        identity = _identity(path)
    with _FILES_LOCK:
        _FILES[path] = (identity, opened)  # newest last
        while len(_FILES) > _MAX_OPEN:
            _FILES.pop(next(iter(_FILES)))[1].store.close()
    return opened


@contextmanager
def _opened(path: Path, *, create: bool = True):
    """The tables of the store at ``path``; every failure of the file becomes one clear raikit
    error naming it."""
    try:
        yield _file(path, create=create)
    except LedgerError as error:
        cause = str(error.__cause__ or error)
        if "locked" in cause or "busy" in cause:
            raise RaikitError(
                f"The privacy budget store {str(path)!r} stayed locked by another process for "
                f"{_BUSY_TIMEOUT:g} s; try again."
            ) from None
        raise FileFormatError(_corrupt(path, error.__cause__ or error)) from None


def _corrupt(path: Path, exc) -> str:
    return (
        f"The privacy budget store {str(path)!r} is corrupt or not a raikit budget file "
        f"({exc}). raikit will not start a new budget over it: restore it from a backup, or move "
        "it away and re-register the source (the budget spent so far is then lost to raikit, "
        "not to an attacker)."
    )


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ParameterError(
            f"PrivacySource: name must be a non-empty string of at most 200 characters, got "
            f"{name!r}, e.g. 'clinic-visits-2024'."
        )
    if not name.isprintable():
        raise ParameterError(f"PrivacySource: name must be printable text, got {name!r}.")
    return name.strip()


class PrivacySource:
    """A data source registered by its owner, with one persistent privacy-budget odometer.

    Create one with :meth:`register` (once, by the owner) and get it back anywhere with
    :meth:`open`; pass it (or its name) as ``source=`` to :class:`PrivateTable`,
    :func:`synthesize` and :class:`DPClassifier`. The constructor is internal.

    Attributes
    ----------
    name : str
        The source's stable identity.
    privacy_unit : str
        ``"row"`` (each row is one person) or the column that identifies a person.
    rows_per_unit : int
        Most rows one person contributes (larger tables are truncated to it per person).
    epsilon, delta : float
        Total budget of the source over every release ever made from it.
    budget_path : Path
        Where the odometer lives.
    owner : str
        Who registered the source.

    See Also
    --------
    raikit.privacy.PrivateTable : queries that spend from it.

    Examples
    --------
    >>> import os, tempfile
    >>> home = os.environ["HOME"]
    >>> os.environ["HOME"] = tempfile.mkdtemp()  # a private registry for this example
    >>> from raikit.privacy import PrivacySource
    >>> source = PrivacySource.register("survey", epsilon=1.0, privacy_unit="row")
    >>> source.remaining
    1.0
    >>> PrivacySource.open("survey").epsilon
    1.0
    >>> PrivacySource.open("survey", epsilon=5.0)
    Traceback (most recent call last):
    ...
    raikit.privacy._source.PrivacySourceError: Data source 'survey' has a budget of epsilon=1, not 5.0; ...
    >>> os.environ["HOME"] = home
    """

    def __init__(self, name, *, privacy_unit, rows_per_unit, epsilon, delta, budget_path, owner):
        self.name = name
        self.privacy_unit = privacy_unit
        self.rows_per_unit = int(rows_per_unit)
        self.epsilon = float(epsilon)
        self.delta = float(delta)
        self.budget_path = Path(budget_path)
        self.owner = owner

    # ------------------------------------------------------------------ registration
    @classmethod
    def register(
        cls,
        name: str,
        *,
        epsilon: float,
        delta: float = 1e-6,
        privacy_unit: str = "row",
        rows_per_unit: int = 1,
        owner: str | None = None,
        budget_path=None,
    ) -> PrivacySource:
        """Register a data source with its total budget (idempotent for the same settings).

        Parameters
        ----------
        name : str
            Stable identity of the source, e.g. ``"clinic-visits-2024"``.
        epsilon : float
            Total epsilon of every release ever made from the source (1e-6 to 100).
        delta : float, default 1e-6
            Total delta (spent only by approximate-DP releases such as DP-SGD training).
        privacy_unit : str, default "row"
            ``"row"`` when each row is one person, else the column identifying a person.
        rows_per_unit : int, default 1
            With an id column: the most rows one person contributes; a table is truncated to
            that many rows per person, and every release is calibrated to it.
        owner : str, optional
            Who is responsible for the budget (default: the operating-system user).
        budget_path : str or Path, optional
            Where the odometer lives (default: the registry file). Recorded in the registry;
            opening the source with another location is refused.

        Returns
        -------
        PrivacySource

        Raises
        ------
        PrivacySourceError
            When ``name`` is already registered with other settings.
        """
        name = _check_name(name)
        epsilon = check_epsilon(epsilon, caller="PrivacySource.register")
        delta = check_delta(delta, caller="PrivacySource.register")
        if not isinstance(privacy_unit, str) or not privacy_unit:
            raise ParameterError(
                "PrivacySource.register(): privacy_unit must be 'row' or the name of the column "
                f"identifying a person, got "
                f"{privacy_unit!r}."
            )
        if (
            isinstance(rows_per_unit, bool)
            or not isinstance(rows_per_unit, numbers.Integral)
            or not 1 <= rows_per_unit <= 10_000
        ):
            raise ParameterError(
                f"PrivacySource.register(): rows_per_unit must be an integer from 1 to 10000, got "
                f"{rows_per_unit!r}."
            )
        if privacy_unit == "row" and rows_per_unit != 1:
            raise ParameterError(
                "PrivacySource.register(): rows_per_unit applies to an id column; with "
                "privacy_unit='row' each row is one "
                "person. Pass privacy_unit='<id column>'."
            )
        owner = owner or _user()
        anchor = _resolve(registry_path())
        store = _resolve(budget_path) if budget_path is not None else anchor
        wanted = {
            "privacy_unit": privacy_unit,
            "rows_per_unit": int(rows_per_unit),
            "epsilon": epsilon,
            "delta": delta,
        }
        with _opened(anchor) as registry, registry.transaction():
            row = registry.locations.get(["store"], where={"name": name}, lock=True)
            if row is not None and Path(row["store"]) != store:
                raise PrivacySourceError(
                    f"Data source {name!r} is already registered with its odometer at "
                    f"{row['store']!r}; it cannot get a second one at {str(store)!r}. Use "
                    "PrivacySource.open(name), or the owner's reset(reason=..., budget_path=...) "
                    "to move it."
                )
            if row is None:
                registry.locations.insert(
                    [{"name": name, "store": str(store), "created": time.time()}]
                )
            with _opened(store) as odometer, odometer.transaction():
                _register_budget(odometer, name, wanted, owner, store, known=row is not None)
        return cls.open(name)

    @classmethod
    def open(
        cls,
        name: str,
        *,
        epsilon: float | None = None,
        delta: float | None = None,
        privacy_unit: str | None = None,
        budget_path=None,
    ) -> PrivacySource:
        """The registered source ``name``; any setting passed must match its registration.

        ``budget_path`` (or the ``RAIKIT_PRIVACY_BUDGET`` environment variable) may only name the
        odometer the registry records: another location is refused, never a fresh budget.
        """
        if isinstance(name, PrivacySource):
            name = name.name
        name = _check_name(name)
        anchor = _resolve(registry_path())
        if not anchor.exists():
            raise _unknown(name, anchor)
        with _opened(anchor, create=False) as registry:
            row = registry.locations.get(["store"], where={"name": name})
        if row is None:
            raise _unknown(name, anchor)
        store = Path(row["store"])
        asked = budget_path if budget_path is not None else os.environ.get("RAIKIT_PRIVACY_BUDGET")
        if asked and _resolve(asked) != store:
            origin = hint("budget_path") if budget_path is not None else "RAIKIT_PRIVACY_BUDGET"
            raise PrivacySourceError(
                f"Data source {name!r} keeps its odometer at {str(store)!r}, not at "
                f"{str(_resolve(asked))!r} (from {origin}): a budget cannot be forked. Drop the "
                "other location, or have the owner move the odometer with "
                f"{hint('reset', name, _flag('budget_path', 'PATH'))}."
            )
        with _opened(store, create=False) as odometer:
            found = odometer.budgets.get(
                ["privacy_unit", "rows_per_unit", "epsilon", "delta", "owner"],
                where={"name": name},
            )
        if found is None:
            raise FileFormatError(_lost(name, store))
        source = cls(name, budget_path=store, **found)
        source._match(epsilon=epsilon, delta=delta, privacy_unit=privacy_unit)
        return source

    def _match(self, *, epsilon=None, delta=None, privacy_unit=None) -> None:
        if (
            epsilon is not None
            and abs(check_epsilon(epsilon, caller="PrivacySource.open") - self.epsilon) > _TOL
        ):
            raise PrivacySourceError(
                f"Data source {self.name!r} has a budget of epsilon={self.epsilon:g}, not "
                f"{epsilon!r}; a budget's size cannot change by reopening it. Drop "
                f"{hint('budget')}, or have the owner change the size with "
                f"{hint('reset', self.name, _flag('budget', 'EPSILON'))}."
            )
        if (
            delta is not None
            and abs(check_delta(delta, caller="PrivacySource.open") - self.delta) > _TOL
        ):
            raise PrivacySourceError(
                f"Data source {self.name!r} has a budget of delta={self.delta:g}, not {delta!r}."
            )
        if privacy_unit is not None and privacy_unit != self.privacy_unit:
            raise PrivacySourceError(
                f"Data source {self.name!r} protects privacy_unit={self.privacy_unit!r}, not "
                f"{privacy_unit!r}; register a new source for another unit."
            )

    def reset(
        self,
        *,
        reason: str,
        epsilon: float | None = None,
        delta: float | None = None,
        budget_path=None,
        forget_spent: bool = False,
        by: str | None = None,
    ) -> PrivacySource:
        """The owner changes the budget's size or location, or forgets what was spent.

        The reason, who did it, and the budget before and after are stored in the odometer
        (:attr:`resets`); the log of past releases is kept. Moving the odometer carries the spent
        total along unless ``forget_spent``.

        Returns
        -------
        PrivacySource
            The source as it now is.

        Examples
        --------
        >>> import os, tempfile
        >>> home, os.environ["HOME"] = os.environ["HOME"], tempfile.mkdtemp()  # a private registry
        >>> source = PrivacySource.register("panel", epsilon=1.0)
        >>> _ = source.spend("count(*)", epsilon=1.0)
        >>> grown = source.reset(reason="wave 2 approved by the data board", epsilon=2.0)
        >>> grown.remaining, grown.resets["reason"].tolist()
        (1.0, ['wave 2 approved by the data board'])
        >>> os.environ["HOME"] = home
        """
        if not isinstance(reason, str) or len(reason.strip()) < 3:
            raise ParameterError(
                "PrivacySource.reset(): reason='...' is required: a sentence saying why the budget "
                "changes (it is stored "
                "in the odometer)."
            )
        new_epsilon = (
            check_epsilon(epsilon, caller="PrivacySource.reset")
            if epsilon is not None
            else self.epsilon
        )
        new_delta = (
            check_delta(delta, caller="PrivacySource.reset") if delta is not None else self.delta
        )
        anchor = _resolve(registry_path())
        new_store = _resolve(budget_path) if budget_path is not None else self.budget_path
        by = by or _user()
        with _opened(anchor) as registry, registry.transaction():
            row = registry.locations.get(["store"], where={"name": self.name}, lock=True)
            if row is None:
                raise _unknown(self.name, anchor)
            old_store = Path(row["store"])
            with _opened(old_store) as old, old.transaction():
                budget = old.budgets.get(where={"name": self.name}, lock=True)
                if budget is None:
                    raise FileFormatError(_lost(self.name, old_store))
                after = 0.0 if forget_spent else budget["spent"]
                after_delta = 0.0 if forget_spent else budget["spent_delta"]
                old.resets.add(
                    {
                        "name": self.name,
                        "created": time.time(),
                        "reason": reason.strip(),
                        "by": by,
                        "old_epsilon": budget["epsilon"],
                        "new_epsilon": new_epsilon,
                        "old_delta": budget["delta"],
                        "new_delta": new_delta,
                        "old_store": str(old_store),
                        "new_store": str(new_store),
                        "spent_before": budget["spent"],
                        "spent_after": after,
                    }
                )
                changed = {
                    "epsilon": new_epsilon,
                    "delta": new_delta,
                    "spent": after,
                    "spent_delta": after_delta,
                }
                if new_store == old_store:
                    old.budgets.update(changed, where={"name": self.name})
                else:
                    with _opened(new_store) as target, target.transaction():
                        target.budgets.delete(where={"name": self.name})
                        target.budgets.insert([{**budget, **changed, "created": time.time()}])
                        # The whole history moves along: past releases and resets.
                        for table in _HISTORY:
                            source, destination = getattr(old, table), getattr(target, table)
                            columns = [c for c in source.columns if c != "id"]
                            rows = source.select(columns, where={"name": self.name}, order_by="id")
                            destination.delete(where={"name": self.name})
                            destination.insert(rows)
                    old.budgets.delete(where={"name": self.name})
                    registry.locations.update({"store": str(new_store)}, where={"name": self.name})
        return PrivacySource.open(self.name)

    # ------------------------------------------------------------------ spending
    def spend(
        self,
        query: str,
        *,
        epsilon: float,
        delta: float = 0.0,
        noise_scale: float | None = None,
        mechanism: str = "",
    ) -> int:
        """Commit a spend before the release is computed; returns its id in the odometer.

        Raises
        ------
        BudgetExceededError
            When the spend would exceed the remaining epsilon or delta; nothing is recorded.
        """
        with _opened(self.budget_path) as odometer, odometer.transaction():
            row = odometer.budgets.get(
                ["epsilon", "delta", "spent", "spent_delta"], where={"name": self.name}, lock=True
            )
            if row is None:
                raise FileFormatError(
                    f"The odometer {str(self.budget_path)!r} no longer holds data source "
                    f"{self.name!r} (moved or replaced); open the source again."
                )
            total, total_delta = row["epsilon"], row["delta"]
            spent, spent_delta = row["spent"], row["spent_delta"]
            if spent + epsilon > total + _TOL or spent_delta + delta > total_delta + 1e-15:
                remaining = max(total - spent, 0.0)
                raise BudgetExceededError(
                    f"{query} needs epsilon={epsilon:.6g}"
                    + (f", delta={delta:.3g}" if delta else "")
                    + f" but only epsilon={remaining:.6g}"
                    + (f", delta={max(total_delta - spent_delta, 0):.3g}" if delta else "")
                    + f" remains of data source {self.name!r}'s budget of epsilon={total:g} "
                    f"(spent {spent:.6g}). Ask fewer or cheaper questions; only the owner can "
                    "reset a budget, with a logged reason."
                )
            spend_id = odometer.spends.add(
                {
                    "name": self.name,
                    "created": time.time(),
                    "query": query,
                    "epsilon": float(epsilon),
                    "delta": float(delta),
                    "noise_scale": noise_scale,
                    "mechanism": mechanism,
                }
            )
            odometer.budgets.update(
                {"spent": spent + float(epsilon), "spent_delta": spent_delta + float(delta)},
                where={"name": self.name},
            )
            return spend_id

    def spend_training(self, query: str, *, epsilon: float, delta: float) -> int:
        """Charge a DP training run (row-level DP-SGD) of ``(epsilon, delta)`` to the source."""
        if self.rows_per_unit != 1:
            raise PrivacySourceError(
                f"Data source {self.name!r} protects people with up to {self.rows_per_unit} rows "
                "each; DP-SGD here protects one row. Train on one row per person, from a source "
                "registered with privacy_unit='row'."
            )
        return self.spend(
            query,
            epsilon=check_epsilon(epsilon, "target_epsilon", caller="DPClassifier.fit"),
            delta=check_delta(delta, "target_delta", caller="DPClassifier.fit"),
            mechanism="DP-SGD",
        )

    # ------------------------------------------------------------------ reading
    def _totals(self) -> tuple[float, float]:
        with _opened(self.budget_path, create=False) as odometer:
            row = odometer.budgets.get(["spent", "spent_delta"], where={"name": self.name})
        if row is None:
            raise FileFormatError(
                f"The odometer {str(self.budget_path)!r} no longer holds data source "
                f"{self.name!r}; open the source again."
            )
        return float(row["spent"]), float(row["spent_delta"])

    @property
    def spent(self) -> float:
        """Epsilon spent so far (since the last reset that forgot the spend)."""
        return self._totals()[0]

    @property
    def remaining(self) -> float:
        """Epsilon still available."""
        return max(self.epsilon - self.spent, 0.0)

    @property
    def odometer(self) -> pd.DataFrame:
        """Every release ever made from the source: time, query, epsilon, delta, noise, mechanism."""
        columns = ["created", "query", "epsilon", "delta", "noise_scale", "mechanism"]
        with _opened(self.budget_path, create=False) as odometer:
            frame = odometer.spends.select(columns, where={"name": self.name}, order_by="id")
        frame["created"] = pd.to_datetime(frame["created"], unit="s")
        frame["cumulative_epsilon"] = frame["epsilon"].cumsum()
        return frame

    @property
    def resets(self) -> pd.DataFrame:
        """Every reset of the budget: when, why, by whom, and the budget before and after."""
        columns = [c for c in _RESETS if c not in ("id", "name")]
        with _opened(self.budget_path, create=False) as odometer:
            frame = odometer.resets.select(columns, where={"name": self.name}, order_by="id")
        frame["created"] = pd.to_datetime(frame["created"], unit="s")
        return frame

    # ------------------------------------------------------------------ data
    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A private copy of ``frame`` with at most ``rows_per_unit`` rows per person.

        With an id column as the unit, the column is checked, rows without an id are dropped,
        each person keeps their first ``rows_per_unit`` rows, and the id column is removed (ids
        are never released).
        """
        frame = frame.copy(deep=True)
        if self.privacy_unit == "row":
            return frame
        unit = self.privacy_unit
        if unit not in frame.columns:
            raise ColumnError(
                f"Data source {self.name!r} protects one person per value of column {unit!r}, "
                f"which is not in the table; columns are {list(map(str, frame.columns))}."
            )
        ids = frame[unit]
        keep = ids.notna().to_numpy() & (
            frame.groupby(unit, sort=False, dropna=True).cumcount().to_numpy() < self.rows_per_unit
        )
        return frame.loc[keep].drop(columns=[unit]).reset_index(drop=True)

    @property
    def d_in(self) -> int:
        """Rows one person can add or remove: the distance every release is calibrated to."""
        return self.rows_per_unit

    def __repr__(self) -> str:
        return (
            f"PrivacySource({self.name!r}, privacy_unit={self.privacy_unit!r}, "
            f"epsilon={self.epsilon:g}, delta={self.delta:g}, budget_path={str(self.budget_path)!r})"
        )


def _register_budget(odometer: _File, name, wanted, owner, store, *, known: bool) -> None:
    if known and odometer.budgets.count(where={"name": name}) == 0:
        raise FileFormatError(_lost(name, store))
    odometer.budgets.insert(
        [
            {
                "name": name,
                **wanted,
                "spent": 0.0,
                "spent_delta": 0.0,
                "owner": owner,
                "created": time.time(),
            }
        ],
        ignore=True,
    )
    have = odometer.budgets.get(list(wanted), where={"name": name})
    differ = [
        key
        for key, value in wanted.items()
        if (abs(value - have[key]) > _TOL if isinstance(value, float) else value != have[key])
    ]
    if differ:
        described = ", ".join(f"{k}={have[k]!r}" for k in differ)
        raise PrivacySourceError(
            f"Data source {name!r} is already registered in {str(store)!r} with {described}; "
            "registering it again cannot change that. The owner can change the budget with "
            f"{hint('reset', name, _flag('budget', 'EPSILON'))}."
        )


def _lost(name: str, store: Path) -> str:
    return (
        f"The odometer {str(store)!r} of data source {name!r} has no entry for it, though the "
        "registry lists the source: the file was deleted, replaced or truncated. raikit will not "
        "start a new budget over it; restore the file from a backup."
    )


def _unknown(name: str, anchor: Path) -> PrivacySourceError:
    return PrivacySourceError(
        f"No data source named {name!r} is registered (registry {str(anchor)!r}). Its owner "
        f"registers it once: PrivacySource.register({name!r}, epsilon=..., privacy_unit='row') "
        f"or `raikit privacy register {name} --epsilon ...`."
    )


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


# Fixes the keyword rewriting of raikit._cli_utils.cli_words cannot derive: the privacy CLI
# names the budget --budget and the odometer --budget-file, and a reset is another command.
_HINTS = {
    # kind: (Python wording, command-line wording)
    "bounds": ("bounds={{{name!r}: (lower, upper)}}", "--bounds {name}=LOWER:UPPER"),
    "domains": ("domains={{{name!r}: [...]}}", "--domain {name}=a,b,c"),
    "epsilon": ("epsilon", "--epsilon"),
    "budget": ("epsilon", "--budget"),
    "budget_path": ("budget_path", "--budget-file"),
    "reset": (
        "PrivacySource.open({name!r}).reset(reason=..., {what})",
        "raikit privacy reset {name} --reason ... {what}",
    ),
}


def _flag(kind: str, value: str) -> str:
    return spell(f"{hint(kind)}={value}", f"{hint(kind)} {value}")


def hint(kind: str, name: str = "", what: str = "") -> str:
    """How to spell the fix for ``kind`` in the interface in use (Python keywords or CLI flags,
    inside :func:`raikit._cli_utils.command_line_words`)."""
    return spell(*_HINTS[kind]).format(name=name, what=what)
