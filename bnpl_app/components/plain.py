"""Plain elements wearing Radix Themes' own classes: rows, columns, texts, headings and in-app links
that look exactly like ``rx.hstack`` / ``rx.vstack`` / ``rx.text`` / ``rx.heading`` / ``rx.link``.

Each of those is a framework component, and each style given to it (``padding_x=…``) an emotion
style serialised and hashed on every render. The frame of every page and the catalog's cards are
drawn on a visitor's first load before anything else, so there they are plain elements styled by
class (Radix's, and ``assets/theme.css`` for the rest); the browser's first load of the catalog
did ~26 ms less main-thread work (BENCHMARKS.md, session 18). Interactive controls (buttons, inputs, switches)
stay Radix components. ``tests/e2e/test_smoke.py`` checks that every Radix class named here exists
in the built stylesheet, so an upgrade that renames one fails loudly."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML
from reflex_components_core.react_router.dom import ReactRouterLink


def _classes(*names: str | None) -> str:
    return " ".join(n for n in names if n)


def row(*children, gap: str = "2", wrap: bool = False, justify: str | None = None, class_name: str = "",
        **props) -> rx.Component:
    """``rx.hstack(…, align="center")``."""
    return rx.el.div(*children, class_name=_classes("rt-Flex rt-r-fd-row rt-r-ai-center", f"rt-r-gap-{gap}",
                                                   "rt-r-fw-wrap" if wrap else None,
                                                   f"rt-r-jc-{justify}" if justify else None, class_name), **props)


def column(*children, gap: str = "2", class_name: str = "", **props) -> rx.Component:
    """``rx.vstack(…, align="start")``."""
    return rx.el.div(*children, class_name=_classes("rt-Flex rt-r-fd-column rt-r-ai-start", f"rt-r-gap-{gap}",
                                                   class_name), **props)


def _accent(props: dict, accent: str | None) -> dict:
    """The element's props with Radix's colour attribute (a new dict each time: Reflex keeps and
    adds to the ``custom_attrs`` it is given)."""
    attrs = dict(props.pop("custom_attrs", {}))
    if accent is not None:
        attrs["data-accent-color"] = accent
    return {**props, "custom_attrs": attrs}


def text(*children, size: str | None = None, weight: str | None = None, accent: str | None = None,
         as_: str = "p", class_name: str = "", **props) -> rx.Component:
    """``rx.text``: a paragraph (or ``as_="span"``) in Radix's type scale; ``accent="gray"`` as
    ``color_scheme="gray"``."""
    make = rx.el.span if as_ == "span" else rx.el.p
    return make(*children, class_name=_classes("rt-Text", f"rt-r-size-{size}" if size else None,
                                               f"rt-r-weight-{weight}" if weight else None, class_name),
                **_accent(props, accent))


def heading(*children, size: str = "6", **props) -> rx.Component:
    """``rx.heading``: an ``h1`` in Radix's type scale."""
    return rx.el.h1(*children, class_name=f"rt-Heading rt-r-size-{size}", **props)


def link_to(*children, href, size: str | None = None, weight: str | None = None, underline: str = "none",
            accent: str = "", class_name: str = "", **props) -> rx.Component:
    """``rx.link`` to a page of the app: navigates in the page (React Router), no reload. In the
    accent colour, as ``rx.link``; ``accent="gray"`` as ``color_scheme="gray"``."""
    return ReactRouterLink.create(
        *children, to=href,
        class_name=_classes("rt-Text rt-reset rt-Link", f"rt-r-size-{size}" if size else None,
                            f"rt-r-weight-{weight}" if weight else None, f"rt-underline-{underline}", class_name),
        **_accent(props, accent))


class NativeForm(BaseHTML):
    """A ``<form>`` the browser submits itself (``action``, ``method``): a log-in, a log-out.

    Not ``rx.el.form(…, on_submit=None)``: Reflex's form, even without a submit handler, puts the
    hooks of whatever it holds into the page's own component, so a translated label inside it
    made the whole page re-render on every change of the session state (the log-out button did
    that to every page)."""

    tag = "form"

    action: rx.Var[str]
    method: rx.Var[str]
