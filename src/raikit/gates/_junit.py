"""JUnit XML of a gate table, built with ``xml.etree`` (every text escaped, nothing pasted)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd

__all__ = ["junit_xml", "xml_safe"]

# Characters XML 1.0 cannot hold at all (escaping does not help): control characters, lone
# surrogates and the two non-characters U+FFFE/U+FFFF.
_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(value) -> str:
    """Text that XML 1.0 can hold: characters it cannot are written as ``\\xNN``.

    Examples
    --------
    >>> xml_safe("a\\x00b<c>")
    'a\\\\x00b<c>'
    """
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def _label(row) -> str:
    parts = [xml_safe(v) for v in (row.attribute, row.group) if isinstance(v, str) and v]
    return row.gate + (f" [{' / '.join(parts)}]" if parts else "")


def junit_xml(table: pd.DataFrame, *, meta: dict | None = None) -> str:
    """One ``testsuite`` named ``raikit.gates``; one ``testcase`` per row of a gate table."""
    failures = int((table["verdict"] == "fail").sum())
    skipped = int(((~table["assessed"].astype(bool)) & (table["verdict"] != "fail")).sum())
    suites = ET.Element("testsuites", name="raikit check")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="raikit.gates",
        tests=str(len(table)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    if meta:
        properties = ET.SubElement(suite, "properties")
        for key, value in meta.items():
            ET.SubElement(properties, "property", name=xml_safe(key), value=xml_safe(value))
    for row in table.itertuples(index=False):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=xml_safe(f"raikit.gates.{row.kind}"),
            name=xml_safe(_label(row)),
        )
        detail = xml_safe(f"{row.observed} vs {row.threshold}: {row.why}")
        if row.verdict == "fail":
            failure = ET.SubElement(case, "failure", message=xml_safe(row.why), type="GateFailed")
            failure.text = detail
        elif not row.assessed:
            ET.SubElement(case, "skipped", message=xml_safe(row.why))
        else:
            ET.SubElement(case, "system-out").text = xml_safe(f"{row.verdict}: {detail}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
