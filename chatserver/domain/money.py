"""Money: integer minor units with an ISO currency, never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass

CURRENCY = re.compile(r"[A-Za-z]{3}")
# ISO 4217 currencies whose minor unit is not a hundredth: only used to display amounts
MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3,
                "OMR": 3, "JOD": 3, "TND": 3}
MAX_CENTS = 10**12  # ten billion in major units: far beyond any order, well inside int64


class MoneyError(ValueError):
    """An amount or currency that cannot be used; the message says why."""


def currency(code: object) -> str:
    if not isinstance(code, str) or not CURRENCY.fullmatch(code):
        raise MoneyError("must be a three-letter ISO currency code like USD")
    return code.upper()


def cents(value: object, *, allow_zero: bool = False) -> int:
    """A whole number of minor units: 1999 is 19.99; floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MoneyError("must be a whole number of minor units (1999 = 19.99)")
    if value < 0 or (value == 0 and not allow_zero):
        raise MoneyError("must be more than zero")
    if value > MAX_CENTS:
        raise MoneyError("is too large")
    return value


@dataclass(frozen=True, order=True)
class Money:
    cents: int
    currency: str

    def __str__(self) -> str:
        digits = MINOR_DIGITS.get(self.currency, 2)
        sign = "-" if self.cents < 0 else ""
        if digits == 0:
            return f"{sign}{abs(self.cents):,} {self.currency}"
        whole, part = divmod(abs(self.cents), 10**digits)
        return f"{sign}{whole:,}.{part:0{digits}d} {self.currency}"
