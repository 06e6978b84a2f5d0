"""The Reflex app: every page is registered here.

A placeholder until the real pages land: one page whose ping button proves that the
page hydrated and that events travel over the websocket to the backend and back.
"""

import reflex as rx

from bnpl_app import routes


class PingState(rx.State):
    """Round-trip check between the browser and the backend."""

    reply: str = ""

    @rx.event
    def ping(self):
        self.reply = "pong"


def index() -> rx.Component:
    return rx.container(
        rx.vstack(
            rx.heading("先用后付", size="8", data_testid="app-title"),
            rx.hstack(
                rx.button("Ping", on_click=PingState.ping, data_testid="ping-button"),
                rx.text(PingState.reply, data_testid="ping-result"),
                align="center",
            ),
            spacing="4",
        ),
        padding_y="2em",
    )


app = rx.App()  # the theme is set in rxconfig.py (RadixThemesPlugin)
app.add_page(index, route=routes.INDEX, title="先用后付")
