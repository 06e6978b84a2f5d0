"""Small building blocks: translated text, money, status badges, the live countdown."""

from __future__ import annotations

import reflex as rx
from reflex.vars import VarData

from ..state.session import SessionState
from ..views import both
from .plain import heading, row
from ..models import ApplicationStatus as AS, BnplStatus as BS, InstallmentStatus as IS, OrderStatus as OS


def t(key: str, **params) -> rx.Var:
    """The words for ``key`` in the reader's language (both are in the page; no round trip), with
    the policy's numbers and ``params`` filled in. A key the catalog lacks fails the build."""
    zh, en = both(key, **params)
    return rx.cond(SessionState.is_en, en, zh)


def money(value, **props) -> rx.Component:
    """Money arrives pre-formatted (¥1,234.56) from int fen on the server; never a float here."""
    return rx.text(value, font_variant_numeric="tabular-nums", as_="span", **props)


def page_title(key: str, *children, **props) -> rx.Component:
    return row(heading(t(key), size="6"), *children, gap="3", wrap=True, justify="space-between",
               class_name="bnpl-full-width", **props)


def stat(label_key: str, value, testid: str, **props) -> rx.Component:
    return rx.card(
        rx.vstack(rx.text(t(label_key), size="1", color_scheme="gray"),
                  rx.text(value, size="5", weight="bold", data_testid=testid, font_variant_numeric="tabular-nums"),
                  spacing="1"),
        min_width="9em", flex="1", **props,
    )


_COLORS = {
    OS.TRIAL: "blue", OS.RETURN_IN_TRANSIT: "amber", OS.RETURN_RECEIVED: "amber", OS.RETURN_REJECTED: "orange",
    OS.RETURNED: "gray", OS.DUE: "indigo", OS.OVERDUE: "red", OS.PAID: "green", IS.SCHEDULED: "indigo", IS.PENDING: "blue",
    IS.CANCELLED: "gray", IS.REPLACED: "gray", AS.APPROVED: "green", AS.REJECTED: "red",
    BS.ACTIVE: "green", BS.SUSPENDED: "red", BS.CLOSED: "gray", BS.NOT_OPENED: "gray",
}


def status_badge(code, label, testid: str, **props) -> rx.Component:
    return rx.badge(label, color_scheme=rx.match(code, *[(k, v) for k, v in _COLORS.items()], "gray"),
                    data_testid=testid, variant="soft", size="2", **props)


def _js(template: str, **vars_) -> rx.Var:
    """A JavaScript expression over state vars (``{name}`` placeholders), carrying their hooks."""
    parts = {k: rx.Var.create(v) for k, v in vars_.items()}
    return rx.Var(_js_expr=template.format(**{k: f"({v!s})" for k, v in parts.items()}),
                  _var_data=VarData.merge(*(v._get_all_var_data() for v in parts.values())))


def business_now_js() -> str:
    """The business clock in whole seconds, as the browser computes it between server syncs: the
    reading it was sent while the clock stands still, else the wall clock plus the offset it was sent."""
    return "({frozen} ? {now} : Math.floor(Date.now() / 1000) + {offset})"


_CLOCK_VARS = dict(frozen=SessionState.clock_frozen, now=SessionState.now_ts, offset=SessionState.clock_offset_s)


# One second's tick of the browser's own clock: a counter in React state that an interval bumps.
# As a var's hooks they go into the component that renders the var, so that component (and no
# other) re-renders each second; two tickers rendered by one component share one interval.
_TICK = VarData(
    imports={"react": [rx.ImportVar(tag="useState"), rx.ImportVar(tag="useEffect")]},
    hooks={"const [bnplTick, setBnplTick] = useState(0);": None,
           "useEffect(() => { const id = setInterval(() => setBnplTick((n) => n + 1), 1000);"
           " return () => clearInterval(id); }, []);": None},
)


