"""One-command audit: every applicable check, a scorecard per principle, one offline report."""

from raikit.audit._audit import (
    PRINCIPLES,
    AuditContext,
    AuditReport,
    audit,
    available_sections,
    register_section,
)

__all__ = [
    "PRINCIPLES",
    "AuditContext",
    "AuditReport",
    "audit",
    "available_sections",
    "register_section",
]
