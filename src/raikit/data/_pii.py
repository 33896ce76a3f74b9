"""``scan_pii``: personal data in a table, and how easily its rows can be re-identified.

**Direct identifiers, column by column.** Each column's non-missing values are read as text and
tested by recognisers of one kind of personal data each:

============== ======================================================================= ========
kind           rule                                                                    category
============== ======================================================================= ========
email          ``local@domain.tld``                                                    direct
phone          digits with separators or a leading ``+`` (bare digits only in a column direct
               named like a phone), valid for its country by ``phonenumbers``
iban           country code, check digits, 11-30 characters; ISO 13616 mod-97 = 1      direct
card           13-19 digits, a known issuer prefix and length (Visa, Mastercard, Amex, direct
               Discover, JCB, Diners), Luhn checksum
ssn            US SSN ``AAA-GG-SSSS``: area not 000, 666 or 9xx, group not 00, serial  direct
               not 0000 (bare nine digits only in a column named like an SSN)
nino           UK National Insurance number: two prefix letters (not D, F, I, Q, U, V; direct
               second not O; not BG, GB, NK, KN, TN, NT, ZZ), six digits, suffix A-D
bsn            Dutch citizen service number: nine digits passing the 11-test           direct
ip_address     IPv4 or IPv6, confirmed by the standard library's ``ipaddress``         direct
birth_date     dates between 1900 and today in a column named like a birth date, or    quasi
               whose dates span adult ages (median age 18-90, interquartile range of
               at least ten years)
postcode       postcode formats (US ZIP, UK, generic), only in a column named like one quasi
free_text      longer text containing an e-mail, card, IBAN, SSN, IPv4 or phone       direct
person_name,   a column named like a name or an address whose values are text and     direct
address        mostly distinct (the values cannot be verified: the name decides)
============== ======================================================================= ========

A column is flagged when the share of its non-missing values a recogniser accepts is at least
``min_share`` (free text: when any value contains an identifier). The checksums (mod-97, Luhn,
11-test) are what keep look-alikes out: a random number passes Luhn one time in ten and the
11-test one time in eleven, far below that share. The recognisers run vectorised (pandas
string methods; checksums on a digit matrix) on a uniform sample of at most ``sample_size``
values per column; a column they flag is then confirmed on all of its values (its share is over
every non-missing value). Two recognisers end in a per-value library call (``phonenumbers``, and
``ipaddress``): that call confirms at most 500 candidates of the sample, and the full column's
share is its candidate share times that validation rate.

Why not Presidio: ``presidio-analyzer`` installs without changing an installed package (it adds
spaCy and seventeen others), but its e-mail and URL recognisers call ``tldextract``, which fetches
the public-suffix list from the internet at run time, and its analyzer engine needs a spaCy
language model that is not on PyPI.
Its recognisers also score one string at a time (the benchmark ``bench/bench_pii.py`` measures
them); the recognisers here are vectorised over a column.

**Re-identification risk.** Over the quasi-identifier columns (``quasi_identifiers``; when not
given, the columns whose names suggest one, such as age, sex, race, postcode, date of birth, and
the result says which were used), the rows fall into equivalence classes of identical values
(exact values: bin a numeric column first to measure a generalised release):

- uniqueness: rows alone in their class (identified by the quasi-identifiers alone);
- k-anonymity: the smallest class, and the rows in classes of fewer than ``k`` rows;
- l-diversity of each confidential column (``confidential``; default the Dataset's target): the
  fewest distinct values in a class, and the rows in classes with fewer than ``l`` distinct
  values (whose confidential value an attacker who knows the quasi-identifiers can narrow down).

Reports never contain a value found: only masked examples (``j***@e***.com``,
``**** **** **** 1234``).

**Lazy Datasets** (Parquet/CSV read by DuckDB, Spark DataFrames) are never loaded: the recognisers
read a uniform sample of ``sample_size`` rows drawn where the rows live (``checked`` is then
every row's non-missing count, from one aggregate, and ``matched`` the sample's share of it;
``meta["sampling"]`` and the summary say so), and the re-identification risk is exact, from one
``GROUP BY`` of the quasi-identifiers over every row (the class sizes and distinct confidential
values, summed over the classes where the rows live).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raikit._errors import ColumnError, ParameterError
from raikit._recording import recorded
from raikit._result import Finding, Result
from raikit._validation import RANDOM_STATE, Interval, rng_from, validate_params

__all__ = [
    "PIIScanResult",
    "mask_value",
    "name_hint",
    "reidentification_risk",
    "scan_pii",
    "suggest_quasi_identifiers",
]

DIRECT = ("email", "phone", "iban", "card", "ssn", "nino", "bsn", "ip_address", "free_text")
DIRECT += ("person_name", "address")
QUASI = ("birth_date", "postcode")
_LABELS = {
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "iban": "IBANs",
    "card": "payment card numbers",
    "ssn": "US social security numbers",
    "nino": "UK National Insurance numbers",
    "bsn": "Dutch citizen service numbers (BSN)",
    "ip_address": "IP addresses",
    "birth_date": "dates of birth",
    "postcode": "postcodes",
    "free_text": "free text containing identifiers",
    "person_name": "names of people",
    "address": "addresses",
}
_N_EXAMPLES = 3
_MIN_TEXT_LENGTH = 20  # mean length from which a text column is read as free text
_MAX_VALIDATED = 500  # candidates per column a per-value validator confirms (sets the rate)

# --------------------------------------------------------------------------- column names
_NAME_HINTS = {  # kind -> tokens (or whole names without separators) that suggest it
    "email": {"email", "mail", "emailaddress", "emailadres"},
    "ip_address": {"ip", "ipaddress", "ipv4", "ipv6", "ipaddr"},
    "phone": {"phone", "telephone", "tel", "mobile", "cell", "cellphone", "phonenumber", "fax"},
    "iban": {"iban"},
    "card": {"card", "cc", "pan", "creditcard", "cardnumber", "ccnumber", "ccnum"},
    "ssn": {"ssn", "socialsecurity", "socialsecuritynumber"},
    "nino": {"nino", "nationalinsurance", "nationalinsurancenumber", "ni"},
    "bsn": {"bsn", "burgerservicenummer", "sofinummer"},
    "birth_date": {"dob", "birth", "birthdate", "birthday", "dateofbirth", "born"},
    "postcode": {"zip", "zipcode", "postcode", "postal", "postalcode", "plz", "postleitzahl"},
    "address": {"address", "street", "streetaddress", "addr", "homeaddress", "adres"},
    "person_name": {
        "name",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "forename",
        "givenname",
        "familyname",
        "username",
        "maidenname",
        "patient",
        "customer",
    },
}
_NOT_PERSON = {  # a "name" of one of these is not a person's name
    "product",
    "company",
    "file",
    "brand",
    "item",
    "category",
    "class",
    "model",
    "host",
    "server",
    "domain",
    "city",
    "country",
    "feature",
    "column",
    "table",
    "business",
    "store",
    "shop",
    "team",
    "org",
    "organization",
    "organisation",
    "dataset",
    "app",
    "device",
    "drug",
    "school",
    "project",
    "event",
    "street",
    "region",
    "state",
    "town",
    "bank",
    "account",
    "id",
}
_QUASI_HINTS = {
    "age",
    "sex",
    "gender",
    "race",
    "ethnicity",
    "ethnic",
    "zip",
    "zipcode",
    "postcode",
    "postal",
    "postalcode",
    "plz",
    "dob",
    "birth",
    "birthdate",
    "dateofbirth",
    "birthday",
    "marital",
    "nationality",
    "religion",
    "native",
    "occupation",
}


def _tokens(name: str) -> tuple[set[str], str]:
    """Lower-case word tokens of a column name (snake, kebab or camel case) and its letters
    joined without separators."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name)).lower()
    tokens = {t for t in re.split(r"[^a-z0-9]+", spaced) if t}
    return tokens, "".join(sorted(tokens, key=spaced.find))


