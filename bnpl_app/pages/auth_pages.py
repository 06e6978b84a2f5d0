"""Log in and sign up (with one-click demo accounts in demo mode)."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..components import field, layout, t
from ..state.session import DEMO_USERS, SessionState


def _demo_buttons() -> rx.Component:
    return rx.cond(
        SessionState.demo,
        rx.card(
            rx.vstack(
                rx.text(t("auth.demo_accounts"), weight="bold", size="2"),
                rx.flex(*[rx.button(u, on_click=SessionState.login_as(u), size="1", variant="soft",
                                    data_testid=f"demo-login-{u}") for u in DEMO_USERS], wrap="wrap", spacing="2"),
                rx.text(t("auth.demo_hint"), size="1", color_scheme="gray"),
                spacing="2",
            ),
            width="100%",
        ),
    )


def login_page() -> rx.Component:
    return layout(
        rx.center(
            rx.vstack(
                rx.heading(t("auth.login"), size="6"),
                rx.form(
                    rx.vstack(
                        field("auth.username", rx.input(name="username", id="login-username", data_testid="login-username",
                                                        auto_complete="username", required=True, width="100%"), "login-username"),
                        field("auth.password", rx.input(name="password", id="login-password", type="password",
                                                        data_testid="login-password", auto_complete="current-password",
                                                        required=True, width="100%"), "login-password"),
                        rx.button(t("auth.login"), type="submit", data_testid="login-submit", width="100%"),
                        spacing="3", width="100%",
                    ),
                    on_submit=SessionState.login, width="100%",
                ),
                rx.hstack(rx.text(t("auth.no_account"), size="2"), rx.link(t("auth.register"), href=routes.REGISTER, size="2")),
                _demo_buttons(),
                spacing="4", width="100%", max_width="420px",
            ),
            padding_top="2em",
        )
    )


def register_page() -> rx.Component:
    return layout(
        rx.center(
            rx.vstack(
                rx.heading(t("auth.register"), size="6"),
                rx.form(
                    rx.vstack(
                        field("auth.username", rx.input(name="username", id="reg-username", data_testid="register-username",
                                                        required=True, width="100%"), "reg-username"),
                        field("auth.display_name", rx.input(name="display_name", id="reg-display",
                                                            data_testid="register-display-name", width="100%"), "reg-display"),
                        field("auth.password", rx.input(name="password", id="reg-password", type="password",
                                                        data_testid="register-password", required=True, width="100%"),
                              "reg-password"),
                        rx.button(t("auth.register"), type="submit", data_testid="register-submit", width="100%"),
                        spacing="3", width="100%",
                    ),
                    on_submit=SessionState.register, width="100%",
                ),
                rx.hstack(rx.text(t("auth.have_account"), size="2"), rx.link(t("auth.login"), href=routes.LOGIN, size="2")),
                spacing="4", width="100%", max_width="420px",
            ),
            padding_top="2em",
        )
    )
