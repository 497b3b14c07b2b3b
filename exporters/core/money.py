"""Money: ``Decimal`` with exactly two decimals, from decimal strings or integer öre, never ``float``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class MoneyFormatError(ValueError):
    """A value that is not an amount of money; the message says what was expected."""


def parse_money(value: object) -> Decimal:
    """Parse a decimal string like ``"1234.50"`` (or an int, or a Decimal) into a two-decimal Decimal.

    Floats are refused: a binary fraction cannot carry öre exactly. More than two decimals is refused
    rather than rounded, because silently rounding a register's figures hides a bug at the register.
    """
    if isinstance(value, (bool, float)):
        raise MoneyFormatError(
            f'expected a decimal string like "1234.50", got the number {value!r}; send amounts as strings'
        )
    if isinstance(value, int):
        return Decimal(value).quantize(CENT)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in (
            "nan",
            "inf",
            "-inf",
            "+inf",
            "infinity",
            "-infinity",
            "snan",
        ):
            raise MoneyFormatError(f'expected a decimal string like "1234.50", got {value!r}')
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise MoneyFormatError(f'expected a decimal string like "1234.50", got {value!r}') from exc
    else:
        raise MoneyFormatError(f'expected a decimal string like "1234.50", got {value!r}')
    if not amount.is_finite():
        raise MoneyFormatError(f"expected a finite amount, got {value!r}")
    # Size first: quantizing a huge amount ("1E+999") overflows the decimal context.
    if abs(amount) >= Decimal("1e12"):
        raise MoneyFormatError(f"{value!r} is too large for an amount (at most 999 999 999 999.99)")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise MoneyFormatError(f"{value!r} has more than two decimals; amounts are in whole öre")
    return amount.quantize(CENT)


def from_ore(ore: int) -> Decimal:
    """Integer öre (the register wire format) to kronor: ``123450 -> Decimal("1234.50")``."""
    if isinstance(ore, bool) or not isinstance(ore, int):
        raise MoneyFormatError(f"expected integer öre, got {ore!r}")
    return (Decimal(ore) / 100).quantize(CENT)


def to_ore(amount: Decimal) -> int:
    """Kronor to integer öre; the amount must already be whole öre."""
    return int((amount.quantize(CENT) * 100).to_integral_exact())


def money_str(amount: Decimal) -> str:
    """The JSON form: ``Decimal("1234.5") -> "1234.50"``."""
    return str(amount.quantize(CENT))


def round_ore(amount: Decimal) -> Decimal:
    """Round to whole öre, halves away from zero (as Swedish VAT is rounded)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_sek(amount: Decimal) -> str:
    """As a Swedish reader writes it: ``Decimal("-1234.5") -> "−1 234,50 kr"``."""
    sign = "−" if amount < 0 else ""
    whole, _, cents = f"{abs(amount.quantize(CENT)):.2f}".partition(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{' '.join(groups)},{cents} kr"
