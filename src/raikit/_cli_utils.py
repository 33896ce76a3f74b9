"""Small helpers shared by every stage's command-line module."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

__all__ = ["split_names", "write_result"]


def split_names(text: str | None) -> list[str]:
    """Column names from a comma-separated option value.

    Examples
    --------
    >>> split_names("sex, race,,")
    ['sex', 'race']
    >>> split_names(None)
    []
    """
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def write_result(result, out: Path, stem: str, title: str, console: Console) -> None:
    """Write ``<stem>.html`` and ``<stem>.json`` of a result into ``out`` and say where."""
    out.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out / f"{stem}.html", out / f"{stem}.json"
    result.to_html(html_path, title=title)
    result.to_json(json_path)
    console.print(f"HTML written to {html_path}\nJSON written to {json_path}")
