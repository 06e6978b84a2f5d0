"""Orders list and the trial cockpit of one order."""

from __future__ import annotations

import reflex as rx

from ..components import countdown, empty, layout, money, page_title, status_badge, t
from ..components.paging import pager
from ..state.orders import OrderState, OrdersState
from ..views.shop import HoldStep, InstallmentView, OrderView


def _kv(key: str, value, testid: str = "") -> rx.Component:
    props = {"data_testid": testid} if testid else {}
    return rx.vstack(rx.text(t(key), size="1", color_scheme="gray"),
                     rx.text(value, size="2", weight="bold", font_variant_numeric="tabular-nums", **props), spacing="0")


def _row(o: OrderView) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.link(rx.text(o.product, weight="bold"), href=o.url), money(o.price), rx.badge(o.plan_label),
                      rx.spacer(), status_badge(o.status, o.status_label, "order-status"), wrap="wrap", align="center",
                      width="100%"),
            rx.cond(o.in_trial, rx.hstack(rx.text(t("order.trial_left"), size="2"), countdown(o.trial_end_ts),
                                          align="center", spacing="2")),
            rx.cond(o.next_amount != "",
                    rx.flex(_kv("order.will_deduct", o.next_amount, "order-deduction-amount"),
                            _kv("order.deduct_at", o.next_time), _kv("order.from", o.next_method, "order-deduction-method"),
                            spacing="4", wrap="wrap")),
            rx.cond(o.paused, rx.text(t("order.paused"), size="2", color_scheme="amber")),
            rx.link(t("order.open"), href=o.url, size="2", data_testid="order-open"),
            spacing="2", width="100%",
        ),
        data_testid="order-row", custom_attrs={"data-id": o.id}, width="100%",
    )


def orders_page() -> rx.Component:
    return layout(rx.vstack(
        page_title("orders.title"),
        rx.cond(OrdersState.orders.length() > 0, rx.vstack(rx.foreach(OrdersState.orders, _row), spacing="3", width="100%"),
                empty("orders.empty")),
        pager(OrdersState),
        spacing="4", width="100%",
    ))


def _step(h: HoldStep) -> rx.Component:
    return rx.hstack(
        rx.box(width="10px", height="10px", border_radius="50%", background="var(--accent-9)", margin_top="0.35em",
               flex_shrink="0"),
        rx.vstack(rx.hstack(rx.text(h.label, weight="bold", size="2"), rx.cond(h.amount != "", money(h.amount, size="2")),
                            spacing="2"),
                  rx.text(h.at, size="1", color_scheme="gray"),
                  rx.cond(h.note != "", rx.text(h.note, size="1", color_scheme="gray")), spacing="0"),
        data_testid="hold-step", custom_attrs={"data-step": h.step}, align="start", spacing="2",
    )


def _inst(i: InstallmentView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(i.seq, "/", i.periods), rx.table.cell(i.due), rx.table.cell(money(i.principal)),
        rx.table.cell(money(i.fee)), rx.table.cell(money(i.late_fee)), rx.table.cell(money(i.owed)),
        rx.table.cell(status_badge(i.status, i.status_label, "installment-status")),
    )


def _cockpit() -> rx.Component:
    o = OrderState.order
    return rx.card(
        rx.vstack(
            rx.cond(o.in_trial, rx.hstack(rx.text(t("order.trial_left")), countdown(o.trial_end_ts, size="6"),
                                          align="center", spacing="3", wrap="wrap")),
            rx.flex(_kv("order.trial_end", o.trial_end), _kv("order.deduct_at", o.next_time, "order-deduction-time"),
                    _kv("order.will_deduct", o.next_amount, "order-deduction-amount"),
                    _kv("order.from", o.next_method, "order-deduction-method"), _kv("order.frozen", o.frozen, "order-frozen"),
                    spacing="5", wrap="wrap"),
            rx.cond(o.paused, rx.callout(t("order.paused"), icon="pause", color_scheme="amber", size="1")),
            rx.flex(
                rx.cond(o.can_pay_now, rx.button(t("order.pay_now"), on_click=OrderState.pay_now, data_testid="order-pay-now")),
                rx.cond(o.can_return, rx.popover.root(
                    rx.popover.trigger(rx.button(t("order.return"), variant="outline", data_testid="order-return")),
                    rx.popover.content(rx.vstack(
                        rx.el.label(t("order.tracking"), html_for="return-tracking", style={"fontSize": "0.85em"}),
                        rx.input(id="return-tracking", value=OrderState.tracking, on_change=OrderState.set_tracking,
                                 placeholder=t("order.tracking_ph"), data_testid="return-tracking-input"),
                        rx.popover.close(rx.button(t("order.submit_return"), on_click=OrderState.request_return,
                                                   data_testid="return-submit")),
                        spacing="2")),
                )),
                spacing="3", wrap="wrap",
            ),
            spacing="3", width="100%",
        ),
        width="100%",
    )


def _inspection() -> rx.Component:
    o = OrderState.order
    return rx.cond(
        o.return_status != "",
        rx.card(rx.vstack(
            rx.hstack(rx.text(t("order.inspection"), weight="bold"), rx.badge(o.return_status_label), spacing="2"),
            rx.text(t("order.tracking"), ": ", o.tracking_no, size="2"),
            rx.cond(o.inspect_deadline != "", rx.text(t("order.deadline"), ": ", o.inspect_deadline, size="2")),
            rx.cond(o.rejection_reason != "", rx.text(t("order.rejected_reason"), ": ", o.rejection_reason, size="2",
                                                      data_testid="inspection-reason")),
            rx.flex(rx.foreach(o.photos, lambda url: rx.link(rx.image(src=url, alt="inspection photo", width="140px",
                                                                     height="105px", object_fit="cover",
                                                                     border_radius="6px", data_testid="inspection-photo"),
                                                            href=url, is_external=True)), spacing="2", wrap="wrap"),
            spacing="2"), width="100%"),
    )


def order_page() -> rx.Component:
    o = OrderState.order
    return layout(rx.cond(
        OrderState.missing,
        empty("common.not_found"),
        rx.vstack(
            rx.hstack(rx.heading(o.product, size="6"), money(o.price, size="5"), rx.badge(o.plan_label),
                      status_badge(o.status, o.status_label, "order-status"), wrap="wrap", align="center", spacing="3"),
            rx.text(t("order.created"), ": ", o.created, size="2", color_scheme="gray"),
            _cockpit(),
            _inspection(),
            rx.card(rx.vstack(rx.text(t("order.timeline"), weight="bold"),
                              rx.vstack(rx.foreach(o.timeline, _step), spacing="3", data_testid="hold-timeline"),
                              spacing="3"), width="100%"),
            rx.card(rx.vstack(rx.text(t("order.installments"), weight="bold"),
                              rx.box(rx.table.root(
                                  rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(k)) for k in (
                                      "product.period", "product.due", "product.principal", "product.fee", "bills.late_fee",
                                      "product.total", "common.status")])),
                                  rx.table.body(rx.foreach(o.installments, _inst)), size="1", width="100%"),
                                  overflow_x="auto", width="100%", tab_index=0)), width="100%"),
            spacing="4", width="100%", data_testid="order-detail", custom_attrs={"data-id": o.id},
        ),
    ))
