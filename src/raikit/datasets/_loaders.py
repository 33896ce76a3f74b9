"""Loaders of the real fairness data sets that ship with raikit.

Every data set lives in ``raikit/datasets/data/`` as ``<name>.csv.gz`` (the cleaned table) and
``<name>.json`` (provenance, licence, cleaning steps and the schema used to restore the dtypes).
Both files are built by ``scripts/prepare_datasets.py`` from the raw files published by UCI and
ProPublica. Loading reads the package data only; nothing is ever downloaded.
"""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd

from raikit._errors import FileFormatError, ParameterError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from raikit.dataset import Dataset

__all__ = [
    "dataset_info",
    "list_datasets",
    "load_adult",
    "load_by_name",
    "load_compas",
    "load_german_credit",
]

_PACKAGE = "raikit.datasets"
_DATA_DIR = "data"


def _data_file(filename: str) -> Traversable:
    return resources.files(_PACKAGE).joinpath(_DATA_DIR).joinpath(filename)


def _dataset_names() -> list[str]:
    """Names of the data sets whose metadata ships with the package, sorted."""
    directory = resources.files(_PACKAGE).joinpath(_DATA_DIR)
    return sorted(
        entry.name.removesuffix(".json")
        for entry in directory.iterdir()
        if entry.name.endswith(".json")
    )


