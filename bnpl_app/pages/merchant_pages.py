"""The merchant console: products (先用后付 settings, create/edit with an image, the shop cap),
orders, the returns desk, settlement (with CSV export) and analytics."""

from __future__ import annotations

import reflex as rx

from ..components import countdown, empty, field, layout, money, page_title, stat, status_badge, t
from ..components.paging import pager, search_box
from ..domain.policy import POLICY
from ..state.merchant import (
    INSPECT_UPLOAD,
    PRODUCT_IMAGE_UPLOAD,
    AnalyticsState,
    MerchantOrdersState,
    MerchantProductsState,
    MerchantReturnsState,
    SettlementState,
)
from ..views.merchant import MerchantOrderRow, MetricRow, ProductRow, ReturnRow, SettlementRow
from ..models import OrderStatus as OS

_IMAGE_ACCEPT = {"image/png": [".png"], "image/jpeg": [".jpg", ".jpeg"], "image/gif": [".gif"], "image/webp": [".webp"]}
_MB = POLICY.upload_max_bytes // (1024 * 1024)


def _note(key: str, icon: str = "info", color: str = "gray", **props) -> rx.Component:
    return rx.callout(t(key), icon=icon, color_scheme=color, size="1", width="100%", **props)


def _kv(key: str, value, testid: str = "", **props) -> rx.Component:
    extra = {"data_testid": testid} if testid else {}
    return rx.vstack(rx.text(t(key), size="1", color_scheme="gray"),
                     rx.text(value, size="2", weight="bold", font_variant_numeric="tabular-nums", **extra, **props),
                     spacing="0", min_width="6em")


# ── products ─────────────────────────────────────────────────────────────────────────────────
def _settings_form(p: ProductRow) -> rx.Component:
    pid = p.id.to_string()
    return rx.form(
        rx.el.input(type="hidden", name="product_id", value=pid),
        rx.grid(
            # No min/max here: the browser's own bubble would block the form silently in tests and
            # speak the browser's language; the server refuses out-of-range values with a toast.
            field("mer.trial_days", rx.input(name="trial_days", id="trial-" + pid, type="number", input_mode="numeric",
                                             default_value=p.trial_days.to_string(),
                                             data_testid="trial-days-input", width="100%"), "trial-" + pid),
            field("mer.min_score", rx.input(name="min_score", id="score-" + pid, type="number", input_mode="numeric",
                                            default_value=p.min_score.to_string(), data_testid="min-score-input",
                                            width="100%"), "score-" + pid),
            field("mer.plans", rx.input(name="plans", id="plans-" + pid, default_value=p.plans,
                                        placeholder="full,3,6,12", data_testid="plans-input", width="100%"),
                  "plans-" + pid),
            rx.vstack(
                rx.el.label(t("mer.interest_free"), html_for="free-" + pid,
                            style={"fontSize": "0.85em", "color": "var(--gray-11)"}),
                rx.hstack(rx.checkbox(name="interest_free", id="free-" + pid, default_checked=p.interest_free,
                                      data_testid="interest-free-toggle", size="3"),
                          rx.text(t("mer.interest_free_hint"), size="1", color_scheme="gray"),
                          align="center", spacing="2", min_height="32px"),
                spacing="1",
            ),
            columns=rx.breakpoints(initial="2", md="4"), spacing="3", width="100%",
        ),
        rx.hstack(
            rx.text(t("mer.plans_hint"), size="1", color_scheme="gray"),
            rx.spacer(),
            rx.button(t("mer.save_settings"), type="submit", size="2", data_testid="product-save"),
            width="100%", align="center", wrap="wrap", spacing="2", margin_top="0.5em",
        ),
        on_submit=MerchantProductsState.save_settings, reset_on_submit=False, width="100%",
        key=p.version,
    )


