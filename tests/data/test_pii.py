"""scan_pii: planted identifiers are found, look-alike decoys are not, values never leak."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

import raikit
from raikit import Dataset
from raikit._errors import ColumnError, ParameterError
from raikit.data import reidentification_risk, scan_pii
from raikit.data._pii import _eleven_test, _luhn, _mod97, mask_value
from raikit.ledger import Ledger

N = 1500
FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas"]
LAST = ["Smith", "Jansen", "Okafor", "Garcia", "Nguyen", "Kowalski", "Rossi", "Muller"]


def _luhn_digit(body: str) -> str:
    """The check digit that makes ``body + digit`` pass Luhn (computed the textbook way)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _iban(rng, country="DE") -> str:
    bban = "".join(rng.choice(list("0123456789"), 18))
    numeric = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - numeric % 97:02d}{bban}"


def _bsn(rng) -> str:
    while True:
        body = rng.integers(0, 10, 8)
        check = int(np.dot(body, [9, 8, 7, 6, 5, 4, 3, 2]) % 11)
        if check < 10 and (body.sum() + check) > 0:
            return "".join(map(str, body)) + str(check)


def planted_table(n: int = N, seed: int = 0):
    """A table with one column of every kind of identifier and look-alike decoys.

    Returns the frame and the expected kind of every planted column (decoys are absent)."""
    rng = np.random.default_rng(seed)
    digits = lambda k: "".join(rng.choice(list("0123456789"), k))  # noqa: E731
    cards = []
    for i in range(n):
        body = ["4" + digits(14), "5" + str(rng.integers(1, 6)) + digits(13), "37" + digits(12)][
            i % 3
        ]
        cards.append(body + _luhn_digit(body))
    bad_cards = [c[:-1] + str((int(c[-1]) + 1) % 10) for c in cards]
    ibans = [_iban(rng, c) for c in rng.choice(["DE", "FR", "NL", "GB"], n)]
    bad_ibans = [i[:2] + f"{(int(i[2:4]) + 1) % 100:02d}" + i[4:] for i in ibans]
    bsns = [_bsn(rng) for _ in range(n)]
    bad_bsns = [b[:-1] + str((int(b[-1]) + 1) % 10) for b in bsns]
    area = rng.integers(1, 899, n)
    area[area == 666] = 667
    ssns = [f"{a:03d}-{rng.integers(1, 100):02d}-{rng.integers(1, 10000):04d}" for a in area]
    bad_ssns = [
        f"{a}-{rng.integers(0, 100):02d}-{rng.integers(0, 10000):04d}"
        for a in rng.choice(["000", "666", "912", "987"], n)
    ]
    prefixes = ["AB", "CE", "JK", "PR", "WX", "TY"]
    ninos = [f"{rng.choice(prefixes)}{digits(6)}{rng.choice(list('ABCD'))}" for _ in range(n)]
    phones = [
        f"+1 {rng.choice(['212', '415', '617', '312'])}-{rng.integers(200, 999)}-{digits(4)}"
        for _ in range(n)
    ]
    ips = [
        f"{rng.integers(1, 224)}.{rng.integers(0, 256)}.{rng.integers(0, 256)}.{rng.integers(1, 255)}"
        if i % 2
        else f"2001:db8:{rng.integers(0, 65535):x}::{rng.integers(1, 65535):x}"
        for i in range(n)
    ]
    born = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 60 * 365, n), unit="D")
    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)}-{i}" for i in range(n)]
    emails = [
        f"{f.lower()}.{i}@{rng.choice(['example.org', 'mail.com', 'web.de'])}"
        for i, f in enumerate(rng.choice(FIRST, n))
    ]
    notes = [
        f"Customer called about the order, reach her at {emails[i]} tomorrow"
        if i % 7 == 0
        else "Customer called about the delivery window and was happy with the answer"
        for i in range(n)
    ]
    frame = pd.DataFrame(
        {
            # planted: neutral names, the values decide
            "field_a": emails,
            "field_b": phones,
            "field_c": ibans,
            "field_d": cards,
            "field_e": ssns,
            "field_f": ninos,
            "field_g": bsns,
            "field_h": ips,
            "field_i": born,  # a datetime column spanning adult ages
            "notes": notes,
            # planted: the name decides (with values that fit)
            "date_of_birth": born.strftime("%d/%m/%Y"),
            "zip": [f"{rng.integers(1000, 99999):05d}" for _ in range(n)],
            "full_name": names,
            "home_address": [f"{rng.integers(1, 300)} {rng.choice(LAST)} Street" for _ in range(n)],
            # decoys: look-alikes that fail the checksum or the format rule
            "order_ref": bad_cards,
            "txn_code": bad_ibans,
            "batch_no": bad_bsns,
            "ticket": bad_ssns,
            "serial": [digits(10) for _ in range(n)],
            "account_code": [digits(9) for _ in range(n)],
            "card_digits16": [digits(16) for _ in range(n)],
            "sku": [f"SKU-{digits(3)}-{rng.choice(list('XYZ'))}{digits(4)}" for _ in range(n)],
            "amount": rng.gamma(2, 50, n).round(2),
            "quantity": rng.integers(1, 50, n),
            "year": rng.integers(1950, 2020, n),
            "big_id": rng.integers(10**8, 10**9, n),
            "signup_date": signup,
            "status": rng.choice(["new", "open", "closed"], n),
            "telephone": rng.random(n) < 0.5,
            "product_name": [f"Widget {digits(5)}" for _ in range(n)],
            "comment": ["Shipped in two boxes, the second arrived late"] * n,
        }
    )
    expected = {
        "field_a": "email",
        "field_b": "phone",
        "field_c": "iban",
        "field_d": "card",
        "field_e": "ssn",
        "field_f": "nino",
        "field_g": "bsn",
        "field_h": "ip_address",
        "field_i": "birth_date",
        "notes": "free_text",
        "date_of_birth": "birth_date",
        "zip": "postcode",
        "full_name": "person_name",
        "home_address": "address",
    }
    return frame, expected


