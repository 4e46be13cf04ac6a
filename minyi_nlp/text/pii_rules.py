"""Validation rules behind the numeric PII detectors: ID checksum and birth date (GB 11643-1999),
bank-card Luhn, and phone numbers through Google's ``phonenumbers`` metadata."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

__all__ = ["is_phone_number", "is_valid_id18", "luhn_ok", "valid_birth"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_birth(yyyymmdd: str) -> bool:
    """A real calendar date between 1880 and today."""
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return date(1880, 1, 1) <= born <= date.today()


def is_valid_id18(number: str) -> bool:
    """GB 11643 check: 17 digits + check character (digit or X) and a plausible birth date."""
    if len(number) != 18 or not (number.isascii() and number[:17].isdigit()):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper() and valid_birth(number[6:14])


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check of an ASCII digit string."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@lru_cache(maxsize=4096)
def is_phone_number(candidate: str, region: str = "CN", *, strict: bool = True) -> bool:
    """A number of the number plans of ``region`` (or of the ``+country`` given) per ``phonenumbers``:
    valid (a real prefix and length), or with ``strict=False`` only of a possible length."""
    import phonenumbers

    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number))