def _product_row(p: ProductRow) -> rx.Component:
    pid = p.id.to_string()
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.image(src=p.image, alt=p.name, width="64px", height="64px", object_fit="contain",
                         background="var(--gray-3)", border_radius="8px", flex_shrink="0"),
                rx.vstack(
                    rx.hstack(rx.text(p.name, weight="bold", size="3", data_testid="merchant-product-name"),
                              rx.cond(p.bnpl, rx.badge(t("mer.bnpl_badge_on"), color_scheme="orange"),
                                      rx.badge(t("mer.bnpl_badge_off"), color_scheme="gray")),
                              rx.cond(p.interest_free, rx.badge(t("mer.interest_free"), color_scheme="green")),
                              wrap="wrap", spacing="2", align="center"),
                    rx.hstack(money(p.price, weight="bold"), rx.text(p.category, size="1", color_scheme="gray"),
                              rx.text(t("mer.stock"), ": ", p.stock, size="1", color_scheme="gray",
                                      data_testid="merchant-product-stock"),
                              rx.text(p.plans_label, size="1", color_scheme="gray"), wrap="wrap", spacing="3",
                              align="center"),
                    spacing="1", min_width="0", flex="1",
                ),
                rx.vstack(
                    rx.el.label(
                        rx.hstack(rx.switch(checked=p.bnpl, on_change=lambda v: MerchantProductsState.toggle_bnpl(p.id, v),
                                            data_testid="bnpl-toggle", id="bnpl-" + pid, size="3"),
                                  rx.text(t("mer.bnpl"), size="2", weight="medium"), align="center", spacing="2"),
                        html_for="bnpl-" + pid,
                    ),
                    rx.button(t("mer.edit"), on_click=MerchantProductsState.open_edit(p.id), size="1", variant="soft",
                              data_testid="product-edit"),
                    align="end", spacing="2",
                ),
                width="100%", align="start", spacing="3",
            ),
            rx.cond(p.open_trials > 0,
                    rx.text(t("mer.open_trials").to(str).replace("{n}", p.open_trials.to_string()), size="1",
                            color_scheme="blue", data_testid="product-open-trials")),
            rx.divider(),
            _settings_form(p),
            spacing="3", width="100%",
        ),
        data_testid="merchant-product-row", custom_attrs={"data-id": p.id}, width="100%",
    )


def _shop_card() -> rx.Component:
    shop = MerchantProductsState.shop
    return rx.card(
        rx.form(
            rx.vstack(
                rx.hstack(rx.text(t("mer.shop"), weight="bold"), rx.text(shop.name, color_scheme="gray"), spacing="2",
                          wrap="wrap"),
                rx.flex(
                    rx.box(field("mer.shop_cap", rx.input(name="cap", id="shop-cap", default_value=shop.cap_input,
                                                          data_testid="shop-cap-input", input_mode="decimal",
                                                          width="100%"), "shop-cap"), flex="1", min_width="200px", max_width="360px"),
                    rx.button(t("common.save"), type="submit", data_testid="shop-cap-save"),
                    spacing="3", align="end", wrap="wrap", width="100%",
                ),
                rx.text(t("mer.shop_cap_hint"), " ", t("mer.current"), ": ", shop.cap, size="1", color_scheme="gray",
                        data_testid="shop-cap-current"),
                spacing="2", width="100%",
            ),
            on_submit=MerchantProductsState.save_cap, reset_on_submit=False, key=shop.cap_input, width="100%",
        ),
        width="100%",
    )


