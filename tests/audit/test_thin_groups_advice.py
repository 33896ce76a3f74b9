"""The audit points at augment_eval when a group is thin (issue 25), and only then."""

from __future__ import annotations

from sklearn.linear_model import LogisticRegression

from raikit.audit import audit
from raikit.audit._render import THIN_ADVICE, summary_html, thin_groups
from raikit.datasets import load_german_credit

FEATURES = ["duration_months", "credit_amount", "age"]


def test_a_thin_group_gets_the_pointer_and_no_extra_training():
    ds = load_german_credit().replace(features=FEATURES)
    train, test = ds.split(0.3, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    report = audit(model, train=train, test=test, sections=["data_representation"], random_state=0)
    assert thin_groups(report)  # 700 training rows: some sex x age groups are too small
    page = summary_html(report)
    assert "raikit.data.augment_eval" in page and "Thin groups" in page
    assert set(report.results) == {"data.representation"}  # nothing trained for the pointer
    # without a thin-group finding there is no pointer
    report_without = report.__class__(
        **{
            **{f: getattr(report, f) for f in report.__dataclass_fields__},
            "findings": tuple(f for f in report.findings if "data.representation" not in f.title),
        }
    )
    assert not thin_groups(report_without)
    assert THIN_ADVICE not in summary_html(report_without)
