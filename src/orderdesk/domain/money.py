"""Money without float drift: every price and value is a :class:`~decimal.Decimal`.

Prices arrive as JSON numbers or strings; :func:`to_decimal` goes through ``str`` so ``0.1``
stays ``0.1`` instead of ``0.1000000000000000055…``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from orderdesk.domain.errors import ValidationError

PAISA = Decimal("0.01")
ZERO = Decimal(0)


def to_decimal(value: object, *, field: str = "price") -> Decimal:
    """Convert a wire number or string to Decimal; rejects NaN, infinities and junk."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValidationError(field, f"{value!r} is not a number")
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise ValidationError(field, f"{value!r} is not a number") from None
    else:
        raise ValidationError(field, f"{value!r} is not a number")
    if not result.is_finite():
        raise ValidationError(field, f"{value!r} is not a finite number")
    return result


def to_paise(amount: Decimal) -> Decimal:
    """Round to the paisa with banker's rounding (only for display and reporting)."""
    return amount.quantize(PAISA, rounding=ROUND_HALF_EVEN)


def price_text(value: Decimal, *, grouped: bool = True) -> str:
    """A price with every decimal it has, at least 2 and at most 4 (Kite's finest tick,
    0.0025): a currency future's 88.1150 reads 88.115, not 88.12; 1500 reads 1,500.00, as an
    amount does; a holding's average from Kite's float (1501.5369047619047) reads 1,501.5369.
    Not ``grouped``: without thousands separators, for a spreadsheet (1500.00)."""
    if not value.is_finite():
        return str(value)
    places = value.as_tuple().exponent
    assert isinstance(places, int)  # a finite Decimal's is
    if places < -4:
        value = value.quantize(_FINEST)
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # a finite Decimal's is
    return f"{value:{',' if grouped else ''}.{max(2, -exponent)}f}"


_FINEST = Decimal("0.0001")


def is_multiple_of(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is a whole number of ``step`` (tick size checks)."""
    if step <= 0:
        return True
    return (value % step) == 0


__all__ = ["PAISA", "ZERO", "is_multiple_of", "price_text", "to_decimal", "to_paise"]