def _edit_dialog() -> rx.Component:
    S = MerchantProductsState
    is_new = S.edit_id == 0
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(is_new, t("mer.new_product"), t("mer.edit_product"))),
            rx.vstack(
                field("mer.name", rx.input(id="edit-name", value=S.edit_name, on_change=S.set_edit_name,
                                           data_testid="product-name-input", width="100%"), "edit-name"),
                rx.grid(
                    field("mer.price_yuan", rx.input(id="edit-price", value=S.edit_price, on_change=S.set_edit_price,
                                                     input_mode="decimal", placeholder="199.00",
                                                     data_testid="product-price-input", width="100%"), "edit-price"),
                    field("mer.stock", rx.input(id="edit-stock", value=S.edit_stock, on_change=S.set_edit_stock,
                                                type="number", min=0, data_testid="product-stock-input", width="100%"),
                          "edit-stock"),
                    columns="2", spacing="3", width="100%",
                ),
                field("mer.category", rx.input(id="edit-category", value=S.edit_category, on_change=S.set_edit_category,
                                               data_testid="product-category-input", width="100%"), "edit-category"),
                field("mer.description", rx.text_area(id="edit-desc", value=S.edit_description,
                                                      on_change=S.set_edit_description, rows="3",
                                                      data_testid="product-description-input", width="100%"),
                      "edit-desc"),
                rx.vstack(
                    rx.text(t("mer.image"), size="1", color_scheme="gray"),
                    rx.hstack(
                        rx.cond(S.edit_image != "", rx.image(src=S.edit_image, alt="", width="56px", height="56px",
                                                             object_fit="contain", background="var(--gray-3)",
                                                             border_radius="6px")),
                        rx.el.label(rx.upload(  # the label names the file input, as on the returns desk
                            rx.vstack(rx.icon("image_up", size=20), rx.text(t("mer.image_pick"), size="1"),
                                      align="center", spacing="1"),
                            id=PRODUCT_IMAGE_UPLOAD, accept=_IMAGE_ACCEPT, max_files=1, multiple=False, no_click=True,
                            max_size=POLICY.upload_max_bytes, on_drop_rejected=S.files_rejected, data_testid="product-image-upload",
                            border="1px dashed var(--gray-7)", border_radius="8px", padding="0.75em",
                            cursor="pointer",
                        ), style={"display": "block", "flex": "1"}),
                        width="100%", align="center", spacing="3",
                    ),
                    rx.foreach(rx.selected_files(PRODUCT_IMAGE_UPLOAD),
                               lambda f: rx.text("✓ ", f, size="1", color_scheme="green")),
                    rx.text(t("mer.image_rules"), " ", _MB, " MB", size="1", color_scheme="gray"),
                    spacing="1", width="100%",
                ),
                rx.cond(is_new, rx.el.label(
                    rx.hstack(rx.switch(checked=S.edit_bnpl, on_change=S.set_edit_bnpl, id="edit-bnpl"),
                              rx.text(t("mer.bnpl_new"), size="2"), align="center", spacing="2"),
                    html_for="edit-bnpl"),
                        rx.text(t("mer.price_note"), size="1", color_scheme="gray")),
                rx.cond(S.edit_error != "", rx.callout(S.edit_error, icon="triangle_alert", color_scheme="red", size="1",
                                                       width="100%", data_testid="product-dialog-error")),
                rx.hstack(
                    rx.dialog.close(rx.button(t("common.cancel"), variant="soft", color_scheme="gray")),
                    rx.button(t("common.save"), on_click=S.save_product(rx.upload_files(upload_id=PRODUCT_IMAGE_UPLOAD)),
                              data_testid="product-dialog-save"),
                    justify="end", width="100%", spacing="3",
                ),
                spacing="3", width="100%",
            ),
            max_width="520px",
        ),
        open=S.editing, on_open_change=S.set_editing,
    )


def products_page() -> rx.Component:
    S = MerchantProductsState
    return layout(rx.vstack(
        page_title("mer.products_title",
                   rx.button(rx.icon("plus", size=16), t("mer.new_product"), on_click=S.open_new,
                             data_testid="product-new")),
        _note("mer.off_note", icon="shield_check", color="blue", data_testid="bnpl-off-note"),
        _shop_card(),
        rx.cond(S.products.length() > 0, rx.vstack(rx.foreach(S.products, _product_row), spacing="3", width="100%"),
                empty("mer.no_products")),
        _edit_dialog(),
        spacing="4", width="100%",
    ))


# ── orders ───────────────────────────────────────────────────────────────────────────────────
_STATUSES = list(OS)


