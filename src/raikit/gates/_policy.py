"""The gate policy: a small YAML file read as hostile input and validated strictly.

Schema (version 1)::

    version: 1                      # optional; 1 is the only version
    defaults:                       # optional; every gate may override both
      when: interval                # interval | estimate | strict
      on_not_assessed: warn         # fail | warn | pass
    criteria:                       # fairness criteria between groups, per attribute
      demographic_parity_difference: {max: 0.1}
      equalized_odds_difference: {max: 0.15, attributes: [sex]}
      demographic_parity_ratio: {min: 0.8, when: estimate}
    metrics:                        # a metric overall, or per group
      accuracy: {min: 0.7}                                     # overall
      true_positive_rate: {min: 0.6, attributes: [sex]}        # each group of sex
      selection_rate: {max: 0.95, groups: [{sex: Female}]}     # named groups
    principles:                     # the audit's scorecard
      bias: {status_at_least: warn}
    findings: {max_severity: warning}

A criterion or metric may also hold a list of such mappings (one gate each), e.g. different
thresholds per attribute.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

from raikit._errors import FileFormatError, ParameterError
from raikit._grouping import SliceKey

__all__ = ["WHEN", "Gate", "Policy", "load_policy"]

MAX_POLICY_BYTES = 64 * 1024  # a policy is a few lines; anything larger is refused unread
MAX_GATES = 1000
WHEN = ("interval", "estimate", "strict")
ON_NOT_ASSESSED = ("fail", "warn", "pass")
STATUS_ORDER = ("pass", "warn", "fail")
SEVERITY_ORDER = ("info", "warning", "error")
SECTIONS = ("version", "defaults", "criteria", "metrics", "principles", "findings")
_METHODS = ("between_groups", "to_overall")


def _criteria() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Gate name -> (kind of disparity, the metrics it compares), from the metrics' criteria."""
    from raikit.metrics._fairness import ALL_CRITERIA

    names = {}
    for make in ALL_CRITERIA:
        criterion = make()
        names[f"{criterion.name}_difference"] = ("difference", criterion.metrics)
        names[f"{criterion.name}_ratio"] = ("ratio", criterion.metrics)
    return names


def _metric_names() -> tuple[set[str], dict[str, str]]:
    from raikit.metrics._definitions import (
        BINARY_METRICS,
        METRIC_ALIASES,
        REGRESSION_METRICS,
        SCORE_METRICS,
    )

    return set(BINARY_METRICS) | set(SCORE_METRICS) | set(REGRESSION_METRICS), METRIC_ALIASES


@dataclass(frozen=True)
class Gate:
    """One rule of a policy: what is measured, its threshold, and how a verdict is reached.

    Attributes
    ----------
    kind : {"criterion", "metric", "principle", "findings"}
    name : str
        The criterion (``demographic_parity_difference``), metric (``accuracy``), principle
        (``bias``) or ``findings``.
    bound : {"max", "min"}
        Which side of ``threshold`` fails; for principles and findings, ``max`` (a status or a
        severity no worse than the threshold).
    threshold : float or str
        A number, a scorecard status or a finding severity.
    when : {"interval", "estimate", "strict"}
        ``interval``: fail only when the whole confidence interval is beyond the threshold (an
        estimate beyond it with an interval that straddles it warns); ``estimate``: fail when the
        point estimate is beyond; ``strict``: fail unless the whole interval is within.
    on_not_assessed : {"fail", "warn", "pass"}
        The verdict when the audit could not measure it (never a silent pass: the table says why).
    attributes, groups : tuple, optional
        Restrict a criterion to attributes, or a metric to the groups of attributes or to named
        groups (:class:`~raikit._grouping.SliceKey`).
    scope : {"overall", "groups"}
        A metric on the whole test set or per group.
    method : {"between_groups", "to_overall"}
        How a criterion's disparity is taken.
    check : str
        The audit result the gate reads (``metrics.group_metrics``: the test set).
    checks : tuple of str, optional
        For findings: only the findings of these checks.
    path : str
        Where the gate is in the policy file (``criteria.demographic_parity_difference``).

    See Also
    --------
    Policy : a validated list of gates.
    load_policy : reads gates from a file.

    Examples
    --------
    >>> from raikit.gates import Policy
    >>> gate = Policy.from_dict({"metrics": {"accuracy": {"min": 0.7}}}).gates[0]
    >>> gate.kind, gate.name, gate.bound, gate.threshold
    ('metric', 'accuracy', 'min', 0.7)
    """

    kind: str
    name: str
    bound: str
    threshold: float | str
    when: str = "interval"
    on_not_assessed: str = "warn"
    attributes: tuple[str, ...] | None = None
    groups: tuple[SliceKey, ...] | None = None
    scope: str = "overall"
    method: str = "between_groups"
    check: str = "metrics.group_metrics"
    checks: tuple[str, ...] | None = None
    path: str = ""


