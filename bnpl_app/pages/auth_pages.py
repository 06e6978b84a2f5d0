"""Log in and sign up (with one-click demo accounts in demo mode).

The forms are plain HTML forms posted by the browser itself to the app's HTTP endpoints
(``auth_api.py``): the answer sets the HttpOnly session cookie and sends the browser on to its
home page — a full page load, so the new websocket's handshake carries the new cookie. No event
and no script sees the cookie; a refusal comes back as this page with a code its loader says."""

from __future__ import annotations

import reflex as rx

from .. import routes
from ..components import field, layout, t
from ..components.plain import NativeForm
from ..state.session import DEMO_USERS, SessionState


def post_form(action: str, *children, **props) -> rx.Component:
    """A form the browser posts to ``action`` natively."""
    return NativeForm.create(*children, action=action, method="post", **props)


def _demo_buttons() -> rx.Component:
    # One form, one submit button per account: the button pressed sends its own name=value.
    return rx.cond(
        SessionState.demo,
        rx.card(
            rx.vstack(
                rx.text(t("auth.demo_accounts"), weight="bold", size="2"),
                post_form(routes.AUTH_DEMO,
                          rx.flex(*[rx.button(u, type="submit", name="username", value=u, size="1", variant="soft",
                                              data_testid=f"demo-login-{u}") for u in DEMO_USERS],
                                  wrap="wrap", spacing="2")),
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
                post_form(
                    routes.AUTH_LOGIN,
                    rx.vstack(
                        field("auth.username", rx.input(name="username", id="login-username", data_testid="login-username",
                                                        auto_complete="username", required=True, max_length=40,
                                                        width="100%"), "login-username"),
                        field("auth.password", rx.input(name="password", id="login-password", type="password",
                                                        data_testid="login-password", auto_complete="current-password",
                                                        required=True, max_length=200, width="100%"), "login-password"),
                        rx.button(t("auth.login"), type="submit", data_testid="login-submit", width="100%"),
                        spacing="3", width="100%",
                    ),
                    style={"width": "100%"},
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
                post_form(
                    routes.AUTH_REGISTER,
                    rx.vstack(
                        field("auth.username", rx.input(name="username", id="reg-username", data_testid="register-username",
                                                        auto_complete="username", required=True, max_length=30,
                                                        width="100%"), "reg-username"),
                        field("auth.display_name", rx.input(name="display_name", id="reg-display", max_length=60,
                                                            data_testid="register-display-name", width="100%"), "reg-display"),
                        field("auth.password", rx.input(name="password", id="reg-password", type="password",
                                                        auto_complete="new-password", data_testid="register-password",
                                                        required=True, max_length=200, width="100%"),
                              "reg-password"),
                        rx.button(t("auth.register"), type="submit", data_testid="register-submit", width="100%"),
                        spacing="3", width="100%",
                    ),
                    style={"width": "100%"},
                ),
                rx.hstack(rx.text(t("auth.have_account"), size="2"), rx.link(t("auth.login"), href=routes.LOGIN, size="2")),
                spacing="4", width="100%", max_width="420px",
            ),
            padding_top="2em",
        )
    )
