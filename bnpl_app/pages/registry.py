"""Every page of the app in one table — its route, what it shows, its title, who may open it and
what loads it — and the one function that adds them all to the app (STYLE rule 8).

Each page's ``on_load`` is its state's ``load`` alone: one event, whose one trip to the database
also brings who is here, and which then turns away whoever the page's role excludes
(``session.page_load``; the roles come from this table). It is also what a live refresh or a
language switch re-runs for the page a tab shows (``SessionState._page_loader``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import reflex as rx
from reflex.event import EventHandler

from .. import routes
from ..words import WORDS, text
from ..state import account, cash, merchant, ops, orders, rental, security, shop
from ..models import MERCHANT, OPERATOR, SHOPPER
from ..state.session import PAGE_ROLES, is_page_load
from . import (account_pages, auth_pages, cash_pages, merchant_pages, ops_pages, order_pages, rental_pages, security_pages,
               shop_pages)

APP = text("app.name", "zh")  # every tab's title ends with the app's name


@dataclass(frozen=True)
class Page:
    route: str
    component: Callable[[], rx.Component]
    name: str  # words key of what the tab's title says before the app's name ("": the app's name alone)
    state: type[rx.State]  # whose ``load`` loads the page and turns away who may not see it
    role: str | None = None  # the one role that may open it; None: anybody

    @property
    def title(self) -> str:
        return f"{WORDS[self.name][0]} · {APP}" if self.name else APP  # an unknown key stops the build

    @property
    def on_load(self) -> list[EventHandler]:
        return [self.state.load]


# (route, what it shows, the words key of its title, whose ``load`` loads it, who may open it):
# dynamic routes first (STYLE rule 8), then by URL.
PAGES: tuple[Page, ...] = tuple(Page(*row) for row in (
    (routes.PRODUCT, shop_pages.product_page, "title.product", shop.ProductState),
    (routes.ORDER, order_pages.order_page, "title.order", orders.OrderState, SHOPPER),
    (routes.RENT_LISTING, rental_pages.listing_page, "title.rent_listing", rental.RentListingState),
    (routes.OPS_APPLICATION, ops_pages.application_page, "title.ops_application", ops.OpsApplicationState, OPERATOR),
    (routes.INDEX, shop_pages.catalog_page, "", shop.CatalogState),
    (routes.BILLS, account_pages.bills_page, "title.bills", account.BillsState, SHOPPER),
    (routes.CART, shop_pages.cart_page, "title.cart", shop.CartState, SHOPPER),
    (routes.CASH, cash_pages.cash_page, "title.cash", cash.CashState, SHOPPER),
    (routes.CHECKOUT, shop_pages.cart_page, "title.cart", shop.CartState, SHOPPER),
    (routes.CREDIT, account_pages.credit_page, "title.credit", account.CreditState, SHOPPER),
    (routes.HELP, account_pages.help_page, "title.help", account.HelpState),
    (routes.INBOX, account_pages.inbox_page, "title.inbox", account.InboxState),  # every role: its loader checks the log-in
    (routes.LOGIN, auth_pages.login_page, "title.login", security.AuthFormState),
    (routes.MERCHANT, merchant_pages.products_page, "title.merchant", merchant.MerchantProductsState, MERCHANT),
    (routes.MERCHANT_ANALYTICS, merchant_pages.analytics_page, "title.merchant_analytics", merchant.AnalyticsState, MERCHANT),
    (routes.MERCHANT_RENTALS, rental_pages.merchant_rentals_page, "title.merchant_rentals", rental.MerchantRentalsState,
     MERCHANT),
    (routes.MERCHANT_ORDERS, merchant_pages.orders_page, "title.merchant_orders", merchant.MerchantOrdersState, MERCHANT),
    (routes.MERCHANT_RETURNS, merchant_pages.returns_page, "title.merchant_returns", merchant.MerchantReturnsState, MERCHANT),
    (routes.MERCHANT_SETTLEMENT, merchant_pages.settlement_page, "title.merchant_settlement", merchant.SettlementState, MERCHANT),
    (routes.OPS, ops_pages.queue_page, "title.ops", ops.OpsQueueState, OPERATOR),
    (routes.OPS_AUDIT, ops_pages.audit_page, "title.ops_audit", ops.AuditState, OPERATOR),
    (routes.OPS_RISK, ops_pages.risk_page, "title.ops_risk", ops.RiskState, OPERATOR),
    (routes.OPS_SHOPPERS, ops_pages.shoppers_page, "title.ops_shoppers", ops.OpsShoppersState, OPERATOR),
    (routes.ORDERS, order_pages.orders_page, "title.orders", orders.OrdersState, SHOPPER),
    (routes.REGISTER, auth_pages.register_page, "title.register", security.AuthFormState),
    (routes.SECURITY, security_pages.security_page, "sessions.title", security.SecurityState),  # every role: its loader checks the log-in
    (routes.RENT, rental_pages.rent_page, "title.rent", rental.RentCatalogState),
    (routes.RENTALS, rental_pages.my_rentals_page, "title.rentals", rental.MyRentalsState, SHOPPER),
    (routes.WALLET, account_pages.wallet_page, "title.wallet", account.WalletState, SHOPPER),
))


def page_roles() -> dict[str, str | None]:
    """Each page state's full name → the one role that may open its pages (None: anybody). A state
    that loads two pages loads them for the same role, and its ``load`` is a ``page_load``."""
    roles: dict[str, str | None] = {}
    for page in PAGES:
        name = page.state.get_full_name()
        if roles.setdefault(name, page.role) != page.role:
            raise ValueError(f"{page.route}: {page.state.__name__} loads pages for two roles")
        if not is_page_load(page.state.load):
            raise ValueError(f"{page.route}: {page.state.__name__}.load is not a page_load")
    return roles


PAGE_ROLES.update(page_roles())


def add_pages(app: rx.App) -> None:
    """Add every page to ``app``."""
    for page in PAGES:
        app.add_page(page.component, route=page.route, title=page.title, on_load=page.on_load)
