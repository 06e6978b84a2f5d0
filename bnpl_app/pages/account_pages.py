"""The shopper's account pages: bills, credit, wallet, inbox, help."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..components import empty, field, layout, money, page_title, stat, status_badge, t
from ..components.paging import pager
from ..domain.policy import POLICY
from ..state.account import PROOF_UPLOAD, BillsState, CreditState, HelpState, InboxState, WalletState
from ..views import MethodView
from ..views.account import (
    ApplicationView,
    BandRow,
    Change,
    EarlyView,
    HelpSection,
    MovementView,
    NoticeView,
    PlannedView,
    StatementView,
)
from ..views.shop import InstallmentView
from ..models import ApplicationKind as AK, ApplicationStatus as AS, BnplStatus as BS, InstallmentStatus as IS, MethodKind as MK

_SELECT_STYLE = {
    "padding": "0.45em 0.6em", "borderRadius": "6px", "border": "1px solid var(--gray-a7)", "fontSize": "0.95em",
    "background": "var(--color-surface)", "color": "var(--gray-12)", "width": "100%", "maxWidth": "320px",
}


def _section(key: str, *children, **props) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(t(key), size="4"), *children, spacing="3", width="100%"), width="100%", **props)


def _grow(control: rx.Component) -> rx.Component:
    """A form field that takes the free width of a wrapping row (its button stays beside it)."""
    return rx.box(control, flex="1 1 12em", min_width="0")


def _note(key: str, **props) -> rx.Component:
    return rx.text(t(key), size="2", color_scheme="gray", **props)


def _table(headers: list[str], rows, **props) -> rx.Component:
    """A table that scrolls inside its own box on a narrow screen instead of widening the page."""
    return rx.box(
        rx.table.root(rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(k), white_space="nowrap")
                                                     for k in headers])),
                      rx.table.body(rows), size="1", width="100%"),
        overflow_x="auto", width="100%", tab_index=0, **props,  # focusable: a keyboard can scroll it
    )


# ── bills ───────────────────────────────────────────────────────────────────────────────────
def _planned(p: PlannedView) -> rx.Component:
    return rx.flex(
        rx.vstack(rx.text(p.product, " · ", p.seq, "/", p.periods, weight="bold", size="2"),
                  rx.text(p.when, size="1", color_scheme="gray", font_variant_numeric="tabular-nums"), spacing="0",
                  min_width="0", flex="1 1 10em"),
        rx.hstack(
            rx.cond(p.overdue, rx.badge(t("status.OVERDUE"), color_scheme="red")),
            rx.vstack(money(p.amount, weight="bold", size="3"),
                      rx.cond(p.covered, rx.text(t("bills.from"), " ", p.method, size="1", color_scheme="gray")),
                      spacing="0", align="end"),
            spacing="2", align="center", margin_left="auto",
        ),
        rx.cond(~p.covered, rx.text(t("bills.not_covered"), size="1", color_scheme="red", weight="medium",
                                    width="100%", data_testid="dry-run-not-covered")),
        width="100%", align="center", spacing="2", wrap="wrap", padding_y="0.5em",
        border_bottom="1px solid var(--gray-a4)", data_testid="dry-run-row", custom_attrs={"data-id": p.installment_id},
    )


def _early(e: EarlyView) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.text(e.product, weight="bold"),
                rx.text(e.open_count, " ", t("bills.open_periods"), size="1", color_scheme="gray"),
                rx.hstack(rx.text(t("bills.saving"), size="2"),
                          money(e.saving, size="2", weight="bold", color=rx.cond(e.has_saving, "var(--green-11)", "inherit"),
                                data_testid="early-repay-saving"), spacing="1", align="center"),
                spacing="1", min_width="0",
            ),
            rx.spacer(),
            rx.button(rx.text(t("bills.early_repay"), " ", e.total), on_click=BillsState.early_repay(e.order_id, e.total_fen),
                      data_testid="early-repay", custom_attrs={"data-id": e.order_id}, variant="soft"),
            wrap="wrap", spacing="3", align="center", width="100%",
        ),
        data_testid="early-repay-row", custom_attrs={"data-id": e.order_id}, width="100%",
    )


def _installment(i: InstallmentView) -> rx.Component:
    """One installment as a wrapping row (not a table): on a phone the amount, the status and the
    repay button stay in view instead of scrolling off to the right."""
    def part(key: str, value, **props) -> rx.Component:
        return rx.hstack(rx.text(t(key), size="1", color_scheme="gray"), money(value, size="1", **props), spacing="1")

    return rx.flex(
        rx.vstack(
            rx.text(i.product, " · ", i.seq, "/", i.periods, weight="bold", size="2"),
            rx.text(t("bills.due"), " ", i.due, size="1", color_scheme="gray", font_variant_numeric="tabular-nums"),
            spacing="0", flex="1 1 12em", min_width="0",
        ),
        rx.vstack(
            money(i.owed, weight="bold", size="3"),
            rx.flex(part("product.principal", i.principal), part("product.fee", i.fee),
                    part("bills.late_fee", i.late_fee, data_testid="late-fee",
                         color=rx.cond(i.late_fee_fen > 0, "var(--red-11)", "inherit")),
                    rx.cond(i.overdue_interest_fen > 0,
                            part("interest.overdue", i.overdue_interest, data_testid="overdue-interest",
                                 color="var(--red-11)")),
                    spacing="2", wrap="wrap"),
            spacing="0", flex="1 1 14em", min_width="0",
        ),
        rx.vstack(status_badge(i.status, i.status_label, "installment-status"),
                  rx.cond(i.days_overdue > 0, rx.text(i.days_overdue, " ", t("bills.days_overdue"), size="1",
                                                      color_scheme="red")),
                  spacing="1", flex="0 0 auto"),
        rx.box(rx.cond(
            i.open,
            # Overdue: the one thing to do here. Not yet due: repaying early is allowed, not urged.
            rx.button(t("bills.repay"), " ", i.owed, on_click=BillsState.repay(i.id, i.owed_fen), size="2",
                      variant=rx.cond(i.status == IS.OVERDUE, "solid", "soft"),
                      color_scheme=rx.cond(i.status == IS.OVERDUE, "red", "orange"),
                      data_testid="repay-button", custom_attrs={"data-id": i.id}),
            rx.text(t("bills.paid_at"), " ", i.paid_at, size="1", color_scheme="gray"),
        ), flex="0 0 auto", margin_left="auto"),
        spacing="3", wrap="wrap", align="center", width="100%", padding_y="0.6em", border_top="1px solid var(--gray-a4)",
        data_testid="installment-row", custom_attrs={"data-id": i.id, "data-status": i.status},
    )


def _statement(st: StatementView) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.heading(st.month, size="4", data_testid="statement-month", font_variant_numeric="tabular-nums"),
                rx.spacer(),
                rx.hstack(rx.text(t("bills.month_total"), size="1", color_scheme="gray"), money(st.total, size="2"),
                          rx.text(t("bills.month_paid"), size="1", color_scheme="gray"), money(st.paid, size="2"),
                          rx.text(t("bills.month_owed"), size="1", color_scheme="gray"),
                          money(st.owed, size="2", weight="bold"), spacing="2", align="center", wrap="wrap"),
                wrap="wrap", spacing="2", align="center", width="100%",
            ),
            rx.vstack(rx.foreach(st.rows, _installment), spacing="0", width="100%"),
            rx.cond(st.rows.length() < st.count,
                    rx.text(t("bills.month_part").to(str).replace("{n}", st.count.to_string())
                            .replace("{k}", st.rows.length().to_string()), size="1", color_scheme="gray",
                            data_testid="statement-part")),
            spacing="2", width="100%",
        ),
        width="100%", data_testid="statement", custom_attrs={"data-month": st.month},
    )


def _method_option(m: MethodView) -> rx.Component:
    return rx.el.option(m.label, " · ", m.balance, value=m.id.to_string())


def _autopay() -> rx.Component:
    v = BillsState.view
    return _section(
        "bills.autopay",
        _note("bills.autopay_note"),
        rx.flex(
            field("bills.first_method", rx.el.select(rx.foreach(v.methods, _method_option), id="autopay-method",
                                                     value=BillsState.first_method, on_change=BillsState.set_first_method,
                                                     data_testid="autopay-method", style=_SELECT_STYLE), "autopay-method"),
            field("bills.days_before", rx.el.select(
                *[rx.el.option(t("bills.days_before_n", days=d) if d else t("bills.on_due_day"), value=str(d))
                  for d in range(POLICY.autopay_days_before_max + 1)],
                id="autopay-days-before", value=BillsState.days_before, on_change=BillsState.set_days_before,
                data_testid="autopay-days-before", style=_SELECT_STYLE), "autopay-days-before"),
            spacing="3", direction=rx.breakpoints(initial="column", sm="row"), width="100%",
        ),
        rx.vstack(
            rx.text(t("bills.current_order"), size="1", color_scheme="gray"),
            rx.foreach(v.methods, lambda m: rx.text(m.rank, ". ", m.label, " · ", m.balance,
                                                    rx.cond(m.autopay, "", rx.text(" · ", t("wallet.no_auto"),
                                                                                   as_="span", color_scheme="gray")),
                                                    size="2", data_testid="autopay-order-item")),
            rx.link(t("wallet.methods"), " →", href=routes.WALLET, size="2"),
            spacing="1",
        ),
        rx.button(t("common.save"), on_click=BillsState.save_autopay, data_testid="autopay-save"),
    )


def bills_page() -> rx.Component:
    v = BillsState.view
    return layout(rx.vstack(
        page_title("bills.title"),
        rx.flex(stat("bills.open_total", v.open_total, "bills-open-total"),
                stat("bills.overdue_total", v.overdue_total, "bills-overdue-total",
                     border=rx.cond(v.has_overdue, "1px solid var(--red-8)", "none")),
                spacing="3", wrap="wrap", width="100%"),
        rx.cond(v.has_overdue, rx.callout(t("bills.overdue_hint"), icon="triangle_alert", color_scheme="red",
                                          width="100%")),
        _section("bills.dry_run",
                 _note("bills.dry_run_note"),
                 rx.cond(v.planned.length() > 0,
                         rx.vstack(rx.foreach(v.planned, _planned), spacing="0", width="100%", data_testid="dry-run"),
                         rx.text(t("bills.nothing_planned"), size="2", data_testid="dry-run")),
                 rx.cond(v.planned_more > 0,
                         rx.text(t("bills.planned_more").to(str).replace("{n}", v.planned_more.to_string()), size="2",
                                 color_scheme="gray", data_testid="dry-run-more")),
                 rx.link(t("bills.topup_link"), href=routes.WALLET, size="2")),
        rx.cond(v.early.length() > 0,
                _section("bills.early", _note("bills.early_note"),
                         rx.vstack(rx.foreach(v.early, _early), spacing="2", width="100%"))),
        rx.heading(t("bills.statements"), size="4"),
        rx.cond(v.statements.length() > 0, rx.vstack(rx.foreach(v.statements, _statement), spacing="3", width="100%"),
                empty("bills.none")),
        pager(BillsState, at_end=False),
        _autopay(),
        spacing="4", width="100%",
    ))


# ── credit ──────────────────────────────────────────────────────────────────────────────────
def _bar() -> rx.Component:
    v = CreditState.view

    def seg(width, color: str, testid: str) -> rx.Component:
        return rx.box(width=width, background=color, height="100%", data_testid=testid)

    def legend(key: str, color: str, value) -> rx.Component:
        return rx.hstack(rx.box(width="10px", height="10px", border_radius="2px", background=color),
                         rx.text(t(key), size="1"), money(value, size="1", weight="bold"), spacing="1", align="center")

    return rx.vstack(
        rx.box(
            rx.hstack(seg(v.w_available, "var(--green-9)", "bar-available"), seg(v.w_frozen, "var(--blue-9)", "bar-frozen"),
                      seg(v.w_outstanding, "var(--orange-9)", "bar-outstanding"), spacing="0", height="100%",
                      width="100%"),
            rx.cond(v.has_excess, rx.box(position="absolute", top="-4px", bottom="-4px", left=v.limit_at, width="2px",
                                         background="var(--red-11)", title="limit")),
            position="relative", height="18px", width="100%", background="var(--gray-4)", border_radius="4px",
            overflow="visible", data_testid="credit-bar", role="img", aria_label="limit usage",
        ),
        rx.flex(legend("credit.available", "var(--green-9)", v.available),
                legend("credit.frozen", "var(--blue-9)", v.frozen),
                legend("credit.outstanding", "var(--orange-9)", v.outstanding), spacing="4", wrap="wrap"),
        rx.cond(v.has_excess, rx.callout(rx.text(t("credit.excess"), " ", v.excess), icon="triangle_alert",
                                         color_scheme="red", size="1", data_testid="credit-excess")),
        spacing="2", width="100%",
    )


def _change(c: Change) -> rx.Component:
    return rx.flex(
        rx.text(c.at, size="1", color_scheme="gray", font_variant_numeric="tabular-nums"),
        rx.hstack(money(c.old, size="1"), rx.text("→", size="1"), money(c.new, size="1", weight="bold"),
                  rx.cond(c.up, rx.icon("trending-up", size=14, color="var(--green-11)"),
                          rx.icon("trending-down", size=14, color="var(--red-11)")), spacing="1", align="center"),
        rx.text(c.reason, size="1", color_scheme="gray"),
        spacing="2", align="center", wrap="wrap", data_testid="history-change",
    )


def _changes(key: str, changes, testid: str) -> rx.Component:
    return rx.cond(changes.length() > 0, rx.vstack(rx.text(t(key), size="1", color_scheme="gray"),
                                                   rx.foreach(changes, _change), spacing="1", data_testid=testid))


def _score() -> rx.Component:
    v = CreditState.view
    return _section(
        "credit.score",
        rx.flex(
            rx.vstack(
                rx.text(v.score, size="9", weight="bold", data_testid="credit-score", font_variant_numeric="tabular-nums",
                        color="var(--accent-11)", line_height="1"),
                rx.hstack(rx.badge(v.band, size="2", data_testid="credit-band"),
                          rx.text(v.band_range, size="1", color_scheme="gray"), align="center", spacing="2"),
                spacing="2", min_width="8em",
            ),
            rx.box(
                rx.recharts.line_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3", vertical=False),
                    rx.recharts.x_axis(data_key="at", tick={"fontSize": 11}),
                    rx.recharts.y_axis(domain=["dataMin - 20", "dataMax + 20"], width=40, tick={"fontSize": 11},
                                       allow_decimals=False),
                    rx.recharts.graphing_tooltip(),
                    rx.recharts.line(data_key="score", stroke="var(--accent-9)", type_="stepAfter", stroke_width=2,
                                     is_animation_active=False, name=t("credit.chart_score")),
                    data=v.history, width="100%", height=180, margin={"top": 8, "right": 8, "left": 0, "bottom": 0},
                ),
                flex="1", min_width="240px", width="100%", data_testid="credit-history",
            ),
            spacing="4", wrap="wrap", width="100%", align="center",
        ),
        _note("credit.score_note"),
        _changes("credit.score_changes", v.score_changes, "score-changes"),
    )


def _limit() -> rx.Component:
    v = CreditState.view
    return _section(
        "credit.limit_title",
        rx.grid(stat("credit.limit", v.limit, "credit-limit"), stat("credit.available", v.available, "credit-available"),
                stat("credit.frozen", v.frozen, "credit-frozen"), stat("credit.outstanding", v.outstanding,
                                                                       "credit-outstanding"),
                columns=rx.breakpoints(initial="2", md="4"), spacing="3", width="100%"),
        rx.cond(v.rental_held != "", rx.text(t("rental.credit_held"), " ",
                                             rx.text(v.rental_held, as_="span", weight="bold", data_testid="credit-rental-held"),
                                             size="2", color_scheme="gray")),
        _bar(),
        _changes("credit.limit_changes", v.limit_changes, "limit-changes"),
    )


def _terms_list() -> rx.Component:
    return rx.vstack(
        rx.foreach(CreditState.terms, lambda sec: rx.vstack(
            rx.text(sec.title, weight="bold", size="2"),
            rx.foreach(sec.lines, lambda line: rx.text(line, size="2")), spacing="1")),
        spacing="3", width="100%", data_testid="bnpl-terms", padding="0.75em", background="var(--gray-a2)",
        border_radius="8px",
    )


def _consent() -> rx.Component:
    v = CreditState.view
    return _section(
        "credit.bnpl",
        rx.hstack(rx.text(t("credit.bnpl_status"), size="2"), status_badge(v.status, v.status_label, "bnpl-status"),
                  rx.cond(v.terms_accepted != "", rx.text(t("credit.terms_accepted_at"), " ", v.terms_accepted, size="1",
                                                          color_scheme="gray")),
                  align="center", spacing="2", wrap="wrap"),
        rx.match(
            v.status,
            (BS.ACTIVE, rx.vstack(
                rx.text(t("credit.close_note"), " ", rx.cond(v.open_orders > 0, rx.text.strong(
                    t("credit.open_orders"), " ", v.open_orders), ""), size="2"),
                rx.button(t("credit.close"), on_click=CreditState.close_bnpl, color_scheme="gray", variant="outline",
                          data_testid="bnpl-close"),
                spacing="2", width="100%")),
            (BS.SUSPENDED, rx.vstack(
                rx.callout(t("credit.suspended_note"), icon="circle_alert", color_scheme="red", width="100%"),
                _note("credit.suspended_close_note"),
                rx.button(t("credit.close"), on_click=CreditState.close_bnpl, color_scheme="gray", variant="outline",
                          data_testid="bnpl-close"),
                spacing="2", width="100%")),
            rx.cond(v.restore_first, rx.callout(t("credit.restore_first_note"), icon="circle_alert", color_scheme="amber",
                                                width="100%", data_testid="bnpl-restore-first"), rx.vstack(
                _note("credit.open_intro"),
                rx.cond(v.status == BS.CLOSED, _note("credit.terms_again")),
                rx.cond(v.open_limit != "", rx.callout(rx.text(t("credit.open_limit"), " ", rx.text.strong(v.open_limit)),
                                                       icon="badge-check", size="1", data_testid="bnpl-open-limit")),
                _terms_list(),
                rx.checkbox(t("credit.accept_terms"), checked=CreditState.terms_ok, on_change=CreditState.set_terms_ok,
                            data_testid="terms-accept", id="terms-accept"),
                rx.button(t("credit.open"), on_click=CreditState.open_bnpl, data_testid="bnpl-open",
                          disabled=~CreditState.terms_ok),
                rx.cond(~CreditState.terms_ok, _note("credit.accept_first")),
                spacing="3", width="100%")),
        ),
    )


def _self_cap() -> rx.Component:
    v = CreditState.view
    return _section(
        "credit.self_cap",
        _note("credit.self_cap_note"),
        rx.hstack(rx.text(t("credit.self_cap_now"), size="2"),
                  rx.cond(v.self_cap != "", money(v.self_cap, weight="bold", size="2", data_testid="self-cap-current"),
                          rx.text(t("credit.no_cap"), size="2", data_testid="self-cap-current")),
                  rx.text("·", size="2"), rx.text(t("credit.spendable"), size="2"), money(v.spendable, size="2", weight="bold"),
                  spacing="2", align="center", wrap="wrap"),
        rx.flex(
            _grow(field("credit.self_cap_input", rx.input(id="self-cap-input", value=CreditState.cap_text,
                                                          on_change=CreditState.set_cap_text, placeholder="¥ 0.00",
                                                          input_mode="decimal", data_testid="self-cap-input",
                                                          width="100%"), "self-cap-input")),
            rx.button(t("common.save"), on_click=CreditState.save_cap, data_testid="self-cap-save"),
            rx.cond(v.self_cap != "", rx.button(t("credit.clear_cap"), on_click=CreditState.clear_cap, variant="soft",
                                                color_scheme="gray", data_testid="self-cap-clear")),
            spacing="2", align="end", wrap="wrap", width="100%", max_width="520px",
        ),
    )


def _identity() -> rx.Component:
    v = CreditState.view
    ok = lambda key: rx.hstack(rx.icon("circle-check", size=16, color="var(--green-10)"), rx.text(t(key), size="2"),  # noqa: E731
                               align="center", spacing="1")
    return _section(
        "credit.identity",
        rx.cond(
            v.real_name, ok("credit.real_name_ok"),
            rx.vstack(
                _note("credit.real_name_missing"),
                rx.flex(
                    _grow(field("credit.real_name", rx.input(id="real-name", value=CreditState.real_name,
                                                             on_change=CreditState.set_real_name,
                                                             data_testid="real-name-input", width="100%"), "real-name")),
                    _grow(field("credit.id_number", rx.input(id="id-number", value=CreditState.id_number,
                                                             on_change=CreditState.set_id_number,
                                                             data_testid="id-number-input", width="100%"), "id-number")),
                    rx.button(t("credit.verify"), on_click=CreditState.verify_identity, data_testid="identity-submit"),
                    spacing="2", align="end", wrap="wrap", width="100%"),
                spacing="2", width="100%")),
        rx.cond(
            v.phone != "", rx.hstack(ok("credit.phone_ok_label"), rx.text(v.phone, size="2", data_testid="phone-bound")),
            rx.vstack(
                _note("credit.phone_missing"),
                rx.flex(
                    _grow(field("credit.phone", rx.input(id="phone", value=CreditState.phone,
                                                         on_change=CreditState.set_phone, input_mode="tel",
                                                         data_testid="phone-input", width="100%"), "phone")),
                    rx.button(t("credit.bind_phone"), on_click=CreditState.bind_phone, data_testid="phone-submit"),
                    spacing="2", align="end", wrap="wrap", width="100%"),
                spacing="2", width="100%")),
        rx.cond(v.auto_method, ok("credit.method_ok"),
                rx.callout(rx.link(rx.cond(v.has_method, t("credit.method_no_auto"), t("credit.method_missing")),
                                   href=routes.WALLET), icon="credit-card", size="1", data_testid="credit-method-missing")),
    )


_ACCEPT = {"image/png": [".png"], "image/jpeg": [".jpg", ".jpeg"], "image/gif": [".gif"], "image/webp": [".webp"],
           "application/pdf": [".pdf"]}


def _proof_upload() -> rx.Component:
    """A <label> around the drop zone: clicking it opens the file picker, and the test id sits on
    the element whose control is the file input."""
    return rx.vstack(
        rx.el.label(
            rx.upload.root(
                rx.vstack(rx.icon("upload", size=20), rx.text(t("credit.proof_pick"), size="2", weight="medium"),
                          rx.text(t("credit.proof_rules"), size="1", color_scheme="gray"), align="center", spacing="1"),
                id=PROOF_UPLOAD, accept=_ACCEPT, max_files=POLICY.upload_max_files, max_size=POLICY.upload_max_bytes,
                multiple=True, no_click=True, on_drop_rejected=CreditState.files_rejected,
                border="1px dashed var(--gray-a8)", border_radius="8px", padding="1em", width="100%",
            ),
            data_testid="application-proof-upload", style={"display": "block", "width": "100%", "cursor": "pointer"},
        ),
        rx.foreach(rx.selected_files(PROOF_UPLOAD), lambda name: rx.hstack(
            rx.icon("paperclip", size=14), rx.text(name, size="1"), align="center", spacing="1",
            data_testid="proof-selected")),
        spacing="2", width="100%",
    )


def _application_form() -> rx.Component:
    hardship = CreditState.applying == AK.HARDSHIP
    return rx.card(
        rx.vstack(
            rx.heading(rx.cond(hardship, t("credit.hardship_title"), t("credit.restore_title")), size="3"),
            rx.cond(hardship, _note("credit.hardship_form_note"), _note("credit.restore_form_note")),
            rx.cond(hardship, rx.flex(
                field("credit.reason", rx.el.select(
                    *[rx.el.option(t(f"credit.reason_{r}"), value=r) for r in ("medical", "unemployment", "other")],
                    id="hardship-reason", value=CreditState.reason, on_change=CreditState.set_reason,
                    data_testid="hardship-reason", style=_SELECT_STYLE), "hardship-reason"),
                field("credit.installments", rx.input(id="hardship-installments", type="number", min=1,
                                                      max=POLICY.hardship_max_installments, value=CreditState.installments,
                                                      on_change=CreditState.set_installments, width="8em",
                                                      data_testid="hardship-installments"), "hardship-installments"),
                spacing="3", wrap="wrap", width="100%")),
            rx.cond(hardship, rx.checkbox(t("credit.waiver"), checked=CreditState.waiver, on_change=CreditState.set_waiver,
                                          data_testid="hardship-waiver")),
            field("credit.statement", rx.text_area(id="application-statement", value=CreditState.statement,
                                                   on_change=CreditState.set_statement, max_length=1000, rows="3",
                                                   data_testid="application-statement", width="100%"),
                  "application-statement"),
            _proof_upload(),
            rx.flex(
                rx.button(t("credit.submit_application"),
                          on_click=CreditState.submit_application(rx.upload_files(upload_id=PROOF_UPLOAD)),
                          data_testid="application-submit"),
                rx.button(t("common.cancel"), on_click=CreditState.cancel_application, variant="soft", color_scheme="gray",
                          data_testid="application-cancel"),
                spacing="2", wrap="wrap"),
            spacing="3", width="100%",
        ),
        width="100%", data_testid="application-form", custom_attrs={"data-kind": CreditState.applying},
    )


def _application(a: ApplicationView) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.text(a.kind_label, weight="bold"), status_badge(a.status, a.status_label, "application-status"),
                      rx.spacer(), rx.text(a.created, size="1", color_scheme="gray"), width="100%", align="center",
                      wrap="wrap"),
            rx.cond(a.detail != "", rx.text(a.detail, size="2")),
            rx.cond(a.statement != "", rx.text(a.statement, size="2", color_scheme="gray")),
            rx.cond(a.proofs.length() > 0, rx.text(t("credit.proofs"), ": ", a.proofs.join(", "), size="1",
                                                   color_scheme="gray")),
            rx.cond(a.decision != "", rx.callout(
                rx.text(rx.cond(a.status == AS.REJECTED, t("credit.rejected_because"), t("credit.approved_terms")), " ",
                        a.decision), color_scheme=rx.cond(a.status == AS.REJECTED, "red", "green"), size="1",
                data_testid="application-decision")),
            rx.cond(a.decided != "", rx.text(t("credit.decided_at"), " ", a.decided, size="1", color_scheme="gray")),
            spacing="2", width="100%",
        ),
        width="100%", data_testid="application-row", custom_attrs={"data-id": a.id, "data-kind": a.kind},
    )


def _applications() -> rx.Component:
    v = CreditState.view
    return _section(
        "credit.applications",
        rx.cond(v.restorable, rx.vstack(
            rx.text(t("credit.restore_note"), " ", v.restorable_limit, size="2"),
            rx.cond(v.owes_overdue, rx.callout(rx.text(t("credit.still_owing"), " ", v.overdue_owed), icon="info",
                                               color_scheme="amber", size="1")),
            rx.button(t("credit.restore_apply"), on_click=CreditState.start_application(AK.RESTORATION),
                      data_testid="restore-apply", variant=rx.cond(CreditState.applying == AK.RESTORATION, "solid", "soft")),
            spacing="2", width="100%"),
            _note("credit.restore_not_needed")),
        rx.cond(v.hardship_ok, rx.vstack(
            _note("credit.hardship_note"),
            rx.button(t("credit.hardship_apply"), on_click=CreditState.start_application(AK.HARDSHIP),
                      data_testid="hardship-apply", variant=rx.cond(CreditState.applying == AK.HARDSHIP, "solid", "soft")),
            spacing="2", width="100%"),
            _note("credit.hardship_not_needed")),
        rx.cond(CreditState.applying != "", _application_form()),
        rx.cond(v.applications.length() > 0, rx.vstack(
            rx.text(t("credit.my_applications"), weight="bold", size="2"),
            rx.foreach(v.applications, _application), spacing="2", width="100%")),
    )


def credit_page() -> rx.Component:
    return layout(rx.vstack(
        page_title("credit.title", rx.link(t("credit.help_link"), href=routes.HELP, size="2")),
        # Someone who has not turned 先用后付 on (or turned it off) came here for the terms: show them first.
        rx.cond(CreditState.view.status == BS.ACTIVE, rx.fragment(), _consent()),
        _score(), _limit(),
        rx.cond(CreditState.view.status == BS.ACTIVE, _consent()),
        rx.cond(CreditState.view.has_limit, _self_cap()),
        _identity(), _applications(),
        spacing="4", width="100%",
    ))


# ── wallet ──────────────────────────────────────────────────────────────────────────────────
def _method_controls(m: MethodView) -> rx.Component:
    """Whether automatic deduction may use it, its place in the order, unbinding."""
    return rx.flex(
        rx.el.label(
            rx.hstack(rx.switch(checked=m.autopay, on_change=lambda on: WalletState.set_autopay(m.id, on),
                                data_testid="method-autopay"),
                      rx.text(rx.cond(m.autopay, t("wallet.method_autopay"), t("wallet.no_auto")), size="2"),
                      align="center", spacing="2"),
            style={"cursor": "pointer"},
        ),
        rx.spacer(),
        rx.hstack(
            rx.icon_button(rx.icon("arrow-up", size=16), on_click=WalletState.move(m.id, -1), disabled=m.rank == 1,
                           variant="soft", color_scheme="gray", size="1", aria_label=t("wallet.method_up"),
                           data_testid="method-up"),
            rx.icon_button(rx.icon("arrow-down", size=16), on_click=WalletState.move(m.id, 1), disabled=m.last,
                           variant="soft", color_scheme="gray", size="1", aria_label=t("wallet.method_down"),
                           data_testid="method-down"),
            rx.button(t("wallet.method_remove"), on_click=WalletState.ask_remove(m.id), variant="soft",
                      color_scheme="red", size="1", data_testid="method-remove"),
            spacing="2", align="center",
        ),
        width="100%", align="center", wrap="wrap", gap="2",
    )


def _method_confirm(m: MethodView) -> rx.Component:
    return rx.callout.root(
        rx.flex(
            rx.callout.text(t("wallet.method_remove_ask"), size="2"),
            rx.hstack(
                rx.button(t("wallet.method_remove_yes"), on_click=WalletState.remove_method(m.id), color_scheme="red",
                          size="1", data_testid="method-remove-confirm"),
                rx.button(t("wallet.method_remove_no"), on_click=WalletState.cancel_remove, variant="soft",
                          color_scheme="gray", size="1", data_testid="method-remove-cancel"),
                spacing="2",
            ),
            width="100%", align="center", justify="between", wrap="wrap", gap="2",
        ),
        color_scheme="red", size="1", width="100%",
    )


def _method(m: MethodView) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.badge(m.rank, radius="full", variant="soft", color_scheme=rx.cond(m.autopay, "orange", "gray")),
            rx.cond(m.kind == MK.WALLET, rx.icon("wallet", size=18), rx.icon("credit-card", size=18)),
            rx.text(m.label, weight="medium", min_width="0", data_testid="method-label"),
            rx.spacer(),
            money(m.balance, weight="bold"),
            width="100%", align="center", spacing="3",
        ),
        _method_controls(m),
        rx.cond(WalletState.removing == m.id, _method_confirm(m)),
        width="100%", spacing="2", padding_y="0.75em", border_bottom="1px solid var(--gray-a4)",
        data_testid="method-row",
        custom_attrs={"data-id": m.id, "data-kind": m.kind, "data-autopay": rx.cond(m.autopay, "on", "off")},
    )


def _add_card_form() -> rx.Component:
    return rx.vstack(
        rx.flex(
            _grow(field("wallet.bank", rx.input(id="card-bank", value=WalletState.bank,
                                                on_change=WalletState.set_bank, placeholder=t("wallet.bank_ph"),
                                                data_testid="card-bank-input", width="100%"), "card-bank")),
            _grow(field("wallet.last4", rx.input(id="card-last4", value=WalletState.last4,
                                                 on_change=WalletState.set_last4, max_length=4,
                                                 input_mode="numeric", placeholder="1234",
                                                 data_testid="card-last4-input", width="100%"), "card-last4")),
            _grow(field("wallet.card_balance", rx.input(id="card-balance", value=WalletState.card_balance,
                                                        on_change=WalletState.set_card_balance,
                                                        input_mode="decimal", placeholder="¥ 0.00",
                                                        data_testid="card-balance-input", width="100%"),
                        "card-balance")),
            rx.button(t("wallet.add_card_submit"), on_click=WalletState.add_card, data_testid="card-add-submit"),
            spacing="2", align="end", wrap="wrap", width="100%"),
        _note("wallet.card_note"),
        spacing="2", width="100%", padding="0.75em", border="1px solid var(--gray-a5)", border_radius="8px",
        data_testid="method-add-form",
    )


def _topup() -> rx.Component:
    return _section("wallet.topup",
                    rx.flex(_grow(field("wallet.amount", rx.input(id="wallet-topup", value=WalletState.topup_text,
                                                                  on_change=WalletState.set_topup_text,
                                                                  placeholder="¥ 100.00", input_mode="decimal",
                                                                  data_testid="wallet-topup-input", width="100%"),
                                        "wallet-topup")),
                            rx.button(t("wallet.topup_submit"), on_click=WalletState.topup,
                                      data_testid="wallet-topup-submit"),
                            spacing="2", align="end", wrap="wrap", width="100%", max_width="420px"),
                    _note("wallet.topup_note"))


def _movement(mv: MovementView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(mv.at, white_space="nowrap"),
        rx.table.cell(rx.badge(mv.kind_label, color_scheme=rx.match(mv.kind, ("refund", "green"), ("topup", "blue"), "gray"),
                               variant="soft")),
        rx.table.cell(mv.method),
        rx.table.cell(money(mv.amount, weight="bold", color_scheme=rx.cond(mv.incoming, "green", "gray")),
                      text_align="right"),
        data_testid="money-movement", custom_attrs={"data-kind": mv.kind, "data-key": mv.key},
    )


def _movements() -> rx.Component:
    v = WalletState.view
    return _section("wallet.movements", _note("wallet.movements_note"), rx.cond(
        v.movements.length() > 0,
        _table(["move.when", "move.kind", "move.method", "move.amount"], rx.foreach(v.movements, _movement),
               data_testid="money-movements"),
        empty("wallet.no_movements")))


def wallet_page() -> rx.Component:
    v = WalletState.view
    return layout(rx.vstack(
        page_title("wallet.title"),
        rx.card(rx.vstack(rx.text(t("wallet.balance"), size="2", color_scheme="gray"),
                          money(v.balance, size="8", weight="bold", data_testid="wallet-balance"), spacing="1"),
                width="100%"),
        rx.cond(v.wallet_bound, _topup(),
                rx.callout.root(rx.flex(rx.callout.text(t("wallet.unbound")),
                                        rx.button(t("wallet.rebind"), on_click=WalletState.rebind_wallet, size="1",
                                                  data_testid="wallet-rebind"),
                                        align="center", justify="between", wrap="wrap", gap="2", width="100%"),
                                color_scheme="gray", width="100%")),
        _section("wallet.methods",
                 _note("wallet.methods_order_note"),
                 rx.cond(v.auto_count == 0,
                         rx.callout(t("credit.method_no_auto"), icon="triangle_alert", color_scheme="amber", size="1",
                                    width="100%", data_testid="method-no-auto")),
                 rx.vstack(rx.foreach(v.methods, _method), spacing="0", width="100%"),
                 rx.button(rx.cond(WalletState.adding, rx.icon("chevron-up", size=16), rx.icon("plus", size=16)),
                           rx.cond(WalletState.adding, t("wallet.method_add_close"), t("wallet.method_add")),
                           on_click=WalletState.toggle_add, variant="soft", data_testid="method-add",
                           aria_expanded=rx.cond(WalletState.adding, "true", "false")),
                 rx.cond(WalletState.adding, _add_card_form())),
        _movements(),
        spacing="4", width="100%",
    ))


# ── inbox ───────────────────────────────────────────────────────────────────────────────────
def _go(n: NoticeView) -> rx.Component:
    return rx.match(n.link_to, ("bills", t("inbox.go_bills")), ("credit", t("inbox.go_credit")),
                    ("orders", t("inbox.go_orders")), t("inbox.go_orders"))


def _notice(n: NoticeView) -> rx.Component:
    """One inbox item (``inbox-item``: data-id the notification, data-kind its kind as stored)
    around the card (``notice-row``, kept for the tests that find it by that id)."""
    return rx.box(_notice_card(n), width="100%", data_testid="inbox-item",
                  custom_attrs={"data-id": n.id, "data-kind": n.kind})


def _notice_card(n: NoticeView) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.box(width="8px", height="8px", border_radius="50%", margin_top="0.45em", flex_shrink="0",
                   background=rx.cond(n.unread, "var(--accent-9)", "transparent")),
            rx.vstack(
                rx.flex(rx.text(n.title, weight=rx.cond(n.unread, "bold", "regular"), data_testid="notice-title"),
                        rx.spacer(), rx.text(n.at, size="1", color_scheme="gray", font_variant_numeric="tabular-nums"),
                        wrap="wrap", spacing="2", width="100%"),
                rx.text(n.body, size="2", color=rx.cond(n.unread, "var(--gray-12)", "var(--gray-11)"),
                        data_testid="notice-body"),
                rx.hstack(
                    rx.cond(n.link != "", rx.link(_go(n), href=n.link, size="1", data_testid="notice-link")),
                    rx.cond(n.unread, rx.button(t("inbox.mark_read"), on_click=InboxState.mark_read(n.id), size="1",
                                                variant="ghost", data_testid="notice-mark-read")),
                    spacing="4", align="center"),
                spacing="1", width="100%", min_width="0",
            ),
            spacing="2", width="100%", align="start",
        ),
        width="100%", data_testid="notice-row",
        custom_attrs={"data-id": n.id, "data-kind": n.kind, "data-unread": rx.cond(n.unread, "true", "false")},
        background=rx.cond(n.unread, "var(--accent-2)", "var(--color-panel)"),
    )


def inbox_page() -> rx.Component:
    return layout(rx.vstack(
        page_title("inbox.title", rx.cond(InboxState.unread_here > 0, rx.button(
            t("inbox.mark_all"), on_click=InboxState.mark_all_read, size="1", variant="soft",
            data_testid="inbox-mark-all"))),
        rx.cond(InboxState.unread_here > 0,
                rx.text(InboxState.unread_here, " ", t("inbox.unread"), size="2", color_scheme="gray")),
        rx.cond(InboxState.notices.length() > 0,
                rx.vstack(rx.foreach(InboxState.notices, _notice), spacing="2", width="100%"),
                empty("inbox.empty")),
        pager(InboxState),
        spacing="3", width="100%", max_width="760px", margin_x="auto",
    ))


# ── help ────────────────────────────────────────────────────────────────────────────────────
def _help_section(sec: HelpSection) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(sec.title, size="4"),
                             rx.foreach(sec.lines, lambda line: rx.text(line, size="2", line_height="1.7")),
                             spacing="2", width="100%"), width="100%", data_testid="help-section")


def _band(b: BandRow) -> rx.Component:
    return rx.table.row(rx.table.cell(b.scores, white_space="nowrap"), rx.table.cell(b.name),
                        rx.table.cell(money(b.start)), rx.table.cell(money(b.ceiling)), data_testid="help-band")


def help_page() -> rx.Component:
    return layout(rx.vstack(
        page_title("help.title"),
        rx.foreach(HelpState.intro, _help_section),
        _section("help.bands", _table(["help.band_range", "help.band_name", "help.band_start", "help.band_ceiling"],
                                      rx.foreach(HelpState.bands, _band)),
                 rx.text(t("help.min_score"), " ", POLICY.platform_min_score, size="2")),
        rx.foreach(HelpState.sections, _help_section),
        spacing="3", width="100%", max_width="860px", margin_x="auto",
    ))
