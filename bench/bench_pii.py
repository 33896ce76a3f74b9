"""Personal-data scan of 1,000,000 rows: raikit ``scan_pii`` vs a per-value Python loop with ``re``.

Run: ``python bench/bench_pii.py [--rows N] [--peer-rows N]``

The table has eight columns of 1M rows: e-mails, payment cards, IBANs, US SSNs, phone numbers,
IPv4 addresses, product codes and amounts (plus age, sex and a ZIP code for the
re-identification measures).

The peer is what one writes without thinking about speed: for every value of every column, try
each compiled ``re`` pattern and, on a match, its checksum in plain Python (Luhn, ``int() % 97``,
the SSN rules) or ``phonenumbers`` for phone candidates. It is timed on ``--peer-rows`` rows
(default: all) and scaled linearly to the full table when fewer.

Two comparisons are printed side by side with their ratio:

1. the whole scan: raikit's default (a 10,000-value sample per column, every flagged column
   confirmed on all its values) against the loop over every value;
2. one recogniser at a time on a full 1M column (both read every value): the vectorised
   recogniser against the loop, which isolates vectorisation from sampling.

Presidio (``presidio-analyzer``) is timed too when it is importable: its pattern recognisers
(credit card, IBAN, US SSN, IP, e-mail) score one string at a time; they run on 20,000 values per
column and the time is scaled to the full table. It is not a raikit dependency: its e-mail
recogniser fetches the public-suffix list from the internet at run time (see
``raikit.data._pii``'s description).

Times are CPU seconds of this process (``time.process_time``: the machine is shared, and wall
time there measures the neighbours); wall seconds are printed beside them.

Measured precision and recall are in ``tests/data/test_pii.py`` (planted identifiers and decoys).
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np
import pandas as pd

from raikit.data import scan_pii
from raikit.data._pii import _RECOGNISERS


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def _valid_cards(rng, n: int) -> list[str]:
    cards = []
    while len(cards) < n:
        body = "4" + "".join(map(str, rng.integers(0, 10, 14)))
        for check in "0123456789":
            if _luhn_ok(body + check):
                cards.append(body + check)
                break
    return cards


def _valid_ibans(rng, n: int) -> list[str]:
    out = []
    for _ in range(n):
        bban = "".join(map(str, rng.integers(0, 10, 18)))
        numeric = int("".join(str(int(c, 36)) for c in bban + "DE00"))
        out.append(f"DE{98 - numeric % 97:02d}{bban}")
    return out


def make_data(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """Eight columns to scan plus three quasi-identifiers; identifiers drawn from pools of
    20,000 valid values (regex and checksum costs do not depend on uniqueness)."""
    rng = np.random.default_rng(seed)
    pool = 20_000
    pick = rng.integers(0, pool, n_rows)
    ids = pd.Series(np.arange(n_rows)).astype(str)
    ssn_pool = [
        f"{a:03d}-{g:02d}-{s:04d}"
        for a, g, s in zip(
            rng.integers(1, 666, pool),
            rng.integers(1, 100, pool),
            rng.integers(1, 10_000, pool),
            strict=True,
        )
    ]
    phone_pool = [
        f"+1 {a}-{e}-{s:04d}"
        for a, e, s in zip(
            rng.choice([212, 415, 617, 312], pool),
            rng.integers(200, 999, pool),
            rng.integers(0, 10_000, pool),
            strict=True,
        )
    ]
    octets = rng.integers(1, 255, (n_rows, 4)).astype(str)
    return pd.DataFrame(
        {
            "contact": "user" + ids + "@example.org",
            "card": np.array(_valid_cards(rng, pool))[pick],
            "iban": np.array(_valid_ibans(rng, pool))[pick],
            "ssn": np.array(ssn_pool)[pick],
            "phone": np.array(phone_pool)[rng.integers(0, pool, n_rows)],
            "ip": pd.Series(octets[:, 0])
            + "."
            + octets[:, 1]
            + "."
            + octets[:, 2]
            + "."
            + octets[:, 3],
            "sku": "SKU-" + pd.Series(rng.integers(0, 10**6, n_rows)).astype(str),
            "amount": rng.gamma(2, 50, n_rows).round(2),
            "age": rng.integers(18, 90, n_rows),
            "sex": rng.choice(["F", "M"], n_rows),
            "zip": pd.Series(rng.integers(10_000, 99_999, n_rows)).astype(str),
        }
    ).astype({c: "str" for c in ("contact", "card", "iban", "ssn", "phone", "ip", "sku", "zip")})


# --------------------------------------------------------------------------- the peer
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}")
_CARD = re.compile(r"\d{13,19}")
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_SSN = re.compile(r"(\d{3})-(\d{2})-(\d{4})")
_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
_PHONE = re.compile(r"\+?[\d\s().\-/]{7,24}")


def _peer_value(value: str, phone_ok) -> str:
    """The kind of one value, the obvious way."""
    if _EMAIL.fullmatch(value):
        return "email"
    compact = value.replace(" ", "").replace("-", "")
    if _CARD.fullmatch(compact) and _luhn_ok(compact):
        return "card"
    if _IBAN.fullmatch(compact):
        moved = compact[4:] + compact[:4]
        if int("".join(str(int(c, 36)) for c in moved)) % 97 == 1:
            return "iban"
    m = _SSN.fullmatch(value)
    if m and m[1] not in ("000", "666") and m[1][0] != "9" and m[2] != "00" and m[3] != "0000":
        return "ssn"
    m = _IPV4.fullmatch(value)
    if m and all(int(g) <= 255 for g in m.groups()):
        return "ip_address"
    if _PHONE.fullmatch(value) and phone_ok(value):
        return "phone"
    return ""


def peer_scan(frame: pd.DataFrame) -> dict[str, float]:
    """Share of each column's values of its most common kind (a per-value loop)."""
    import phonenumbers

    def phone_ok(text):
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(text, "US"))
        except phonenumbers.NumberParseException:
            return False

    shares = {}
    for column in frame.columns:
        kinds: dict[str, int] = {}
        for value in frame[column].astype(str).tolist():
            kind = _peer_value(value, phone_ok)
            kinds[kind] = kinds.get(kind, 0) + 1
        best = max((k for k in kinds if k), key=kinds.get, default="")
        shares[column] = kinds.get(best, 0) / len(frame) if best else 0.0
    return shares


