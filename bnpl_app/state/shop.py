"""Catalog, product page, cart and the confirm step.

The product page and the confirm step show a quote (``checkout.Terms``) and keep what they showed
server-side: a merchant's edit reaches an open page through the change feed (its reload says what
changed, never swapping a number silently), and confirming sends exactly the terms on screen."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from .. import routes, runtime
from ..views import shop as views
from ..domain.errors import AuthError, DomainError, NotFound, TermsChanged
from ..domain.policy import POLICY
from ..services import checkout
from ..words import LANGS, pick, render, text
from .helpers import opened, path_id
from .paging import SearchMixin
from .session import act, attempt, look, page_load, read, reload, session_of
from ..models import SHOPPER


class CatalogState(SearchMixin, rx.State):
    """The catalog one page at a time; searching or the 先用后付 filter starts again at page 1."""

    products: list[views.ProductCard] = rx.field(default_factory=list)
    bnpl_only: bool = False

    async def _page(self, cursor: str):
        bnpl_only, query = self.bnpl_only, self.query
        page = await read(self, lambda s, _who, _lang: views.product_cards(s, bnpl_only=bnpl_only, query=query,
                                                                           cursor=cursor))
        if page.items != self.products:  # a live reload of the same cards sends none (the browser would redraw them all)
            self.products = page.items
        return page

    @rx.event
    async def set_bnpl_only(self, value: bool | str):
        self.bnpl_only = value is True
        await self._first_page()


class ProductState(rx.State):
    detail: views.ProductDetail = rx.field(default_factory=views.ProductDetail)
    plan: str = "full"
    missing: bool = False
    _offer: dict = rx.field(default_factory=dict)  # what the page shows (``views.Offer``): to tell what an edit changed, and to buy on
    _changes: list = rx.field(default_factory=list)  # what changed while the page was open: [(message key, params)]

    @rx.var
    def selected(self) -> views.PlanView:
        for p in self.detail.plans:
            if p.plan == self.plan:
                return p
        return views.PlanView()

    @rx.event
    @page_load
    async def load(self):
        """Opening the page, and its reload when something it shows changed (a merchant's edit)."""
        sess = await opened(self)
        pid = path_id(self, routes.PRODUCT)

        def get(s, who, lang):
            uid = who.user_id if who is not None and who.role == SHOPPER else None
            return views.product_screen(s, product_id=pid, uid=uid, lang=lang, now=runtime.clock().now())

        try:
            detail, offer = await read(self, get)
            self.missing = False
        except DomainError:
            self.missing = True
            self.detail = views.ProductDetail()
            self._offer, self._changes = {}, []
            return
        before = views.Offer.from_dict(self._offer) if self._offer else None
        if before is None or before.product_id != offer.product_id:
            self._changes = []
        found = views.offer_changes(before, offer, self.plan)
        if found:
            self._changes = found
        self._offer = offer.as_dict()
        detail.changed = views.change_texts(self._changes, sess.lang)
        self.detail = detail
        if self.plan not in [p.plan for p in self.detail.plans]:
            self.plan = self.detail.plans[0].plan if self.detail.plans else "full"

    @rx.event
    def choose_plan(self, plan: str):
        if isinstance(plan, str) and plan in POLICY.plans:
            self.plan = plan

    def _shown(self) -> str:
        """The terms of the chosen plan as the page shows them ("" before it has shown any)."""
        return str(self._offer.get("quotes", {}).get(self.plan, "")) if self._offer else ""

    async def _to_cart(self, *, go: bool, only: bool):
        cart = await self.get_state(CartState)
        added, event = await cart._add(self.detail.id, self.plan, go=go, only=only, terms=self._shown(),
                                       name=self.detail.name)
        if added:
            self._changes = []  # the shopper acted on what the page shows now
            self.detail = dataclasses.replace(self.detail, changed=[])
        return event

    @rx.event
    async def add_to_cart(self):
        return await self._to_cart(go=False, only=False)

    @rx.event
    async def buy_bnpl(self):
        return await self._to_cart(go=True, only=True)


def _line(pid: int, plan: str, terms: str, name: str) -> dict:
    """A cart line: the product and plan, the terms the shopper was shown ("" until shown) and the
    idempotency key of ordering it on them — a new key only when the terms change, so confirming
    again can never order a line twice — what changed since it was shown, and why the last
    confirm did not order it ((中文, English), or None)."""
    return {"pid": pid, "plan": plan, "terms": terms, "name": name, "key": uuid.uuid4().hex, "changes": [], "error": None}


def _both(err: DomainError) -> list[str]:
    return [err.text(lang) for lang in LANGS]


class CartState(rx.State):
    """The cart lives in this tab's server-side state, a line per (product, plan) with the terms on
    screen and its idempotency key (``_line``). Confirming orders each line on its terms; a line
    ordered leaves the cart, a line refused stays with the reason (and, if its terms changed, with
    what changed and the new terms on screen)."""

    _lines: list[dict] = rx.field(default_factory=list)
    lines: list[views.ConfirmLine] = rx.field(default_factory=list)
    placing: bool = False

    async def _add(self, product_id: int, plan: str, *, go: bool, only: bool = False, terms: str = "",
                   name: str = "") -> tuple[bool, object]:
        """Put (product, plan) in the cart with the terms the product page showed; (whether it is
        in the cart now, the event to send: to the confirm screen when buying at once)."""
        pid = await act(self, (SHOPPER,), lambda s, who: checkout.cart_check(
            session=s, uid=who.user_id, product_id=product_id, plan=plan, buy_now=go).id, ok=None if go else "cart.added",
            writes=False)
        if pid is None:
            return False, None
        if only:
            self._lines = [_line(pid, plan, terms, name)]
        elif not any((ln["pid"], ln["plan"]) == (pid, plan) for ln in self._lines):
            self._lines = [*self._lines, _line(pid, plan, terms, name)]
        return True, (rx.redirect(routes.CHECKOUT) if go else None)

    @rx.event
    @page_load
    async def load(self):
        """Opening the confirm screen, and its reload when something it shows changed: each line
        quoted now; a line whose terms differ from those it showed says what changed and gets a
        new key (its old key stands for the old terms)."""
        sess = await opened(self)
        lines = [dict(ln) for ln in self._lines]

        def build(s, who, lang):
            now = runtime.clock().now()
            out = []
            for ln in lines:
                try:
                    view, terms = views.confirm_quote(s, uid=who.user_id, product_id=ln["pid"], plan=ln["plan"],
                                                      lang=lang, now=now)
                    out.append((view, terms.to_json()))
                except NotFound:
                    out.append(None)  # the product is gone
                except DomainError:
                    out.append((None, ""))  # no longer sold on this plan
            return out

        built = await look(self, (SHOPPER,), build)
        if built is None:
            self.lines = []
            return
        kept, shown = [], []
        for ln, got in zip(lines, built):
            if got is None:
                continue
            view, now_json = got
            if view is None:
                view = views.ConfirmLine(product_id=ln["pid"], name=ln["name"], plan=ln["plan"],
                                         plan_label=text(f"plan.{ln['plan']}", sess.lang), quoted=False)
                if ln["terms"] and not ln["changes"]:
                    ln["changes"] = [("quote.changed.plan_gone", {})]
            else:
                if ln["terms"] and ln["terms"] != now_json:
                    ln["changes"] = checkout.changes(checkout.Terms.from_json(ln["terms"]),
                                                     checkout.Terms.from_json(now_json))
                    ln["key"], ln["error"] = uuid.uuid4().hex, None
                ln["terms"], ln["name"] = now_json, view.name
            view.changed = views.change_texts(ln["changes"], sess.lang)
            view.error = pick(tuple(ln["error"]), sess.lang) if ln["error"] else ""
            kept.append(ln)
            shown.append(view)
        self._lines, self.lines = kept, shown

    @rx.event
    async def remove(self, index: int | str):
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(self._lines):
            self._lines = [x for i, x in enumerate(self._lines) if i != index]
        await reload(self)

    @rx.event
    async def confirm(self):
        """Each line ordered on the terms on screen, with its own key: however often this is
        clicked, a line is ordered once (an ordered line leaves the cart; a refused one keeps its
        key unless its terms changed)."""
        if not self._lines:
            return None
        sess = await session_of(self)
        if any(not ln["terms"] for ln in self._lines):  # not shown yet: show it before ordering it
            await reload(self)
            return None
        placed: list[int] = []
        kept: list[dict] = []
        refusal: DomainError | None = None
        for ln in [dict(x) for x in self._lines]:
            def place(s, who, ln=ln):
                return checkout.checkout(session=s, uid=who.user_id, product_id=ln["pid"], plan=ln["plan"],
                                         terms=ln["terms"], idempotency_key=ln["key"], clock=runtime.clock()).id

            oid, err = await attempt(self, (SHOPPER,), place)
            if err is None:
                placed.append(oid)
                continue
            if isinstance(err, AuthError):  # nobody (or not a shopper) is here: nothing was ordered
                sess._refuse(err)
                return None
            refusal = refusal or err
            ln["error"] = None
            if isinstance(err, TermsChanged):
                ln["changes"] = err.changes
                if err.terms is not None:
                    ln["terms"], ln["key"] = err.terms.to_json(), uuid.uuid4().hex
            else:
                ln["error"] = _both(err)
            kept.append(ln)
        self._lines = kept
        if not placed:
            sess._refuse(refusal)
            await reload(self)
            return None
        if kept:
            sess._say(render("cart.placed_some", sess.lang, n=len(placed)), "info")
            await reload(self)
            return None
        sess._say_key("checkout.placed")
        return rx.redirect(routes.order(placed[0]) if len(placed) == 1 else routes.ORDERS)
