"""The shopper's orders and the trial cockpit of one order."""

from __future__ import annotations

import reflex as rx

from .. import runtime
from ..views import shop as views
from ..domain.errors import DomainError
from ..routes import ORDER
from ..services import orders
from .helpers import opened, path_id
from .paging import PagedMixin
from .session import act, look, page_load, reload
from ..models import SHOPPER


class OrdersState(PagedMixin, rx.State):
    orders: list[views.OrderView] = rx.field(default_factory=list)

    async def _page(self, cursor: str):
        page = await look(self, (SHOPPER,), lambda s, who, lang: views.my_orders(
            s, uid=who.user_id, lang=lang, now=runtime.clock().now(), cursor=cursor))
        self.orders = page.items if page else []
        return page


class OrderState(rx.State):
    order: views.OrderView = rx.field(default_factory=views.OrderView)
    missing: bool = False
    tracking: str = ""

    @rx.event
    @page_load
    async def load(self):
        await opened(self)
        oid = path_id(self, ORDER)

        def get(s, who, lang):
            try:
                return views.my_order(s, uid=who.user_id, order_id=oid, lang=lang, now=runtime.clock().now())
            except DomainError:
                return None

        found = await look(self, (SHOPPER,), get)
        self.missing = found is None
        self.order = found or views.OrderView()

    @rx.event
    def set_tracking(self, value: str):
        self.tracking = value[:40] if isinstance(value, str) else ""

    @rx.event
    async def pay_now(self):
        oid = self.order.id
        await act(self, (SHOPPER,), lambda s, who: orders.pay_now(session=s, uid=who.user_id, order_id=oid,
                                                                   clock=runtime.clock()), ok="order.paid_now")
        await reload(self)

    @rx.event
    async def request_return(self):
        oid, tracking = self.order.id, self.tracking
        done = await act(self, (SHOPPER,), lambda s, who: orders.request_return(
            session=s, uid=who.user_id, order_id=oid, tracking_no=tracking, clock=runtime.clock()), ok="order.return_sent")
        if done is not None:
            self.tracking = ""
        await reload(self)
