"""Route constants and builders: every URL in the app is named here, nobody hand-writes one."""

from .models import Role

INDEX = "/"
LOGIN = "/login"
REGISTER = "/register"
CART = "/cart"
CHECKOUT = "/checkout"
ORDERS = "/orders"
BILLS = "/bills"
CREDIT = "/credit"
CASH = "/cash"
WALLET = "/wallet"
INBOX = "/inbox"
HELP = "/help"
SECURITY = "/account/security"
# The HTTP endpoints that set and clear the session cookie (``auth_api.py``): POST only, on the
# backend's own port, under a path no page and nothing of Reflex's uses.
AUTH_LOGIN = "/auth/login"
AUTH_DEMO = "/auth/demo"
AUTH_REGISTER = "/auth/register"
AUTH_LOGOUT = "/auth/logout"
PRODUCT = "/product/[pid]"
ORDER = "/orders/[oid]"
RENT = "/rent"
RENT_LISTING = "/rent/[lid]"
RENTALS = "/rentals"

MERCHANT = "/merchant"
MERCHANT_ORDERS = "/merchant/orders"
MERCHANT_RETURNS = "/merchant/returns"
MERCHANT_SETTLEMENT = "/merchant/settlement"
MERCHANT_ANALYTICS = "/merchant/analytics"
MERCHANT_RENTALS = "/merchant/rentals"

OPS = "/ops"
OPS_APPLICATION = "/ops/applications/[aid]"
OPS_SHOPPERS = "/ops/shoppers"
OPS_RISK = "/ops/risk"
OPS_AUDIT = "/ops/audit"


def product(pid: int | str) -> str:
    return f"/product/{pid}"


def order(oid: int | str) -> str:
    return f"/orders/{oid}"


def rent_listing(lid: int | str) -> str:
    return f"/rent/{lid}"


def ops_application(aid: int | str) -> str:
    return f"/ops/applications/{aid}"


def upload_url(stored_name: str) -> str:
    """Where the app serves an uploaded file (proofs, inspection photos, product pictures):
    ``files_api`` checks who may read it."""
    return f"/files/{stored_name}"


HOME_OF_ROLE = {Role.SHOPPER: INDEX, Role.MERCHANT: MERCHANT, Role.OPERATOR: OPS}
