"""The frame of every page: top bar with navigation, the demo clock bar (ticking in the browser), the toast."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..state.session import SessionState
from .common import clock_text, t
from .plain import NativeForm, heading, link_to, row, text
from ..models import Role
from ..words import LANG_TAGS, LANGS

_SHOPPER_NAV = [("nav.catalog", routes.INDEX, "nav-catalog"), ("nav.rent", routes.RENT, "nav-rent"),
                ("nav.orders", routes.ORDERS, "nav-orders"),
                ("nav.bills", routes.BILLS, "nav-bills"), ("nav.credit", routes.CREDIT, "nav-credit"),
                ("nav.cash", routes.CASH, "nav-cash"),
                ("nav.wallet", routes.WALLET, "nav-wallet"), ("nav.cart", routes.CART, "nav-cart")]
_MERCHANT_NAV = [("nav.merchant", routes.MERCHANT, "nav-merchant"),
                 ("nav.merchant_orders", routes.MERCHANT_ORDERS, "nav-merchant-orders"),
                 ("nav.merchant_returns", routes.MERCHANT_RETURNS, "nav-merchant-returns"),
                 ("nav.merchant_rentals", routes.MERCHANT_RENTALS, "nav-merchant-rentals"),
                 ("nav.settlement", routes.MERCHANT_SETTLEMENT, "nav-settlement"),
                 ("nav.analytics", routes.MERCHANT_ANALYTICS, "nav-analytics")]
_OPS_NAV = [("nav.ops", routes.OPS, "nav-ops"), ("nav.ops_shoppers", routes.OPS_SHOPPERS, "nav-ops-shoppers"),
            ("nav.ops_risk", routes.OPS_RISK, "nav-ops-risk"), ("nav.ops_audit", routes.OPS_AUDIT, "nav-ops-audit")]


def _link(key: str, href: str, testid: str) -> rx.Component:
    return link_to(t(key), href=href, data_testid=testid, size="2", weight="medium", class_name="bnpl-nav-link")


def _nav() -> rx.Component:
    return row(
        rx.match(
            SessionState.role,
            (Role.MERCHANT, rx.fragment(*[_link(*x) for x in _MERCHANT_NAV])),
            (Role.OPERATOR, rx.fragment(*[_link(*x) for x in _OPS_NAV])),
            rx.fragment(*[_link(*x) for x in _SHOPPER_NAV]),
        ),
        link_to(
            row(rx.icon("bell", size=16), t("nav.inbox"),
                rx.cond(SessionState.unread > 0,
                        rx.badge(SessionState.unread, color_scheme="red", variant="solid", radius="full",
                                 data_testid="inbox-unread-count"),
                        rx.text("0", data_testid="inbox-unread-count", display="none")),
                gap="1"),
            href=routes.INBOX, data_testid="nav-inbox", size="2", class_name="bnpl-nav-inbox",
        ),
        _link("nav.help", routes.HELP, "nav-help"),
        gap="1", wrap=True,
    )


def _top_bar() -> rx.Component:
    return row(
        link_to(row(rx.el.img(src="/logo.svg", alt="", class_name="bnpl-logo"), heading(t("app.name"), size="4")),
                href=routes.INDEX, class_name="bnpl-inherit"),
        rx.cond(SessionState.logged_in, _nav(), rx.fragment()),
        rx.el.div(class_name="bnpl-spacer"),
        row(
            rx.button(t("lang.switch"), on_click=SessionState.toggle_lang, variant="ghost", size="1",
                      data_testid="lang-switch", aria_label="language"),
            rx.cond(
                SessionState.logged_in,
                row(link_to(row(rx.icon("shield-check", size=14), text(SessionState.display_name), gap="1"),
                            href=routes.SECURITY, size="2", underline="hover", data_testid="whoami",
                            title=t("sessions.link"), aria_label=t("sessions.link"), accent="gray"),
                    # Log-out is a native POST to the endpoint that ends the session and clears the
                    # HttpOnly cookie (no script can), answered with the log-in page.
                    NativeForm.create(rx.button(t("auth.logout"), type="submit", size="1", variant="soft",
                                                data_testid="logout"),
                                      action=routes.AUTH_LOGOUT, method="post"),
                    gap="2"),
                link_to(t("auth.login"), href=routes.LOGIN, size="2", underline="auto", data_testid="nav-login"),
            ),
            gap="3",
        ),
        gap="3", wrap=True, class_name="bnpl-top-bar",
    )


def _clock_bar() -> rx.Component:
    def step(label: str, arg: str, testid: str) -> rx.Component:
        return rx.button(label, on_click=SessionState.advance(arg), size="1", variant="soft", color_scheme="gray",
                         data_testid=testid, loading=SessionState.clock_busy)

    return rx.cond(
        SessionState.demo,
        row(
            rx.icon("clock", size=14),
            text(t("clock.label"), size="1"),
            text(clock_text(), size="1", weight="bold", class_name="bnpl-numbers"),
            # Only somebody logged in may move the clock (the handler refuses anyone else).
            rx.cond(SessionState.logged_in, row(
                step("+1h", "1h", "clock-advance-1h"), step("+1d", "1d", "clock-advance-1d"),
                step("+7d", "7d", "clock-advance-7d"),
                rx.button(t("clock.next"), on_click=SessionState.advance("next"), size="1", variant="soft",
                          color_scheme="gray", data_testid="clock-advance-to-next-event",
                          loading=SessionState.clock_busy),
                wrap=True)),
            wrap=True, class_name="bnpl-clock-bar",
        ),
    )


def _toast() -> rx.Component:
    return rx.cond(
        SessionState.toast_text != "",
        rx.box(
            # Two static icons, not one named by a var: a var name makes Reflex ship lucide's
            # DynamicIcon (every icon, ~240 KB) with every page.
            rx.callout.root(
                rx.callout.icon(rx.cond(SessionState.toast_kind == "error", rx.icon("triangle_alert"), rx.icon("info"))),
                rx.callout.text(SessionState.toast_text),
                color_scheme=rx.match(SessionState.toast_kind, ("error", "red"), ("success", "green"), "blue"),
                data_testid="toast", role="status", on_click=SessionState.dismiss_toast, size="2",
                style={"boxShadow": "0 4px 18px rgba(0,0,0,.15)", "cursor": "pointer"}),
            # Above Radix dialogs and their overlays, so a refusal inside a dialog is seen.
            position="fixed", bottom="1em", left="50%", transform="translateX(-50%)", z_index="2147483000",
            max_width="min(92vw, 560px)",
        ),
    )


def layout(*children, **props) -> rx.Component:
    # The page's language for screen readers and the browser's choice of glyphs: the one chosen in
    # the tab (the <html> element gives the default language's, for what is outside this box).
    return rx.el.div(
        _clock_bar(),
        _top_bar(),
        rx.el.div(*children, class_name="bnpl-main", **props),
        _toast(),
        class_name="bnpl-page", data_testid="page-root",
        custom_attrs={"lang": rx.match(SessionState.lang, *((lang, LANG_TAGS[lang]) for lang in LANGS[1:]),
                                        LANG_TAGS[LANGS[0]])},
    )
