"""One-command audit: every applicable check, a scorecard per principle, one offline report."""

from raikit.audit._audit import (
    PRINCIPLES,
    AuditContext,
    AuditReport,
    audit,
    available_sections,
    register_section,
)
from raikit.audit._compare import ComparisonResult, compare_audits

__all__ = [
    "PRINCIPLES",
    "AuditContext",
    "AuditReport",
    "ComparisonResult",
    "audit",
    "available_sections",
    "compare_audits",
    "register_section",
]