@pytest.fixture(scope="module")
def planted():
    frame, expected = planted_table()
    return frame, expected, scan_pii(frame, quasi_identifiers=[], random_state=0)


def test_every_planted_column_is_found_and_no_decoy(planted):
    frame, expected, result = planted
    table = result.columns.set_index("column")
    found = table.index[table["flagged"]].tolist()
    true_positive = len(set(found) & set(expected))
    precision = true_positive / len(found)
    recall = true_positive / len(expected)
    print(
        f"\nscan_pii on the planted table: precision {precision:.3f}, recall {recall:.3f} "
        f"({len(expected)} planted, {frame.shape[1] - len(expected)} decoys)"
    )
    assert sorted(found) == sorted(expected)
    assert table.loc[list(expected), "kind"].to_dict() == expected
    assert "email" in table.loc["notes", "contains"]
    # the checksum columns: every value recognised, the share exact
    for column in ("field_c", "field_d", "field_e", "field_f", "field_g"):
        assert table.loc[column, "matched"] == N and table.loc[column, "share"] == 1.0
    assert table.loc["notes", "matched"] == pytest.approx(np.ceil(N / 7), abs=1)
    # the decoys: the checksum decoys match nothing at all
    for column in ("order_ref", "txn_code", "batch_no", "ticket"):
        assert table.loc[column, "matched"] == 0
    assert set(result.direct_identifiers) == {
        c for c, k in expected.items() if k not in ("birth_date", "postcode")
    }