def _order_row(o: MerchantOrderRow) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.text("#", o.id, size="1", color_scheme="gray"), rx.text(o.product, weight="bold"),
                      money(o.price), rx.badge(o.plan_label, variant="outline"), rx.spacer(),
                      status_badge(o.status, o.status_label, "merchant-order-status"),
                      wrap="wrap", align="center", width="100%", spacing="2"),
            rx.flex(
                _kv("mer.shopper", o.shopper),
                _kv("mer.ordered", o.created),
                rx.cond(o.holding, _kv("mer.frozen", o.frozen, "merchant-order-frozen")),
                rx.cond(o.in_trial, rx.vstack(rx.text(t("mer.trial_left"), size="1", color_scheme="gray"),
                                              countdown(o.trial_end_ts, testid="merchant-order-countdown", size="2"),
                                              spacing="0")),
                rx.cond(o.holding, _kv("mer.trial_end", o.trial_end)),
                rx.cond(o.outstanding != "¥0.00", _kv("mer.outstanding", o.outstanding)),
                _kv("mer.paid", o.paid),
                rx.cond(o.return_label != "", _kv("mer.return", o.return_label)),
                spacing="4", wrap="wrap",
            ),
            spacing="2", width="100%",
        ),
        data_testid="merchant-order-row", custom_attrs={"data-id": o.id, "data-status": o.status}, width="100%",
    )


def orders_page() -> rx.Component:
    S = MerchantOrdersState
    return layout(rx.vstack(
        page_title("mer.orders_title"),
        rx.flex(
            rx.hstack(
                rx.el.label(t("mer.filter"), html_for="order-filter", style={"fontSize": "0.85em"}),
                rx.el.select(
                    rx.el.option(t("mer.all_statuses"), value=""),
                    *[rx.el.option(t(f"status.{st}"), value=st) for st in _STATUSES],
                    id="order-filter", value=S.status, on_change=S.set_status, data_testid="merchant-order-filter",
                    style={"padding": "0.3em 0.5em", "borderRadius": "6px", "border": "1px solid var(--gray-7)",
                           "background": "var(--color-panel-solid)"},
                ),
                align="center", spacing="2",
            ),
            search_box(S, "mer.orders_search", flex="1 1 14em", max_width="360px"),
            align="center", spacing="3", wrap="wrap", width="100%",
        ),
        _note("mer.orders_note"),
        rx.cond(S.orders.length() > 0, rx.vstack(rx.foreach(S.orders, _order_row), spacing="3", width="100%"),
                rx.cond(S.query != "", empty("mer.no_match"), empty("mer.no_orders"))),
        pager(S),
        spacing="4", width="100%",
    ))


