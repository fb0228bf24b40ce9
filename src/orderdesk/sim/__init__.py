"""``orderdesk sim``: a local server that speaks Kite Connect v3 as the official client expects.

It must not import the engine; it may import :mod:`orderdesk.domain` value types.
"""