def name_hint(name: str) -> str:
    """The kind of personal data a column's name suggests ('' when none).

    Examples
    --------
    >>> [name_hint(n) for n in ["E-mail", "dateOfBirth", "product_name", "zip", "telephone"]]
    ['email', 'birth_date', '', 'postcode', 'phone']
    """
    tokens, joined = _tokens(name)
    for kind, hints in _NAME_HINTS.items():
        if tokens & hints or joined in hints:
            if kind == "person_name" and tokens & _NOT_PERSON:
                continue
            if kind == "address" and tokens & {"ip", "email", "mail", "mac", "web"}:
                continue
            return kind
        if any(len(h) >= 8 and h in joined for h in hints) and kind != "person_name":
            return kind
    return ""


def suggest_quasi_identifiers(columns) -> list[str]:
    """Columns whose names suggest a quasi-identifier (age, sex, race, postcode, date of birth,
    marital status, nationality, occupation...), in their order.

    A suggestion to review, not a decision: :func:`scan_pii` uses it only when
    ``quasi_identifiers`` is not given, and says so. Only the names are read, never the values.

    Parameters
    ----------
    columns : iterable of str
        Column names (snake, kebab or camel case), e.g. a DataFrame's ``columns``.

    Returns
    -------
    list of str
        The names that suggest a quasi-identifier, in the order given.

    See Also
    --------
    raikit.data.scan_pii : finds personal data in the values and measures the risk.
    raikit.data.reidentification_risk : the risk over the quasi-identifiers you choose.

    Examples
    --------
    >>> from raikit.data import suggest_quasi_identifiers
    >>> suggest_quasi_identifiers(["age", "income", "Sex", "zip_code", "native_country"])
    ['age', 'Sex', 'zip_code', 'native_country']
    """
    out = []
    for column in columns:
        tokens, joined = _tokens(column)
        if tokens & _QUASI_HINTS or joined in _QUASI_HINTS:
            out.append(column)
    return out


# --------------------------------------------------------------------------- checksums
def _digit_matrix(digits: pd.Series, width: int) -> np.ndarray:
    """Digit strings (only 0-9, at most ``width`` long) as a right-aligned uint8 matrix with
    zeros on the left; one C-level join, no loop over rows."""
    if not len(digits):
        return np.zeros((0, width), dtype=np.uint8)
    text = "".join(digits.str.zfill(width).tolist()).encode("ascii")
    return np.frombuffer(text, dtype=np.uint8).reshape(-1, width) - np.uint8(48)


def _luhn(digits: pd.Series) -> np.ndarray:
    """Luhn checksum valid, per digit string (right-aligned: left zeros do not count)."""
    m = _digit_matrix(digits, 19)
    doubled = m[:, -2::-2] * np.uint8(2)  # at most 18: uint8 arithmetic is exact
    doubled -= np.uint8(9) * (doubled > 9)
    total = m[:, ::-2].sum(axis=1, dtype=np.int32) + doubled.sum(axis=1, dtype=np.int32)
    return total % 10 == 0


def _mod97(text: pd.Series) -> np.ndarray:
    """ISO 7064 mod 97-10 of IBANs (upper case, no spaces): the first four characters moved
    to the end, letters as 10-35; valid when the remainder is 1. Loops over the (at most 34)
    character positions, never over rows."""
    if not len(text):
        return np.zeros(0, dtype=bool)
    moved = text.str[4:] + text.str[:4]
    width = int(moved.str.len().max())
    codes = np.frombuffer(
        "".join(moved.str.pad(width, side="left", fillchar="\0").tolist()).encode("ascii"),
        dtype=np.uint8,
    ).reshape(-1, width)
    remainder = np.zeros(len(moved), dtype=np.int64)
    for j in range(width):
        c = codes[:, j].astype(np.int64)
        digit = (c >= 48) & (c <= 57)
        letter = (c >= 65) & (c <= 90)
        remainder = np.where(digit, (remainder * 10 + c - 48) % 97, remainder)
        remainder = np.where(letter, (remainder * 100 + c - 55) % 97, remainder)
    return remainder == 1


def _eleven_test(digits: pd.Series) -> np.ndarray:
    """Dutch BSN 11-test on nine-digit strings: 9*d1 + 8*d2 + ... + 2*d8 - d9 divisible by 11."""
    m = _digit_matrix(digits, 9).astype(np.int32)
    weights = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int32)
    return ((m @ weights) % 11 == 0) & (m.sum(axis=1) > 0)


# --------------------------------------------------------------------------- recognisers
# Each recogniser maps stripped string values to (candidate mask, validator or None): the mask is
# vectorised and final unless a validator (one Python call per value) has to confirm it.
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,24}"
_CARD_PREFIX = (
    r"(?:4\d{12}(?:\d{3}|\d{6})?|5[1-5]\d{14}|2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)"
    r"\d{12}|3[47]\d{13}|6(?:011|5\d\d|4[4-9]\d)\d{12,15}|35(?:2[89]|[3-8]\d)\d{12,15}"
    r"|3(?:0[0-5]|[689]\d)\d{11,16})"
)
_NINO = r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]"
_NINO_EXCLUDED = ["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"]
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_DATE = r"\d{4}-\d{1,2}-\d{1,2}(?:[T ][\d:.]+)?|\d{1,2}[/.]\d{1,2}[/.]\d{4}|\d{4}/\d{1,2}/\d{1,2}"


