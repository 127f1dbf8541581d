"""Money: integer minor units with an ISO currency, never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from chatserver.domain.frames import with_schema

# ISO 4217's circulating currencies (not its funds, metals or test codes like XXX)
ISO_4217 = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP
BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
"""
CURRENCIES = frozenset(ISO_4217.split())
# ISO 4217 currencies whose minor unit is not a hundredth: how amounts are shown and read
MINOR_DIGITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3,
                "OMR": 3, "JOD": 3, "TND": 3}
MAX_CENTS = 10**12  # ten billion in major units: far beyond any order, well inside int64


class MoneyError(ValueError):
    """An amount or currency that cannot be used; the message says why."""


def example(code: str) -> str:
    """How an agent types an amount of `code`: "12.50", "1250" (no minor unit), "12.500"."""
    digits = MINOR_DIGITS.get(code, 2)
    return f"12.{'5'.ljust(digits, '0')}" if digits else "1250"


def parse_amount(text: str, code: str) -> int:
    """An amount typed by an agent ("12.5", "12,50") in minor units of `code`, read as text
    (no floating point); MoneyError says how to type it."""
    digits = MINOR_DIGITS.get(code, 2)
    found = re.fullmatch(r"(\d{0,12})(?:[.,](\d*))?", text.strip())
    whole, fraction = (found.group(1), found.group(2) or "") if found else ("", "")
    if not found or not (whole or fraction) or len(fraction) > digits:
        raise MoneyError(f"Enter the amount in {code}, like {example(code)}.")
    minor = int(whole or "0") * 10**digits + int(fraction.ljust(digits, "0") or "0")
    if not 0 < minor <= MAX_CENTS:
        raise MoneyError(f"Enter the amount in {code}, like {example(code)}.")
    return minor


def currency(code: object) -> str:
    if not isinstance(code, str) or code.upper() not in CURRENCIES:
        raise MoneyError("must be an ISO 4217 currency code like USD")
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


with_schema(currency, {"type": "string", "enum": sorted(CURRENCIES)})
with_schema(cents, {"type": "integer", "minimum": 1, "maximum": MAX_CENTS})


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


def minor_units(amount: object, code: str) -> int:
    """A decimal amount as a shop's platform writes it ("19.99", "1500" in JPY) in the
    currency's minor units, exactly (Decimal, never a float); more decimals than the
    currency has, or a negative amount, is refused."""
    try:
        value = Decimal(amount) if isinstance(amount, str) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value < 0:
        raise MoneyError(f"must be a decimal amount like \"19.99\", not {amount!r}")
    scaled = value.scaleb(MINOR_DIGITS.get(code, 2))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"has more decimals than {code} has")
    return cents(int(scaled), allow_zero=True)
