"""The pager under every long list (previous / page N of M · K items / next) and the search box
above the lists a person looks things up in. Both drive a state built on ``state.paging``."""

from __future__ import annotations

import reflex as rx

from .common import t


def _indicator(S) -> rx.Var:
    """"Page 2 of 5 · 93 in all", in the reader's language, filled in the browser."""
    where = t("page.of").to(str).replace("{n}", S.page_no.to_string()).replace("{m}", S.page_count.to_string())
    return where + " · " + t("page.items").to(str).replace("{k}", S.total.to_string())


def pager(S, area: str = "", *, at_end: bool = True) -> rx.Component:
    """Previous / where we are / next, for the paged state ``S``; shown only when the list is longer
    than one page. ``area`` prefixes the test ids when a screen has more than one pager; ``at_end``:
    the pager is the last thing on the screen (it keeps room below it for the toast)."""
    prefix = f"{area}-" if area else ""
    return rx.cond(
        S.paged,
        rx.el.nav(
            rx.hstack(
                rx.button(rx.icon("chevron-left", size=16), t("page.prev"), on_click=S.prev_page,
                          disabled=S.page_no <= 1, variant="soft", size="2", data_testid=prefix + "page-prev"),
                rx.text(_indicator(S), size="2", color_scheme="gray", font_variant_numeric="tabular-nums",
                        data_testid=prefix + "page-indicator", text_align="center", aria_live="polite"),
                rx.button(t("page.next"), rx.icon("chevron-right", size=16), on_click=S.next_page,
                          disabled=~S.has_next, variant="soft", size="2", data_testid=prefix + "page-next"),
                justify="center", align="center", spacing="3", width="100%", wrap="wrap",
            ),
            # Room below: at the end of the page a toast (fixed at the bottom) never covers the pager.
            aria_label="pages", width="100%", padding_bottom="3.5em" if at_end else "0",
        ),
    )


def search_box(S, placeholder_key: str, testid: str = "list-search", **props) -> rx.Component:
    """A search input bound to ``S.query``: typing (debounced) shows the first page of the matches."""
    return rx.input(
        rx.input.slot(rx.icon("search", size=16)),
        placeholder=t(placeholder_key), value=S.query, on_change=S.set_query, debounce_timeout=300,
        aria_label=t(placeholder_key), data_testid=testid, type="search", **props,
    )