def presidio_seconds(frame: pd.DataFrame, n: int) -> float | None:
    """Presidio's pattern recognisers on ``n`` values per column, scaled to the table."""
    try:
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
            UsSsnRecognizer,
        )
    except ImportError:
        return None
    recognisers = [
        (r(), r().supported_entities)
        for r in (
            CreditCardRecognizer,
            EmailRecognizer,
            IbanRecognizer,
            IpRecognizer,
            UsSsnRecognizer,
        )
    ]
    recognisers[1][0].analyze("warm@up.org", recognisers[1][1], None)  # its one network try
    start = time.process_time()
    for column in frame.columns:
        for value in frame[column].astype(str).head(n).tolist():
            for recogniser, entities in recognisers:
                recogniser.analyze(value, entities, None)
    return (time.process_time() - start) * len(frame) / min(n, len(frame))


def _per_recogniser(frame: pd.DataFrame) -> pd.DataFrame:
    """One recogniser on its full column: vectorised vs the per-value loop."""
    rows = []
    for column, kind in [
        ("contact", "email"),
        ("card", "card"),
        ("iban", "iban"),
        ("ssn", "ssn"),
        ("ip", "ip_address"),
    ]:
        values = frame[column]
        start = time.process_time()
        mask, _ = _RECOGNISERS[kind](values, False)
        vectorised = time.process_time() - start
        start = time.process_time()
        loop = [_peer_value(v, lambda _: False) for v in values.tolist()]
        looped = time.process_time() - start
        assert int(mask.sum()) == sum(k == kind for k in loop) == len(values), kind
        rows.append((kind, vectorised, looped, looped / vectorised))
    return pd.DataFrame(rows, columns=["recogniser", "raikit_cpu_s", "loop_cpu_s", "ratio"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--peer-rows", type=int, default=None)
    parser.add_argument("--presidio-rows", type=int, default=20_000)
    args = parser.parse_args()
    frame = make_data(args.rows)
    scanned = frame.drop(columns=["age", "sex", "zip"])
    print(f"{args.rows:,} rows x {scanned.shape[1]} scanned columns")

    start, wall = time.process_time(), time.perf_counter()
    result = scan_pii(frame, quasi_identifiers=["age", "sex", "zip"], random_state=0)
    raikit_s, raikit_wall = time.process_time() - start, time.perf_counter() - wall
    table = result.columns.set_index("column")
    print(table[["kind", "share"]].to_string())

    peer_rows = args.peer_rows or args.rows
    start, wall = time.process_time(), time.perf_counter()
    shares = peer_scan(scanned.head(peer_rows))
    peer_s = (time.process_time() - start) * args.rows / peer_rows
    peer_wall = (time.perf_counter() - wall) * args.rows / peer_rows
    for column, share in shares.items():  # the two approaches agree on what they find
        assert abs(share - np.nan_to_num(table.loc[column, "share"])) < 0.01, column
    presidio_s = presidio_seconds(scanned, args.presidio_rows)

    print("\nWhole scan (raikit: sample + full-column confirmation, risk measures included)")
    print(f"  raikit scan_pii          {raikit_s:8.2f} s CPU ({raikit_wall:.2f} s wall)")
    scaled = "" if peer_rows == args.rows else f" (timed on {peer_rows:,} rows, scaled)"
    print(
        f"  per-value re loop        {peer_s:8.2f} s CPU ({peer_wall:.2f} s wall)   ratio "
        f"{peer_s / raikit_s:6.1f}x{scaled}"
    )
    if presidio_s is None:
        print("  Presidio                 not installed")
    else:
        print(
            f"  Presidio recognisers     {presidio_s:8.2f} s CPU   ratio "
            f"{presidio_s / raikit_s:6.1f}x (timed on {args.presidio_rows:,} values per "
            "column, scaled)"
        )
    print("\nOne recogniser on a full column (both read every value)")
    print(_per_recogniser(frame).to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
