"""Currencies and charge amounts: which currencies a charge may use, in which unit, and the
smallest and largest amount Stripe accepts in each.

Source: docs.stripe.com/currencies ("Minor units in API amounts", "Zero-decimal currencies",
"Special cases", "Minimum and maximum charge amounts").

What is modelled, and where the emulator is stricter than Stripe:

* Stripe's minimum depends on the account's *settlement* currency: a charge in a currency
  with no bank account of its own is converted and must meet the settlement currency's
  minimum after conversion. The emulator knows no exchange rates, so it models an account
  with a bank account in each currency of Stripe's minimum table, and accepts **only those
  24 currencies**. Stripe accepts about 135 presentment currencies; the others are refused
  here with the same 400 Stripe sends for a currency it does not support (stricter).
* Below the minimum: 400 ``amount_too_small`` (``param`` ``amount``), before execution.
* Above the maximum: 400 ``amount_too_large``. The page gives eight digits for most
  currencies (99,999,999), nine for INR, and for card payments ten for JPY and HUF; for HUF
  the page's example literal has more digits than "10 digits" allows, so the smaller
  figure is used (stricter).
* Amounts are integers in the currency's minor unit; JPY (zero-decimal) takes whole yen.
  HUF is charged with two decimals although paid out as zero-decimal (a special case).
"""

from __future__ import annotations

from stripe_emulator.responses import StripeFailure, invalid_request

#: Stripe's zero-decimal currencies (amount in whole units). Of these, only JPY is a
#: settlement currency below; the list serves the unit shown in error messages.
ZERO_DECIMAL = frozenset(
    {
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
        "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    }
)  # fmt: skip

#: Minimum charge amount per settlement currency, in the currency's minor unit (the table
#: "Minimum and maximum charge amounts" on docs.stripe.com/currencies).
MINIMUM_AMOUNTS: dict[str, int] = {
    "usd": 50,  # $0.50
    "aed": 200,  # 2.00 د.إ
    "aud": 50,  # $0.50
    "bgn": 100,  # лв1.00
    "brl": 50,  # R$0.50
    "cad": 50,  # $0.50
    "chf": 50,  # 0.50 Fr
    "czk": 1500,  # 15.00Kč
    "dkk": 250,  # 2.50-kr.
    "eur": 50,  # €0.50
    "gbp": 30,  # £0.30
    "hkd": 400,  # $4.00
    "huf": 17500,  # 175.00 Ft (charged with two decimals)
    "inr": 50,  # ₹0.50
    "jpy": 50,  # ¥50 (zero-decimal)
    "mxn": 1000,  # $10
    "myr": 200,  # RM 2
    "nok": 300,  # 3.00-kr.
    "nzd": 50,  # $0.50
    "pln": 200,  # 2.00 zł
    "ron": 200,  # lei2.00
    "sek": 300,  # 3.00-kr.
    "sgd": 50,  # $0.50
    "thb": 1000,  # ฿10
}

#: The currencies this emulator accepts (see the module docstring).
SUPPORTED = frozenset(MINIMUM_AMOUNTS)

_DEFAULT_MAXIMUM = 99_999_999  # eight digits
_MAXIMUMS = {"inr": 999_999_999, "jpy": 9_999_999_999, "huf": 9_999_999_999}


def decimals(currency: str) -> int:
    """Digits after the decimal point in API amounts: 0 for zero-decimal currencies."""
    return 0 if currency in ZERO_DECIMAL else 2


def maximum_amount(currency: str) -> int:
    """The largest ``amount`` a card charge may have in ``currency`` (minor units)."""
    return _MAXIMUMS.get(currency, _DEFAULT_MAXIMUM)


def check_currency(currency: str) -> str:
    """The lower-case code of a currency the emulator accepts; 400 otherwise.

    Stripe takes the code in any case and answers in lower case; an unsupported one is an
    ``invalid_request_error`` on ``currency`` without a ``code`` (message as seen from
    Stripe: "Invalid currency: zzz. Stripe currently supports these currencies: ...").
    """
    code = currency.lower()
    if code not in SUPPORTED:
        raise invalid_request(
            f"Invalid currency: {code}. Stripe currently supports these currencies: "
            + ", ".join(sorted(SUPPORTED)),
            param="currency",
        )
    return code


def check_amount(amount: int, currency: str) -> None:
    """400 ``amount_too_small`` / ``amount_too_large`` outside the currency's limits."""
    minimum = MINIMUM_AMOUNTS[currency]
    if amount < minimum:
        raise _amount_error(
            "amount_too_small", f"Amount must be at least {format_amount(minimum, currency)}"
        )
    maximum = maximum_amount(currency)
    if amount > maximum:
        raise _amount_error(
            "amount_too_large", f"Amount must be no more than {format_amount(maximum, currency)}"
        )


def format_amount(amount: int, currency: str) -> str:
    """``50, "usd"`` -> ``"0.50 usd"``; ``50, "jpy"`` -> ``"50 jpy"``."""
    places = decimals(currency)
    major = f"{amount / 10**places:,.{places}f}" if places else f"{amount:,}"
    return f"{major} {currency}"


def _amount_error(code: str, message: str) -> StripeFailure:
    return invalid_request(message, param="amount", code=code)
