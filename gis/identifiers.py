"""统一社会信用代码 (USCC, GB 32100-2015): check characters and validation.

A USCC has 18 characters from ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O,
S, V, Z).  The 18th is a check character over the first 17: with the
weights ``3**i mod 31`` (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24,
10, 30, 28) and each character's position in the alphabet as its value,
``check = (31 - Σ value·weight mod 31) mod 31``.  Characters 3–8 are the
registering area code (330782 for Yiwu).  It is the natural key for
de-duplicating enterprise tables.

All functions take a single code (returning a scalar) or any array-like
(returning a Series aligned to the input); the work is vectorised with numpy.

Examples
--------
>>> uscc_check_char("91330782147634358")
'J'
>>> is_valid_uscc("91330782147634358J")
True
>>> list(uscc_problem(["91330782147634358J", "9133078214763435", "91330782147634358K"]))
[None, 'length', 'check_char']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "FULLWIDTH_TO_ASCII",
    "normalise_uscc",
    "uscc_check_char",
    "is_valid_uscc",
    "uscc_problem",
    "uscc_area_code",
]

#: The 31 characters a USCC may use (GB 32100-2015; no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Weights of the first 17 characters: 3**i mod 31.
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)

# code point -> value in the alphabet, -1 for characters not allowed
_LOOKUP = np.full(128, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_ALPHABET):
    _LOOKUP[ord(_c)] = _i
del _i, _c

#: reason codes returned by :func:`uscc_problem`
PROBLEMS = {
    "missing": ("统一社会信用代码为空", "the credit code is empty"),
    "length": ("长度不是18位", "it is not 18 characters long"),
    "character": ("含有不允许的字符(I、O、S、V、Z或符号)", "it contains a character not allowed (I, O, S, V, Z or a symbol)"),
    "check_char": ("校验位错误", "the check character is wrong"),
}


def _is_scalar(codes):
    return isinstance(codes, str) or codes is None or np.ndim(codes) == 0


#: str.translate table folding full-width ASCII (！–～) and the ideographic
#: space to ASCII: what NFKC does to them, usable with Series.str.translate.
FULLWIDTH_TO_ASCII = {0xFF01 + i: 0x21 + i for i in range(94)}
FULLWIDTH_TO_ASCII[0x3000] = 0x20


def normalise_uscc(codes):
    """Return codes as upper-case half-width text with spaces removed.

    Full-width characters (``９１３３…``) become ASCII; missing values stay
    missing.

    Parameters
    ----------
    codes : str or array-like of str

    Returns
    -------
    str or pandas.Series of str (object dtype, NaN where missing)

    Examples
    --------
    >>> normalise_uscc(" 9133 0782147634358j ")
    '91330782147634358J'
    """
    scalar = _is_scalar(codes)
    if isinstance(codes, pd.Series):
        s = codes.astype(object)
    else:
        s = pd.Series([codes] if scalar else list(codes), dtype=object)
    present = s.notna()
    text = s[present].astype(str)
    wide = ~text.str.isascii()
    if wide.any():  # fold full-width characters only where there are any
        text[wide] = text[wide].str.translate(FULLWIDTH_TO_ASCII)
    text = text.str.upper().str.replace(r"\s+", "", regex=True)
    out = pd.Series(np.nan, index=s.index, dtype=object)
    out[present] = text
    out[present & (out == "")] = np.nan
    return out.iloc[0] if scalar else out


def _values(codes17_or_18, width):
    """(n, width) int array of alphabet values, -1 for bad characters."""
    arr = np.asarray(codes17_or_18, dtype=f"<U{width}")
    cp = arr.view(np.uint32).reshape(len(arr), width).astype(np.int64)
    cp = np.where(cp < 128, cp, 0)  # non-ASCII -> code point 0 -> -1
    return _LOOKUP[cp]


def uscc_check_char(code17):
    """Return the check character of the first 17 characters of a USCC.

    Parameters
    ----------
    code17 : str or array-like of str
        At least 17 characters (only the first 17 are used).

    Returns
    -------
    str, or pandas.Series of str (None where the 17 characters are not all
    in the alphabet or too short)

    Examples
    --------
    >>> uscc_check_char("91330100716105852")
    'F'
    """
    scalar = _is_scalar(code17)
    s = normalise_uscc([code17] if scalar else code17)
    text = s.fillna("").astype(str)
    ok = text.str.len() >= 17
    head = text.str.slice(0, 17).where(ok, "")
    vals = _values(head.to_numpy(dtype=str), 17)
    good = ok.to_numpy() & (vals >= 0).all(axis=1)
    total = (np.where(vals >= 0, vals, 0) * USCC_WEIGHTS).sum(axis=1)
    check = (31 - total % 31) % 31
    chars = np.array(list(USCC_ALPHABET))[check]
    out = pd.Series(np.where(good, chars, None), index=s.index, dtype=object)
    return out.iloc[0] if scalar else out


def uscc_problem(codes):
    """Say what is wrong with each code: a reason code, or None when valid.

    Reason codes: ``"missing"`` (blank), ``"length"`` (not 18 characters),
    ``"character"`` (a character outside the alphabet, e.g. I, O, S, V, Z),
    ``"check_char"`` (the 18th character does not match).  Codes are
    normalised first (spaces removed, upper case, full-width folded).

    Parameters
    ----------
    codes : str or array-like of str

    Returns
    -------
    str or None, or pandas.Series (object dtype) aligned to ``codes``
    """
    scalar = _is_scalar(codes)
    s = normalise_uscc([codes] if scalar else codes)
    text = s.fillna("").astype(str)
    n = len(text)
    out = np.full(n, None, dtype=object)
    missing = s.isna().to_numpy()
    length = text.str.len().to_numpy()
    is18 = (length == 18) & ~missing
    vals = _values(text.where(is18, "").to_numpy(dtype=str), 18) if n else np.zeros((0, 18), int)
    bad_char = is18 & (vals < 0).any(axis=1)
    total = (np.where(vals[:, :17] >= 0, vals[:, :17], 0) * USCC_WEIGHTS).sum(axis=1)
    expected = (31 - total % 31) % 31
    bad_check = is18 & ~bad_char & (vals[:, 17] != expected)
    out[missing] = "missing"
    out[~missing & ~is18] = "length"
    out[bad_char] = "character"
    out[bad_check] = "check_char"
    result = pd.Series(out, index=s.index, dtype=object)
    return result.iloc[0] if scalar else result


def is_valid_uscc(codes):
    """True where a code is a valid USCC (length, alphabet and check character).

    Parameters
    ----------
    codes : str or array-like of str

    Returns
    -------
    bool, or pandas.Series of bool aligned to ``codes``

    Examples
    --------
    >>> list(is_valid_uscc(["91330782MA2E8E3Y2X", "91330782MA2E8E3Y2Y", None]))
    [True, False, False]
    """
    problem = uscc_problem(codes)
    if _is_scalar(codes):
        return problem is None
    return problem.isna()


def uscc_area_code(codes):
    """Registering area code: characters 3–8 of the USCC (330782 for Yiwu).

    Parameters
    ----------
    codes : str or array-like of str

    Returns
    -------
    str, or pandas.Series of str (NaN where the code is shorter than 8)

    Examples
    --------
    >>> uscc_area_code("91330782147634358J")
    '330782'
    """
    scalar = _is_scalar(codes)
    s = normalise_uscc([codes] if scalar else codes)
    area = s.str.slice(2, 8)
    area = area.where(s.str.len() >= 8)
    return area.iloc[0] if scalar else area