# ── returns desk ─────────────────────────────────────────────────────────────────────────────
def _inspection(r: ReturnRow) -> rx.Component:
    S = MerchantReturnsState
    return rx.vstack(
        rx.callout(
            rx.vstack(
                rx.hstack(rx.text(t("mer.inspect_by"), size="2"),
                          rx.text(r.deadline, weight="bold", size="2", data_testid="inspect-deadline"),
                          rx.text("·", size="2"), countdown(r.deadline_ts, testid="inspect-countdown", size="2"),
                          wrap="wrap", spacing="2", align="center"),
                rx.text(t("mer.auto_accept"), size="1"),
                spacing="1",
            ),
            icon="timer", color_scheme="amber", size="1", width="100%",
        ),
        rx.cond(
            S.open_id == r.id,
            rx.vstack(
                rx.button(rx.icon("circle_check", size=16), t("mer.accept"), on_click=S.accept(r.id), color_scheme="green",
                          data_testid="inspect-accept", width="100%"),
                rx.text(t("mer.or_reject"), size="1", color_scheme="gray"),
                field("mer.reject_reason", rx.text_area(id="inspect-reason-" + r.id.to_string(), value=S.reason,
                                                        on_change=S.set_reason, placeholder=t("mer.reason_ph"),
                                                        data_testid="inspect-reason", rows="2", width="100%"),
                      "inspect-reason-" + r.id.to_string()),
                # A <label> around the drop zone names its file input (it opens the picker; the zone
                # itself does not, no_click, or it would open twice).
                rx.el.label(rx.upload(
                    rx.hstack(rx.icon("camera", size=18), rx.text(t("mer.photo_pick"), size="2"), align="center",
                              spacing="2"),
                    id=INSPECT_UPLOAD, accept=_IMAGE_ACCEPT, max_files=POLICY.upload_max_files, no_click=True,
                    max_size=POLICY.upload_max_bytes, on_drop_rejected=S.files_rejected, data_testid="inspect-photo-upload",
                    border="1px dashed var(--gray-7)", border_radius="8px", padding="0.75em", width="100%",
                    cursor="pointer",
                ), style={"display": "block", "width": "100%"}),
                rx.foreach(rx.selected_files(INSPECT_UPLOAD),
                           lambda f: rx.text("📷 ", f, size="1", color_scheme="green", data_testid="inspect-photo-selected")),
                rx.text(t("mer.photo_rules"), " ", _MB, " MB", size="1", color_scheme="gray"),
                rx.button(rx.icon("circle_x", size=16), t("mer.reject"),
                          on_click=S.reject(rx.upload_files(upload_id=INSPECT_UPLOAD), r.id), color_scheme="red",
                          variant="soft", data_testid="inspect-reject", width="100%"),
                spacing="2", width="100%",
            ),
            rx.button(t("mer.inspect_this"), on_click=S.open(r.id), variant="soft", data_testid="inspect-open"),
        ),
        spacing="2", width="100%",
    )


def _decided(r: ReturnRow) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.text(t("mer.inspected_at"), ": ", r.inspected, size="2"), rx.badge(r.outcome_label),
                  spacing="2", wrap="wrap"),
        rx.cond(r.reason != "", rx.text(t("mer.reject_reason"), ": ", r.reason, size="2", data_testid="return-reason")),
        rx.flex(rx.foreach(r.photos, lambda url: rx.link(
            rx.image(src=url, alt="inspection photo", width="96px", height="72px", object_fit="cover", border_radius="6px",
                     data_testid="return-photo"), href=url, is_external=True)), spacing="2", wrap="wrap"),
        spacing="1", width="100%",
    )


def _return_row(r: ReturnRow) -> rx.Component:
    S = MerchantReturnsState
    return rx.card(
        rx.vstack(
            rx.hstack(rx.text(r.product, weight="bold"), money(r.price), rx.spacer(),
                      status_badge(r.status, r.status_label, "return-status"), wrap="wrap", align="center", width="100%"),
            rx.flex(
                _kv("mer.tracking", r.tracking_no, "return-tracking"),
                _kv("mer.shopper", r.shopper),
                _kv("mer.order_no", "#" + r.order_id.to_string()),
                _kv("mer.requested", r.requested),
                rx.cond(r.received != "", _kv("mer.received_at", r.received)),
                spacing="4", wrap="wrap",
            ),
            rx.cond(r.can_receive, rx.vstack(
                rx.button(rx.icon("package_check", size=16), t("mer.receive"), on_click=S.receive(r.id),
                          data_testid="return-receive"),
                rx.text(t("mer.receive_hint"), size="1", color_scheme="gray"), spacing="1")),
            rx.cond(r.can_inspect, _inspection(r)),
            rx.cond(r.inspected != "", _decided(r)),
            spacing="3", width="100%",
        ),
        data_testid="return-row", custom_attrs={"data-id": r.id, "data-status": r.status}, width="100%",
    )


def returns_page() -> rx.Component:
    S = MerchantReturnsState
    return layout(rx.vstack(
        page_title("mer.returns_title", rx.badge(t("mer.waiting"), ": ", S.waiting, color_scheme="amber", size="2")),
        _note("mer.returns_note", icon="info"),
        search_box(S, "mer.returns_search", width="100%", max_width="360px"),
        rx.cond(S.returns.length() > 0, rx.vstack(rx.foreach(S.returns, _return_row), spacing="3", width="100%"),
                rx.cond(S.query != "", empty("mer.no_match"), empty("mer.no_returns"))),
        pager(S),
        spacing="4", width="100%",
    ))


