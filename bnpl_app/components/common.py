"""Small building blocks: translated text, money, status badges, the live countdown."""

from __future__ import annotations

import reflex as rx

from ..i18n import UI
from ..state.session import SessionState


def t(key: str) -> rx.Var:
    """The UI word for ``key`` in the reader's language (both are in the page; no round trip)."""
    zh, en = UI[key]
    return rx.cond(SessionState.is_en, en, zh)


def money(value, **props) -> rx.Component:
    """Money arrives pre-formatted (¥1,234.56) from int fen on the server; never a float here."""
    return rx.text(value, font_variant_numeric="tabular-nums", as_="span", **props)


def page_title(key: str, *children, **props) -> rx.Component:
    return rx.hstack(rx.heading(t(key), size="6"), *children, align="center", justify="between", width="100%",
                     wrap="wrap", **props)


def stat(label_key: str, value, testid: str, **props) -> rx.Component:
    return rx.card(
        rx.vstack(rx.text(t(label_key), size="1", color_scheme="gray"),
                  rx.text(value, size="5", weight="bold", data_testid=testid, font_variant_numeric="tabular-nums"),
                  spacing="1"),
        min_width="9em", flex="1", **props,
    )


_COLORS = {
    "TRIAL": "blue", "RETURN_IN_TRANSIT": "amber", "RETURN_RECEIVED": "amber", "RETURN_REJECTED": "orange",
    "RETURNED": "gray", "DUE": "indigo", "OVERDUE": "red", "PAID": "green", "SCHEDULED": "indigo", "PENDING": "blue",
    "CANCELLED": "gray", "REPLACED": "gray", "APPROVED": "green", "REJECTED": "red",
    "active": "green", "suspended": "red", "closed": "gray", "not_opened": "gray",
}


def status_badge(code, label, testid: str, **props) -> rx.Component:
    return rx.badge(label, color_scheme=rx.match(code, *[(k, v) for k, v in _COLORS.items()], "gray"),
                    data_testid=testid, variant="soft", size="2", **props)


def _two(v) -> rx.Var:
    return rx.cond(v < 10, "0" + v.to_string(), v.to_string())


def countdown(deadline_ts, testid: str = "order-countdown", **props) -> rx.Component:
    """Live to the second: deadline minus the simulated now (ticked by the server every second)."""
    left = deadline_ts - SessionState.now_ts
    days = (left // 86400).to(int)
    hours = ((left % 86400) // 3600).to(int)
    minutes = ((left % 3600) // 60).to(int)
    seconds = (left % 60).to(int)
    return rx.text(
        rx.cond(
            left > 0,
            rx.cond(SessionState.is_en,
                    days.to_string() + "d " + _two(hours) + ":" + _two(minutes) + ":" + _two(seconds),
                    days.to_string() + "天 " + _two(hours) + ":" + _two(minutes) + ":" + _two(seconds)),
            rx.cond(SessionState.is_en, "ended", "已结束"),
        ),
        data_testid=testid, font_variant_numeric="tabular-nums", weight="bold", **props,
    )


def empty(key: str = "common.none") -> rx.Component:
    return rx.center(rx.text(t(key), color_scheme="gray"), padding="2em", width="100%")


def field(label_key: str, control: rx.Component, html_for: str = "") -> rx.Component:
    """A labelled form control (a real <label for=…>, so screen readers and tests find it)."""
    return rx.vstack(rx.el.label(t(label_key), html_for=html_for, style={"fontSize": "0.85em", "color": "var(--gray-11)"}),
                     control, spacing="1", width="100%")