def test_no_found_value_appears_in_any_output(planted, tmp_path):
    frame, expected, result = planted
    texts = [result.to_json(), result.to_html(), result.summary, repr(result.findings)]
    texts.append(result.columns.to_csv())
    path = tmp_path / "planted.csv"
    frame.head(300).to_csv(path, index=False)
    from tests._cli import run

    cli = run("data", "scan", str(path), "--out", str(tmp_path / "out"))
    assert cli.returncode == 1, cli.stderr
    texts += [cli.stdout, cli.stderr]
    texts += [p.read_text() for p in (tmp_path / "out").iterdir()]
    blob = "\n".join(texts)
    for column in expected:
        values = frame[column].astype(str)
        if column == "notes":  # the identifiers inside the text
            values = values.str.extract(r"(\S+@\S+)", expand=False).dropna()
        for value in values.head(300):
            # five-digit postcodes occur by chance in the inlined plotly.js: compare longer values
            assert len(value) < 8 or value not in blob, (column, value)
    assert "**** **** **** " in blob and "@" in blob


def test_scan_of_clean_data_exits_zero_and_says_the_exit_codes(tmp_path):
    from tests._cli import run

    path = tmp_path / "clean.csv"
    pd.DataFrame({"age": [30, 41, 52] * 10, "amount": np.arange(30.0)}).to_csv(path, index=False)
    cli = run("data", "scan", str(path), "--quasi-identifiers", "age", "--out", str(tmp_path))
    assert cli.returncode == 0, cli.stderr
    assert "over age (given)" in " ".join(cli.stdout.split())
    helptext = " ".join(run("data", "scan", "--help").stdout.split())
    assert "Exit codes: 0" in helptext and "1 direct identifiers found" in helptext
    bad = run("data", "scan", str(path), "--quasi-identifiers", "nope", "--out", str(tmp_path))
    assert bad.returncode == 2 and "nope" in bad.stderr


@pytest.mark.parametrize(
    "number, ok",
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("0000000000000000", True),
        ("378282246310005", True),
    ],
)
def test_luhn_matches_known_numbers(number, ok):
    assert bool(_luhn(pd.Series([number]).astype("str"))[0]) is ok


def test_mod97_and_eleven_test_match_python_integers():
    rng = np.random.default_rng(1)
    ibans = [_iban(rng, c) for c in ("DE", "NL", "FR", "GB", "BE")] + ["GB82WEST12345698765432"]
    bad = [i[:-1] + str((int(i[-1]) + 3) % 10) for i in ibans]
    assert _mod97(pd.Series(ibans + bad).astype("str")).tolist() == [True] * 6 + [False] * 6
    numbers = [f"{x:09d}" for x in rng.integers(0, 10**9, 500)]
    by_hand = [
        sum(w * int(d) for w, d in zip([9, 8, 7, 6, 5, 4, 3, 2, -1], s, strict=True)) % 11 == 0
        and s != "000000000"
        for s in numbers
    ]
    assert _eleven_test(pd.Series(numbers).astype("str")).tolist() == by_hand


def test_reidentification_matches_counting_by_hand():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "age": rng.integers(20, 30, 400),
            "sex": rng.choice(["F", "M"], 400),
            "zip": rng.choice(["1011", "1012", "2000", None], 400),
            "diagnosis": rng.choice(["a", "b", "c"], 400, p=[0.8, 0.15, 0.05]),
        }
    )
    keys = list(zip(frame["age"], frame["sex"], frame["zip"].fillna("<NA>"), strict=True))
    size = Counter(keys)
    kinds = {}
    for key, diag in zip(keys, frame["diagnosis"], strict=True):
        kinds.setdefault(key, set()).add(diag)
    risk = reidentification_risk(
        frame, ["age", "sex", "zip"], confidential=["diagnosis"], k_anonymity=4, l_diversity=2
    ).set_index("measure")
    assert risk.loc["uniqueness", "rows_at_risk"] == sum(size[k] == 1 for k in keys)
    assert risk.loc["k_anonymity", "value"] == min(size.values())
    assert risk.loc["k_anonymity", "rows_at_risk"] == sum(size[k] < 4 for k in keys)
    assert risk.loc["l_diversity", "rows_at_risk"] == sum(len(kinds[k]) < 2 for k in keys)
    assert risk.loc["l_diversity", "value"] == min(len(v) for v in kinds.values())
    assert risk.loc["k_anonymity", "classes"] == len(size)