def _email(values: pd.Series, relaxed: bool):
    return values.str.fullmatch(_EMAIL).to_numpy(bool), None


def _phone_validator(region: str | None):
    import phonenumbers

    def valid(text: str) -> bool:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return False
        return phonenumbers.is_valid_number(number)

    return valid


def _phone(values: pd.Series, relaxed: bool, region: str | None = None):
    shaped = values.str.fullmatch(r"\+?[0-9 ().\-/]{7,24}").to_numpy(bool)
    n_digits = values.str.count(r"\d").to_numpy()
    formatted = values.str.contains(r"^\+|[0-9][ ().\-/]+[0-9]", regex=True).to_numpy(bool)
    mask = shaped & (n_digits >= 7) & (n_digits <= 15) & (formatted | relaxed)
    return mask, _phone_validator(region)


def _iban(values: pd.Series, relaxed: bool):
    compact = values.str.replace(" ", "", regex=False).str.upper()
    shaped = compact.str.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}").to_numpy(bool)
    mask = shaped.copy()
    mask[shaped] = _mod97(compact[shaped])
    return mask, None


def _card(values: pd.Series, relaxed: bool):
    digits = values.str.replace(r"[ \-]", "", regex=True)
    shaped = digits.str.fullmatch(_CARD_PREFIX).to_numpy(bool)
    mask = shaped.copy()
    mask[shaped] = _luhn(digits[shaped])
    return mask, None


def _ssn(values: pd.Series, relaxed: bool):
    pattern = r"\d{3}[- ]?\d{2}[- ]?\d{4}" if relaxed else r"\d{3}-\d{2}-\d{4}"
    if relaxed:  # stored as a number in a column named like an SSN: leading zeros were lost
        values = values.where(~values.str.fullmatch(r"[0-9]{7,8}"), values.str.zfill(9))
    digits = values.str.replace(r"[- ]", "", regex=True)
    area, group, serial = digits.str[:3], digits.str[3:5], digits.str[5:]
    ok = (
        values.str.fullmatch(pattern)
        & ~area.isin(["000", "666"])
        & ~area.str.startswith("9")
        & (group != "00")
        & (serial != "0000")
    )
    return ok.to_numpy(bool), None


def _nino(values: pd.Series, relaxed: bool):
    upper = values.str.upper()
    ok = upper.str.fullmatch(_NINO) & ~upper.str[:2].isin(_NINO_EXCLUDED)
    return ok.to_numpy(bool), None


def _bsn(values: pd.Series, relaxed: bool):
    digits = values.str.zfill(9) if relaxed else values
    shaped = digits.str.fullmatch(r"\d{9}").to_numpy(bool)
    mask = shaped.copy()
    mask[shaped] = _eleven_test(digits[shaped])
    return mask, None


def _ip_valid(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _ip(values: pd.Series, relaxed: bool):
    v4 = values.str.fullmatch(_IPV4).to_numpy(bool)
    v6 = values.str.fullmatch(r"[0-9A-Fa-f:.]{2,45}").to_numpy(bool) & (
        values.str.count(":").to_numpy() >= 2
    )
    return v4 | v6, _ip_valid


def _postcode(values: pd.Series, relaxed: bool):
    if not relaxed:  # only where the column's name says so: otherwise any number would do
        return np.zeros(len(values), dtype=bool), None
    upper = values.str.upper()
    mask = (
        upper.str.fullmatch(r"\d{5}(?:-\d{4})?")
        | upper.str.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}")
        | (upper.str.fullmatch(r"[A-Z0-9][A-Z0-9 \-]{1,8}[A-Z0-9]") & upper.str.contains(r"\d"))
    )
    return mask.to_numpy(bool), None


_RECOGNISERS = {
    "email": _email,
    "iban": _iban,
    "card": _card,
    "ssn": _ssn,
    "nino": _nino,
    "bsn": _bsn,
    "ip_address": _ip,
    "phone": _phone,
    "postcode": _postcode,
}

