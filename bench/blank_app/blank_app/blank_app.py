"""One state, one event that increments an integer, one page: the framework's floor."""

import reflex as rx


class CounterState(rx.State):
    count: int = 0

    @rx.event
    def increment(self):
        self.count += 1


def index() -> rx.Component:
    return rx.container(
        rx.vstack(
            rx.heading("Blank", data_testid="blank-heading"),
            # Shown once the page is hydrated over the websocket, as the app's catalog is.
            rx.cond(rx.State.is_hydrated, rx.text(CounterState.count, data_testid="count")),
            rx.button("+1", on_click=CounterState.increment, data_testid="increment"),
        )
    )


app = rx.App()
app.add_page(index, route="/")