def _ticking(renderer: rx.Var, testid: str, **props) -> rx.Component:
    """A text that the browser re-renders every second, from ``renderer``. The server sends nothing
    per second: an idle tab costs it nothing. (Not react-moment: it is loaded lazily, after the
    first data, and every page that shows the clock waited for it before showing anything.)"""
    text = rx.Var(_js_expr=f"((_tick) => ({renderer!s})())(bnplTick)",
                  _var_data=VarData.merge(renderer._get_all_var_data(), _TICK))
    return rx.el.span(text, data_testid=testid, **props)


def clock_text(testid: str = "clock-now", **props) -> rx.Component:
    """The business clock in China time (YYYY-MM-DD HH:mm:ss), ticking in the browser. Empty until
    the server has told this page the clock (so a filled clock also says the page has loaded)."""
    renderer = _js("(() => new Date(({t} + 8 * 3600) * 1000).toISOString().slice(0, 19).replace('T', ' '))",
                   t=_js(business_now_js(), **_CLOCK_VARS))
    return rx.text(rx.cond(SessionState.now_ts > 0, _ticking(renderer, f"{testid}-ticker"), ""), as_="span",
                   data_testid=testid, **props)


def countdown(deadline_ts, testid: str = "order-countdown", **props) -> rx.Component:
    """Live to the second: the deadline minus the business clock, ticking in the browser."""
    renderer = _js(
        "(() => {{ const left = {deadline} - {t}; if (left <= 0) return {ended};"
        " const p = (n) => String(n).padStart(2, '0');"
        " return Math.floor(left / 86400) + {days} + ' ' + p(Math.floor(left % 86400 / 3600)) + ':'"
        " + p(Math.floor(left % 3600 / 60)) + ':' + p(left % 60); }})",
        deadline=deadline_ts, t=_js(business_now_js(), **_CLOCK_VARS),
        ended=t("countdown.ended"), days=t("countdown.days"),
    )
    return rx.text(_ticking(renderer, testid), as_="span", font_variant_numeric="tabular-nums", weight="bold",
                   **props)


def clock_later(offset_s, months=0, *, testid: str, seconds: bool = False, **props) -> rx.Component:
    """The business clock plus ``offset_s`` seconds, then plus ``months`` months (same day of the
    month, clamped to its last day, in UTC: ``domain.clock.add_months``), in China time, ticking in
    the browser: when something confirmed now would fall due (a quote's deduction times)."""
    renderer = _js(
        "(() => {{ const d = new Date(({t} + {offset}) * 1000); const m = d.getUTCMonth() + {months};"
        " const y = d.getUTCFullYear() + Math.floor(m / 12), mm = ((m % 12) + 12) % 12;"
        " const day = Math.min(d.getUTCDate(), new Date(Date.UTC(y, mm + 1, 0)).getUTCDate());"
        " const at = Date.UTC(y, mm, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());"
        " return new Date(at + 8 * 3600 * 1000).toISOString().slice(0, {width}).replace('T', ' '); }})",
        t=_js(business_now_js(), **_CLOCK_VARS), offset=offset_s, months=months, width=19 if seconds else 16,
    )
    return rx.text(rx.cond(SessionState.now_ts > 0, _ticking(renderer, f"{testid}-ticker"), ""),
                   as_="span", font_variant_numeric="tabular-nums", data_testid=testid, **props)


def empty(key: str = "common.none") -> rx.Component:
    """What a list shows when it has no rows: once its page has loaded. Before that — the first
    paint, a page opened in the app, while its loader reads — it says it is loading, not that
    there is nothing (the catalog said "no matching products" on every first visit)."""
    return rx.center(
        rx.cond(rx.State.is_hydrated,
                rx.text(t(key), color_scheme="gray"),
                rx.hstack(rx.spinner(size="2"), rx.text(t("common.loading"), color_scheme="gray"),
                          align="center", spacing="2", role="status", data_testid="list-loading")),
        padding="2em", width="100%")


def field(label_key: str, control: rx.Component, html_for: str = "") -> rx.Component:
    """A labelled form control (a real <label for=…>, so screen readers and tests find it)."""
    return rx.vstack(rx.el.label(t(label_key), html_for=html_for, style={"fontSize": "0.85em", "color": "var(--gray-11)"}),
                     control, spacing="1", width="100%")