@functools.cache
def _metadata(name: str) -> dict[str, Any]:
    """The parsed ``<name>.json`` (cached; callers must not mutate it)."""
    available = _dataset_names()
    if name not in available:
        raise ValueError(f"Unknown data set {name!r}; choose one of {available}.")
    try:
        return json.loads(_data_file(f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise FileFormatError(
            f"Cannot read the metadata of data set {name!r}: {error}. The raikit installation "
            f"is incomplete; reinstall raikit."
        ) from error


def _dtypes(meta: dict[str, Any]) -> dict[str, Any]:
    dtypes: dict[str, Any] = {}
    for column in meta["columns"]:
        if column["dtype"] == "category":
            dtypes[column["name"]] = pd.CategoricalDtype(column["categories"], ordered=False)
        else:
            dtypes[column["name"]] = column["dtype"]
    return dtypes


def _read_frame(name: str) -> pd.DataFrame:
    """Read ``<name>.csv.gz`` with the dtypes recorded in ``<name>.json`` and check it."""
    meta = _metadata(name)
    try:
        with _data_file(meta["data_file"]).open("rb") as handle:
            frame = pd.read_csv(
                handle,
                compression="gzip",
                dtype=_dtypes(meta),
                keep_default_na=False,
                na_values=[""],
            )
    except (OSError, ValueError, EOFError) as error:
        raise FileFormatError(
            f"Cannot read the table of data set {name!r} ({meta['data_file']}): {error}. "
            f"The raikit installation is incomplete or corrupt; reinstall raikit."
        ) from error
    expected = [column["name"] for column in meta["columns"]]
    n_rows = meta.get("n_rows_table", meta["n_rows"])
    if list(frame.columns) != expected or len(frame) != n_rows:
        raise FileFormatError(
            f"The table of data set {name!r} does not match its metadata (expected "
            f"{n_rows} rows and columns {expected}, found {len(frame)} rows and "
            f"{list(frame.columns)}); reinstall raikit."
        )
    for column in meta["columns"]:
        # A value outside the recorded categories would silently become missing: refuse it.
        n_missing = int(frame[column["name"]].isna().sum())
        if n_missing != column["n_missing"]:
            raise FileFormatError(
                f"Column {column['name']!r} of data set {name!r} has {n_missing} missing values "
                f"where its metadata records {column['n_missing']}; reinstall raikit."
            )
    return frame


# The comparisons a population filter may use (the metadata names them; nothing is evaluated).
_FILTER_OPS = {"<=": "le", ">=": "ge", "<": "lt", ">": "gt", "==": "eq", "!=": "ne"}


def _population(name: str, population: str | None) -> tuple[str, dict[str, Any]]:
    """The population's name and metadata, ``population=None`` meaning the default one."""
    meta = _metadata(name)
    populations = meta["populations"]
    chosen = meta["default_population"] if population is None else population
    if not isinstance(chosen, str) or chosen not in populations:
        raise ParameterError(
            f"Unknown population {population!r} of data set {name!r}; pass population= one of "
            f"{sorted(populations)} (default {meta['default_population']!r})."
        )
    return chosen, populations[chosen]


def _select_population(frame: pd.DataFrame, name: str, population: str) -> pd.DataFrame:
    """Apply the population's recorded filters and column list, checking each row count.

    A missing value fails every condition (as ``dplyr::filter`` drops rows where a condition is
    ``NA``), and the count left after each filter must equal the count the builder recorded.
    """
    spec = _metadata(name)["populations"][population]
    keep = pd.Series(True, index=frame.index)
    for step in spec["filters"]:
        if step["column"] is not None:
            compare = getattr(frame[step["column"]], _FILTER_OPS[step["op"]])
            keep &= compare(step["value"]).fillna(False).astype(bool)
        if int(keep.sum()) != step["n_rows"]:
            raise FileFormatError(
                f"Population {population!r} of data set {name!r}: {step['condition']} leaves "
                f"{int(keep.sum())} rows where the metadata records {step['n_rows']}; "
                f"reinstall raikit."
            )
    return frame.loc[keep, spec["columns"]].reset_index(drop=True)


def _to_dataset(frame: pd.DataFrame, meta: dict[str, Any], name: str) -> Dataset:
    from raikit.dataset import Dataset

    excluded = {meta["target"], *meta["sensitive"], *meta.get("not_features", {})}
    features = [column for column in frame.columns if column not in excluded]
    return Dataset(
        frame,
        target=meta["target"],
        sensitive=list(meta["sensitive"]),
        features=features,
        name=name,
    )


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def dataset_info(name: str) -> dict[str, Any]:
    """Provenance metadata of a bundled data set.

    Parameters
    ----------
    name : str
        ``"adult"``, ``"compas"`` or ``"german_credit"`` (see :func:`list_datasets`).

    Returns
    -------
    dict
        A copy of the data set's metadata: ``title``, ``source_url``, ``citation``, ``licence``,
        ``licence_note``, ``n_rows`` (the rows the loader returns by default), ``target``,
        ``positive_label``, ``sensitive``, ``base_rate``, ``cleaning`` (a list of sentences),
        ``columns`` (the schema with a description of every column), checksums of the raw files
        and of the shipped table. A data set with several populations (COMPAS) also has
        ``n_rows_table`` (the rows shipped), ``default_population`` and ``populations``: for each,
        its ``n_rows``, ``columns``, ``base_rate`` and ``filters`` (each ``condition`` with the
        ``n_rows`` left after it).

    Raises
    ------
    ValueError
        If ``name`` is not a bundled data set.

    See Also
    --------
    raikit.datasets.list_datasets : every bundled dataset.

    Examples
    --------
    >>> from raikit.datasets import dataset_info
    >>> info = dataset_info("german_credit")
    >>> info["licence"], info["n_rows"], info["sensitive"]
    ('CC BY 4.0', 1000, ['sex', 'age_group'])
    >>> steps = dataset_info("compas")["populations"]["propublica_logistic"]["filters"]
    >>> [(step["condition"], step["n_rows"]) for step in steps[:2]]
    [('days_b_screening_arrest <= 30', 6623), ('days_b_screening_arrest >= -30', 6172)]
    """
    return copy.deepcopy(_metadata(name))


def list_datasets() -> pd.DataFrame:
    """One row per bundled data set, built from the shipped metadata.

    Returns
    -------
    DataFrame
        Columns ``name``, ``title``, ``rows`` (what the loader returns by default),
        ``populations`` (for a data set with several populations, each with its row count, the
        default first; empty otherwise), ``target``, ``sensitive`` (comma-separated),
        ``licence``, ``source`` (URL) and ``loader`` (the function that loads it), sorted by
        name. The synthetic generator :func:`make_fairness_synthetic` is not listed.

    See Also
    --------
    raikit.datasets.load_by_name : loads one by its name.

    Examples
    --------
    >>> from raikit.datasets import list_datasets
    >>> table = list_datasets()
    >>> print(table[["name", "rows", "target", "licence"]].to_string(index=False))
             name  rows         target                         licence
            adult 48842         income                       CC BY 4.0
           compas  6172 two_year_recid No licence stated by ProPublica
    german_credit  1000         credit                       CC BY 4.0
    >>> print(table.loc[table["name"] == "compas", "populations"].item())
    propublica_logistic (default): 6,172 rows; two_year: 7,214 rows
    """
    rows = []
    for name in _dataset_names():
        meta = _metadata(name)
        populations = meta.get("populations", {})
        default = meta.get("default_population")
        listed = [
            f"{key}{' (default)' if key == default else ''}: {spec['n_rows']:,} rows"
            for key, spec in sorted(populations.items(), key=lambda item: item[0] != default)
        ]
        rows.append(
            {
                "name": name,
                "title": meta["title"],
                "rows": int(meta["n_rows"]),
                "populations": "; ".join(listed),
                "target": meta["target"],
                "sensitive": ", ".join(meta["sensitive"]),
                "licence": meta["licence"],
                "source": meta["source_url"],
                "loader": meta["loader"],
            }
        )
    columns = ["name", "title", "rows", "populations", "target", "sensitive", "licence"]
    columns += ["source", "loader"]
    return pd.DataFrame(rows, columns=columns)


@overload
def load_adult(
    *, as_frame: Literal[False] = ..., split: Literal["train", "test"] | None = ...
) -> Dataset: ...
@overload
def load_adult(
    *, as_frame: Literal[True], split: Literal["train", "test"] | None = ...
) -> pd.DataFrame: ...
def load_adult(
    *, as_frame: bool = False, split: Literal["train", "test"] | None = None
) -> Dataset | pd.DataFrame:
    """Load the UCI Adult (Census Income) data set: predict whether income exceeds 50K dollars.

    48,842 people from the 1994 US Current Population Survey, extracted by Barry Becker and
    donated to UCI by Ronny Kohavi and Barry Becker (1996). The original train file
    (``adult.data``, 32,561 rows) and test file (``adult.test``, 16,281 rows) are combined, and
    the column ``split`` keeps the original split.

    Parameters
    ----------
    as_frame : bool, default False
        Return the pandas DataFrame instead of a :class:`~raikit.dataset.Dataset`.
    split : {"train", "test"} or None, default None
        Return only the rows of the original UCI train or test file (the index is reset). The
        categorical columns keep all their categories, so both parts encode the same way.

    Returns
    -------
    Dataset or DataFrame
        With ``target="income"`` (1 = more than 50K US dollars, 0 = at most 50K) and
        ``sensitive=["sex", "race"]``. The features are every other column except ``split``.
        The DataFrame has 16 columns: ``age``, ``workclass``, ``fnlwgt``, ``education``,
        ``education_num``, ``marital_status``, ``occupation``, ``relationship``, ``race``,
        ``sex``, ``capital_gain``, ``capital_loss``, ``hours_per_week``, ``native_country``
        (categoricals as ``category``, numbers as ``int64``), ``income`` (``int64``) and
        ``split`` (``category``).

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"``, ``"test"`` or ``None``.

    See Also
    --------
    raikit.datasets.dataset_info : its provenance and licence.

    Notes
    -----
    **Source**: UCI Machine Learning Repository, https://archive.ics.uci.edu/dataset/2/adult
    (DOI 10.24432/C5XW20). **Licence**: Creative Commons Attribution 4.0 (CC BY 4.0); cite
    Becker & Kohavi (1996) when you use it.

    **Cleaning** (by ``scripts/prepare_datasets.py``): the first line of ``adult.test`` is not a
    record and is skipped; whitespace after the commas is stripped; the trailing ``.`` of the
    test labels is removed; ``income`` is encoded 1 for ``>50K``; columns are renamed to
    snake_case. The ``?`` marks become missing values in ``workclass`` (2,799),
    ``occupation`` (2,809) and ``native_country`` (857). These 3,620 rows are **kept**; many
    papers drop them, leaving 45,222 rows (``frame.dropna()``). The sensitive columns have no
    missing values. ``fnlwgt`` and the 6 duplicate records noted by UCI are kept unchanged.

    The share of ``income == 1`` is 0.2393 overall (0.2408 in train, 0.2362 in test), 0.1093
    for women and 0.3038 for men.

    References
    ----------
    .. [1] Becker, B. & Kohavi, R. (1996). Adult [Dataset]. UCI Machine Learning Repository.
       https://doi.org/10.24432/C5XW20
    .. [2] Kohavi, R. (1996). Scaling up the accuracy of Naive-Bayes classifiers: a
       decision-tree hybrid. KDD-96.

    Examples
    --------
    >>> from raikit.datasets import load_adult
    >>> ds = load_adult()
    >>> ds.n_rows
    48842
    >>> ds.sensitive_names, ds.target
    (['sex', 'race'], 'income')
    >>> round(float(ds.y.mean()), 4)
    0.2393
    >>> test = load_adult(split="test", as_frame=True)
    >>> test.shape
    (16281, 16)
    >>> str(test["sex"].dtype), str(test["income"].dtype)
    ('category', 'int64')
    """
    if split not in (None, "train", "test"):
        raise ParameterError(f"split must be 'train', 'test' or None, got {split!r}.")
    meta = _metadata("adult")
    frame = _read_frame("adult")
    name = "adult"
    if split is not None:
        frame = frame.loc[frame["split"] == split].reset_index(drop=True)
        name = f"adult_{split}"
    if as_frame:
        return frame
    return _to_dataset(frame, meta, name)


CompasPopulation = Literal["propublica_logistic", "two_year"]


@overload
def load_compas(
    *, as_frame: Literal[False] = ..., population: CompasPopulation = ...
) -> Dataset: ...
@overload
def load_compas(*, as_frame: Literal[True], population: CompasPopulation = ...) -> pd.DataFrame: ...
def load_compas(
    *, as_frame: bool = False, population: CompasPopulation = "propublica_logistic"
) -> Dataset | pd.DataFrame:
    """Load ProPublica's COMPAS two-year recidivism data, in one of the populations it analysed.

    Defendants screened with the COMPAS risk assessment tool in Broward County, Florida, in
    2013-2014, published by ProPublica with the article "Machine Bias" (2016).
    ``two_year_recid`` tells whether a defendant was charged with a new offence within two years.
    The COMPAS outputs (``decile_score``, ``score_text``) are kept so that the tool itself can be
    audited. ProPublica analysed two populations of ``compas-scores-two-years.csv``; raikit ships
    all 7,214 rows and ``population`` picks one.

    Parameters
    ----------
    as_frame : bool, default False
        Return the pandas DataFrame instead of a :class:`~raikit.dataset.Dataset`.
    population : {"propublica_logistic", "two_year"}, default "propublica_logistic"
        Which defendants to return.

        ``"propublica_logistic"`` (6,172 rows, the default)
            ProPublica's filtered table, used for its logistic regression of the score and in
            most of the fairness literature. Its filter, with the rows left after each step:
            ``days_b_screening_arrest <= 30`` (6,623; the 307 rows with no booking date fail
            it), ``days_b_screening_arrest >= -30`` (6,172), ``is_recid != -1`` (6,172),
            ``c_charge_degree != "O"`` (6,172) and ``score_text != "N/A"`` (6,172): the last
            three already hold for every row of the two-year file.
        ``"two_year"`` (7,214 rows)
            Every defendant of the file, unfiltered: the population of ProPublica's false
            positive and false negative rates by race (prediction: ``score_text`` "Medium" or
            "High", i.e. ``decile_score >= 5``; outcome: ``two_year_recid``). Adds the column
            ``days_b_screening_arrest`` (nullable ``Int64``, missing in 307 rows) so that the
            filter above can be applied by hand.

        The default stays the filtered table that ``load_compas()`` has always returned.

    Returns
    -------
    Dataset or DataFrame
        With ``target="two_year_recid"`` (1 = reoffended within two years) and
        ``sensitive=["race", "sex"]``. The features are ``age``, ``age_cat``,
        ``juv_fel_count``, ``juv_misd_count``, ``juv_other_count``, ``priors_count`` and
        ``c_charge_degree``: the COMPAS outputs ``decile_score`` and ``score_text`` (and
        ``days_b_screening_arrest``) stay in the frame but are not features. Categorical
        columns (``sex``, ``age_cat``, ``race``, ``c_charge_degree``, ``score_text``) have
        ``category`` dtype, the other columns of the default population ``int64``. The
        Dataset is named ``"compas"`` for the default population and ``"compas_two_year"``
        otherwise.

    Raises
    ------
    ParameterError
        If ``population`` is not one of the populations above.

    See Also
    --------
    raikit.datasets.dataset_info : its provenance and licence.

    Notes
    -----
    **Source**: ``compas-scores-two-years.csv`` from ProPublica's repository
    https://github.com/propublica/compas-analysis. **Licence**: none stated. The repository
    has no licence file and its README gives no terms of use; ProPublica released the data
    publicly with its analysis and it is redistributed by many fairness toolkits for research
    and teaching, but no explicit licence grant is known. Check ProPublica's terms before
    commercial use, and cite ProPublica.

    **Cleaning** (by ``scripts/prepare_datasets.py``): all 7,214 rows are kept with 13 columns;
    names, dates, case numbers and the columns that describe the later offence are dropped.
    The filters of each population, with their row counts, are also in
    ``dataset_info("compas")["populations"]``; the loader applies them and checks each count.
    ProPublica's separate violent-recidivism file is not shipped.

    The share of ``two_year_recid == 1`` is 0.4551 overall, 0.5231 for African-American and
    0.3909 for Caucasian defendants in the default population (0.4507, 0.5143 and 0.3936 in
    ``"two_year"``).

    References
    ----------
    .. [1] Angwin, J., Larson, J., Mattu, S. & Kirchner, L. (2016). Machine Bias. ProPublica.
    .. [2] Larson, J., Mattu, S., Kirchner, L. & Angwin, J. (2016). How We Analyzed the COMPAS
       Recidivism Algorithm. ProPublica.

    Examples
    --------
    >>> from raikit.datasets import load_compas
    >>> ds = load_compas()
    >>> ds.n_rows, ds.target, ds.sensitive_names
    (6172, 'two_year_recid', ['race', 'sex'])
    >>> frame = load_compas(as_frame=True)
    >>> round(float(frame["two_year_recid"].mean()), 4)
    0.4551
    >>> frame["score_text"].cat.categories.tolist()
    ['Low', 'Medium', 'High']

    ProPublica's false positive rate by race, on the unfiltered population:

    >>> from raikit.metrics import group_metrics
    >>> raw = load_compas(population="two_year", as_frame=True)
    >>> len(raw)
    7214
    >>> result = group_metrics(
    ...     raw["two_year_recid"],
    ...     (raw["decile_score"] >= 5).astype(int),
    ...     sensitive_features=raw["race"],
    ...     metrics=["false_positive_rate"],
    ... )
    >>> fpr = result.by_group.loc["race", "false_positive_rate"]
    >>> round(float(fpr["African-American"]), 4), round(float(fpr["Caucasian"]), 4)
    (0.4485, 0.2345)
    """
    chosen, _ = _population("compas", population)
    frame = _select_population(_read_frame("compas"), "compas", chosen)
    if as_frame:
        return frame
    name = "compas" if chosen == _metadata("compas")["default_population"] else f"compas_{chosen}"
    return _to_dataset(frame, _metadata("compas"), name)


@overload
def load_german_credit(*, as_frame: Literal[False] = ...) -> Dataset: ...
@overload
def load_german_credit(*, as_frame: Literal[True]) -> pd.DataFrame: ...
def load_german_credit(*, as_frame: bool = False) -> Dataset | pd.DataFrame:
    """Load the UCI Statlog German credit data set, with readable values.

    1,000 credit applicants of a German bank, each classified as a good or bad credit risk,
    donated to UCI by Hans Hofmann (1994).

    Parameters
    ----------
    as_frame : bool, default False
        Return the pandas DataFrame instead of a :class:`~raikit.dataset.Dataset`.

    Returns
    -------
    Dataset or DataFrame
        With ``target="credit"`` (1 = good, 0 = bad) and ``sensitive=["sex", "age_group"]``.
        The features are the 20 original attributes (``checking_account``, ``duration_months``,
        ``credit_history``, ``purpose``, ``credit_amount``, ``savings``, ``employment_since``,
        ``installment_rate``, ``personal_status``, ``other_debtors``, ``residence_since``,
        ``property``, ``age``, ``other_installment_plans``, ``housing``, ``existing_credits``,
        ``job``, ``people_liable``, ``telephone``, ``foreign_worker``). Coded attributes are
        ``category``, ``telephone`` and ``foreign_worker`` are ``bool``, numbers ``int64``.
        Note that ``personal_status`` encodes sex and ``age`` encodes ``age_group``: drop them
        from the features when the model must not see the sensitive attributes.

    See Also
    --------
    raikit.datasets.dataset_info : its provenance and licence.

    Notes
    -----
    **Source**: UCI Machine Learning Repository,
    https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data (DOI 10.24432/C5NC77).
    **Licence**: Creative Commons Attribution 4.0 (CC BY 4.0); cite Hofmann (1994).

    **Cleaning** (by ``scripts/prepare_datasets.py``): the A-codes of ``german.data`` are
    decoded into the descriptions of UCI's ``german.doc``; every decoded column lists all
    documented codes as categories, in code order (two never occur: purpose ``"vacation"`` and
    personal status ``"female: single"``). ``sex`` is derived from the personal status (A91,
    A93, A94 male; A92, A95 female) and ``age_group`` is ``"25+"`` if ``age >= 25``, else
    ``"<25"``, as in Kamiran & Calders (2009). ``credit`` is recoded from 1 = good / 2 = bad to
    1 = good / 0 = bad. No rows are dropped and no values are missing.

    The share of good credit is 0.70 overall, 0.6484 for women, 0.7232 for men, 0.5906 below
    25 and 0.7192 from 25. UCI asks to weigh errors with a cost matrix: calling a bad customer
    good costs 5, calling a good customer bad costs 1.

    References
    ----------
    .. [1] Hofmann, H. (1994). Statlog (German Credit Data) [Dataset]. UCI Machine Learning
       Repository. https://doi.org/10.24432/C5NC77
    .. [2] Kamiran, F. & Calders, T. (2009). Classifying without discriminating. 2nd
       International Conference on Computer, Control and Communication.

    Examples
    --------
    >>> from raikit.datasets import load_german_credit
    >>> ds = load_german_credit()
    >>> ds.n_rows, ds.target, ds.sensitive_names
    (1000, 'credit', ['sex', 'age_group'])
    >>> frame = load_german_credit(as_frame=True)
    >>> float(frame["credit"].mean())
    0.7
    >>> frame["age_group"].value_counts().to_dict()
    {'25+': 851, '<25': 149}
    """
    meta = _metadata("german_credit")
    frame = _read_frame("german_credit")
    if as_frame:
        return frame
    return _to_dataset(frame, meta, "german_credit")


_LOADERS = {
    "adult": load_adult,
    "compas": load_compas,
    "german_credit": load_german_credit,
}


def load_by_name(name: str, *, as_frame: bool = False, **kwargs: Any) -> Dataset | pd.DataFrame:
    """Load a bundled data set by name.

    Parameters
    ----------
    name : str
        ``"adult"``, ``"compas"`` or ``"german_credit"`` (the ``name`` column of
        :func:`list_datasets`).
    as_frame : bool, default False
        Return the pandas DataFrame instead of a :class:`~raikit.dataset.Dataset`.
    **kwargs
        Passed to the loader, e.g. ``split="test"`` for ``"adult"``.

    Returns
    -------
    Dataset or DataFrame
        What the data set's loader returns.

    Raises
    ------
    ValueError
        If ``name`` is not a bundled data set.

    See Also
    --------
    raikit.datasets.list_datasets : the names it accepts.

    Examples
    --------
    >>> from raikit.datasets import load_by_name
    >>> load_by_name("adult", split="train", as_frame=True).shape
    (32561, 16)
    """
    if name not in _LOADERS:
        raise ValueError(f"Unknown data set {name!r}; choose one of {sorted(_LOADERS)}.")
    return _LOADERS[name](as_frame=as_frame, **kwargs)