@dataclass(frozen=True)
class Policy:
    """A validated gate policy (see :func:`load_policy` for the file format).

    Attributes
    ----------
    gates : tuple of Gate
        The rules, in the order of the file.
    source : str
        Where the policy came from (a file path, or ``"<dict>"``).
    digest : str
        The SHA-256 of the policy's text, recorded with every check against it.
    raw : dict
        The policy as read.

    See Also
    --------
    load_policy : reads one from a YAML or JSON file.
    check : judges an audit against it.

    Examples
    --------
    >>> policy = Policy.from_dict({"criteria": {"demographic_parity_difference": {"max": 0.1}}})
    >>> [(g.name, g.bound, g.threshold, g.when) for g in policy.gates]
    [('demographic_parity_difference', 'max', 0.1, 'interval')]
    """

    gates: tuple[Gate, ...]
    source: str = "<dict>"
    digest: str = ""
    raw: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data, *, source: str = "<dict>", digest: str = "") -> Policy:
        """Validate a policy mapping (what the YAML file holds); see :func:`load_policy`."""
        return Policy(tuple(_gates(data, source)), source=source, digest=digest, raw=data)


def load_policy(path) -> Policy:
    """Read and validate a gate policy file.

    The file is YAML read with ``yaml.safe_load`` rules (no Python objects), without anchors or
    aliases, with unique keys, at most 64 KiB; every key and value is checked, and an error
    names the file, the key path and the fix.

    Parameters
    ----------
    path : str or Path
        The policy file (see the schema in :mod:`raikit.gates`).

    Returns
    -------
    Policy

    Raises
    ------
    FileFormatError
        The file is missing, too large or not YAML.
    ParameterError
        An unknown key or a bad value (the message names its path, e.g.
        ``criteria.demographic_parity_difference.max``).

    See Also
    --------
    raikit.gates.check : judges an audit against the policy.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "policy.yaml").write_text("criteria:\\n  equalized_odds_difference: {max: 0.15}\\n")
    >>> load_policy(folder / "policy.yaml").gates[0].threshold
    0.15
    >>> _ = (folder / "bad.yaml").write_text("criteria:\\n  equalized_odds_difference: {maxx: 0.15}\\n")
    >>> load_policy(folder / "bad.yaml")
    Traceback (most recent call last):
    ...
    raikit._errors.ParameterError: ...criteria.equalized_odds_difference: unknown key 'maxx'...
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"Policy file {str(path)!r} does not exist (or is not a file).")
    size = path.stat().st_size
    if size > MAX_POLICY_BYTES:
        raise FileFormatError(
            f"Policy file {str(path)!r} is {size:,} bytes; a policy may be at most "
            f"{MAX_POLICY_BYTES:,} bytes."
        )
    data = path.read_bytes()[: MAX_POLICY_BYTES + 1]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileFormatError(f"Policy file {str(path)!r} is not UTF-8 text: {error}.") from None
    loaded = _safe_yaml(text, str(path))
    return Policy.from_dict(loaded, source=str(path), digest=hashlib.sha256(data).hexdigest())


def _safe_yaml(text: str, source: str):
    """YAML by ``safe_load``'s rules, refusing aliases and duplicate keys."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"anchors and aliases are not allowed (line {mark.line + 1})")
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    raise yaml.YAMLError(
                        f"key {key!r} on line {key_node.start_mark.line + 1} is not text"
                    )
                if key in seen:
                    raise yaml.YAMLError(
                        f"key {key!r} appears twice (line {key_node.start_mark.line + 1})"
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=Loader)  # a SafeLoader subclass: no Python objects
    except RecursionError:
        raise FileFormatError(
            f"Policy file {source!r} nests too deeply to be a policy; see examples/policy.yaml."
        ) from None
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        raise FileFormatError(
            f"Policy file {source!r} is not valid YAML for a policy: {detail}."
        ) from None


# --------------------------------------------------------------------------- validation
def _fail(source: str, path: str, problem: str, fix: str):
    where = f"{path}: " if path else ""
    raise ParameterError(f"Policy {source!r}, {where}{problem}. {fix}")