# ── settlement ───────────────────────────────────────────────────────────────────────────────
def _day_row(d: SettlementRow) -> rx.Component:
    return rx.table.row(rx.table.cell(d.day, white_space="nowrap"), rx.table.cell(d.captures), rx.table.cell(money(d.captured)),
                        rx.table.cell(money(d.fees)), rx.table.cell(money(d.refunds)),
                        rx.table.cell(money(d.net, weight="bold")), data_testid="settlement-day")


def settlement_page() -> rx.Component:
    v = SettlementState.view
    return layout(rx.vstack(
        page_title("mer.settlement_title",
                   rx.button(rx.icon("download", size=16), t("mer.export_csv"), on_click=SettlementState.export_csv,
                             variant="soft", data_testid="export-csv")),
        rx.flex(stat("mer.captured", v.captured, "settlement-captured"), stat("mer.fees", v.fees, "settlement-fees"),
                stat("mer.refunds", v.refunds, "settlement-refunds"), stat("mer.net", v.net, "settlement-net"),
                spacing="3", wrap="wrap", width="100%"),
        rx.text(t("mer.settlement_formula"), " ", v.fee_rate, size="2", color_scheme="gray"),
        rx.cond(v.ledger_ok,
                rx.text("✓ ", t("mer.ledger_ok"), size="1", color_scheme="green", data_testid="settlement-ledger-ok"),
                rx.text("⚠ ", t("mer.ledger_bad"), size="1", color_scheme="red", data_testid="settlement-ledger-bad")),
        rx.card(rx.vstack(
            rx.text(t("mer.by_day"), weight="bold"),
            rx.cond(v.days.length() > 0,
                    rx.box(rx.table.root(
                        rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(k), white_space="nowrap") for k in (
                            "mer.day", "mer.captures", "mer.captured", "mer.fees", "mer.refunds", "mer.net")])),
                        rx.table.body(rx.foreach(v.days, _day_row)), size="1", width="100%"),
                        overflow_x="auto", width="100%", tab_index=0),
                    empty("mer.no_settlement")),
            pager(SettlementState, at_end=False),
            spacing="2", width="100%"), width="100%"),
        spacing="4", width="100%",
    ))


# ── analytics ────────────────────────────────────────────────────────────────────────────────
def _metric_card(label_key: str, value, detail, testid: str, hint_key: str) -> rx.Component:
    detail = detail if isinstance(detail, tuple) else (detail,)
    return rx.card(
        rx.vstack(rx.text(t(label_key), size="1", color_scheme="gray"),
                  rx.text(value, size="6", weight="bold", data_testid=testid, font_variant_numeric="tabular-nums"),
                  rx.text(*detail, size="1", color_scheme="gray", data_testid=testid + "-detail"),
                  rx.text(t(hint_key), size="1", color_scheme="gray"),
                  spacing="1"),
        min_width="10em", flex="1",
    )


def _metric_row(m: MetricRow) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(m.name), rx.table.cell(m.orders), rx.table.cell(m.in_trial),
        rx.table.cell(m.keep_rate, " (", m.keep_detail, ")"), rx.table.cell(m.return_rate, " (", m.return_detail, ")"),
        rx.table.cell(m.damaged_rate, " (", m.damaged_detail, ")"),
        rx.table.cell(m.overdue_rate, " (", m.overdue_detail, ")"), rx.table.cell(money(m.exposure)),
        data_testid="metric-product-row",
    )


def _chart_card(title_key: str, chart: rx.Component, testid: str) -> rx.Component:
    return rx.card(rx.vstack(rx.text(t(title_key), weight="bold", size="2"), chart, spacing="2", width="100%"),
                   width="100%", data_testid=testid)


