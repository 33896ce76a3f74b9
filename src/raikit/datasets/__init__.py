"""Real fairness data sets that load offline, and a synthetic generator.

The real data sets ship inside the package (``raikit/datasets/data/``) as cleaned, compressed
tables with their provenance, licence and cleaning steps; loading never touches the network.

==========================  ==============================================  ============  ==========
Loader                      Data set                                        Rows          Licence
==========================  ==============================================  ============  ==========
:func:`load_adult`          UCI Adult (Census Income), train + test         48,842        CC BY 4.0
:func:`load_compas`         ProPublica COMPAS two-year recidivism           6,172 (a)     not stated
:func:`load_german_credit`  UCI Statlog German credit                       1,000         CC BY 4.0
==========================  ==============================================  ============  ==========

(a) ProPublica's filtered table, the default; ``load_compas(population="two_year")``
returns all 7,214 defendants, the population of ProPublica's false positive and false
negative rates by race.

:func:`list_datasets` tabulates them, :func:`dataset_info` returns the full metadata and
:func:`make_fairness_synthetic` draws the synthetic data of Zafar et al. (2017).

Examples
--------
>>> from raikit.datasets import list_datasets, load_compas
>>> list_datasets()["name"].tolist()
['adult', 'compas', 'german_credit']
>>> load_compas(as_frame=True).shape
(6172, 12)
>>> load_compas(population="two_year", as_frame=True).shape
(7214, 13)
"""

from __future__ import annotations

from raikit.datasets._loaders import (
    dataset_info,
    list_datasets,
    load_adult,
    load_by_name,
    load_compas,
    load_german_credit,
)
from raikit.datasets._synthetic import make_fairness_synthetic

__all__ = [
    "dataset_info",
    "list_datasets",
    "load_adult",
    "load_by_name",
    "load_compas",
    "load_german_credit",
    "make_fairness_synthetic",
]