def _mapping(value, source: str, path: str, allowed: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        _fail(
            source,
            path,
            f"expected a mapping, got {type(value).__name__} {str(value)[:60]!r}",
            "Write it as `key: value` lines or `{key: value}`.",
        )
    for key in value:
        if key not in allowed:
            _fail(source, path, f"unknown key {key!r}", f"Allowed keys: {', '.join(allowed)}.")
    return value


def _choice(value, source: str, path: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        _fail(source, path, f"{value!r} is not allowed", f"Choose one of: {', '.join(choices)}.")
    return value


def _number(value, source: str, path: str) -> float:
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            number = None
    if number is None or not math.isfinite(number):
        shown = str(value)[:40]
        _fail(source, path, f"expected a finite number, got {shown}", "Write e.g. `max: 0.1`.")
    return number


def _names(value, source: str, path: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        _fail(source, path, f"expected a non-empty list of names, got {value!r}", "E.g. [sex].")
    return tuple(value)


def _group_keys(value, source: str, path: str) -> tuple[SliceKey, ...]:
    ok = isinstance(value, list) and value
    ok = ok and all(isinstance(g, dict) and g for g in value)
    ok = ok and all(isinstance(v, str | int | float) for g in value for v in g.values())
    if not ok:
        _fail(
            source,
            path,
            f"expected a list of groups as attribute: value mappings, got {str(value)[:80]!r}",
            'E.g. groups: [{sex: Female}, {sex: Female, age_group: "<25"}].',
        )
    return tuple(SliceKey({str(k): str(v) for k, v in g.items()}) for g in value)


def _defaults(data: dict, source: str) -> dict:
    raw = _mapping(data.get("defaults", {}), source, "defaults", ("when", "on_not_assessed"))
    return {
        "when": _choice(raw.get("when", "interval"), source, "defaults.when", WHEN),
        "on_not_assessed": _choice(
            raw.get("on_not_assessed", "warn"), source, "defaults.on_not_assessed", ON_NOT_ASSESSED
        ),
    }


def _gates(data, source: str) -> list[Gate]:
    if data is None:
        data = {}
    _mapping(data, source, "", SECTIONS)
    if "version" in data and (isinstance(data["version"], bool) or data["version"] != 1):
        _fail(source, "version", f"{data['version']!r} is not supported", "Write `version: 1`.")
    defaults = _defaults(data, source)
    gates: list[Gate] = []
    criteria = _criteria()
    metrics, aliases = _metric_names()
    for section, kind in (("criteria", "criterion"), ("metrics", "metric")):
        entries = _section(data, section, source)
        for name, rules in entries.items():
            path = f"{section}.{name}"
            if kind == "criterion" and name not in criteria:
                _fail(
                    source,
                    path,
                    f"unknown criterion {name!r}",
                    f"Choose from: {', '.join(criteria)}.",
                )
            if kind == "metric":
                canonical = aliases.get(name, name)
                if canonical not in metrics:
                    hint = " (criteria go under `criteria:`)" if name in criteria else ""
                    _fail(
                        source,
                        path,
                        f"unknown metric {name!r}{hint}",
                        f"Choose from: {', '.join(sorted(metrics))}.",
                    )
                name = canonical
            listed = rules if isinstance(rules, list) else [rules]
            for i, rule in enumerate(listed):
                where = f"{path}[{i}]" if isinstance(rules, list) else path
                gates.append(_threshold_gate(kind, name, rule, source, where, defaults))
    gates += _principle_gates(_section(data, "principles", source), source, defaults)
    if data.get("findings") is not None:
        gates.append(_findings_gate(data["findings"], source, defaults))
    if len(gates) > MAX_GATES:
        _fail(source, "", f"{len(gates)} gates", f"A policy may hold at most {MAX_GATES}.")
    if not gates:
        _fail(
            source,
            "",
            "the policy holds no gate",
            "Add at least one of criteria:, metrics:, principles: or findings:.",
        )
    return gates


def _section(data: dict, name: str, source: str) -> dict:
    """A section of named rules: a mapping, or nothing when the key is absent or empty."""
    value = data.get(name)
    if value is None:
        return {}
    return _mapping(value, source, name, tuple(value) if isinstance(value, dict) else ())


_THRESHOLD_KEYS = {
    "criterion": ("max", "min", "when", "on_not_assessed", "attributes", "method", "check"),
    "metric": ("max", "min", "when", "on_not_assessed", "attributes", "groups", "scope", "check"),
}


def _threshold_gate(kind, name, rule, source, path, defaults) -> Gate:
    rule = _mapping(rule, source, path, _THRESHOLD_KEYS[kind])
    bounds = [b for b in ("max", "min") if b in rule]
    if len(bounds) != 1:
        _fail(
            source,
            path,
            f"needs exactly one of max or min, got {bounds or 'neither'}",
            "E.g. `{max: 0.1}` for a difference, `{min: 0.8}` for a ratio or accuracy.",
        )
    bound = bounds[0]
    threshold = _number(rule[bound], source, f"{path}.{bound}")
    if kind == "criterion" and name.endswith("_ratio") and not 0 <= threshold <= 1:
        _fail(
            source, f"{path}.{bound}", f"a ratio lies in [0, 1], got {threshold}", "E.g. min: 0.8."
        )
    if kind == "criterion" and name.endswith("_difference") and threshold < 0:
        _fail(
            source,
            f"{path}.{bound}",
            f"a difference is at least 0, got {threshold}",
            "E.g. max: 0.1.",
        )
    options = {
        "when": _choice(rule.get("when", defaults["when"]), source, f"{path}.when", WHEN),
        "on_not_assessed": _choice(
            rule.get("on_not_assessed", defaults["on_not_assessed"]),
            source,
            f"{path}.on_not_assessed",
            ON_NOT_ASSESSED,
        ),
    }
    if "attributes" in rule:
        options["attributes"] = _names(rule["attributes"], source, f"{path}.attributes")
    if "groups" in rule:
        options["groups"] = _group_keys(rule["groups"], source, f"{path}.groups")
    if "method" in rule:
        options["method"] = _choice(rule["method"], source, f"{path}.method", _METHODS)
    if "check" in rule:
        check = rule["check"]
        if not isinstance(check, str) or not check.startswith("metrics.group_metrics"):
            _fail(
                source,
                f"{path}.check",
                f"{check!r} is not a group-metrics result",
                "Use metrics.group_metrics (test set) or metrics.group_metrics.train.",
            )
        options["check"] = check
    if kind == "metric":
        chosen = "groups" if ("attributes" in rule or "groups" in rule) else "overall"
        scope = rule.get("scope", chosen)
        options["scope"] = _choice(scope, source, f"{path}.scope", ("overall", "groups"))
        if options["scope"] == "overall" and ("attributes" in rule or "groups" in rule):
            _fail(
                source,
                f"{path}.scope",
                "scope overall does not take attributes or groups",
                "Drop scope (or write scope: groups).",
            )
    return Gate(kind, name, bound, threshold, path=path, **options)


def _principle_gates(section, source: str, defaults: dict) -> list[Gate]:
    from raikit.audit import PRINCIPLES

    gates = []
    for name, rule in section.items():
        path = f"principles.{name}"
        if name not in PRINCIPLES:
            hint = " (the audit calls fairness 'bias')" if name == "fairness" else ""
            _fail(
                source,
                path,
                f"unknown principle {name!r}{hint}",
                f"Choose from: {', '.join(PRINCIPLES)}.",
            )
        rule = _mapping(rule, source, path, ("status_at_least", "on_not_assessed"))
        if "status_at_least" not in rule:
            _fail(source, path, "status_at_least is missing", "E.g. `{status_at_least: warn}`.")
        status = _choice(
            rule["status_at_least"], source, f"{path}.status_at_least", ("pass", "warn")
        )
        on = rule.get("on_not_assessed", defaults["on_not_assessed"])
        on = _choice(on, source, f"{path}.on_not_assessed", ON_NOT_ASSESSED)
        gates.append(
            Gate("principle", name, "max", status, when="estimate", on_not_assessed=on, path=path)
        )
    return gates


def _findings_gate(rule, source: str, defaults: dict) -> Gate:
    rule = _mapping(rule, source, "findings", ("max_severity", "checks", "on_not_assessed"))
    if "max_severity" not in rule:
        _fail(source, "findings", "max_severity is missing", "E.g. `{max_severity: warning}`.")
    severity = _choice(rule["max_severity"], source, "findings.max_severity", SEVERITY_ORDER)
    on = rule.get("on_not_assessed", defaults["on_not_assessed"])
    on = _choice(on, source, "findings.on_not_assessed", ON_NOT_ASSESSED)
    checks = _names(rule["checks"], source, "findings.checks") if "checks" in rule else None
    return Gate(
        "findings",
        "findings",
        "max",
        severity,
        when="estimate",
        on_not_assessed=on,
        checks=checks,
        path="findings",
    )
