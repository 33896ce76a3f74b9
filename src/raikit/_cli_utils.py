"""Small helpers shared by every stage's command-line module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from rich.console import Console

__all__ = [
    "cli_words",
    "command_line_words",
    "command_options",
    "progress_bar",
    "spell",
    "split_names",
    "write_result",
]


def weight_option():
    """The ``--weight COLUMN`` option of every command that builds a Dataset: the weight role."""
    import typer

    return typer.Option(
        None,
        "--weight",
        help="Column of non-negative row weights (frequency weights: every statistic is weighted).",
    )


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


def progress_bar(console: Console, *, transient: bool = True):
    """The one Rich progress bar of every command: description, bar, ``done/total``, elapsed time
    and the estimated time left (ETA). A task added with ``total=None`` shows a spinner only.

    Examples
    --------
    >>> from rich.console import Console
    >>> with progress_bar(Console(quiet=True)) as progress:
    ...     task = progress.add_task("Explaining rows", total=4)
    ...     progress.update(task, completed=4)
    >>> progress.tasks[0].finished
    True
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def progress_callback(bar, task, *, prefix: str = ""):
    """A check's ``progress(done, total, description=None)`` callback that moves ``task`` on ``bar``.

    Every check that reports progress calls it with the steps done, the steps in all and, where
    a step has a name, that name (shown after ``prefix``).

    Examples
    --------
    >>> from rich.console import Console
    >>> with progress_bar(Console(quiet=True)) as bar:
    ...     task = bar.add_task("Training", total=None)
    ...     advance = progress_callback(bar, task, prefix="Trained ")
    ...     advance(2, 5, "reweigh")
    >>> bar.tasks[0].completed, bar.tasks[0].total, bar.tasks[0].description
    (2, 5, 'Trained reweigh')
    """

    def advance(done: float, total: float, description: str | None = None) -> None:
        changes = {"completed": done, "total": total}
        if description is not None:
            changes["description"] = f"{prefix}{description}"
        bar.update(task, **changes)

    return advance


def write_result(result, out: Path, stem: str, title: str, console: Console) -> None:
    """Write ``<stem>.html`` and ``<stem>.json`` of a result into ``out`` and say where."""
    out.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out / f"{stem}.html", out / f"{stem}.json"
    result.to_html(html_path, title=title)
    result.to_json(json_path)
    console.print(f"HTML written to {html_path}\nJSON written to {json_path}")


# --------------------------------------------------------------------------- errors in CLI words
# Errors are written in the words of the Python API. A command wraps its work in
# `command_line_words()`: phrases the keyword rewriting of `cli_words` cannot derive (another
# command to run, a flag named unlike its parameter) are then spelled for the command line by
# `spell`, and `raikit.cli` rewrites the remaining keywords with `cli_words` when it prints.
_COMMAND_LINE: ContextVar[bool] = ContextVar("raikit_command_line_words", default=False)


@contextmanager
def command_line_words() -> Iterator[None]:
    """Within this block, :func:`spell` picks the command-line wording of a fix.

    Examples
    --------
    >>> with command_line_words():
    ...     spell("budget_path=PATH", "--budget-file PATH")
    '--budget-file PATH'
    >>> spell("budget_path=PATH", "--budget-file PATH")
    'budget_path=PATH'
    """
    token = _COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)


def spell(python: str, command_line: str) -> str:
    """One fix in the words of the interface in use: ``python``, or ``command_line`` inside
    :func:`command_line_words` (see its example)."""
    return command_line if _COMMAND_LINE.get() else python


# "fn(): keyword ...", "Class.method(): keyword ..." or "a()/b(): keyword ...": a ParameterError's lead
_CALLER = re.compile(r"^[\w.]+\(\)(?:/[\w.]+\(\))*: (?P<word>-{0,2}\w[\w-]*)(?=[\s=\[])")
_KEYWORD = r"(?<![\w.\-]){name}=(?P<value>'[^']*'|\"[^\"]*\"|\[[^\]]*\]|\{{[^}}]*\}}|[\w.\-+]+)?"


def command_options(app, argv: list[str]) -> dict:
    """The options of the command ``argv`` invokes: Python parameter name -> (flag, is_flag).

    Examples
    --------
    >>> import typer
    >>> app = typer.Typer()
    >>> @app.command()
    ... def run(missing_group: str = typer.Option(None, "--missing-group"), n: int = 1): ...
    >>> @app.command()
    ... def other(): ...
    >>> command_options(app, ["run", "--n", "2"])["missing_group"]
    ('--missing-group', False)
    """
    import typer.main

    command = typer.main.get_command(app)
    for word in argv:  # typer may vendor click: go by attributes, not classes
        commands = getattr(command, "commands", None)
        if not isinstance(commands, dict) or word not in commands:
            break
        command = commands[word]
    options = {}
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "option" and param.name:
            longs = [o for o in param.opts if o.startswith("--")] or list(param.opts)
            options[param.name] = (longs[0], bool(param.is_flag))
    return options


def _cli_value(value: str | None, is_flag: bool) -> str:
    import ast

    if value is None or is_flag:
        return ""
    if value.startswith("["):
        try:
            items = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            items = None
        if isinstance(items, list) and items and Ellipsis not in items:
            return " " + ",".join(str(item) for item in items)
        return " A,B"
    return f" {value}"


def cli_words(message: str, options: dict) -> str:
    """Rewrite the Python keyword arguments an error message suggests (``missing_group='x'``,
    ``columns=[...]``) into the command-line flags of the running command (``--missing-group 'x'``,
    ``--columns A,B``); keywords the command has no option for stay as they are.

    Examples
    --------
    >>> options = {"missing_group": ("--missing-group", False), "columns": ("--columns", False)}
    >>> cli_words("Or pass missing_group='(missing)' to keep them.", options)
    "Or pass --missing-group '(missing)' to keep them."
    >>> cli_words("Pass columns=[...] to compare fewer; columns=['a', 'b'] works.", options)
    'Pass --columns A,B to compare fewer; --columns a,b works.'
    >>> cli_words("lazy=True needs a path", options)
    'lazy=True needs a path'
    >>> cli_words("Pass domains={'sex': [...]}.", {"domain": ("--domain", False)})
    "Pass --domain {'sex': [...]}."

    A parameter error names the Python function and keyword (``synthesize(): epsilon must
    be ...``); on the command line the command is the context, so the keyword becomes its flag:

    >>> cli_words("synthesize(): epsilon must be > 0; got -1.", {"epsilon": ("--epsilon", False)})
    '--epsilon must be > 0; got -1.'
    >>> cli_words("synthesize(): --epsilon must be > 0.", {})
    '--epsilon must be > 0.'
    >>> cli_words("evaluate(): data has no target column.", {"target": ("--target", False)})
    'evaluate(): data has no target column.'
    """
    lead = _CALLER.match(message)
    if lead and lead.group("word").startswith("--"):
        message = message[lead.start("word") :]
    elif lead and lead.group("word") in options:
        message = options[lead.group("word")][0] + message[lead.end("word") :]
    for name, (flag, is_flag) in options.items():
        # a repeatable option is singular on the command line (--domain) and plural in Python
        for keyword in (name, f"{name}s"):
            pattern = re.compile(_KEYWORD.format(name=re.escape(keyword)))
            message = pattern.sub(
                lambda m, flag=flag, is_flag=is_flag: flag + _cli_value(m.group("value"), is_flag),
                message,
            )
    return message
