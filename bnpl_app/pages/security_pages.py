"""账户安全 / Account security: the devices signed in to this account (this one marked), a button
that signs out every other one, and the password change (which signs out every other one too)."""

from __future__ import annotations

import reflex as rx

from ..components import field, layout, page_title, t
from ..domain.policy import POLICY
from ..state.security import SecurityState
from ..views.sessions import SessionRow

_HOURS = int(POLICY.session_ttl.total_seconds() // 3600)
_IDLE = int(POLICY.session_idle.total_seconds() // 60)


def _row(r: SessionRow) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("monitor-smartphone", size=16), rx.text(r.device, weight="bold", size="2"),
                      rx.cond(r.current, rx.badge(t("sessions.this_device"), color_scheme="green",
                                                  data_testid="session-this-device")),
                      align="center", spacing="2", wrap="wrap"),
            rx.flex(
                rx.text(t("sessions.signed_in"), " ", r.signed_in, size="1", color_scheme="gray"),
                rx.text(t("sessions.last_seen"), " ", r.last_seen, size="1", color_scheme="gray"),
                rx.text(t("sessions.from"), " ", r.address, size="1", color_scheme="gray"),
                spacing="3", wrap="wrap",
            ),
            spacing="1", width="100%",
        ),
        width="100%", data_testid="session-row", data_id=r.id, data_current=r.current,
    )


def _password_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("sessions.password"), size="4"),
            rx.text(t("sessions.password_hint"), size="2", color_scheme="gray"),
            rx.form(
                rx.vstack(
                    field("sessions.password_current",
                          rx.input(name="current", id="password-current", type="password", data_testid="password-current",
                                   auto_complete="current-password", required=True, max_length=200, width="100%"),
                          "password-current"),
                    rx.vstack(rx.el.label(t("sessions.password_new", min=POLICY.password_min_len), html_for="password-new",
                                          style={"fontSize": "0.85em", "color": "var(--gray-11)"}),
                              rx.input(name="new", id="password-new", type="password", data_testid="password-new",
                                       auto_complete="new-password", required=True, min_length=POLICY.password_min_len,
                                       max_length=200, width="100%"),
                              spacing="1", width="100%"),
                    rx.button(t("sessions.password_save"), type="submit", data_testid="password-save",
                              loading=SecurityState.saving),
                    spacing="3", width="100%",
                ),
                on_submit=SecurityState.change_password, reset_on_submit=True, width="100%",
            ),
            spacing="2", width="100%",
        ),
        width="100%",
    )


def security_page() -> rx.Component:
    return layout(rx.vstack(
        page_title("sessions.title"),
        rx.heading(t("sessions.devices"), size="4"),
        rx.text(t("sessions.devices_hint", hours=_HOURS, idle=_IDLE), size="2", color_scheme="gray"),
        rx.vstack(rx.foreach(SecurityState.rows, _row), spacing="2", width="100%"),
        rx.button(t("sessions.end_all"), on_click=SecurityState.end_others, color_scheme="red", variant="soft",
                  disabled=SecurityState.others == 0, data_testid="sessions-end-all"),
        _password_form(),
        spacing="3", width="100%", max_width="760px", margin_x="auto",
    ))
