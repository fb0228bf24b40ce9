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


def is_multiple_of(value: Decimal, step: Decimal) -> bool:
    """True when ``value`` is a whole number of ``step`` (tick size checks)."""
    if step <= 0:
        return True
    return (value % step) == 0


__all__ = ["PAISA", "ZERO", "is_multiple_of", "to_decimal", "to_paise"]