def test_quasi_identifiers_are_never_chosen_silently():
    frame = pd.DataFrame(
        {"age": [30, 30, 41, 41], "gender": ["F", "F", "M", "F"], "income": [1, 0, 1, 1]}
    )
    ds = Dataset(frame, target="income", sensitive="gender")
    result = scan_pii(ds, random_state=0)
    assert result.meta["quasi_identifiers"] == ["age", "gender"]
    assert result.meta["confidential"] == ["income"]
    assert "suggested" in result.meta["quasi_source"]
    assert any(f.title == "Quasi-identifiers chosen by their column names" for f in result.findings)
    assert "over age, gender" in result.summary
    given = scan_pii(ds, quasi_identifiers=["age"], random_state=0)
    assert given.meta["quasi_source"] == "given" and not any(
        "chosen by" in f.title for f in given.findings
    )
    risk = given.risk.set_index("measure")
    assert risk.loc["k_anonymity", "value"] == 2 and risk.loc["l_diversity", "value"] == 1


def test_bad_parameters_and_columns():
    frame = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(ParameterError, match=r"scan_pii\(\).*min_share"):
        scan_pii(frame, min_share=1.5)
    with pytest.raises(ParameterError, match=r"scan_pii\(\).*k_anonymity"):
        scan_pii(frame, k_anonymity=0)
    with pytest.raises(ColumnError, match="quasi_identifiers names column"):
        scan_pii(frame, quasi_identifiers=["b"])
    with pytest.raises(ParameterError, match="DataFrame"):
        scan_pii([1, 2, 3])


def test_track_records_one_row(tmp_path):
    frame = pd.DataFrame({"email": ["a@b.org", "c@d.org"], "age": [1, 2]})
    ledger = Ledger(tmp_path / "ledger")
    with raikit.track("scan", ledger=ledger) as run:
        scan_pii(frame, min_share=0.5, random_state=0)
        scan_pii(Dataset(frame, target=None, sensitive="age"), random_state=1)
    evidence = ledger.evidence(run=run.id)
    assert evidence["check_name"].tolist() == ["data.scan_pii", "data.scan_pii"]
    params = json.loads(evidence["params"].iloc[0])
    assert params["min_share"] == 0.5 and params["random_state"] == 0


def test_masks_keep_the_kind_not_the_value():
    assert mask_value("jane.doe@example.com", "email") == "j***@e***.com"
    assert mask_value("4111 1111 1111 1234", "card") == "**** **** **** 1234"
    assert mask_value("123-45-6789", "ssn") == "***-**-**89"
    assert mask_value("192.168.10.20", "ip_address") == "192.*.*.*"
    assert mask_value("1985-03-12", "birth_date") == "19**-**-**"


def test_script_in_column_names_is_escaped():
    frame = pd.DataFrame({"<script>alert(1)</script>": ["x@y.org", "z@w.net"]})
    page = scan_pii(frame, random_state=0).to_html()
    assert "<script>alert(1)" not in page