# free text: an identifier anywhere in the value (candidates by a search, confirmed per value)
_IN_TEXT = {
    "email": (_EMAIL, None),
    "card": (r"\b(?:\d[ \-]?){12,18}\d\b", _card),
    "iban": (r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", _iban),
    "ssn": (r"\b\d{3}-\d{2}-\d{4}\b", _ssn),
    "ip_address": (r"\b" + _IPV4 + r"\b", None),
    "phone": (r"\+[0-9][0-9 ().\-]{6,20}[0-9]", _phone),
}


def _found_in_text(values: pd.Series, kind: str) -> tuple[np.ndarray, pd.Series]:
    """Which values contain an identifier of ``kind``, and the identifier found (sample only:
    the extraction is a per-value regex)."""
    pattern, confirm = _IN_TEXT[kind]
    hit = values.str.contains(pattern, regex=True).to_numpy(bool).copy()
    found = pd.Series("", index=values.index, dtype=object)
    if hit.any():
        found[hit] = values[hit].str.extract(f"({pattern})", expand=False).astype(str).str.strip()
        if confirm is not None:
            mask, validator = confirm(found[hit].astype(str), False)
            if validator is not None:
                mask = _validated(found[hit].astype(str), mask, validator)[0]
            hit[hit] = mask
    return hit, found


def _validated(values: pd.Series, mask: np.ndarray, validator) -> tuple[np.ndarray, float]:
    """The validator's verdict (one library call per value) on at most ``_MAX_VALIDATED``
    candidates, evenly spread over them: the mask of those confirmed, and the share confirmed
    (the rate that scales the candidates' count)."""
    out = np.zeros(len(values), dtype=bool)
    where = np.flatnonzero(mask)
    if not len(where):
        return out, 1.0
    where = where[np.linspace(0, len(where) - 1, min(len(where), _MAX_VALIDATED)).astype(int)]
    out[where] = [validator(v) for v in values.iloc[where].tolist()]
    return out, float(out[where].mean())


# --------------------------------------------------------------------------- dates of birth
def _as_dates(values: pd.Series) -> pd.Series:
    """Date-looking strings parsed with a few fixed formats (vectorised; no guessing per value)."""
    looks = values.str.fullmatch(_DATE).to_numpy(bool)
    dates = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if looks.any():
        text = values[looks]
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        for fmt in ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d"):
            unparsed = parsed.isna()
            if not unparsed.any():
                break
            parsed[unparsed] = pd.to_datetime(text[unparsed], errors="coerce", format=fmt)
        dates[looks] = parsed.astype("datetime64[ns]")
    return dates


def _birth_share(dates: pd.Series, named: bool) -> float:
    """Share of dates that can be birth dates: between 1900 and today, and (unless the column is
    named like one) spread over adult ages: median age 18-90, interquartile range >= 10 years."""
    today = pd.Timestamp(_dt.date.today())
    ok = (dates >= pd.Timestamp("1900-01-01")) & (dates <= today)
    if not ok.any():
        return 0.0
    if not named:
        ages = (today - dates[ok]).dt.days / 365.25
        q1, median, q3 = np.quantile(ages.to_numpy(float), [0.25, 0.5, 0.75])
        if not (18 <= median <= 90 and q3 - q1 >= 10):
            return 0.0
    return float(ok.mean())


# --------------------------------------------------------------------------- masking
def mask_value(value: str, kind: str) -> str:
    """A found value masked for a report: enough to recognise the kind, not the person.

    Examples
    --------
    >>> mask_value("jane.doe@example.com", "email")
    'j***@e***.com'
    >>> mask_value("4111 1111 1111 1234", "card")
    '**** **** **** 1234'
    >>> mask_value("Jane Doe", "person_name")
    'J*** D***'
    """
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if kind == "email" and "@" in text:
        local, _, domain = text.rpartition("@")
        tld = domain.rsplit(".", 1)[-1]
        return f"{local[:1]}***@{domain[:1]}***.{tld}"
    if kind == "card":
        return "**** **** **** " + digits[-4:]
    if kind == "iban":
        return text[:2].upper() + "** **** **** **" + text[-2:]
    if kind in ("phone", "ssn", "bsn"):
        return {"phone": "*** *** **", "ssn": "***-**-**", "bsn": "*******"}[kind] + digits[-2:]
    if kind == "nino":
        return text[:2].upper() + " ** ** ** *"
    if kind == "ip_address":
        return text.split(":")[0] + ":****:…" if ":" in text else text.split(".")[0] + ".*.*.*"
    if kind == "birth_date":
        return text[:2] + "**-**-**" if text[:4].isdigit() else "**/**/" + text[-4:-2] + "**"
    return " ".join(word[:1] + "***" for word in text.split()[:4]) or "***"


def _examples(values: pd.Series, mask: np.ndarray, kind: str) -> str:
    shown = pd.unique(values[mask].astype(str))[:_N_EXAMPLES]
    return "; ".join(mask_value(v, kind) for v in shown)


# --------------------------------------------------------------------------- one column
def _text_source(series: pd.Series) -> pd.Series | None:
    """Non-missing values that can hold identifiers as text (integral floats as integers), or
    None for columns that cannot (booleans, non-integral floats)."""
    values = series.dropna()
    if pd.api.types.is_bool_dtype(values) or isinstance(values.dtype, pd.DatetimeTZDtype):
        return None
    if pd.api.types.is_float_dtype(values):
        if not len(values) or not np.all(np.mod(values.to_numpy(float), 1) == 0):
            return None
        values = values.astype(np.int64)
    return values


def _to_text(values: pd.Series) -> pd.Series:
    """Values as stripped strings."""
    return values.astype(str).astype("str").str.strip()


class _Values:
    """A column's non-missing values, turned into text only when every value is read (a flagged
    column's confirmation): the recognisers read a sample, and a million values cost seconds
    to convert."""

    def __init__(self, raw: pd.Series, sample: pd.Series) -> None:
        self.raw, self.sample = raw, sample

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def text(self) -> pd.Series:
        if len(self.sample) == len(self.raw):
            return self.sample
        if not hasattr(self, "_text"):
            self._text = _to_text(self.raw)
        return self._text


def _row(column, dtype, kind="", via="", hint="", checked=0, matched=0.0, examples="") -> dict:
    category = "direct" if kind in DIRECT else "quasi" if kind in QUASI else ""
    share = matched / checked if checked else np.nan
    return {
        "column": str(column),
        "dtype": str(dtype),
        "kind": kind,
        "category": category,
        "via": via,
        "name_suggests": hint,
        "checked": int(checked),
        "matched": round(float(matched)),
        "share": share,
        "flagged": bool(kind),
        "examples": examples,
        "contains": "",
    }


def _best_value_kind(sample: pd.Series, hint: str, region: str | None, min_share: float):
    """The recogniser that accepts most of the sample: (kind, mask of confirmed values for the
    examples, estimated share of the sample, validation rate of its candidates)."""
    best = ("", np.zeros(len(sample), dtype=bool), 0.0, 1.0)
    for kind, recognise in _RECOGNISERS.items():
        relaxed = hint == kind
        if kind == "phone":
            mask, validator = _phone(sample, relaxed, region)
        else:
            mask, validator = recognise(sample, relaxed)
        share, rate = float(mask.mean()), 1.0
        if share < max(min_share, best[2]):
            continue  # cannot be flagged, or another kind already accepts more
        if validator is not None:
            mask, rate = _validated(sample, mask, validator)
            share *= rate
        if share > best[2]:
            best = (kind, mask, share, rate)
    return best


def _confirm(values: pd.Series, kind: str, hint: str, rate: float, region) -> float:
    """Matches on the full column: the vectorised recogniser on every value, times the
    validation rate the sample measured when a per-value validator follows it."""
    if kind == "phone":
        mask, _ = _phone(values, hint == kind, region)
    else:
        mask, _ = _RECOGNISERS[kind](values, hint == kind)
    return float(mask.sum()) * rate


def _scan_free_text(name, dtype, values, sample, hint, region) -> dict | None:
    """A text column whose values contain identifiers (any, in the sample)."""
    if sample.str.len().mean() < _MIN_TEXT_LENGTH or sample.str.contains(" ").mean() < 0.5:
        return None  # not prose: short values, or one token each
    hits, examples = np.zeros(len(sample), dtype=bool), []
    kinds = []
    for kind in _IN_TEXT:
        found, extracted = _found_in_text(sample, kind)
        if found.any():
            kinds.append(kind)
            hits |= found
            examples.append(_examples(extracted, found, kind))
    if not kinds:
        return None
    scale = len(values) / len(sample)  # the sample's count, on the scale of the column
    row = _row(name, dtype, "free_text", "values", hint, len(values), hits.sum() * scale)
    row["examples"] = "; ".join(examples)
    row["contains"] = ", ".join(kinds)
    return row


def _scan_dates(name, dtype, series, values, sample, hint, min_share, rng, sample_size):
    """Dates of birth: a datetime column, or date-looking text (parsed with fixed formats)."""
    named = hint == "birth_date"
    if pd.api.types.is_datetime64_any_dtype(series):
        full = series.dropna()
        if isinstance(full.dtype, pd.DatetimeTZDtype):
            full = full.dt.tz_localize(None)
        full = full.astype("datetime64[ns]")
        dates = full.iloc[_positions(len(full), sample_size, rng)]
    else:
        dates = _as_dates(sample)
        full = dates if len(sample) == len(values) else None
    if _birth_share(dates, named) < min_share:
        return None
    full = _as_dates(values.text) if full is None else full
    share = _birth_share(full, named)
    if share < min_share:
        return None
    shown = pd.unique(dates.dropna().dt.strftime("%Y-%m-%d"))[:_N_EXAMPLES]
    example = "; ".join(mask_value(v, "birth_date") for v in shown)
    return _row(
        name,
        dtype,
        "birth_date",
        "values+name" if named else "values",
        hint,
        len(full),
        share * len(full),
        example,
    )


def _positions(n: int, size: int, rng) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _scan_column(name, series, *, min_share, sample_size, rng, region) -> dict:
    hint, dtype = name_hint(name), series.dtype
    if pd.api.types.is_datetime64_any_dtype(series):
        found = _scan_dates(name, dtype, series, None, None, hint, min_share, rng, sample_size)
        return found or _row(name, dtype, hint=hint, checked=int(series.notna().sum()))
    raw = _text_source(series)
    if raw is None or not len(raw):
        return _row(name, dtype, hint=hint)
    sample = _to_text(raw.iloc[_positions(len(raw), sample_size, rng)])
    values = _Values(raw, sample)
    kind, mask, share, rate = _best_value_kind(sample, hint, region, min_share)
    if kind and share >= min_share:
        if len(sample) == len(values):
            matched = share * len(values)  # the sample is the column
        else:
            matched = _confirm(values.text, kind, hint, rate, region)
        if matched / len(values) >= min_share:
            via = "values+name" if hint == kind else "values"
            return _row(
                name, dtype, kind, via, hint, len(values), matched, _examples(sample, mask, kind)
            )
    if not pd.api.types.is_numeric_dtype(series):
        found = _scan_dates(name, dtype, series, values, sample, hint, min_share, rng, sample_size)
        found = found or _scan_free_text(name, dtype, values, sample, hint, region)
        if found:
            return found
        if hint in ("person_name", "address"):
            wordy = sample.str.contains(r"[^\W\d_]", regex=True).to_numpy(bool)
            if sample.nunique() >= 0.5 * len(sample) and wordy.mean() >= min_share:
                scale = len(values) / len(sample)
                return _row(
                    name,
                    dtype,
                    hint,
                    "name",
                    hint,
                    len(values),
                    wordy.sum() * scale,
                    _examples(sample, wordy, hint),
                )
    return _row(name, dtype, hint=hint, checked=len(values))


# --------------------------------------------------------------------------- re-identification
def _risk_row(measure, attribute, value, threshold, at_risk, n, classes) -> dict:
    return {
        "measure": measure,
        "attribute": attribute,
        "value": float(value),
        "threshold": float(threshold),
        "rows_at_risk": int(at_risk),
        "share_at_risk": at_risk / n if n else np.nan,
        "classes": int(classes),
        "rows": int(n),
    }


@validate_params(
    quasi_identifiers=[list, tuple],
    confidential=[list, tuple, str],
    k_anonymity=Interval(int, 1, None),
    l_diversity=Interval(int, 1, None),
)
def reidentification_risk(
    data, quasi_identifiers, *, confidential=(), k_anonymity=5, l_diversity=2
):
    """Uniqueness, k-anonymity and l-diversity over the quasi-identifier columns: one group-by.

    Missing values form a class value of their own. Returns one row per measure:
    ``uniqueness`` (``value``: rows alone in their class), ``k_anonymity`` (``value``: the
    smallest class; at risk: rows in classes under ``k_anonymity`` rows) and one
    ``l_diversity`` row per confidential column (``value``: fewest distinct values in a class;
    at risk: rows in classes with fewer than ``l_diversity`` distinct values).

    Parameters
    ----------
    data : Dataset or DataFrame
        The table; a lazy Dataset is measured where its rows live (one ``GROUP BY``, exact).
    quasi_identifiers : list of str
        The columns whose combined values form the classes.
    confidential : list of str, default ()
        Columns whose l-diversity is measured.
    k_anonymity, l_diversity : int, default 5 and 2
        The class size and the distinct confidential values below which rows are at risk.

    Returns
    -------
    DataFrame
        ``measure``, ``attribute``, ``value``, ``threshold``, ``rows_at_risk``,
        ``share_at_risk``, ``classes`` and ``rows``.

    Raises
    ------
    ParameterError
        ``data`` is not a Dataset or a pandas/polars DataFrame.
    ColumnError
        ``quasi_identifiers`` or ``confidential`` names a column the data lacks.

    See Also
    --------
    raikit.data.scan_pii : finds the personal data first and measures this risk with it.
    raikit.data.suggest_quasi_identifiers : columns whose names suggest a quasi-identifier.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit.data import reidentification_risk
    >>> frame = pd.DataFrame({"age": [30, 30, 30, 41, 41, 52],
    ...                       "sex": ["F", "F", "F", "M", "M", "F"],
    ...                       "diagnosis": ["a", "b", "a", "c", "c", "a"]})
    >>> risk = reidentification_risk(frame, ["age", "sex"], confidential=["diagnosis"],
    ...                              k_anonymity=3)
    >>> risk[["measure", "value", "rows_at_risk"]].values.tolist()
    [['uniqueness', 1.0, 1], ['k_anonymity', 1.0, 3], ['l_diversity', 1.0, 3]]
    """
    from raikit.dataset import Dataset

    if isinstance(data, Dataset) and data.is_lazy:
        head = pd.DataFrame(columns=list(data.columns))  # the columns, no rows
        columns = _names(head, quasi_identifiers, "quasi_identifiers", "reidentification_risk")
        secret = _names(head, confidential, "confidential", "reidentification_risk")
        return _risk_where_rows_live(data, columns, secret, k_anonymity, l_diversity)
    frame, _ = _frame_and_roles(data, "reidentification_risk")
    columns = _names(frame, quasi_identifiers, "quasi_identifiers", "reidentification_risk")
    n = len(frame)
    codes = frame.groupby(columns, dropna=False, observed=True, sort=False).ngroup().to_numpy()
    sizes = np.bincount(codes) if n else np.zeros(0, dtype=int)
    row_size = sizes[codes]
    rows = [
        _risk_row("uniqueness", "", (sizes == 1).sum(), 1, (row_size == 1).sum(), n, len(sizes)),
        _risk_row(
            "k_anonymity",
            "",
            sizes.min() if n else 0,
            k_anonymity,
            (row_size < k_anonymity).sum(),
            n,
            len(sizes),
        ),
    ]
    for column in _names(frame, confidential, "confidential", "reidentification_risk"):
        distinct = (
            pd.Series(frame[column].to_numpy(), index=codes).groupby(level=0).nunique(dropna=False)
        )
        per_class = distinct.reindex(range(len(sizes)), fill_value=0).to_numpy()
        at_risk = (per_class[codes] < l_diversity).sum()
        rows.append(
            _risk_row(
                "l_diversity",
                str(column),
                per_class.min() if n else 0,
                l_diversity,
                at_risk,
                n,
                len(sizes),
            )
        )
    return pd.DataFrame(rows)


def _risk_where_rows_live(ds, quasi, confidential, k_anonymity, l_diversity) -> pd.DataFrame:
    """The risk table of a lazy Dataset from one query where its rows live: the classes'
    sizes and distinct confidential values (missing counts as a value, as in memory) by
    ``GROUP BY`` over every row, then summed over the classes."""
    q = ds.table.q
    distinct = "".join(
        f", COUNT(DISTINCT {q(c)}) + MAX(CASE WHEN {q(c)} IS NULL THEN 1 ELSE 0 END) AS l{i}"
        for i, c in enumerate(confidential)
    )
    diverse = "".join(
        f", MIN(l{i}) AS l_min{i}, SUM(CASE WHEN l{i} < {int(l_diversity)} THEN size ELSE 0 END)"
        f" AS l_risk{i}"
        for i in range(len(confidential))
    )
    sql = (
        f"WITH classes AS (SELECT COUNT(*) AS size{distinct} FROM {{table}} "
        f"GROUP BY {', '.join(q(c) for c in quasi)}) "
        f"SELECT COUNT(*) AS classes, SUM(size) AS n_rows, "
        f"SUM(CASE WHEN size = 1 THEN 1 ELSE 0 END) AS singles, MIN(size) AS smallest, "
        f"SUM(CASE WHEN size < {int(k_anonymity)} THEN size ELSE 0 END) AS k_risk{diverse} "
        f"FROM classes"
    )
    found = ds.table.query(sql).iloc[0].fillna(0)
    n, classes = int(found["n_rows"]), int(found["classes"])
    rows = [
        _risk_row("uniqueness", "", found["singles"], 1, found["singles"], n, classes),
        _risk_row("k_anonymity", "", found["smallest"], k_anonymity, found["k_risk"], n, classes),
    ]
    for i, column in enumerate(confidential):
        rows.append(
            _risk_row(
                "l_diversity",
                str(column),
                found[f"l_min{i}"],
                l_diversity,
                found[f"l_risk{i}"],
                n,
                classes,
            )
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class PIIScanResult(Result):
    """Personal data found in a table, and the re-identification risk of its rows.

    Attributes
    ----------
    columns : DataFrame
        One row per column: ``column``, ``dtype``, ``kind`` (what was found; empty when
        nothing), ``category`` (``"direct"`` identifier or ``"quasi"``-identifier), ``via``
        (``"values"``, ``"values+name"``, or ``"name"`` for names and addresses, which the values
        cannot confirm), ``name_suggests`` (the kind the column's name suggests), ``checked``
        (non-missing values), ``matched`` (values recognised; estimated where a per-value
        validator ran on the sample only), ``share`` (matched / checked), ``flagged`` and
        ``examples`` (masked, never the values).
    risk : DataFrame
        Re-identification risk over the quasi-identifiers (see
        :func:`reidentification_risk`): ``measure``, ``attribute``, ``value``, ``threshold``,
        ``rows_at_risk``, ``share_at_risk``, ``classes`` and ``rows``. Empty when no
        quasi-identifier was used.
    findings : tuple of Finding
        An error per direct identifier, a warning per quasi-identifier column and per risk
        measure with rows at risk, information about the choices made.
    meta : dict
        Settings, the quasi-identifiers used and where they came from; ``sampling`` (a lazy
        Dataset, else ``None``): the rows the recognisers read, ``sampled`` of ``population``.

    See Also
    --------
    raikit.data.scan_pii : computes it.
    raikit.data.reidentification_risk : the risk table alone, over chosen columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit.data import scan_pii
    >>> frame = pd.DataFrame({"email": ["ann@example.org", "bo@mail.net", "cy@web.de"],
    ...                       "age": [34, 34, 51], "score": [0.2, 0.5, 0.9]})
    >>> result = scan_pii(frame, random_state=0)
    >>> result.direct_identifiers
    ['email']
    >>> result.risk.set_index("measure").loc["uniqueness", "rows_at_risk"].item()
    1
    """

    columns: pd.DataFrame
    risk: pd.DataFrame
    findings: tuple = ()
    meta: dict = field(default_factory=dict)

    @property
    def direct_identifiers(self) -> list[str]:
        """Names of the columns flagged as direct identifiers."""
        flagged = self.columns[self.columns["flagged"] & (self.columns["category"] == "direct")]
        return flagged["column"].tolist()

    @property
    def summary(self) -> str:
        flagged = self.columns[self.columns["flagged"]]
        quasi = self.meta.get("quasi_identifiers") or []
        parts = [
            f"{len(self.direct_identifiers)} direct identifier column(s)"
            + (f" ({', '.join(self.direct_identifiers)})" if self.direct_identifiers else ""),
            f"{int((flagged['category'] == 'quasi').sum())} quasi-identifier column(s) found "
            f"in {len(self.columns)} columns",
        ]
        if len(self.risk):
            risk = self.risk.set_index("measure")
            k = risk.loc["k_anonymity"]
            parts.append(
                f"over {', '.join(quasi)} ({self.meta.get('quasi_source')}): "
                f"{risk.loc['uniqueness', 'share_at_risk']:.1%} of rows unique, smallest class "
                f"{int(k['value'])} ({k['share_at_risk']:.1%} of rows in classes under "
                f"k={int(k['threshold'])})"
            )
        else:
            parts.append("no quasi-identifiers, no re-identification risk measured")
        sampling = self.meta.get("sampling")
        if sampling:
            parts.append(
                f"the recognisers read a sample of {sampling['sampled']:,} of "
                f"{sampling['population']:,} rows drawn where the rows live; the risk counts "
                f"every row"
            )
        return "; ".join(parts) + "."

    def figures(self) -> list:
        import plotly.graph_objects as go

        if not len(self.risk):
            return []
        labels = [
            f"{m} ({a})" if a else m
            for m, a in zip(self.risk["measure"], self.risk["attribute"], strict=True)
        ]
        figure = go.Figure(go.Bar(x=self.risk["share_at_risk"], y=labels, orientation="h"))
        figure.update_layout(
            title="Share of rows at re-identification risk",
            xaxis={"title": "share of rows", "tickformat": ".0%", "range": [0, 1]},
            height=120 + 30 * len(labels),
        )
        return [figure]


# --------------------------------------------------------------------------- findings
def _column_findings(table: pd.DataFrame) -> list[Finding]:
    out = []
    for row in table[table["flagged"]].itertuples(index=False):
        label = _LABELS[row.kind]
        evidence = (
            f"{row.matched:,} of {row.checked:,} non-missing values ({row.share:.0%})"
            if row.via != "name"
            else f"the column's name, and {row.share:.0%} of its values are distinct text"
        )
        if row.category == "direct":
            out.append(
                Finding(
                    "error",
                    f"Column {row.column!r} holds {label} (a direct identifier)",
                    f"Found by {evidence}; masked examples: {row.examples}. Drop the column, or "
                    "replace it by a keyed hash or a token before the data leaves its owner.",
                )
            )
        else:
            out.append(
                Finding(
                    "warning",
                    f"Column {row.column!r} holds {label} (a quasi-identifier)",
                    f"Found by {evidence}; masked examples: {row.examples}. Generalise it (year of "
                    "birth, first digits of the postcode) or include it in quasi_identifiers= to "
                    "measure the re-identification risk.",
                )
            )
    hinted = table[(table["name_suggests"] != "") & ~table["flagged"]]
    for row in hinted.itertuples(index=False):
        out.append(
            Finding(
                "info",
                f"Column {row.column!r} is named like {_LABELS[row.name_suggests]}, but its values "
                "are not",
                f"{row.checked:,} non-missing values of type {row.dtype} checked; none of the "
                "recognisers accepted enough of them.",
            )
        )
    return out


def _risk_findings(risk: pd.DataFrame, quasi: list, source: str) -> list[Finding]:
    out = []
    if source != "given" and quasi:
        out.append(
            Finding(
                "info",
                "Quasi-identifiers chosen by their column names",
                f"Used {', '.join(quasi)}; pass quasi_identifiers=[...] with the columns an "
                "attacker could know (from a register, a social profile) to measure your release.",
            )
        )
    for row in risk[risk["rows_at_risk"] > 0].itertuples(index=False):
        if row.measure == "uniqueness":
            continue  # part of k-anonymity (classes of one row)
        title = (
            f"k-anonymity: {row.rows_at_risk:,} rows ({row.share_at_risk:.1%}) are in classes "
            f"of fewer than {int(row.threshold)} rows"
            if row.measure == "k_anonymity"
            else f"l-diversity of {row.attribute}: {row.rows_at_risk:,} rows "
            f"({row.share_at_risk:.1%}) are in classes with fewer than {int(row.threshold)} "
            "distinct values"
        )
        out.append(
            Finding(
                "warning",
                title,
                f"Over {', '.join(quasi)}: {row.classes:,} classes, the smallest "
                f"{'holds' if row.measure == 'k_anonymity' else 'has'} {int(row.value)}. Generalise "
                "or suppress the quasi-identifiers (bins, coarser codes) until every class is large "
                "enough.",
            )
        )
    return out


def _frame_and_roles(data, caller: str):
    """The table and the confidential default (a Dataset's target) of ``data``."""
    from raikit.dataset import Dataset

    if isinstance(data, Dataset):
        return data.frame, ([data.target] if data.target is not None else [])
    if isinstance(data, pd.DataFrame):
        return data, []
    if type(data).__module__.split(".")[0] == "polars":
        return data.to_pandas(), []
    raise ParameterError(
        f"{caller}(): data must be a raikit Dataset or a pandas/polars DataFrame, got "
        f"{type(data).__name__}. Read a file with raikit.dataset.read_table(path)."
    )


def _names(frame: pd.DataFrame, names, keyword: str, caller: str = "scan_pii") -> list:
    names = [names] if isinstance(names, str) else list(names)
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise ColumnError(
            f"{caller}(): {keyword} names column(s) {missing} that the data does not have; "
            f"its columns are {list(map(str, frame.columns))[:20]}."
        )
    return names


@recorded("data.scan_pii")
@validate_params(
    columns=[list, tuple, None],
    quasi_identifiers=[list, tuple, None],
    confidential=[list, tuple, str, None],
    min_share=Interval(float, 0, 1, closed="right"),
    k_anonymity=Interval(int, 1, None),
    l_diversity=Interval(int, 1, None),
    sample_size=Interval(int, 100, None),
    region=[str, None],
    random_state=RANDOM_STATE,
)
def scan_pii(
    data,
    *,
    columns=None,
    quasi_identifiers=None,
    confidential=None,
    min_share: float = 0.3,
    k_anonymity: int = 5,
    l_diversity: int = 2,
    sample_size: int = 10_000,
    region: str | None = "US",
    random_state=None,
    ledger=None,
) -> PIIScanResult:
    """Find personal data column by column, and measure the re-identification risk.

    The recognisers, their rules and why they are written here rather than taken from Presidio
    are in the module's description (:mod:`raikit.data._pii`).

    Parameters
    ----------
    data : Dataset or DataFrame
        The table to scan (pandas or polars; a Dataset's target is the default confidential
        column). A lazy Dataset stays where its rows live: the recognisers read a sample, the
        risk counts every row (see the module's description).
    columns : list of str, optional
        Columns to scan for personal data (default: all).
    quasi_identifiers : list of str, optional
        Columns an attacker could know about a person (age, sex, postcode, date of birth...).
        Default: the columns whose names suggest one (:func:`suggest_quasi_identifiers`) and
        those found to hold dates of birth or postcodes; the result says which were used.
        ``[]`` measures no re-identification risk.
    confidential : str or list of str, optional
        Columns whose values must not be inferable from the quasi-identifiers (a diagnosis, an
        income): their l-diversity is measured. Default: the Dataset's target, if any.
    min_share : float, default 0.3
        Share of a column's non-missing values a recogniser must accept for the column to be
        flagged.
    k_anonymity : int, default 5
        Classes of fewer rows put their rows at risk.
    l_diversity : int, default 2
        Classes with fewer distinct confidential values put their rows at risk.
    sample_size : int, default 10000
        Values per column the recognisers read first (a uniform sample); a column they flag is
        confirmed on all its values.
    region : str or None, default "US"
        Country (ISO 3166 alpha-2) of phone numbers written without a country code; ``None``
        accepts only numbers with one (``+44 ...``).
    random_state : int, Generator or None, default None
        Seed of the samples; ``None`` draws a fresh seed, recorded in the ledger.
    ledger : raikit.ledger.Ledger or path, optional
        Record the result as evidence (inside :func:`raikit.track` it is recorded anyway).

    Returns
    -------
    PIIScanResult

    Raises
    ------
    ParameterError
        ``data`` is not a table, or a parameter is out of its domain.
    ColumnError
        ``columns``, ``quasi_identifiers`` or ``confidential`` names a column the data lacks,
        or the table has two columns of the same name.

    See Also
    --------
    raikit.data.PIIScanResult : the result, its tables and findings.
    raikit.data.reidentification_risk : the risk measures alone.
    raikit.data.suggest_quasi_identifiers : the default quasi-identifiers, from column names.
    raikit.privacy.synthesize : DP synthetic data to share instead of the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from raikit.data import scan_pii
    >>> frame = pd.DataFrame({
    ...     "contact": ["ann@example.org", "bo@mail.net", "cy@web.de", "di@site.com"],
    ...     "card": ["4111 1111 1111 1111", "5555 5555 5555 4444", "3782 822463 10005",
    ...              "4012 8888 8888 1881"],
    ...     "order_total": [12, 40, 7, 19],
    ...     "age": [34, 34, 51, 51], "sex": ["F", "F", "M", "M"]})
    >>> result = scan_pii(frame, random_state=0)
    >>> result.direct_identifiers
    ['contact', 'card']
    >>> result.columns.set_index("column").loc["card", "examples"]
    '**** **** **** 1111; **** **** **** 4444; **** **** **** 0005'
    >>> result.meta["quasi_identifiers"], int(result.risk.set_index("measure").loc[
    ...     "k_anonymity", "value"])
    (['age', 'sex'], 2)
    """
    from raikit.dataset import Dataset

    rng = rng_from(random_state)
    lazy = isinstance(data, Dataset) and data.is_lazy
    if lazy:  # the recognisers read a sample drawn where the rows live; the risk, every row
        seed = int(rng.integers(2**31 - 1))
        sample = data.sample(min(sample_size, data.n_rows), random_state=seed)
        frame = sample.frame[list(data.columns)]  # without the sample's weight column
        default_confidential = [data.target] if data.target is not None else []
    else:
        frame, default_confidential = _frame_and_roles(data, "scan_pii")
    twice = frame.columns[frame.columns.duplicated()].unique().tolist()
    if twice:
        raise ColumnError(
            f"scan_pii(): the table has duplicated column names {twice}; rename them so that "
            "each column can be reported on its own."
        )
    scanned = _names(frame, frame.columns if columns is None else columns, "columns")
    rows = [
        _scan_column(
            c, frame[c], min_share=min_share, sample_size=sample_size, rng=rng, region=region
        )
        for c in scanned
    ]  # one pass per column (a handful), vectorised inside
    table = pd.DataFrame(rows, columns=list(_row("", "")))
    sampling = None
    if lazy:
        table = _on_every_row(data, table, scanned)
        sampling = {"sampled": len(frame), "population": int(data.n_rows)}
    quasi, source = _quasi(frame, table, quasi_identifiers)
    given = default_confidential if confidential is None else confidential
    secret = [c for c in _names(frame, given, "confidential") if c not in quasi]
    risk = (
        reidentification_risk(
            data if lazy else frame,
            quasi,
            confidential=secret,
            k_anonymity=k_anonymity,
            l_diversity=l_diversity,
        )
        if quasi
        else pd.DataFrame(columns=list(_risk_row("", "", 0, 0, 0, 0, 0)))
    )
    findings = _column_findings(table) + _risk_findings(risk, quasi, source)
    return PIIScanResult(
        columns=table,
        risk=risk,
        findings=tuple(findings),
        meta={
            "n_rows": int(data.n_rows) if lazy else len(frame),
            "sampling": sampling,
            "quasi_identifiers": [str(c) for c in quasi],
            "quasi_source": source,
            "confidential": [str(c) for c in secret],
            "min_share": min_share,
            "sample_size": sample_size,
        },
    )


def _on_every_row(ds, table: pd.DataFrame, scanned) -> pd.DataFrame:
    """A lazy Dataset's column table on the scale of every row: ``checked`` the non-missing
    values of each column (one aggregate where the rows live), ``matched`` the sample's share of
    them."""
    counts = ds.aggregate(stats={f"n{i}": (c, "count") for i, c in enumerate(scanned)})
    full = np.array([int(counts[f"n{i}"].iloc[0]) for i in range(len(scanned))])
    table = table.copy()
    read = table["checked"].to_numpy() > 0  # columns the recognisers read as text
    share = table["share"].fillna(0.0).to_numpy(float)
    table["checked"] = np.where(read, full, 0).astype(np.int64)
    table["matched"] = np.where(read, np.round(share * full), 0).astype(np.int64)
    return table


def _quasi(frame: pd.DataFrame, table: pd.DataFrame, given) -> tuple[list, str]:
    if given is not None:
        return _names(frame, given, "quasi_identifiers"), "given"
    found = table.loc[table["category"] == "quasi", "column"].tolist()
    by_name = suggest_quasi_identifiers(frame.columns)
    chosen = [c for c in frame.columns if c in by_name or str(c) in found]
    return chosen, "suggested by column names and values"