def analytics_page() -> rx.Component:
    v = AnalyticsState.view
    tot = v.total
    tick = {"fontSize": 11}
    return layout(rx.vstack(
        page_title("mer.analytics_title"),
        rx.grid(
            _metric_card("mer.keep_rate", tot.keep_rate, tot.keep_detail, "metric-keep-rate", "mer.keep_hint"),
            _metric_card("mer.return_rate", tot.return_rate, tot.return_detail, "metric-return-rate", "mer.return_hint"),
            _metric_card("mer.damaged_rate", tot.damaged_rate, tot.damaged_detail, "metric-damaged-rate",
                         "mer.damaged_hint"),
            _metric_card("mer.overdue_rate", tot.overdue_rate, tot.overdue_detail, "metric-overdue-rate",
                         "mer.overdue_hint"),
            _metric_card("mer.exposure", v.exposure_now, (t("mer.in_trial"), ": ", tot.in_trial), "metric-exposure",
                         "mer.exposure_hint"),
            columns=rx.breakpoints(initial="2", md="5"), spacing="3", width="100%",
        ),
        _chart_card("mer.exposure_chart", rx.recharts.area_chart(
            rx.recharts.area(data_key="exposure", name=t("mer.exposure_axis"), stroke="var(--orange-9)",
                             fill="var(--orange-4)", type_="stepAfter", is_animation_active=False),
            rx.recharts.x_axis(data_key="day", tick=tick, min_tick_gap=16),
            rx.recharts.y_axis(tick=tick, width=48),
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            rx.recharts.graphing_tooltip(),
            data=v.exposure_chart, width="100%", height=220,
        ), "chart-exposure"),
        rx.grid(
            _chart_card("mer.weekly_chart", rx.recharts.bar_chart(
                rx.recharts.bar(data_key="orders", name=t("mer.orders_placed"), fill="var(--gray-8)", is_animation_active=False),
                rx.recharts.bar(data_key="kept", name=t("mer.kept"), fill="var(--green-9)", is_animation_active=False),
                rx.recharts.bar(data_key="returned", name=t("mer.returned"), fill="var(--amber-9)", is_animation_active=False),
                rx.recharts.bar(data_key="overdue", name=t("mer.overdue"), fill="var(--red-9)", is_animation_active=False),
                rx.recharts.x_axis(data_key="week", tick=tick), rx.recharts.y_axis(allow_decimals=False, tick=tick, width=32),
                rx.recharts.legend(), rx.recharts.graphing_tooltip(),
                data=v.weekly_chart, width="100%", height=240,
            ), "chart-weekly"),
            _chart_card("mer.product_chart", rx.recharts.bar_chart(
                rx.recharts.bar(data_key="keep", name=t("mer.keep_rate"), fill="var(--green-9)", is_animation_active=False),
                rx.recharts.bar(data_key="returned", name=t("mer.return_rate"), fill="var(--amber-9)", is_animation_active=False),
                rx.recharts.bar(data_key="overdue", name=t("mer.overdue_rate"), fill="var(--red-9)", is_animation_active=False),
                rx.recharts.x_axis(data_key="name", tick=tick), rx.recharts.y_axis(unit="%", domain=[0, 100], tick=tick,
                                                                                  width=40),
                rx.recharts.legend(), rx.recharts.graphing_tooltip(),
                data=v.product_chart, width="100%", height=240,
            ), "chart-products"),
            columns=rx.breakpoints(initial="1", md="2"), spacing="3", width="100%",
        ),
        rx.card(rx.vstack(
            rx.text(t("mer.per_product"), weight="bold"),
            rx.box(rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(k), white_space="nowrap") for k in (
                    "mer.product", "mer.orders_placed", "mer.in_trial", "mer.keep_rate", "mer.return_rate",
                    "mer.damaged_rate", "mer.overdue_rate", "mer.exposure")])),
                rx.table.body(rx.foreach(v.products, _metric_row), _metric_row(tot)),
                size="1", width="100%"), overflow_x="auto", width="100%", tab_index=0),
            rx.text(t("mer.definitions"), size="1", color_scheme="gray"),
            spacing="2", width="100%"), width="100%"),
        spacing="4", width="100%",
    ))
