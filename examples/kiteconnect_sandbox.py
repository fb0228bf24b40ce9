"""The simulator as a sandbox for the official `kiteconnect` client (`pip install kiteconnect`).

Start it with `orderdesk sim --no-rate-limits` (Kite allows one quote request a second, and so
does the simulator unless told otherwise). Its credentials: api_key "sim_api_key", api_secret
"sim_api_secret" (change them with --api-key, and --api-secret or ORDERDESK_SIM__API_SECRET).
"""

import sys
from urllib.parse import parse_qs, urlsplit

import requests
from kiteconnect import KiteConnect

ROOT = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765"  # `orderdesk sim`

kite = KiteConnect(api_key="sim_api_key", root=ROOT)

# kite.login_url() points at kite.zerodha.com. The simulator serves the login itself at
# ROOT/connect/login: open it in a browser, or, as here, read its redirect, which carries the
# request_token at once (there is no password to type).
login = requests.get(
    f"{ROOT}/connect/login",
    params={"api_key": "sim_api_key", "v": "3"},
    allow_redirects=False,
    timeout=10,
)
request_token = parse_qs(urlsplit(login.headers["Location"]).query)["request_token"][0]
kite.generate_session(request_token, api_secret="sim_api_secret")  # sets the access token

print("logged in as", kite.profile()["user_id"])
print("INFY last price", kite.quote(["NSE:INFY"])["NSE:INFY"]["last_price"])
order_id = kite.place_order(
    variety=kite.VARIETY_REGULAR,
    exchange=kite.EXCHANGE_NSE,
    tradingsymbol="INFY",
    transaction_type=kite.TRANSACTION_TYPE_BUY,
    quantity=1,
    product=kite.PRODUCT_CNC,
    order_type=kite.ORDER_TYPE_MARKET,
    # Since 2026 Kite refuses MARKET orders without it (and so does the simulator):
    # -1 lets Kite choose the protection, 1 to 100 caps the price at that percent.
    market_protection=-1,
)
print("placed order", order_id)