def test_audit_section_scans_train_and_test_of_german_credit():
    from sklearn.linear_model import LogisticRegression

    from raikit.audit import audit
    from raikit.datasets import load_german_credit

    ds = load_german_credit().replace(features=["duration_months", "credit_amount", "age"])
    train, test = ds.split(0.3, random_state=0)
    # a leaked contact column in the training table only (not a feature)
    rng = np.random.default_rng(0)
    contact = [f"client{i}@bank{rng.integers(9)}.de" for i in range(train.n_rows)]
    train = train.replace(train.frame.assign(contact=contact), features=list(train.feature_names))
    model = LogisticRegression(max_iter=1000).fit(train.X, train.y)
    report = audit(model, train=train, test=test, sections=["sensitive_data"], random_state=0)
    scanned, tested = report.results["data.scan_pii"], report.results["data.scan_pii.test"]
    assert scanned.direct_identifiers == ["contact"] and tested.direct_identifiers == []
    card = report.scorecard.set_index("principle")
    assert card.loc["privacy", "status"] == "fail"
    assert "contact" in card.loc["privacy", "reason"]
    # the risk is the one reidentification_risk computes over the columns the result names
    quasi = scanned.meta["quasi_identifiers"]
    assert quasi == ["age", "sex", "age_group"]
    direct = reidentification_risk(train.frame, quasi, confidential=["credit"])
    pd.testing.assert_frame_equal(scanned.risk, direct)
    page = report.to_html()
    assert "Personal data in the training table" in page
    assert not any(c in page for c in contact[:50])


def test_datasheet_answers_identifiable_from_the_scan():
    from raikit.data import datasheet

    frame, expected = planted_table(n=300)
    frame["sex"] = np.resize(["F", "M"], 300)
    ds = Dataset(frame, target=None, sensitive="sex")
    sheet = datasheet(ds, random_state=0)
    answer = sheet.questions.set_index("id").loc["composition.identifiable"]
    assert answer["source"] == "evidence"
    assert "field_d (card, 100% of values)" in answer["evidence"]
    assert "Quasi-identifier columns found: field_i (birth_date)" in answer["evidence"]
    errors = [f.title for f in sheet.findings if f.severity == "error"]
    assert len(errors) == len(expected) - 3  # two birth dates and the postcode are warnings
    assert not any(v in sheet.to_json() for v in frame["field_d"])
    assert "scan_pii" in sheet.meta["evidence"]


