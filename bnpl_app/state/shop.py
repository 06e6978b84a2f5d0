"""Catalog, product page, cart and the confirm step."""

from __future__ import annotations

import uuid

import reflex as rx

from .. import routes, runtime
from ..views import shop as views
from ..domain.errors import DomainError
from ..domain.policy import POLICY
from ..services import checkout
from .helpers import opened, path_id
from .paging import SearchMixin
from .session import act, look, read, session_of
from ..models import SHOPPER


class CatalogState(SearchMixin, rx.State):
    """The catalog one page at a time; searching or the 先用后付 filter starts again at page 1."""

    products: list[views.ProductCard] = []
    bnpl_only: bool = False

    async def _page(self, cursor: str):
        bnpl_only, query = self.bnpl_only, self.query
        page = await read(self, lambda s, _who, _lang: views.product_cards(s, bnpl_only=bnpl_only, query=query,
                                                                           cursor=cursor))
        self.products = page.items
        return page

    @rx.event
    async def set_bnpl_only(self, value: bool | str):
        self.bnpl_only = value is True
        await self._first_page()


class ProductState(rx.State):
    detail: views.ProductDetail = views.ProductDetail()
    plan: str = "full"
    missing: bool = False

    @rx.var
    def selected(self) -> views.PlanView:
        for p in self.detail.plans:
            if p.plan == self.plan:
                return p
        return views.PlanView()

    @rx.event
    async def load(self):
        await opened(self)
        pid = path_id(self, routes.PRODUCT)

        def get(s, who, lang):
            uid = who.user_id if who is not None and who.role == SHOPPER else None
            return views.product_detail(s, product_id=pid, uid=uid, lang=lang, now=runtime.clock().now())

        try:
            self.detail = await read(self, get)
            self.missing = False
        except DomainError:
            self.missing = True
            self.detail = views.ProductDetail()
            return
        if self.plan not in [p.plan for p in self.detail.plans]:
            self.plan = self.detail.plans[0].plan if self.detail.plans else "full"

    @rx.event
    def choose_plan(self, plan: str):
        if isinstance(plan, str) and plan in POLICY.plans:
            self.plan = plan

    @rx.event
    async def add_to_cart(self):
        cart = await self.get_state(CartState)
        return await cart._add(self.detail.id, self.plan, go=False)

    @rx.event
    async def buy_bnpl(self):
        cart = await self.get_state(CartState)
        return await cart._add(self.detail.id, self.plan, go=True, only=True)


class CartState(rx.State):
    """The cart lives in this tab's server-side state: (product id, plan) pairs."""

    _lines: list[tuple[int, str]] = []
    lines: list[views.ConfirmLine] = []
    _keys: list[str] = []
    placing: bool = False

    async def _add(self, product_id: int, plan: str, *, go: bool, only: bool = False):
        pid = await act(self, (SHOPPER,), lambda s, who: checkout.cart_check(
            session=s, uid=who.user_id, product_id=product_id, plan=plan, buy_now=go).id, ok=None if go else "cart.added")
        if pid is None:
            return None
        if only:
            self._lines = [(pid, plan)]
        elif (pid, plan) not in self._lines:
            self._lines = [*self._lines, (pid, plan)]
        return rx.redirect(routes.CHECKOUT) if go else None

    @rx.event
    async def load(self):
        """Opening the cart or the confirm screen makes fresh idempotency keys: one per intent."""
        await opened(self)

        def build(s, who, lang):
            now = runtime.clock().now()
            out = []
            for pid, plan in self._lines:
                try:
                    out.append(views.confirm_line(s, uid=who.user_id, product_id=pid, plan=plan, lang=lang, now=now))
                except DomainError:
                    continue
            return out

        self.lines = await look(self, (SHOPPER,), build) or []
        self._keys = [uuid.uuid4().hex for _ in self.lines]

    @rx.event
    async def remove(self, index: int | str):
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(self._lines):
            self._lines = [x for i, x in enumerate(self._lines) if i != index]
        await self.load()

    @rx.event
    async def confirm(self):
        """One order per line, however often this is clicked: the keys were made when the screen opened."""
        if not self.lines:
            return None
        sess = await session_of(self)
        placed: list[int] = []
        for i, line in enumerate(self.lines):
            key = self._keys[i] if i < len(self._keys) else uuid.uuid4().hex

            def place(s, who, line=line, key=key):
                return checkout.checkout(session=s, uid=who.user_id, product_id=line.product_id, plan=line.plan,
                                         idempotency_key=key, clock=runtime.clock()).id

            oid = await act(self, (SHOPPER,), place)
            if oid is not None:
                placed.append(oid)
        if not placed:
            return None
        done = {(ln.product_id, ln.plan) for ln in self.lines[: len(placed)]}
        self._lines = [x for x in self._lines if x not in done]
        sess._say_key("checkout.placed")
        return rx.redirect(routes.order(placed[0]) if len(placed) == 1 else routes.ORDERS)
