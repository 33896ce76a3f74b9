"""One-command audit: every applicable check, a scorecard per principle, one offline report.

The package is callable: ``raikit.audit(model, train=..., test=...)`` is
:func:`raikit.audit.audit`, while ``raikit.audit.available_sections()``,
``raikit.audit.register_section`` and ``from raikit.audit import audit`` keep working (the module
is not replaced by the function, so nothing that imports it breaks).

Examples
--------
>>> import raikit
>>> raikit.audit.available_sections()["section"].tolist()[:2]
['bias', 'accuracy']
>>> import inspect
>>> list(inspect.signature(raikit.audit).parameters)[:3]
['model', 'train', 'test']
"""

import sys
import types

from raikit.audit._audit import (
    PRINCIPLES,
    AuditContext,
    AuditReport,
    SectionSkipped,
    audit,
    available_sections,
    bias_criteria,
    register_section,
    skip,
)
from raikit.audit._compare import ComparisonResult, compare_audits

__all__ = [
    "PRINCIPLES",
    "AuditContext",
    "AuditReport",
    "ComparisonResult",
    "SectionSkipped",
    "audit",
    "available_sections",
    "bias_criteria",
    "compare_audits",
    "register_section",
    "skip",
]


class _CallableModule(types.ModuleType):
    """The ``raikit.audit`` package, which runs :func:`audit` when called."""

    def __call__(self, model, **kwargs) -> AuditReport:
        return audit(model, **kwargs)


__wrapped__ = audit  # inspect.signature(raikit.audit) and help() show audit's parameters
sys.modules[__name__].__class__ = _CallableModule
