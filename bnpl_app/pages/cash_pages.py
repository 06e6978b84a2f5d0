"""备用金: the cash-line page (apply, the line, the draw form with its quote, the draws with their
schedules and early repayment) and the product page's "buy with 备用金" panel."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..components import empty, field, layout, money, page_title, stat, status_badge, t
from ..domain.policy import POLICY
from ..state.cash import CashBuyState, CashState
from ..views.cash import CardOption, CashPeriodView, DrawView
from ..views.shop import Reason

_SELECT_STYLE = {
    "padding": "0.45em 0.6em", "borderRadius": "6px", "border": "1px solid var(--gray-a7)", "fontSize": "0.95em",
    "background": "var(--color-surface)", "color": "var(--gray-12)", "width": "100%", "maxWidth": "320px",
}


def _section(key: str, *children, **props) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(t(key), size="4"), *children, spacing="3", width="100%"), width="100%", **props)


def _reason(r: Reason) -> rx.Component:
    return rx.hstack(rx.icon("circle_x", size=16, color="var(--red-9)", flex_shrink="0"),
                     rx.text(r.text, size="2", data_testid="cash-reason", custom_attrs={"data-rule": r.rule}),
                     align="start", spacing="2")


def _kv(key: str, value, testid: str = "", **props) -> rx.Component:
    return rx.flex(rx.text(t(key), size="2", color_scheme="gray"),
                   rx.text(value, size="2", weight="bold", font_variant_numeric="tabular-nums",
                           **({"data_testid": testid} if testid else {}), **props),
                   justify="between", width="100%", wrap="wrap", gap="1")


def _schedule(periods, testid: str, with_status: bool = False) -> rx.Component:
    heads = ["cash.period", "cash.due", "cash.days", "cash.principal", "cash.interest", "cash.total"]
    if with_status:
        heads.append("cash.status")

    def row(p: CashPeriodView) -> rx.Component:
        cells = [rx.table.cell(p.seq), rx.table.cell(p.due, white_space="nowrap"), rx.table.cell(p.days),
                 rx.table.cell(money(p.principal)),
                 rx.table.cell(money(p.interest),
                               rx.cond(p.overdue_interest_fen > 0,
                                       rx.text(t("interest.overdue"), " ", p.overdue_interest, size="1",
                                               color="var(--red-11)", white_space="nowrap",
                                               data_testid="cash-overdue-interest"))),
                 rx.table.cell(money(p.total))]
        if with_status:
            cells.append(rx.table.cell(status_badge(p.status, p.status_label, "cash-period-status")))
        return rx.table.row(*cells, data_testid="cash-period")

    return rx.box(
        rx.table.root(rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(k), white_space="nowrap")
                                                     for k in heads])),
                      rx.table.body(rx.foreach(periods, row)), size="1", width="100%",
                      style={"--table-cell-padding": "var(--space-2) var(--space-1)"}),
        data_testid=testid, overflow_x="auto", width="100%", tab_index=0,
    )


def _changed(changes) -> rx.Component:
    return rx.cond(changes.length() > 0, rx.callout.root(
        rx.callout.icon(rx.icon("triangle_alert")),
        rx.vstack(rx.text(t("cash.terms_changed"), weight="bold", size="2"),
                  rx.foreach(changes, lambda c: rx.text(c, size="2", data_testid="cash-terms-changed-item")),
                  spacing="1"),
        color_scheme="amber", size="1", role="status", data_testid="cash-terms-changed", width="100%"))


def quote_panel(q, confirm: rx.Component) -> rx.Component:
    """A draw's terms before confirming: rate and APR, the whole schedule, total interest, the
    late-fee rule, what would refuse it — then the one button that draws on exactly them."""
    return rx.vstack(
        rx.text(t("cash.quote_title"), weight="bold", size="3"),
        _kv("cash.quote_amount", q.amount, "cash-quote-amount"),
        _kv("cash.rate", q.rate, "cash-quote-rate"),
        _kv("cash.apr", rx.text(q.apr, " (≤ ", q.apr_cap, ")", as_="span"), "cash-quote-apr"),
        rx.text(t("cash.method_name"), size="1", color_scheme="gray"),
        _schedule(q.periods, "cash-quote-schedule"),
        _kv("cash.total_interest", q.total_interest, "cash-quote-interest"),
        _kv("cash.total_repay", q.total_repay, "cash-quote-total"),
        _kv("cash.first_due", q.first_due, "cash-quote-first"),
        rx.text(t("cash.auto_note"), size="1", color_scheme="gray"),
        rx.box(rx.text(t("cash.late_title"), weight="bold", size="1"),
               rx.text(q.late_rule, size="1", data_testid="cash-quote-late-rule"), width="100%"),
        rx.cond(q.problems.length() > 0, rx.vstack(rx.foreach(q.problems, _reason), spacing="1", width="100%")),
        confirm,
        spacing="2", width="100%", data_testid="cash-quote", padding="0.75em", background="var(--gray-a2)",
        border_radius="8px",
    )


# ── the page ─────────────────────────────────────────────────────────────────────────────────
def _apply() -> rx.Component:
    v = CashState.view
    return _section(
        "cash.apply_title",
        rx.text(t("cash.apply_note"), size="2"),
        rx.text(t("cash.line"), ": ", money(v.would_get, weight="bold"),
                size="2", data_testid="cash-would-get"),
        rx.cond(v.failures.length() > 0, rx.vstack(rx.text(t("cash.cannot_apply"), size="2", weight="bold"),
                                                   rx.foreach(v.failures, _reason), spacing="1", width="100%")),
        rx.button(t("cash.apply"), on_click=CashState.apply, data_testid="cash-apply", disabled=~v.can_apply, size="3"),
    )


def _line() -> rx.Component:
    v = CashState.view
    return rx.vstack(
        rx.flex(stat("cash.line", v.line, "cash-line"), stat("cash.available", v.available, "cash-available"),
                stat("cash.outstanding", v.outstanding, "cash-outstanding"),
                stat("cash.rate", rx.text(v.rate, " · ", t("cash.apr"), " ", v.apr, as_="span"), "cash-rate"),
                spacing="3", wrap="wrap", width="100%"),
        rx.text(t("cash.identity"), size="1", color_scheme="gray"),
        spacing="2", width="100%",
    )


def _card_option(c: CardOption) -> rx.Component:
    return rx.el.option(c.label, value=c.id)


def _draw_form() -> rx.Component:
    return _section(
        "cash.draw_title",
        rx.flex(
            field("cash.amount", rx.input(value=CashState.amount_text, on_change=CashState.set_amount_text,
                                          id="cash-draw-amount", input_mode="decimal", data_testid="cash-draw-amount",
                                          placeholder=CashState.view.amount_hint, width="100%"), "cash-draw-amount"),
            field("cash.term", rx.el.select(
                *[rx.el.option(t("cash.term_n", n=n), value=str(n)) for n in POLICY.cash_terms],
                id="cash-draw-term", value=CashState.term, on_change=CashState.set_term, data_testid="cash-draw-term",
                style=_SELECT_STYLE), "cash-draw-term"),
            field("cash.to_card", rx.el.select(rx.foreach(CashState.view.cards, _card_option), id="cash-draw-card",
                                               value=CashState.card, on_change=CashState.set_card,
                                               data_testid="cash-draw-card", style=_SELECT_STYLE), "cash-draw-card"),
            spacing="3", direction=rx.breakpoints(initial="column", sm="row"), width="100%",
        ),
        rx.text(CashState.view.amount_hint, size="1", color_scheme="gray"),
        rx.button(t("cash.show_quote"), on_click=CashState.show_quote, data_testid="cash-draw-quote", variant="soft"),
        _changed(CashState.changed),
        rx.cond(CashState.quoted, quote_panel(CashState.quote, rx.button(
            t("cash.confirm"), on_click=CashState.confirm_draw, data_testid="cash-draw-confirm", size="3", width="100%",
            disabled=~CashState.quote.ok))),
    )


def _repay_form(d: DrawView) -> rx.Component:
    r = CashState.repay
    return rx.vstack(
        rx.text(t("cash.repay_rule"), size="1", color_scheme="gray", data_testid="cash-repay-rule"),
        rx.flex(
            rx.box(field("cash.repay_amount", rx.el.select(rx.foreach(d.repay_options, _card_option),
                                                           value=CashState.repay_text, on_change=CashState.set_repay_text,
                                                           id="cash-repay-amount", data_testid="cash-repay-amount",
                                                           style=_SELECT_STYLE), "cash-repay-amount"),
                   flex="1 1 12em", min_width="0"),
            rx.button(t("cash.repay_quote"), on_click=CashState.quote_repay, data_testid="cash-repay-quote",
                      variant="soft"),
            spacing="2", align="end", wrap="wrap", width="100%",
        ),
        rx.cond(CashState.repay_quoted, rx.vstack(
            _kv("cash.repay_now", r.total, "cash-repay-total"),
            _kv("cash.repay_interest_now", r.interest_now, "cash-repay-interest"),
            _kv("cash.repay_saving", r.saving, "cash-repay-saving", color="var(--green-11)"),
            _kv("cash.repay_method", r.method, "cash-repay-method"),
            rx.button(t("cash.repay_confirm"), on_click=CashState.confirm_repay, data_testid="cash-repay-confirm",
                      width="100%"),
            spacing="2", width="100%", padding="0.75em", background="var(--green-a2)", border_radius="8px",
        )),
        rx.button(t("cash.cancel"), on_click=CashState.close_repay, variant="ghost", color_scheme="gray", size="1"),
        spacing="2", width="100%", data_testid="cash-repay-form",
    )


def _draw(d: DrawView) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(rx.text(d.title, weight="bold"), status_badge(d.status, d.status_label, "cash-draw-status"),
                    rx.spacer(), rx.cond(d.open, rx.text(t("cash.left", left=""), d.left, size="2",
                                                         data_testid="cash-draw-left")),
                    width="100%", wrap="wrap", gap="2", align="center"),
            rx.text(d.dest, size="1", color_scheme="gray"),
            _schedule(d.periods, "cash-draw-schedule", with_status=True),
            rx.cond(d.open, rx.cond(
                d.repay_note != "", rx.text(d.repay_note, size="1", color_scheme="amber", data_testid="cash-repay-note"),
                rx.cond(CashState.repay_for == d.id, _repay_form(d),
                        rx.button(t("cash.repay_title"), on_click=CashState.open_repay(d.id), size="2", variant="soft",
                                  data_testid="cash-repay-open")))),
            spacing="2", width="100%",
        ),
        width="100%", data_testid="cash-draw-row", custom_attrs={"data-id": d.id, "data-status": d.status},
    )


def cash_page() -> rx.Component:
    v = CashState.view
    return layout(rx.vstack(
        page_title("cash.title"),
        rx.text(t("cash.intro"), size="2", color_scheme="gray"),
        rx.cond(
            v.has_line,
            rx.vstack(
                _line(),
                _draw_form(),
                _section("cash.draws",
                         rx.text(t("cash.repay_due_note"), size="1", color_scheme="gray"),
                         rx.cond(v.draws.length() > 0, rx.vstack(rx.foreach(v.draws, _draw), spacing="3", width="100%"),
                                 empty("cash.no_draws"))),
                spacing="3", width="100%",
            ),
            _apply(),
        ),
        rx.link(t("help.title"), " →", href=routes.HELP, size="2"),
        spacing="3", width="100%", max_width="860px", margin_x="auto",
    ))


# ── the product page ─────────────────────────────────────────────────────────────────────────
def cash_buy(product_id, in_stock) -> rx.Component:
    """The product page's "buy with 备用金" for a shopper with a line: the quote first."""
    q = CashBuyState.quote
    return rx.box(
        rx.cond(
            CashBuyState.has_line & in_stock,
            rx.vstack(
                rx.cond(~CashBuyState.open, rx.button(t("cash.buy"), on_click=CashBuyState.start(product_id), size="3",
                                                      variant="surface", data_testid="cash-buy")),
                rx.cond(CashBuyState.open, rx.vstack(
                    rx.text(t("cash.buy_title"), weight="bold", size="3"),
                    rx.text(t("cash.buy_note"), size="1", color_scheme="gray"),
                    field("cash.term", rx.el.select(
                        *[rx.el.option(t("cash.term_n", n=n), value=str(n)) for n in POLICY.cash_terms],
                        id="cash-buy-term", value=CashBuyState.term, on_change=CashBuyState.choose_term,
                        data_testid="cash-buy-term", style=_SELECT_STYLE), "cash-buy-term"),
                    _changed(CashBuyState.changed),
                    quote_panel(q, rx.flex(
                        rx.button(t("cash.buy_confirm"), on_click=CashBuyState.confirm, data_testid="cash-buy-confirm",
                                  disabled=~q.ok, size="3"),
                        rx.button(t("cash.cancel"), on_click=CashBuyState.cancel, variant="soft", color_scheme="gray",
                                  size="3"),
                        spacing="2", wrap="wrap")),
                    spacing="2", width="100%", data_testid="cash-buy-panel",
                )),
                spacing="2", width="100%",
            ),
        ),
        on_mount=CashBuyState.check, width="100%",
    )