def test_awkward_tables():
    with pytest.raises(ColumnError, match="duplicated column names"):
        scan_pii(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    empty = scan_pii(pd.DataFrame({"email": pd.Series([], dtype=str)}), random_state=0)
    assert empty.direct_identifiers == [] and len(empty.risk) == 0
    born = pd.to_datetime(["1950-03-01", "1971-07-12", "1990-01-30", None]).tz_localize("UTC")
    frame = pd.DataFrame({"DOB": born, 0: ["a@b.org", "c@d.org", None, "e@f.org"]})
    result = scan_pii(frame, quasi_identifiers=[], random_state=0).columns.set_index("column")
    assert result.loc["DOB", "kind"] == "birth_date" and result.loc["DOB", "matched"] == 3
    assert result.loc["0", "kind"] == "email" and result.loc["0", "share"] == 1.0


def test_numbers_in_columns_named_for_them():
    rng = np.random.default_rng(5)
    area = rng.integers(1, 600, 200)
    ssn = area * 1_000_000 + rng.integers(1, 100, 200) * 10_000 + rng.integers(1, 10_000, 200)
    frame = pd.DataFrame(
        {
            "SSN": ssn,  # integers: leading zeros lost, no dashes
            "serial_no": ssn,  # the same numbers under a neutral name are not SSNs
            "phone_number": rng.integers(2_012_000_000, 2_019_999_999, 200),
        }
    )
    table = scan_pii(frame, quasi_identifiers=[], random_state=0).columns.set_index("column")
    assert table.loc["SSN", "kind"] == "ssn" and table.loc["SSN", "share"] == 1.0
    assert table.loc["SSN", "via"] == "values+name"
    assert table.loc["serial_no", "kind"] != "ssn"
    assert table.loc["phone_number", "kind"] == "phone"


def test_on_a_lazy_table_the_risk_counts_every_row_and_the_recognisers_a_sample(
    tmp_path, monkeypatch
):
    import raikit.dataset

    rng = np.random.default_rng(11)
    n = 4000
    frame = pd.DataFrame(
        {
            "email": [f"user{i}@example.org" for i in range(n)],
            "age": rng.integers(18, 90, n).astype(float),
            "sex": rng.choice(["F", "M", None], n),  # missing: a class value of its own
            "zip_code": rng.choice(["10001", "94105", "60601", "02139"], n),
            "note": rng.choice(["x", "y"], n),
            "diagnosis": rng.choice(["a", "b", None], n, p=[0.7, 0.2, 0.1]),
        }
    )
    frame.loc[::7, "age"] = np.nan
    frame.to_parquet(tmp_path / "people.parquet")
    kw = {"target": "diagnosis", "sensitive": "note"}
    in_memory = scan_pii(Dataset(frame, **kw), sample_size=1000, random_state=0)
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 1000)  # a full load would raise
    lazy_ds = Dataset(str(tmp_path / "people.parquet"), lazy=True, **kw)
    lazy = scan_pii(lazy_ds, sample_size=1000, random_state=0)
    pd.testing.assert_frame_equal(in_memory.risk, lazy.risk)  # exact: every row
    assert lazy.risk.set_index("measure").loc["l_diversity", "rows_at_risk"] > 0
    columns = [c.set_index("column") for c in (in_memory.columns, lazy.columns)]
    assert columns[0]["flagged"].equals(columns[1]["flagged"])
    assert columns[0]["kind"].equals(columns[1]["kind"])
    # checked: non-missing values of every row; matched: the sample's share of them
    assert columns[1].loc["sex", "checked"] == frame["sex"].notna().sum()
    assert columns[1].loc["email", ["checked", "matched"]].tolist() == [n, n]
    assert lazy.meta["sampling"] == {"sampled": 1000, "population": n}
    assert "a sample of 1,000 of 4,000 rows drawn where the rows live" in lazy.summary
    assert in_memory.meta["sampling"] is None
    risk = reidentification_risk(lazy_ds, ["age", "sex"], confidential=["diagnosis"])
    expected = reidentification_risk(frame, ["age", "sex"], confidential=["diagnosis"])
    pd.testing.assert_frame_equal(risk, expected)


def test_the_audit_section_on_lazy_tables_scans_the_data_not_the_predictions(tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    import raikit.dataset
    from raikit.audit import audit

    rng = np.random.default_rng(12)
    frames = []
    for n in (6000, 5500):  # above the limit below: a full load would raise
        frame = pd.DataFrame(
            {
                "age": rng.integers(18, 90, n),
                "sex": rng.choice(["F", "M"], n),
                "x": rng.normal(size=n),
            }
        )
        frame["y"] = (frame["x"] + rng.normal(size=n) > 0).astype(int)
        frames.append(frame)
    model = LogisticRegression().fit(frames[0][["age", "x"]], frames[0]["y"])
    kw = {"target": "y", "sensitive": "sex", "features": ["age", "x"]}
    in_memory = audit(
        model,
        train=Dataset(frames[0], **kw),
        test=Dataset(frames[1], **kw),
        sections=["sensitive_data"],
        random_state=0,
    )
    for frame, name in zip(frames, ("train", "test"), strict=True):
        frame.to_parquet(tmp_path / f"{name}.parquet")
    monkeypatch.setattr(raikit.dataset, "MATERIALIZE_LIMIT", 5000)
    lazy = audit(
        model,
        train=Dataset(str(tmp_path / "train.parquet"), lazy=True, **kw),
        test=Dataset(str(tmp_path / "test.parquet"), lazy=True, **kw),
        sections=["sensitive_data"],
        random_state=0,
    )
    for key in ("data.scan_pii", "data.scan_pii.test"):
        found, expected = lazy.results[key], in_memory.results[key]
        pd.testing.assert_frame_equal(found.risk, expected.risk)
        assert found.columns["column"].tolist() == expected.columns["column"].tolist()
        assert found.meta["sampling"]["population"] in (6000, 5500)
