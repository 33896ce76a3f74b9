"""Every public object's docstring is a numpydoc docstring with an example.

The API reference (``make docs``) is generated from these docstrings, and ``make test`` runs their
``Examples`` under doctest (``--doctest-modules`` over ``src/raikit``), so an object listed here
without an example would be an API page that shows no use of it. Each test names every offender.
"""

from __future__ import annotations

import importlib
import inspect

import pytest
from numpydoc.docscrape import NumpyDocString
from tests._packages import API_PACKAGES


def _public_objects():
    """(qualified name, object) for every callable in a public package's ``__all__``.

    Modules (``raikit.ledger``, ``raikit.audit``) have their own pages; constants (tuples, ints,
    dicts) take their type's docstring and are described in their package's page.
    """
    out = []
    for package in API_PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if name.startswith("__") or inspect.ismodule(obj) or not callable(obj):
                continue
            out.append((f"{package}.{name}", obj))
    return out


OBJECTS = _public_objects()


def _doc(obj) -> NumpyDocString:
    return NumpyDocString(inspect.getdoc(obj) or "")


def _parameters(obj) -> list[str]:
    """Named parameters a caller passes (``self``, ``*args`` and ``**kwargs`` aside)."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    skip = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        name
        for name, p in signature.parameters.items()
        if name not in ("self", "cls") and not name.startswith("_") and p.kind not in skip
    ]


def _documented(doc: NumpyDocString, section: str) -> set[str]:
    names = set()
    for item in doc[section]:
        names.update(n.strip().lstrip("*") for n in item.name.split(","))
    return names


def test_the_walk_sees_the_public_api():
    assert len(OBJECTS) > 150
    names = {name for name, _ in OBJECTS}
    assert {"raikit.Dataset", "raikit.audit.audit", "raikit.cards.model_card"} <= names


def test_every_public_object_has_a_docstring_that_parses():
    bad = []
    for name, obj in OBJECTS:
        text = inspect.getdoc(obj) or ""
        if not text.strip():
            bad.append(f"{name}: no docstring")
            continue
        try:
            NumpyDocString(text)
        except Exception as error:  # numpydoc raises ValueError and its own ParseError
            bad.append(f"{name}: {error}")
    assert not bad, "public objects whose docstring is missing or not numpydoc:\n" + "\n".join(bad)


def test_every_public_object_has_an_examples_section():
    missing = [name for name, obj in OBJECTS if not "".join(_doc(obj)["Examples"]).strip()]
    assert not missing, (
        f"{len(missing)} public objects have no Examples section (add one that runs under "
        "doctest):\n" + "\n".join(missing)
    )


def test_every_public_object_points_to_its_neighbours():
    """A See Also section: the reference page of a result names the check that makes it, etc."""
    missing = [name for name, obj in OBJECTS if not _doc(obj)["See Also"]]
    assert not missing, f"{len(missing)} public objects have no See Also section:\n" + "\n".join(
        missing
    )


def test_every_public_function_says_what_it_returns():
    """A Returns (or, for a context manager, Yields) section; ``skip`` only ever raises."""
    always_raises = {"raikit.audit.skip"}
    missing = [
        name
        for name, obj in OBJECTS
        if not inspect.isclass(obj)
        and name not in always_raises
        and not (_doc(obj)["Returns"] or _doc(obj)["Yields"])
    ]
    assert not missing, "public functions without a Returns section:\n" + "\n".join(missing)
    assert _doc(dict(OBJECTS)["raikit.audit.skip"])["Raises"]


def test_every_example_is_a_doctest():
    """An Examples section is executed only if it has ``>>>`` prompts."""
    missing = [
        name
        for name, obj in OBJECTS
        if "".join(_doc(obj)["Examples"]).strip() and ">>>" not in "\n".join(_doc(obj)["Examples"])
    ]
    assert not missing, "Examples sections that doctest would not run:\n" + "\n".join(missing)


def test_every_public_callable_documents_its_parameters():
    """A function or class that takes parameters has a Parameters section naming each of them.

    A result dataclass documents its fields as ``Attributes`` (they are what a reader uses), which
    counts for its constructor's parameters.
    """
    missing = []
    for name, obj in OBJECTS:
        parameters = _parameters(obj)
        if not parameters:
            continue
        doc = _doc(obj)
        documented = _documented(doc, "Parameters")
        if inspect.isclass(obj):
            documented |= _documented(doc, "Attributes")
        if not documented:
            missing.append(f"{name}: no Parameters section")
            continue
        undocumented = [p for p in parameters if p not in documented]
        if undocumented:
            missing.append(f"{name}: {', '.join(undocumented)} not documented")
    assert not missing, (
        f"{len(missing)} public callables with undocumented parameters:\n" + "\n".join(missing)
    )


@pytest.mark.parametrize("name", ["raikit.metrics.group_metrics", "raikit.audit.audit"])
def test_the_checks_find_real_sections(name):
    """The parser sees the sections the reference shows (guards the tests above)."""
    obj = dict(OBJECTS)[name]
    doc = _doc(obj)
    assert doc["Parameters"] and doc["Returns"] and ">>>" in "\n".join(doc["Examples"])
    assert "sensitive_features" in _documented(doc, "Parameters") or name.endswith("audit")
