"""信用分租机 pages: the devices for rent, one device (the deposit decision and the contract), the
shopper's rentals, and the merchant's rentals desk."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..components import countdown, empty, field, layout, money, page_title, t
from ..components.paging import pager
from ..domain.policy import POLICY
from ..state.rental import (
    RENTAL_PHOTO_UPLOAD,
    MerchantRentalsState,
    MyRentalsState,
    RentCatalogState,
    RentListingState,
)
from ..views.rental import ListingCard, MerchantListing, RentalView, RentInstallment, RentStep

_IMAGE_ACCEPT = {"image/png": [".png"], "image/jpeg": [".jpg", ".jpeg"], "image/gif": [".gif"], "image/webp": [".webp"]}
_MB = POLICY.upload_max_bytes // (1024 * 1024)
_STATUS_COLOR = (("AWAITING_DELIVERY", "blue"), ("RENTING", "indigo"), ("RETURN_IN_TRANSIT", "amber"),
                 ("RETURN_RECEIVED", "amber"), ("RETURNED", "gray"), ("BOUGHT_OUT", "green"), ("CANCELLED", "gray"))


def _kv(key: str, value, testid: str = "", **props) -> rx.Component:
    if testid:
        props["data_testid"] = testid
    return rx.vstack(rx.text(t(key), size="1", color_scheme="gray"),
                     rx.text(value, size="2", weight="bold", font_variant_numeric="tabular-nums", **props),
                     spacing="0", min_width="6em")


def _status(r: RentalView) -> rx.Component:
    return rx.badge(r.status_label, color_scheme=rx.match(r.status, *_STATUS_COLOR, "gray"), variant="soft", size="2",
                    data_testid="rental-status")


# ── the devices for rent ────────────────────────────────────────────────────────────────────
def _card(c: ListingCard) -> rx.Component:
    return rx.card(
        rx.link(rx.vstack(
            rx.hstack(rx.icon("smartphone", size=28, color="var(--accent-9)"),
                      rx.vstack(rx.text(c.name, weight="bold"), rx.text(c.shop, size="1", color_scheme="gray"), spacing="0"),
                      align="center", spacing="3"),
            rx.hstack(money(c.rent, size="5", weight="bold"), rx.text(t("rental.per_month"), size="2"), align="baseline",
                      spacing="1"),
            rx.flex(_kv("rental.terms", c.terms), _kv("rental.deposit", c.deposit), _kv("rental.buyout", c.buyout),
                    spacing="4", wrap="wrap"),
            rx.cond(c.stock > 0, rx.fragment(), rx.badge(t("rental.out_of_stock"), color_scheme="gray")),
            spacing="2"), href=c.url, underline="none", color="inherit"),
        data_testid="rental-listing-card", custom_attrs={"data-id": c.id}, width="100%",
    )


def rent_page() -> rx.Component:
    S = RentCatalogState
    return layout(rx.vstack(
        page_title("rental.title", rx.link(t("rental.my_rentals"), href=routes.RENTALS, size="2",
                                           data_testid="nav-my-rentals")),
        rx.callout(t("rental.intro"), icon="shield_check", color_scheme="blue", size="1", width="100%"),
        rx.cond(S.listings.length() > 0,
                rx.grid(rx.foreach(S.listings, _card), columns=rx.breakpoints(initial="1", sm="2", md="3"), spacing="3",
                        width="100%"),
                empty("rental.none")),
        pager(S),
        spacing="4", width="100%",
    ))


# ── one device ──────────────────────────────────────────────────────────────────────────────
def _decision() -> rx.Component:
    d = RentListingState.detail
    return rx.cond(
        d.checked,
        rx.card(rx.vstack(
            rx.hstack(rx.text(t("rental.review"), weight="bold"),
                      rx.badge(d.band_label, color_scheme=rx.match(d.band, ("full", "green"), ("half", "blue"),
                                                                  ("paid", "amber"), "red"), size="2"),
                      spacing="2", align="center", wrap="wrap"),
            rx.foreach(d.why, lambda w: rx.text("· ", w, size="2")),
            rx.cond(d.band != "refused", rx.flex(_kv("rental.held", d.held, "rental-held"),
                                                 _kv("rental.to_pay", d.paid, "rental-to-pay"),
                                                 rx.cond(d.method != "", _kv("rental.pay_from", d.method)),
                                                 spacing="4", wrap="wrap")),
            rx.foreach(d.problems, lambda p: rx.text("✗ ", p, size="2", color_scheme="red", data_testid="rental-problem")),
            spacing="2", width="100%"),
            data_testid="rental-deposit-decision", custom_attrs={"data-band": d.band}, width="100%"),
        rx.callout(t("rental.login_to_review"), icon="log_in", size="1", width="100%"),
    )


def _contract() -> rx.Component:
    S = RentListingState
    c = S.detail.contract
    return rx.cond(
        S.reviewing,
        rx.card(rx.vstack(
            rx.text(t("rental.contract"), weight="bold", size="4"),
            rx.cond(S.changed.length() > 0, rx.callout(
                rx.vstack(rx.text(t("rental.changed_title"), weight="bold"),
                          rx.foreach(S.changed, lambda x: rx.text("· ", x, size="2")), spacing="1"),
                icon="triangle_alert", color_scheme="amber", size="1", width="100%", data_testid="rental-contract-changed")),
            rx.flex(_kv("rental.term", c.term), _kv("rental.rent", c.rent), _kv("rental.rent_total", c.total),
                    _kv("rental.deposit", c.deposit), _kv("rental.held", c.held), _kv("rental.to_pay", c.paid),
                    _kv("rental.buyout", c.buyout), spacing="4", wrap="wrap"),
            rx.vstack(rx.foreach(c.lines, lambda line: rx.text("· ", line, size="2", data_testid="rental-contract-line")),
                      spacing="1", width="100%"),
            rx.text(t("rental.accept_note"), size="1", color_scheme="gray"),
            rx.hstack(rx.button(t("rental.accept"), on_click=S.accept, data_testid="rental-contract-accept", size="3"),
                      rx.button(t("common.cancel"), on_click=S.close_contract, variant="soft", color_scheme="gray",
                                size="3"), spacing="3", wrap="wrap"),
            spacing="3", width="100%"),
            data_testid="rental-contract", width="100%"),
    )


def listing_page() -> rx.Component:
    S = RentListingState
    d = S.detail
    return layout(rx.cond(
        S.missing,
        empty("common.not_found"),
        rx.vstack(
            rx.link(t("rental.back"), href=routes.RENT, size="2"),
            rx.hstack(rx.icon("smartphone", size=40, color="var(--accent-9)"),
                      rx.vstack(rx.heading(d.name, size="6"), rx.text(d.shop, size="2", color_scheme="gray"), spacing="0"),
                      align="center", spacing="3"),
            rx.text(d.description, size="2"),
            rx.flex(_kv("rental.rent", d.rent, "rental-rent"), _kv("rental.deposit", d.deposit),
                    _kv("rental.buyout", d.buyout), _kv("rental.stock", d.stock), spacing="4", wrap="wrap"),
            rx.text(t("rental.damage"), ": ", d.damage_rules, size="2", color_scheme="gray"),
            rx.hstack(rx.text(t("rental.term"), size="2"),
                      rx.segmented_control.root(
                          rx.foreach(d.terms, lambda x: rx.segmented_control.item(x, value=x, data_testid="rental-term")),
                          value=S.term, on_change=S.choose_term),
                      rx.text(t("rental.months"), size="2"), align="center", spacing="2"),
            _decision(),
            rx.cond(S.reviewing, _contract(),
                    rx.button(t("rental.apply"), on_click=S.apply, size="3", data_testid="rental-apply",
                              disabled=~d.can_apply & d.checked)),
            spacing="4", width="100%", max_width="720px",
        ),
    ))


# ── the shopper's rentals ───────────────────────────────────────────────────────────────────
def _step(h: RentStep) -> rx.Component:
    return rx.hstack(
        rx.box(width="10px", height="10px", border_radius="50%", background="var(--accent-9)", margin_top="0.35em",
               flex_shrink="0"),
        rx.vstack(rx.hstack(rx.text(h.label, weight="bold", size="2"), rx.cond(h.amount != "", money(h.amount, size="2")),
                            spacing="2"),
                  rx.text(h.at, size="1", color_scheme="gray"),
                  rx.cond(h.note != "", rx.text(h.note, size="1", color_scheme="gray")), spacing="0"),
        data_testid="rental-hold-step", custom_attrs={"data-step": h.step}, align="start", spacing="2",
    )


def _rent_row(i: RentInstallment) -> rx.Component:
    return rx.table.row(rx.table.cell(i.seq), rx.table.cell(i.due), rx.table.cell(money(i.amount)),
                        rx.table.cell(rx.badge(i.status_label, variant="soft")),
                        data_testid="rental-rent-row", custom_attrs={"data-id": i.id, "data-status": i.status})


def _photos(r: RentalView) -> rx.Component:
    return rx.cond(r.reason != "", rx.callout(rx.vstack(
        rx.text(t("rental.damage_found"), " ", r.outcome, weight="bold", size="2"),
        rx.text(t("rental.reason"), ": ", r.reason, size="2", data_testid="rental-inspection-reason"),
        rx.cond(r.repair != "", rx.text(t("rental.repair"), ": ", r.repair, size="2")),
        rx.flex(rx.foreach(r.photos, lambda url: rx.link(rx.image(src=url, alt="inspection photo", width="140px",
                                                                 height="105px", object_fit="cover", border_radius="6px",
                                                                 data_testid="rental-inspection-photo"),
                                                        href=url, is_external=True)), spacing="2", wrap="wrap"),
        rx.cond(r.charge_url != "", rx.link(t("rental.charge_open"), href=r.charge_url, size="2")),
        spacing="2"), icon="camera", color_scheme="orange", size="1", width="100%"))


def _my_rental(r: RentalView) -> rx.Component:
    S = MyRentalsState
    return rx.card(
        rx.vstack(
            rx.hstack(rx.text(r.device, weight="bold", size="4"), rx.text("#", r.id, size="1", color_scheme="gray"),
                      rx.spacer(), _status(r), wrap="wrap", align="center", width="100%"),
            rx.flex(_kv("rental.rent", r.rent), _kv("rental.term_months", r.term),
                    _kv("rental.rent_paid", r.rent_paid, "rental-rent-paid"),
                    rx.cond(r.next_rent != "", _kv("rental.next_rent", r.next_rent, "rental-next-rent")),
                    rx.cond(r.next_due != "", _kv("rental.next_due", r.next_due, "rental-next-due")),
                    rx.cond(r.holding, _kv("rental.held", r.held, "rental-row-held"),
                            _kv("rental.hold_state", r.hold_state, "rental-row-hold-state")),
                    _kv("rental.paid_deposit", r.paid),
                    rx.cond(r.refunded != "", _kv("rental.deposit_refunded", r.refunded)),
                    rx.cond(r.serial != "", _kv("rental.serial", r.serial)), spacing="4", wrap="wrap"),
            rx.cond(r.overdue != "", rx.callout(
                rx.hstack(rx.text(t("rental.overdue"), " ", r.overdue_days, " ", t("rental.days"), " · ",
                                  t("rental.overdue_owed"), " ", rx.text(r.overdue, as_="span", weight="bold"), size="2"),
                          rx.link(t("rental.overdue_help"), href=routes.CREDIT, size="2"), spacing="3", wrap="wrap"),
                icon="triangle_alert", color_scheme="red", size="1", width="100%", data_testid="rental-overdue")),
            _photos(r),
            rx.cond(r.deadline != "", rx.hstack(rx.text(t("rental.inspect_by"), " ", r.deadline, size="2"),
                                                countdown(r.deadline_ts, testid="rental-inspect-countdown", size="2"),
                                                spacing="2", wrap="wrap")),
            rx.flex(
                rx.cond(r.can_return, rx.button(t("rental.return"), on_click=S.open_return(r.id), variant="outline",
                                                data_testid="rental-return")),
                rx.cond(r.can_buyout, rx.button(t("rental.buyout_for"), " ", r.buyout, on_click=S.buyout(r.id),
                                                data_testid="rental-buyout")),
                rx.cond(r.can_cancel, rx.button(t("rental.cancel"), on_click=S.cancel(r.id), variant="soft",
                                                color_scheme="gray", data_testid="rental-cancel")),
                rx.cond(r.order_url != "", rx.link(t("rental.rent_order"), href=r.order_url, size="2")),
                spacing="3", wrap="wrap", align="center"),
            rx.cond(S.returning == r.id, rx.vstack(
                rx.text(t("rental.return_note"), size="2", color_scheme="gray"),
                rx.hstack(rx.input(value=S.tracking, on_change=S.set_tracking, placeholder=t("order.tracking_ph"),
                                   aria_label="tracking", data_testid="rental-tracking-input"),
                          rx.button(t("rental.submit_return"), on_click=S.request_return(r.id),
                                    data_testid="rental-return-submit"), spacing="2", wrap="wrap"),
                spacing="2", width="100%")),
            rx.accordion.root(
                rx.accordion.item(header=t("rental.timeline"), value="timeline", content=rx.vstack(
                    rx.foreach(r.timeline, _step), spacing="3", data_testid="rental-timeline")),
                rx.accordion.item(header=t("rental.rent_schedule"), value="rent", content=rx.box(rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(t(k)) for k in (
                        "product.period", "product.due", "product.total", "common.status")])),
                    rx.table.body(rx.foreach(r.rents, _rent_row)), size="1", width="100%"), overflow_x="auto")),
                rx.accordion.item(header=t("rental.contract"), value="contract", content=rx.vstack(
                    rx.text(t("rental.accepted_at"), " ", r.accepted, size="1", color_scheme="gray"),
                    rx.foreach(r.contract, lambda line: rx.text("· ", line, size="2")), spacing="1",
                    data_testid="rental-contract-shown")),
                type="multiple", default_value=["timeline"], collapsible=True, width="100%", variant="ghost"),
            spacing="3", width="100%",
        ),
        data_testid="rental-row", custom_attrs={"data-id": r.id, "data-status": r.status}, width="100%",
    )


def my_rentals_page() -> rx.Component:
    S = MyRentalsState
    return layout(rx.vstack(
        page_title("rental.my_rentals", rx.link(t("rental.browse"), href=routes.RENT, size="2")),
        rx.cond(S.rentals.length() > 0, rx.vstack(rx.foreach(S.rentals, _my_rental), spacing="3", width="100%"),
                empty("rental.no_rentals")),
        pager(S),
        spacing="4", width="100%",
    ))


# ── the merchant's desk ─────────────────────────────────────────────────────────────────────
def _input(name: str, key: str, **props) -> rx.Component:
    S = MerchantRentalsState
    return field(key, rx.input(id=f"listing-{name}", value=S.form[name], on_change=lambda v: S.set_field(name, v),
                               data_testid=f"listing-{name}-input", width="100%", **props), f"listing-{name}")


def _listing_form() -> rx.Component:
    S = MerchantRentalsState
    return rx.cond(S.editing, rx.card(rx.vstack(
        rx.text(rx.cond(S.edit_id > 0, t("rental.edit_listing"), t("rental.new_listing")), weight="bold"),
        rx.grid(_input("name", "rental.f_name"), _input("rent", "rental.f_rent", input_mode="decimal"),
                _input("terms", "rental.f_terms", placeholder="6,12"),
                _input("deposit", "rental.f_deposit", input_mode="decimal"),
                _input("buyout", "rental.f_buyout", input_mode="decimal"), _input("stock", "rental.f_stock", input_mode="numeric"),
                columns=rx.breakpoints(initial="1", sm="2", md="3"), spacing="3", width="100%"),
        field("rental.f_description", rx.text_area(id="listing-description", value=S.form["description"],
                                                    on_change=lambda v: S.set_field("description", v), rows="2",
                                                    data_testid="listing-description-input", width="100%"),
              "listing-description"),
        field("rental.f_damage", rx.text_area(id="listing-damage", value=S.form["damage_rules"],
                                               on_change=lambda v: S.set_field("damage_rules", v), rows="2",
                                               data_testid="listing-damage-input", width="100%"), "listing-damage"),
        rx.hstack(rx.checkbox(t("rental.f_active"), checked=S.form_active, on_change=S.set_active,
                              data_testid="listing-active-toggle"), spacing="2"),
        rx.hstack(rx.button(t("common.save"), on_click=S.save_listing, data_testid="listing-save"),
                  rx.button(t("common.cancel"), on_click=S.close_form, variant="soft", color_scheme="gray"), spacing="3"),
        spacing="3", width="100%"), width="100%"))


def _listing_row(x: MerchantListing) -> rx.Component:
    return rx.card(rx.hstack(
        rx.vstack(rx.hstack(rx.text(x.name, weight="bold"), rx.cond(x.active, rx.badge(t("rental.on"), color_scheme="green"),
                                                                  rx.badge(t("rental.off"), color_scheme="gray")),
                            spacing="2", align="center"),
                  rx.flex(_kv("rental.rent", x.rent), _kv("rental.terms", x.terms), _kv("rental.deposit", x.deposit),
                          _kv("rental.buyout", x.buyout), _kv("rental.stock", x.stock), spacing="4", wrap="wrap"),
                  rx.text(x.damage_rules, size="1", color_scheme="gray"), spacing="2"),
        rx.spacer(),
        rx.button(t("rental.edit"), on_click=MerchantRentalsState.open_edit(x.id), variant="soft", size="2",
                  data_testid="listing-edit"),
        wrap="wrap", align="start", width="100%"),
        data_testid="rental-listing-row", custom_attrs={"data-id": x.id}, width="100%")


def _inspect(r: RentalView) -> rx.Component:
    S = MerchantRentalsState
    rid = r.id.to_string()
    return rx.cond(S.open_id == r.id, rx.vstack(
        rx.hstack(rx.text(t("rental.inspect_by"), " ", r.deadline, size="2", data_testid="rental-inspect-deadline"),
                  countdown(r.deadline_ts, testid="rental-inspect-countdown", size="2"), spacing="2", wrap="wrap"),
        rx.text(t("mer.auto_accept"), size="1", color_scheme="gray"),
        rx.button(rx.icon("circle_check", size=16), t("rental.inspect_ok"), on_click=S.accept(r.id), color_scheme="green",
                  data_testid="rental-inspect-accept", width="100%"),
        rx.text(t("rental.or_damaged"), size="1", color_scheme="gray"),
        field("mer.reject_reason", rx.text_area(id="rental-reason-" + rid, value=S.reason, on_change=S.set_reason,
                                                placeholder=t("mer.reason_ph"), data_testid="rental-inspect-reason", rows="2",
                                                width="100%"), "rental-reason-" + rid),
        field("rental.repair_input", rx.input(id="rental-repair-" + rid, value=S.repair, on_change=S.set_repair,
                                              input_mode="decimal", data_testid="rental-repair-input", width="100%"),
              "rental-repair-" + rid),
        rx.text(t("rental.repair_max"), " ", r.deposit, size="1", color_scheme="gray"),
        rx.el.label(rx.upload(
            rx.hstack(rx.icon("camera", size=18), rx.text(t("mer.photo_pick"), size="2"), align="center", spacing="2"),
            id=RENTAL_PHOTO_UPLOAD, accept=_IMAGE_ACCEPT, max_files=POLICY.upload_max_files, no_click=True,
            max_size=POLICY.upload_max_bytes, on_drop_rejected=S.files_rejected, data_testid="rental-photo-upload",
            border="1px dashed var(--gray-7)", border_radius="8px", padding="0.75em", width="100%", cursor="pointer",
        ), style={"display": "block", "width": "100%"}),
        rx.foreach(rx.selected_files(RENTAL_PHOTO_UPLOAD),
                   lambda f: rx.text("📷 ", f, size="1", color_scheme="green", data_testid="rental-photo-selected")),
        rx.text(t("mer.photo_rules"), " ", _MB, " MB", size="1", color_scheme="gray"),
        rx.button(rx.icon("circle_x", size=16), t("rental.inspect_damaged"),
                  on_click=S.reject(rx.upload_files(upload_id=RENTAL_PHOTO_UPLOAD), r.id), color_scheme="red",
                  variant="soft", data_testid="rental-inspect-reject", width="100%"),
        spacing="2", width="100%"),
        rx.button(t("mer.inspect_this"), on_click=S.open(r.id), variant="soft", data_testid="rental-inspect-open"))


def _shop_rental(r: RentalView) -> rx.Component:
    S = MerchantRentalsState
    return rx.card(rx.vstack(
        rx.hstack(rx.text("#", r.id, size="1", color_scheme="gray"), rx.text(r.device, weight="bold"),
                  rx.text(r.shopper, size="2"), rx.spacer(), _status(r), wrap="wrap", align="center", width="100%"),
        rx.flex(_kv("rental.term_months", r.term), _kv("rental.rent", r.rent), _kv("rental.deposit", r.deposit),
                rx.cond(r.holding, _kv("rental.held", r.held), _kv("rental.hold_state", r.hold_state)),
                _kv("rental.paid_deposit", r.paid), _kv("rental.accepted_at", r.accepted),
                rx.cond(r.serial != "", _kv("rental.serial", r.serial)),
                rx.cond(r.tracking != "", _kv("rental.tracking", r.tracking)),
                rx.cond(r.outcome != "", _kv("rental.outcome", r.outcome)),
                rx.cond(r.overdue != "", _kv("rental.overdue_owed", r.overdue, color="var(--red-11)")),
                spacing="4", wrap="wrap"),
        rx.cond(r.can_deliver, rx.hstack(
            rx.input(value=S.serial.get(r.id.to_string(), ""), on_change=lambda v: S.set_serial(r.id, v),
                     placeholder=t("rental.serial_ph"), aria_label="serial", data_testid="rental-serial-input"),
            rx.button(t("rental.deliver"), on_click=S.deliver(r.id), data_testid="rental-deliver"),
            spacing="2", wrap="wrap")),
        rx.cond(r.can_receive, rx.button(t("mer.receive"), on_click=S.receive(r.id), data_testid="rental-receive")),
        rx.cond(r.can_inspect, _inspect(r)),
        _photos(r),
        spacing="3", width="100%"),
        data_testid="merchant-rental-row", custom_attrs={"data-id": r.id, "data-status": r.status}, width="100%")


def merchant_rentals_page() -> rx.Component:
    S = MerchantRentalsState
    st = S.settlement
    return layout(rx.vstack(
        page_title("rental.desk_title", rx.button(t("rental.new_listing"), on_click=S.open_new, data_testid="listing-new")),
        _listing_form(),
        rx.cond(S.listings.length() > 0, rx.vstack(rx.foreach(S.listings, _listing_row), spacing="2", width="100%"),
                empty("rental.no_listings")),
        rx.heading(t("rental.settlement"), size="4"),
        rx.flex(_kv("rental.s_rent", st.rent, "rental-settlement-rent"), _kv("rental.s_fees", st.rent_fees),
                _kv("rental.s_buyouts", st.buyouts, "rental-settlement-buyouts"), _kv("rental.s_fees", st.buyout_fees),
                _kv("rental.s_repairs", st.repairs, "rental-settlement-repairs"), _kv("rental.s_fees", st.repair_fees),
                _kv("rental.s_net", st.net, "rental-settlement-net"), spacing="4", wrap="wrap"),
        rx.heading(t("rental.applications"), size="4"),
        rx.cond(S.rentals.length() > 0, rx.vstack(rx.foreach(S.rentals, _shop_rental), spacing="3", width="100%"),
                empty("rental.no_rentals")),
        pager(S),
        spacing="4", width="100%",
    ))
