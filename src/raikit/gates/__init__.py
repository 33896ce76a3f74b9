"""Gates for CI: an audit checked against a policy file, with exit codes and JUnit XML.

``raikit check --policy policy.yaml AUDIT`` exits 0 when every gate passes (or only warns), 1
when one fails and 2 on a usage or input error (a malformed policy, a missing audit). The
policy (YAML, validated strictly) sets thresholds on fairness criteria per attribute, on
metrics overall or per group, on the audit's scorecard per principle and on the severity of
its findings. By default a threshold fails only when the whole confidence interval is beyond it
(``when: interval``), and what the audit could not measure is reported, never passed silently
(``on_not_assessed: warn``). See ``docs/gates.md`` and ``examples/policy.yaml``.

Examples
--------
>>> from raikit.gates import Policy
>>> policy = Policy.from_dict({"principles": {"bias": {"status_at_least": "warn"}},
...                            "findings": {"max_severity": "warning"}})
>>> [(g.kind, g.name, g.threshold) for g in policy.gates]
[('principle', 'bias', 'warn'), ('findings', 'findings', 'warning')]
"""

from raikit.gates._check import GateResult, check, judge, load_audit
from raikit.gates._policy import Gate, Policy, load_policy

__all__ = ["Gate", "GateResult", "Policy", "check", "judge", "load_audit", "load_policy"]
