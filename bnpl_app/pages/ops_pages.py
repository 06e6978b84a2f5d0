"""The operator desk: the review queue, one application (proofs, shopper summary, approve with
terms or reject with a reason), shopper look-up, risk buckets and bad debts, the audit."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..components import empty, field, layout, money, page_title, stat, status_badge, t
from ..components.paging import pager, search_box
from ..state.ops import AuditState, OpsApplicationState, OpsQueueState, OpsShoppersState, RiskState
from ..views import MethodView
from ..views.ops import (
    ApplicationLine,
    BadDebtView,
    BucketView,
    CheckView,
    EventView,
    InstallmentLineView,
    OrderLineView,
    PostingView,
    ProofView,
    QueueRow,
    ShopperHit,
    SummaryView,
)
from ..models import ApplicationKind as AK, ApplicationStatus as AS


def _kv(key: str, value, testid: str = "", **props) -> rx.Component:
    extra = {"data_testid": testid} if testid else {}
    return rx.vstack(rx.text(t(key), size="1", color_scheme="gray"),
                     rx.text(value, size="2", weight="bold", font_variant_numeric="tabular-nums", **extra, **props),
                     spacing="0", min_width="6.5em")


def _table(headers: list[str], body, testid: str = "") -> rx.Component:
    extra = {"data_testid": testid} if testid else {}
    return rx.box(rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(k), white_space="nowrap") for k in headers])),
        rx.table.body(body), size="1", width="100%"), overflow_x="auto", width="100%", tab_index=0, **extra)


def _summary(s: SummaryView) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.text(s.display_name, weight="bold"), rx.text("@", s.username, size="1", color_scheme="gray"),
                  status_badge(s.bnpl_status, s.bnpl_status_label, "shopper-bnpl-status"),
                  rx.cond(s.bad_debt, rx.badge(t("ops.bad_debt"), color_scheme="red")),
                  wrap="wrap", spacing="2", align="center"),
        rx.flex(
            _kv("ops.score", rx.fragment(s.score, " · ", s.band), "shopper-score"),
            _kv("ops.limit", s.limit, "shopper-limit"),
            _kv("ops.available", s.available),
            _kv("ops.frozen", s.frozen),
            _kv("ops.outstanding", s.outstanding),
            _kv("ops.restorable", s.restorable),
            _kv("ops.owed", s.owed, "shopper-owed"),
            _kv("ops.overdue_amount", s.overdue),
            _kv("ops.late_fees", s.late_fees),
            _kv("ops.max_days", s.max_days_overdue),
            _kv("ops.history", rx.fragment(s.orders_paid, "/", s.orders, " · ", t("ops.on_time"), " ", s.orders_on_time)),
            spacing="4", wrap="wrap",
        ),
        spacing="2", width="100%", data_testid="shopper-summary",
    )


# ── the queue ────────────────────────────────────────────────────────────────────────────────
def _queue_row(r: QueueRow) -> rx.Component:
    s = r.shopper
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.badge(r.kind_label, color_scheme=rx.cond(r.kind == AK.HARDSHIP, "purple", "blue"), size="2",
                         data_testid="application-kind", custom_attrs={"data-kind": r.kind}),
                rx.text(s.display_name, weight="bold"), rx.text("@", s.username, size="1", color_scheme="gray"),
                rx.spacer(), status_badge(r.status, r.status_label, "application-status"),
                wrap="wrap", align="center", width="100%", spacing="2",
            ),
            rx.flex(_kv("ops.submitted", r.created), _kv("ops.score", s.score), _kv("ops.limit", s.limit),
                    _kv("ops.owed", s.owed), _kv("ops.max_days", s.max_days_overdue), _kv("ops.proofs", r.proofs),
                    spacing="4", wrap="wrap"),
            rx.cond(r.statement != "", rx.text("“", r.statement, "”", size="2", color_scheme="gray")),
            rx.link(rx.button(t("ops.review"), size="2", data_testid="application-open"), href=r.url),
            spacing="2", width="100%",
        ),
        data_testid="application-row", custom_attrs={"data-id": r.id, "data-kind": r.kind}, width="100%",
    )


def queue_page() -> rx.Component:
    S = OpsQueueState

    def tab(value: str, key: str) -> rx.Component:
        return rx.button(t(key), on_click=S.set_status(value), size="2",
                         variant=rx.cond(S.status == value, "solid", "soft"), data_testid=f"queue-{value.lower()}")

    return layout(rx.vstack(
        page_title("ops.queue_title"),
        rx.flex(
            rx.hstack(tab(AS.PENDING, "ops.pending"), tab(AS.APPROVED, "ops.approved_tab"),
                      tab(AS.REJECTED, "ops.rejected_tab"), spacing="2", wrap="wrap"),
            search_box(S, "ops.queue_search", flex="1 1 14em", max_width="320px"),
            spacing="3", wrap="wrap", align="center", width="100%",
        ),
        rx.cond(S.rows.length() > 0, rx.vstack(rx.foreach(S.rows, _queue_row), spacing="3", width="100%"),
                rx.cond(S.query != "", empty("ops.no_match"), empty("ops.queue_empty"))),
        pager(S),
        spacing="4", width="100%",
    ))


# ── one application ──────────────────────────────────────────────────────────────────────────
def _proof(p: ProofView) -> rx.Component:
    return rx.box(
        rx.cond(
            p.is_image,
            rx.link(rx.image(src=p.url, alt=p.label, max_width="100%", width="280px", max_height="360px",
                             object_fit="contain", border="1px solid var(--gray-5)", border_radius="6px",
                             background="var(--gray-2)"), href=p.url, is_external=True),
            rx.link(rx.hstack(rx.icon("file_text", size=18), rx.text(p.label), rx.badge(p.kind), align="center", spacing="2"),
                    href=p.url, is_external=True),
        ),
        rx.text(p.label, size="1", color_scheme="gray"),
        data_testid="application-proof", custom_attrs={"data-image": rx.cond(p.is_image, "true", "false")},
    )


def _event_row(e: EventView) -> rx.Component:
    return rx.table.row(rx.table.cell(e.at), rx.table.cell(e.kind), rx.table.cell(e.change), rx.table.cell(e.reason))


def _decision() -> rx.Component:
    S = OpsApplicationState
    a = S.app
    restoration = rx.vstack(
        field("ops.approve_limit", rx.input(id="approve-limit", value=S.limit_input, on_change=S.set_limit_input,
                                            input_mode="decimal", data_testid="approve-limit-input", width="100%"),
              "approve-limit"),
        rx.text(t("ops.approve_limit_hint"), " ", a.restorable, size="1", color_scheme="gray"),
        spacing="1", width="100%",
    )
    hardship = rx.vstack(
        rx.text(t("ops.hardship_terms"), size="2", weight="bold"),
        rx.text(t("ops.hardship_principal"), ": ", a.hardship_principal, " · ", t("ops.late_fees"), ": ", a.late_fees,
                size="2"),
        field("ops.waive", rx.el.select(
            rx.el.option(t("ops.waive_all"), value="all"), rx.el.option(t("ops.waive_part"), value="part"),
            rx.el.option(t("ops.waive_none"), value="none"),
            id="hardship-waive", value=S.waive_mode, on_change=S.set_waive_mode, data_testid="hardship-waive-fees",
            style={"padding": "0.4em", "borderRadius": "6px", "border": "1px solid var(--gray-7)", "width": "100%",
                   "background": "var(--color-panel-solid)"}), "hardship-waive"),
        rx.cond(S.waive_mode == "part", field("ops.waive_amount", rx.input(
            id="waive-amount", value=S.waive_input, on_change=S.set_waive_input, input_mode="decimal",
            data_testid="hardship-waive-amount", width="100%"), "waive-amount")),
        field("ops.installments", rx.input(id="hardship-n", value=S.installments_input,
                                           on_change=S.set_installments_input, type="number", min=1,
                                           max=a.max_installments, data_testid="hardship-installments-input",
                                           width="100%"), "hardship-n"),
        rx.text(t("ops.hardship_hint"), size="1", color_scheme="gray"),
        spacing="2", width="100%",
    )
    return rx.card(rx.vstack(
        rx.text(t("ops.decide"), weight="bold"),
        rx.cond(a.kind == AK.RESTORATION, restoration, hardship),
        rx.button(rx.icon("circle_check", size=16), t("ops.approve"), on_click=S.approve, color_scheme="green",
                  data_testid="application-approve", width="100%"),
        rx.divider(),
        field("ops.reject_reason", rx.text_area(id="reject-reason", value=S.reason, on_change=S.set_reason, rows="2",
                                                placeholder=t("ops.reject_reason_ph"),
                                                data_testid="application-reason-input", width="100%"), "reject-reason"),
        rx.text(t("ops.reject_hint"), size="1", color_scheme="gray"),
        rx.button(rx.icon("circle_x", size=16), t("ops.reject"), on_click=S.reject, color_scheme="red", variant="soft",
                  data_testid="application-reject", width="100%"),
        spacing="3", width="100%",
    ), width="100%")


def _decided() -> rx.Component:
    a = OpsApplicationState.app
    return rx.callout.root(
        rx.callout.icon(rx.cond(a.status == AS.APPROVED, rx.icon("circle_check"), rx.icon("circle_x"))),
        rx.vstack(
            rx.text(t("ops.decided_by"), ": ", a.decided_by, " · ", a.decided, size="2"),
            rx.cond(a.approved_limit != "", rx.text(t("ops.approved_limit"), ": ", a.approved_limit, size="2")),
            rx.cond(a.plan_installments > 0, rx.text(t("ops.plan"), ": ", a.plan_installments, " ", t("ops.periods"),
                                                     " · ", t("ops.waived"), " ", a.waived, size="2")),
            rx.cond(a.decision_reason != "", rx.text(t("ops.reason"), ": ", a.decision_reason, size="2",
                                                     data_testid="application-decision-reason")),
            spacing="1"),
        color_scheme=rx.cond(a.status == AS.APPROVED, "green", "red"), width="100%", data_testid="application-decision",
    )


def application_page() -> rx.Component:
    S = OpsApplicationState
    a = S.app
    return layout(rx.cond(
        S.missing,
        rx.vstack(empty("common.not_found"), rx.link(t("ops.back_to_queue"), href=routes.OPS), align="center"),
        rx.vstack(
            rx.link("← ", t("ops.back_to_queue"), href=routes.OPS, size="2"),
            rx.hstack(rx.heading(a.kind_label, " #", a.id, size="6"),
                      rx.badge(a.kind_label, data_testid="application-kind", custom_attrs={"data-kind": a.kind}),
                      status_badge(a.status, a.status_label, "application-status"), wrap="wrap", align="center",
                      spacing="3"),
            rx.card(rx.vstack(rx.hstack(rx.text(t("ops.shopper"), weight="bold"), rx.spacer(),
                                        rx.link(t("ops.open_file"), href=a.shopper_url, size="2")),
                              _summary(a.shopper), spacing="2", width="100%"), width="100%"),
            rx.flex(
                rx.vstack(
                    rx.card(rx.vstack(
                        rx.text(t("ops.application"), weight="bold"),
                        _kv("ops.submitted", a.created),
                        rx.cond(a.kind == AK.HARDSHIP, rx.flex(
                            _kv("ops.reason_category", a.reason_category),
                            _kv("ops.proposed", rx.fragment(a.proposed_installments, " ", t("ops.periods"))),
                            _kv("ops.fee_waiver_requested", rx.cond(a.request_fee_waiver, t("common.yes"), t("common.no"))),
                            spacing="4", wrap="wrap")),
                        rx.text(t("ops.statement"), size="1", color_scheme="gray"),
                        rx.text(rx.cond(a.statement != "", a.statement, "—"), size="2", white_space="pre-wrap",
                                data_testid="application-statement"),
                        rx.text(t("ops.proofs"), size="1", color_scheme="gray"),
                        rx.flex(rx.foreach(a.proofs, _proof), spacing="3", wrap="wrap"),
                        spacing="2", width="100%"), width="100%"),
                    rx.card(rx.vstack(rx.text(t("ops.credit_history"), weight="bold"),
                                      _table(["common.time", "ops.change_kind", "ops.change", "ops.reason"],
                                             rx.foreach(a.history, _event_row)),
                                      spacing="2", width="100%"), width="100%"),
                    spacing="3", flex="3", min_width="0", width="100%",
                ),
                rx.box(rx.cond(a.pending, _decision(), _decided()), flex="2", min_width="0", width="100%"),
                spacing="3", direction=rx.breakpoints(initial="column", md="row"), width="100%", align="start",
            ),
            spacing="4", width="100%", data_testid="application-detail", custom_attrs={"data-id": a.id},
        ),
    ))


# ── shopper look-up ──────────────────────────────────────────────────────────────────────────
def _hit(h: ShopperHit) -> rx.Component:
    return rx.button(h.display_name, " @", h.username, on_click=OpsShoppersState.open(h.id), size="1",
                     variant=rx.cond(OpsShoppersState.selected == h.id, "solid", "soft"), data_testid="shopper-hit",
                     custom_attrs={"data-id": h.id})


def _order(o: OrderLineView) -> rx.Component:
    return rx.table.row(rx.table.cell("#", o.id), rx.table.cell(o.product), rx.table.cell(money(o.price)),
                        rx.table.cell(o.plan_label), rx.table.cell(status_badge(o.status, o.status_label, "ops-order-status")),
                        rx.table.cell(o.created), data_testid="ops-order-row", custom_attrs={"data-id": o.id})


def _inst(i: InstallmentLineView) -> rx.Component:
    return rx.table.row(rx.table.cell("#", i.order_id, " · ", i.seq), rx.table.cell(i.due), rx.table.cell(money(i.principal)),
                        rx.table.cell(money(i.late_fee)), rx.table.cell(money(i.owed)),
                        rx.table.cell(status_badge(i.status, i.status_label, "ops-installment-status"),
                                      rx.cond(i.days_overdue > 0, rx.text(i.days_overdue, t("ops.days_suffix"), size="1"))),
                        data_testid="ops-installment-row", custom_attrs={"data-id": i.id})


def _posting(p: PostingView) -> rx.Component:
    return rx.table.row(rx.table.cell(p.at), rx.table.cell(p.ledger), rx.table.cell(p.kind),
                        rx.table.cell(rx.code(p.debit)), rx.table.cell(rx.code(p.credit)), rx.table.cell(money(p.amount)),
                        data_testid="ops-posting-row")


def _method(m: MethodView) -> rx.Component:
    return rx.hstack(rx.text(m.label, size="2"), money(m.balance, size="2", weight="bold"), spacing="2")


def _app_line(a: ApplicationLine) -> rx.Component:
    return rx.hstack(rx.link(a.kind_label, " #", a.id, href=a.url, size="2"), status_badge(a.status, a.status_label, ""),
                     rx.text(a.created, size="1", color_scheme="gray"), spacing="2", align="center", wrap="wrap")


def shoppers_page() -> rx.Component:
    S = OpsShoppersState
    f = S.file
    return layout(rx.vstack(
        page_title("ops.shoppers_title"),
        rx.form(rx.flex(
            rx.box(field("ops.search", rx.input(name="q", id="shopper-q", value=S.query, on_change=S.set_query,
                                                placeholder=t("ops.search_ph"), data_testid="shopper-search",
                                                width="100%"), "shopper-q"), flex="1", min_width="200px"),
            rx.button(rx.icon("search", size=16), t("ops.search_go"), type="submit", data_testid="shopper-search-submit"),
            spacing="2", align="end", wrap="wrap", width="100%"),
            on_submit=S.search, reset_on_submit=False, width="100%"),
        rx.flex(rx.foreach(S.hits, _hit), spacing="2", wrap="wrap", width="100%"),
        rx.cond((S.hits.length() == 0) & (S.query != ""), rx.text(t("ops.no_match"), size="2", color_scheme="gray")),
        pager(S, at_end=False),
        rx.cond(
            f.found,
            rx.vstack(
                rx.card(rx.vstack(_summary(f.summary),
                                  rx.flex(_kv("ops.self_cap", f.self_cap), _kv("ops.verified",
                                                                                rx.cond(f.verified, t("common.yes"), t("common.no"))),
                                          _kv("ops.phone", f.phone), spacing="4", wrap="wrap"),
                                  rx.hstack(rx.text(t("ops.methods"), size="1", color_scheme="gray"),
                                            rx.foreach(f.methods, _method), spacing="3", wrap="wrap", align="center"),
                                  rx.cond(f.applications.length() > 0, rx.vstack(
                                      rx.text(t("ops.applications"), size="1", color_scheme="gray"),
                                      rx.foreach(f.applications, _app_line), spacing="1")),
                                  spacing="3", width="100%"), width="100%", data_testid="shopper-file"),
                rx.grid(rx.cond(f.cash.has, _cash_card(f.cash, "ops-shopper-cash"),
                                rx.card(rx.text(t("ops.shopper.cash_none"), size="2", color_scheme="gray"),
                                        data_testid="ops-shopper-cash")),
                        rx.cond(f.rentals.has, _rental_card(f.rentals, "ops-shopper-rental"),
                                rx.card(rx.text(t("ops.shopper.rental_none"), size="2", color_scheme="gray"),
                                        data_testid="ops-shopper-rental")),
                        columns=rx.breakpoints(initial="1", md="2"), spacing="3", width="100%"),
                rx.card(rx.vstack(rx.text(t("ops.orders"), weight="bold"),
                                  _table(["ops.order", "ops.product", "common.amount", "ops.plan", "common.status",
                                          "ops.created"], rx.foreach(f.orders, _order)), spacing="2", width="100%"),
                        width="100%"),
                rx.card(rx.vstack(rx.text(t("ops.installments_title"), weight="bold"),
                                  _table(["ops.order", "ops.due", "ops.principal", "ops.late_fees", "ops.owed_col",
                                          "common.status"], rx.foreach(f.installments, _inst)),
                                  spacing="2", width="100%"), width="100%"),
                rx.card(rx.vstack(rx.text(t("ops.postings"), weight="bold"),
                                  rx.text(t("ops.postings_hint"), size="1", color_scheme="gray"),
                                  _table(["common.time", "ops.ledger", "ops.kind", "ops.debit", "ops.credit",
                                          "common.amount"], rx.foreach(f.postings, _posting)),
                                  spacing="2", width="100%"), width="100%"),
                rx.card(rx.vstack(rx.text(t("ops.credit_history"), weight="bold"),
                                  _table(["common.time", "ops.change_kind", "ops.change", "ops.reason"],
                                         rx.foreach(f.events, _event_row)), spacing="2", width="100%"), width="100%"),
                spacing="3", width="100%",
            ),
            rx.text(t("ops.pick_shopper"), size="2", color_scheme="gray"),
        ),
        spacing="4", width="100%",
    ))


# ── 备用金 and rental exposure (the risk overview and a shopper's file) ──────────────────────────
def _cash_card(c, testid: str) -> rx.Component:
    return rx.card(rx.vstack(
        rx.text(t("ops.risk.cash"), weight="bold"),
        rx.flex(_kv("ops.risk.cash_count", c.lines), _kv("ops.risk.cash_lines", c.line),
                _kv("ops.risk.cash_outstanding", c.outstanding),
                _kv("ops.risk.cash_overdue", c.overdue, color_scheme=rx.cond(c.has_overdue, "red", "gray")),
                spacing="4", wrap="wrap"),
        spacing="2", width="100%"), width="100%", data_testid=testid)


def _rental_card(r, testid: str) -> rx.Component:
    return rx.card(rx.vstack(
        rx.text(t("ops.risk.rental"), weight="bold"),
        rx.flex(_kv("ops.risk.rental_active", r.active),
                _kv("ops.risk.rental_held", rx.fragment(r.held, " · ", r.held_amount)),
                _kv("ops.risk.rental_overdue", r.overdue, color_scheme=rx.cond(r.has_overdue, "red", "gray")),
                spacing="4", wrap="wrap"),
        spacing="2", width="100%"), width="100%", data_testid=testid)


# ── risk ─────────────────────────────────────────────────────────────────────────────────────
def _bucket(b: BucketView) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(b.label, size="2", weight="bold"),
            rx.text(money(b.owed), size="5", weight="bold", data_testid="risk-bucket-amount"),
            rx.text(b.installments, " ", t("ops.installments_n"), " · ", b.shoppers, " ", t("ops.shoppers_n"), size="1",
                    color_scheme="gray", data_testid="risk-bucket-count", custom_attrs={"data-count": b.installments}),
            rx.text(t("ops.principal"), " ", b.principal, size="1", color_scheme="gray"),
            spacing="1",
        ),
        data_testid="risk-bucket", custom_attrs={"data-bucket": b.key}, flex="1", min_width="10em",
    )


def _bad(b: BadDebtView) -> rx.Component:
    return rx.table.row(rx.table.cell(rx.link(b.display_name, " @", b.username, href=b.url)),
                        rx.table.cell(money(b.owed)), rx.table.cell(b.days), rx.table.cell(b.installments),
                        data_testid="bad-debt-row", custom_attrs={"data-id": b.user_id})


def risk_page() -> rx.Component:
    v = RiskState.view
    return layout(rx.vstack(
        page_title("ops.risk_title"),
        rx.flex(stat("ops.total_overdue", v.overdue, "risk-overdue-total"), stat("ops.platform_frozen", v.frozen, "risk-frozen"),
                stat("ops.platform_outstanding", v.outstanding, "risk-outstanding"),
                stat("ops.suspended", v.suspended, "risk-suspended"), spacing="3", wrap="wrap", width="100%"),
        rx.grid(_cash_card(v.cash, "ops-risk-cash"), _rental_card(v.rentals, "ops-risk-rental"),
                columns=rx.breakpoints(initial="1", md="2"), spacing="3", width="100%"),
        rx.text(t("ops.buckets"), weight="bold"),
        rx.grid(rx.foreach(v.buckets, _bucket), columns=rx.breakpoints(initial="2", md="4"), spacing="3", width="100%"),
        rx.text(t("ops.buckets_hint"), size="1", color_scheme="gray"),
        rx.card(rx.recharts.bar_chart(
            rx.recharts.bar(data_key="owed", name=t("ops.owed_axis"), fill="var(--red-9)", is_animation_active=False),
            rx.recharts.x_axis(data_key="bucket", tick={"fontSize": 11}), rx.recharts.y_axis(tick={"fontSize": 11}, width=48),
            rx.recharts.graphing_tooltip(), data=v.chart, width="100%", height=200,
        ), width="100%"),
        rx.card(rx.vstack(
            rx.text(t("ops.bad_debts"), weight="bold"),
            rx.cond(v.bad_debts.length() > 0,
                    _table(["ops.shopper", "ops.owed", "ops.days", "ops.installments_n"], rx.foreach(v.bad_debts, _bad),
                           "bad-debts"),
                    rx.text(t("ops.no_bad_debts"), size="2", color_scheme="gray", data_testid="bad-debts-empty")),
            spacing="2", width="100%"), width="100%"),
        spacing="4", width="100%",
    ))


# ── audit ────────────────────────────────────────────────────────────────────────────────────
def _check(c: CheckView) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.cond(c.ok, rx.icon("circle_check", color="var(--green-9)", size=18),
                          rx.icon("circle_x", color="var(--red-9)", size=18)),
                  rx.text(c.name, size="2", weight="medium"),
                  rx.text(c.checked, " ", t("ops.checked"), size="1", color_scheme="gray"),
                  spacing="2", align="center", wrap="wrap"),
        rx.foreach(c.violations, lambda v: rx.text("– ", v, size="1", color_scheme="red")),
        spacing="1", data_testid="audit-check", custom_attrs={"data-ok": rx.cond(c.ok, "true", "false")},
    )


def audit_page() -> rx.Component:
    r = AuditState.result
    return layout(rx.vstack(
        page_title("ops.audit_title", rx.button(rx.icon("shield_check", size=16), t("ops.audit_run"),
                                                on_click=AuditState.run_audit, data_testid="audit-run", loading=AuditState.running)),
        rx.text(t("ops.audit_what"), size="2", color_scheme="gray"),
        rx.cond(
            r.ran,
            rx.card(rx.vstack(
                rx.callout.root(rx.callout.icon(rx.cond(r.ok, rx.icon("circle_check"), rx.icon("triangle_alert"))),
                                rx.callout.text(r.summary), color_scheme=rx.cond(r.ok, "green", "red"), width="100%"),
                rx.text(t("ops.audit_at"), ": ", r.at, size="1", color_scheme="gray"),
                rx.vstack(rx.foreach(r.checks, _check), spacing="2", width="100%"),
                spacing="3", width="100%"),
                width="100%", data_testid="audit-result", custom_attrs={"data-ok": rx.cond(r.ok, "true", "false")}),
            rx.text(t("ops.audit_not_run"), size="2", color_scheme="gray"),
        ),
        spacing="4", width="100%",
    ))
