"""Shape constraints declared once: the one spec that training, verification, the audit, the
problem definition and the model card read.

A spec maps a feature to its declared shape: ``"increasing"`` or ``"decreasing"`` (monotone),
``"concave"`` or ``"convex"`` (curvature), or ``"must_not_use"`` (the prediction must not depend on
it). This module sits at the bottom of the package: it imports nothing from raikit but the errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from raikit._errors import ColumnError, ParameterError

__all__ = ["SHAPES", "ShapeConstraints", "as_constraints"]

SHAPES = ("increasing", "decreasing", "concave", "convex", "must_not_use")
MONOTONE = {"increasing": 1, "decreasing": -1}
CURVATURE = ("concave", "convex")
# spellings users reach for, each read as one of SHAPES
_ALIASES = {
    "+1": "increasing",
    "1": "increasing",
    "-1": "decreasing",
    "monotone_increasing": "increasing",
    "monotone_decreasing": "decreasing",
    "must-not-use": "must_not_use",
    "must not use": "must_not_use",
}


@dataclass(frozen=True)
class ShapeConstraints:
    """Declared shapes of a model's response to its features, and features it must not use.

    Parameters
    ----------
    shapes : mapping of str to str
        Feature name -> ``"increasing"``, ``"decreasing"``, ``"concave"``, ``"convex"`` or
        ``"must_not_use"``. ``1``/``-1`` (scikit-learn's spelling) are read as increasing and
        decreasing. A feature has one declared shape.

    Raises
    ------
    ParameterError
        A shape outside the list above, a feature name that is not a non-empty string, or no
        feature at all.

    See Also
    --------
    raikit.train.fit_constrained : trains a model that keeps the constraints.
    raikit.evaluate.verify_constraints : checks a fitted model against them.
    raikit.cards.load_problem : reads them from a problem definition (``shape_constraints``).

    Examples
    --------
    >>> from raikit.train import ShapeConstraints
    >>> spec = ShapeConstraints({"hours-per-week": "increasing", "age": -1, "race": "must_not_use"})
    >>> spec.monotone
    {'hours-per-week': 1, 'age': -1}
    >>> spec.must_not_use
    ('race',)
    >>> spec.to_dict()["age"]
    'decreasing'
    >>> ShapeConstraints({"age": "bigger"})
    Traceback (most recent call last):
    ...
    raikit._errors.ParameterError: shape constraint of 'age': 'bigger' is not a shape; use one of ...
    """

    shapes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.shapes, Mapping):
            raise ParameterError(
                "shape constraints must be a mapping of feature name to shape, e.g. "
                f"{{'income': 'increasing'}}; got {type(self.shapes).__name__}."
            )
        clean = {}
        for name, shape in self.shapes.items():
            if not isinstance(name, str) or not name.strip():
                raise ParameterError(
                    f"shape constraints: feature names must be non-empty strings, got {name!r}."
                )
            clean[name] = _shape_of(name, shape)
        if not clean:
            raise ParameterError(
                "shape constraints: declare at least one feature, e.g. {'income': 'increasing'}."
            )
        object.__setattr__(self, "shapes", clean)

    @property
    def features(self) -> list[str]:
        """Every constrained feature, in declaration order."""
        return list(self.shapes)

    @property
    def monotone(self) -> dict[str, int]:
        """Feature -> +1 (increasing) or -1 (decreasing)."""
        return {f: MONOTONE[s] for f, s in self.shapes.items() if s in MONOTONE}

    @property
    def curvature(self) -> dict[str, str]:
        """Feature -> ``"concave"`` or ``"convex"``."""
        return {f: s for f, s in self.shapes.items() if s in CURVATURE}

    @property
    def must_not_use(self) -> tuple[str, ...]:
        """Features the prediction must not depend on."""
        return tuple(f for f, s in self.shapes.items() if s == "must_not_use")

    def to_dict(self) -> dict[str, str]:
        """The spec as a plain mapping (as written in the problem-definition YAML)."""
        return dict(self.shapes)

    def text(self) -> str:
        """One line for reports and cards, e.g. ``'age: decreasing; race: must not use'``."""
        return "; ".join(f"{f}: {s.replace('_', ' ')}" for f, s in self.shapes.items())

    def check_columns(self, columns: Iterable[str], *, where: str = "the data") -> None:
        """Raise :class:`~raikit.ColumnError` naming the columns available when a constrained
        feature is not among ``columns``.

        Examples
        --------
        >>> ShapeConstraints({"income": "increasing"}).check_columns(["age"])
        Traceback (most recent call last):
        ...
        raikit._errors.ColumnError: shape constraints name column(s) ['income'] ... available: ['age'].
        """
        available = [str(c) for c in columns]
        unknown = [f for f in self.shapes if f not in set(available)]
        if unknown:
            raise ColumnError(
                f"shape constraints name column(s) {unknown} that are not in {where}; "
                f"columns available: {available}."
            )


def _shape_of(name: str, shape) -> str:
    if isinstance(shape, bool):
        shape = str(shape)
    text = str(shape).strip().lower() if shape is not None else ""
    text = _ALIASES.get(text, text)
    if text not in SHAPES:
        raise ParameterError(
            f"shape constraint of {name!r}: {shape!r} is not a shape; use one of {SHAPES}."
        )
    return text


def as_constraints(value, *, name: str = "constraints") -> ShapeConstraints | None:
    """A :class:`ShapeConstraints` from a spec, a mapping or None (None stays None).

    Examples
    --------
    >>> as_constraints({"x": "convex"}).curvature
    {'x': 'convex'}
    >>> as_constraints(None) is None
    True
    """
    if value is None or isinstance(value, ShapeConstraints):
        return value
    if isinstance(value, Mapping):
        return ShapeConstraints(value)
    raise ParameterError(
        f"{name} must be a raikit.train.ShapeConstraints or a mapping of feature name to shape "
        f"(e.g. {{'income': 'increasing'}}), got {type(value).__name__}."
    )
