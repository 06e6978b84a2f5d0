"""Catalog, product page (eligibility, plans, schedule) and the confirm step."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..components import clock_later, empty, layout, money, page_title, t
from ..components.paging import pager, search_box
from ..components.plain import column, link_to, row, text
from ..state.shop import CartState, CatalogState, ProductState
from ..views.shop import ConfirmLine, PeriodView, ProductCard, Reason
from .cash_pages import cash_buy


def _card(p: ProductCard) -> rx.Component:
    # Plain elements (components/plain.py): a page of cards is the catalog's first paint.
    return link_to(
        rx.el.div(
            column(
                rx.el.img(src=p.image, alt=p.name, class_name="bnpl-card-img"),
                text(p.name, size="3", weight="bold"),
                text(p.shop, size="1", accent="gray"),
                row(
                    text(p.price, weight="bold", as_="span", class_name="bnpl-numbers bnpl-card-price"),
                    rx.cond(p.bnpl, rx.el.span(t("catalog.bnpl_badge"), class_name="rt-reset rt-Badge rt-r-size-1 rt-variant-soft",
                                               data_testid="bnpl-badge", custom_attrs={"data-accent-color": "orange"})),
                    gap="3", justify="space-between", class_name="bnpl-full-width",
                ),
                rx.cond(p.bnpl, text(p.trial_days, t("catalog.trial_days"), size="1", accent="gray")),
            ),
            class_name="rt-reset rt-BaseCard rt-Card rt-r-size-1 rt-variant-surface bnpl-card",
        ),
        href=p.url, class_name="bnpl-inherit bnpl-card-link", data_testid="product-card", custom_attrs={"data-id": p.id},
    )


def catalog_page() -> rx.Component:
    return layout(
        rx.vstack(
            page_title("catalog.title"),
            rx.hstack(
                search_box(CatalogState, "catalog.search", testid="catalog-search", max_width="260px", width="100%"),
                rx.el.label(
                    rx.hstack(rx.switch(checked=CatalogState.bnpl_only, on_change=CatalogState.set_bnpl_only,
                                        data_testid="bnpl-filter", id="bnpl-filter"),
                              rx.text(t("catalog.bnpl_only"), size="2"), align="center", spacing="2"),
                    html_for="bnpl-filter"),
                spacing="4", wrap="wrap", align="center",
            ),
            rx.cond(CatalogState.products.length() > 0,
                    rx.grid(rx.foreach(CatalogState.products, _card), columns=rx.breakpoints(initial="2", sm="3", md="4"),
                            spacing="3", width="100%"),
                    empty("catalog.no_match")),
            pager(CatalogState),
            spacing="4", width="100%",
        )
    )


def _reason(r: Reason) -> rx.Component:
    return rx.hstack(rx.icon("circle_x", size=16, color="var(--red-9)", flex_shrink="0"),
                     rx.text(r.text, size="2", data_testid="eligibility-reason", custom_attrs={"data-rule": r.rule}),
                     align="start", spacing="2")


def _eligibility() -> rx.Component:
    d = ProductState.detail
    return rx.card(
        rx.vstack(
            rx.text(t("product.eligibility"), weight="bold", size="2"),
            rx.cond(
                d.checked,
                rx.cond(
                    d.eligible,
                    rx.callout(t("product.eligible"), icon="circle_check", color_scheme="green",
                               data_testid="eligibility-status", custom_attrs={"data-eligible": "true"}),
                    rx.vstack(
                        rx.callout(t("product.not_eligible"), icon="circle_alert", color_scheme="red",
                                   data_testid="eligibility-status", custom_attrs={"data-eligible": "false"}),
                        rx.foreach(d.reasons, _reason), spacing="2",
                    ),
                ),
                rx.callout(rx.link(t("product.login_to_check"), href=routes.LOGIN), icon="info",
                           data_testid="eligibility-status", custom_attrs={"data-eligible": "unknown"}),
            ),
            spacing="2", width="100%",
        ),
        width="100%",
    )


def _period_row(p: PeriodView, offset_s=None) -> rx.Component:
    # A quote's due dates count from the moment of confirming: they tick with the clock.
    due = p.due if offset_s is None else clock_later(offset_s, p.months, testid="quote-due")
    return rx.table.row(rx.table.cell(p.seq), rx.table.cell(due), rx.table.cell(money(p.principal)),
                        rx.table.cell(money(p.fee)), rx.table.cell(money(p.total)))


def schedule_table(periods, testid: str = "schedule-preview", offset_s=None) -> rx.Component:
    """The periods of a plan; with ``offset_s`` (a quote: the first due that long after confirming)
    their due times are those of an order confirmed now, kept current."""
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(k)) for k in (
                "product.period", "product.due", "product.principal", "product.fee", "product.total")])),
            rx.table.body(rx.foreach(periods, lambda p: _period_row(p, offset_s))),
            # tighter cells: five columns fit a phone's width without scrolling the table
            size="1", width="100%", style={"--table-cell-padding": "var(--space-2) var(--space-1)"},
        ),
        data_testid=testid, overflow_x="auto", width="100%", tab_index=0,
    )


def deduct_at(after, offset_s, testid: str = "checkout-deduction-time") -> rx.Component:
    """"7 days after you confirm — 2026-12-09 14:03:27": relative to confirming, and the instant an
    order confirmed now would get, ticking."""
    return rx.text(after, " — ", clock_later(offset_s, seconds=True, testid="quote-deduct-at"), size="2",
                   weight="bold", data_testid=testid, as_="span")


def terms_changed(changes) -> rx.Component:
    """What changed while the shopper looked (a merchant's edit), and that the terms shown are new."""
    return rx.cond(
        changes.length() > 0,
        rx.callout.root(
            rx.callout.icon(rx.icon("triangle_alert")),
            rx.vstack(
                rx.text(t("quote.changed_title"), weight="bold", size="2"),
                rx.foreach(changes, lambda c: rx.text(c, size="2", data_testid="terms-changed-item")),
                rx.text(t("quote.changed_note"), size="1"),
                spacing="1",
            ),
            color_scheme="amber", size="1", role="status", data_testid="terms-changed", width="100%",
        ),
    )


def _plans() -> rx.Component:
    d = ProductState.detail
    sel = ProductState.selected
    return rx.vstack(
        rx.text(t("product.plans"), weight="bold", size="2"),
        rx.flex(
            rx.foreach(d.plans, lambda p: rx.button(
                p.label, on_click=ProductState.choose_plan(p.plan),
                variant=rx.cond(ProductState.plan == p.plan, "solid", "outline"), size="2",
                data_testid="plan-option-" + p.plan, aria_pressed=rx.cond(ProductState.plan == p.plan, "true", "false"))),
            wrap="wrap", spacing="2",
        ),
        rx.text(t("product.schedule"), size="2", color_scheme="gray"),
        schedule_table(sel.periods, offset_s=sel.offset_s),
        rx.hstack(rx.text(sel.fee_rule, size="1"), rx.text(t("product.total_fee"), ":", size="1"),
                  money(sel.total_fee, size="1"), wrap="wrap", spacing="2"),
        rx.flex(rx.text(t("cart.deduction_time"), ":", size="2", color_scheme="gray"),
                deduct_at(sel.deduct_after, sel.offset_s, testid="quote-deduct-time"),
                wrap="wrap", spacing="2", align="baseline"),
        rx.cond(d.checked, rx.flex(rx.text(t("cart.method"), ":", size="2", color_scheme="gray"),
                                   rx.text(sel.method, size="2", weight="bold", data_testid="quote-method"),
                                   wrap="wrap", spacing="2")),
        rx.callout(rx.vstack(rx.text(t("product.late_fee_rule"), weight="bold", size="1"),
                             rx.text(rx.cond(sel.late_rule != "", sel.late_rule, d.late_fee_rule), size="1",
                                     data_testid="quote-late-rule"), spacing="1"),
                   icon="info", color_scheme="gray", size="1", data_testid="late-fee-rule"),
        spacing="2", width="100%",
    )


def product_page() -> rx.Component:
    d = ProductState.detail
    return layout(
        rx.cond(
            ProductState.missing,
            empty("common.not_found"),
            rx.flex(
                rx.image(src=d.image, alt=d.name, width=["100%", "100%", "340px"], height="260px", object_fit="contain",
                         background="var(--gray-3)", border_radius="12px", flex_shrink="0"),
                rx.vstack(
                    rx.heading(d.name, size="6", data_testid="product-name"),
                    rx.text(d.shop, color_scheme="gray", size="2"),
                    terms_changed(d.changed),
                    rx.hstack(money(d.price, size="6", weight="bold", color="var(--accent-11)", data_testid="product-price"),
                              rx.cond(d.interest_free, rx.badge(t("product.interest_free"), color_scheme="green")),
                              align="center"),
                    rx.text(d.description, size="2"),
                    rx.hstack(rx.text(t("catalog.stock"), ": ", d.stock, size="2", data_testid="product-stock"),
                              rx.cond(d.bnpl, rx.text(t("product.trial"), ": ", d.trial_days, " ", t("product.days"), size="2")),
                              spacing="4", wrap="wrap"),
                    rx.cond(d.bnpl, rx.fragment(_eligibility(), _plans()),
                            rx.callout(t("product.bnpl_off"), icon="info", color_scheme="gray",
                                       data_testid="eligibility-status", custom_attrs={"data-eligible": "false"})),
                    rx.cond(
                        d.bnpl,
                        rx.flex(
                            rx.button(t("product.add_to_cart"), on_click=ProductState.add_to_cart, variant="outline",
                                      size="3", data_testid="add-to-cart", disabled=~d.eligible),
                            rx.button(t("product.buy_bnpl"), on_click=ProductState.buy_bnpl, size="3",
                                      data_testid="buy-bnpl", disabled=~d.eligible),
                            spacing="3", wrap="wrap",
                        ),
                    ),
                    cash_buy(d.id, d.stock > 0),
                    spacing="3", width="100%", min_width="0",
                ),
                spacing="5", direction=rx.breakpoints(initial="column", md="row"), width="100%",
            ),
        )
    )


def _line(line: ConfirmLine, index) -> rx.Component:
    def kv(key: str, value, testid: str) -> rx.Component:
        shown = value if isinstance(value, rx.Component) else rx.text(
            value, weight="bold", size="2", data_testid=testid, font_variant_numeric="tabular-nums")
        return rx.flex(rx.text(t(key), size="2", color_scheme="gray"), shown, justify="between", width="100%",
                       wrap="wrap", gap="1")

    quote = rx.vstack(
        kv("cart.due_now", line.due_now, "checkout-due-now"),
        kv("cart.deduction_time", deduct_at(line.deduct_after, line.offset_s), "checkout-deduction-time"),
        kv("cart.deduction_amount", line.deduction_amount, "checkout-deduction-amount"),
        kv("cart.method", line.method, "checkout-method"),
        rx.text(t("quote.deduct_note"), size="1", color_scheme="gray"),
        schedule_table(line.periods, "checkout-schedule", offset_s=line.offset_s),
        rx.hstack(rx.text(t("quote.fees"), ":", size="1"), money(line.total_fee, size="1", data_testid="quote-fees"),
                  spacing="2"),
        rx.box(rx.text(t("product.late_fee_rule"), weight="bold", size="1"),
               rx.text(line.late_rule, size="1", data_testid="quote-late-rule"), width="100%"),
        spacing="2", width="100%", data_testid="quote-schedule",
    )
    return rx.card(
        rx.vstack(
            rx.hstack(rx.text(line.name, weight="bold"), rx.badge(line.plan_label, data_testid="quote-plan"),
                      money(line.price, data_testid="quote-price"),
                      rx.spacer(), rx.button(t("cart.remove"), on_click=CartState.remove(index), size="1",
                                             variant="ghost", color_scheme="gray"), width="100%", wrap="wrap",
                      align="center"),
            terms_changed(line.changed),
            rx.cond(line.quoted, quote),
            rx.cond(line.problem != "", rx.callout(line.problem, color_scheme="red", icon="circle_alert", size="1")),
            rx.cond(line.error != "", rx.callout(rx.text(t("quote.not_placed"), ": ", line.error), color_scheme="red",
                                                 icon="circle_x", size="1", data_testid="cart-line-error")),
            spacing="2", width="100%",
        ),
        data_testid="cart-line", custom_attrs={"data-id": line.product_id}, width="100%",
    )


def cart_page() -> rx.Component:
    return layout(
        rx.vstack(
            page_title("cart.title"),
            rx.cond(
                CartState.lines.length() > 0,
                rx.vstack(
                    rx.foreach(CartState.lines, _line),
                    rx.text(t("cart.consent"), size="1", color_scheme="gray"),
                    rx.button(t("cart.confirm"), on_click=CartState.confirm, size="3", width="100%",
                              data_testid="checkout-confirm"),
                    spacing="3", width="100%",
                ),
                empty("cart.empty"),
            ),
            spacing="4", width="100%", max_width="720px", margin_x="auto",
        )
    )
