"""``orderdesk sim``: a local server that speaks Kite Connect v3 as the official client expects.

It must not import the engine; it may import :mod:`orderdesk.domain` value types (and the
trading calendar, :mod:`orderdesk.domain.calendar`). With ``market_hours="nse"`` it keeps trading
days on its clock — square-off, mass cancel, the 06:00 rollover, T+1, expiries, holidays — as
:mod:`orderdesk.sim.days` describes.
"""
