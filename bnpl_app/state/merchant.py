"""The merchant console's state: products (先用后付 settings, create/edit with an image), the shop
cap, orders, the returns desk, settlement with CSV export, analytics.

Every handler takes the merchant from the server-side session (``act``/``look`` → ``who.merchant_id``),
never from the browser; ids the browser sends are only *which* record, and the services answer
"not found" for anything that is not this merchant's. Arguments are validated here before use."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from .. import routes, runtime
from ..views import merchant as vm
from ..domain.errors import DomainError, NotFound, ValidationError
from ..domain.money import parse_yuan, yuan
from ..domain.numbers import whole_number
from ..domain.policy import POLICY
from ..models import MERCHANT, OrderStatus as OS
from ..services import merchant as merchant_svc, orders, uploads
from .helpers import act_with_files, choice, opened, read_uploads, record_id, refuse, refuse_rejected
from .paging import PagedMixin, SearchMixin
from .session import act, look, page_load, reload, session_of

ROLE = (MERCHANT,)
PRODUCT_IMAGE_UPLOAD = "product-image"
INSPECT_UPLOAD = "inspect-photos"


def _int_field(form: dict, name: str, *, field: str, key: str, **params) -> int:
    n = whole_number(form.get(name), lo=-(10**8), hi=10**9, max_digits=9)  # the service checks the range
    if n is None:
        raise ValidationError(key, field=field, **params)
    return n


def _text(value: object, limit: int) -> str:
    """What was typed into a text field (a browser may send a list or a number there: that is nothing)."""
    return value[:limit] if isinstance(value, str) else ""


def _plans(raw: object) -> str:
    """Accepts ``full,3,6``, ``full 3 6`` or ``full，3``; the service checks each plan."""
    return ",".join(x for x in str(raw or "").replace("，", ",").replace(" ", ",").split(",") if x)[:40]


class MerchantProductsState(rx.State):
    products: list[vm.ProductRow] = rx.field(default_factory=list)
    shop: vm.ShopView = rx.field(default_factory=vm.ShopView)
    # the create/edit dialog
    editing: bool = False
    edit_id: int = 0  # 0: a new product
    edit_name: str = ""
    edit_category: str = ""
    edit_price: str = ""
    edit_stock: str = ""
    edit_description: str = ""
    edit_bnpl: bool = False
    edit_image: str = ""
    edit_error: str = ""  # the last refusal, repeated inside the dialog (the toast sits under its overlay)

    @rx.event
    @page_load
    async def load(self):
        await opened(self)

        def read(s, who, lang):
            return vm.product_rows(s, who.merchant_id, lang), vm.shop_view(s, who.merchant_id)

        got = await look(self, ROLE, read)
        if got is not None:
            self.products, self.shop = got

    # ── one-click 先用后付 on/off ──────────────────────────────────────────────────────────
    @rx.event
    async def toggle_bnpl(self, product_id: int | str, on: bool | str):
        pid = record_id(product_id)
        if pid is None or not isinstance(on, bool):
            return await refuse(self, ValidationError("bad_id"))
        await act(self, ROLE, lambda s, who: merchant_svc.update_product(
            session=s, merchant_id=who.merchant_id, product_id=pid, bnpl_enabled=on, clock=runtime.clock()),
            ok="mer.bnpl_on" if on is True else "mer.bnpl_off")
        await reload(self)

    # ── per-product 先用后付 settings ─────────────────────────────────────────────────────
    @rx.event
    async def save_settings(self, form: dict):
        if not isinstance(form, dict) or (pid := record_id(form.get("product_id"))) is None:
            return await refuse(self, NotFound("product"))
        try:
            trial = _int_field(form, "trial_days", field="trial_days", key="merchant.trial_days",
                               min=POLICY.trial_days_min, max=POLICY.trial_days_max)
            score = _int_field(form, "min_score", field="min_score", key="merchant.min_score",
                               min=POLICY.platform_min_score, max=POLICY.score_max)
        except ValidationError as err:
            return await refuse(self, err)
        plans = _plans(form.get("plans"))
        free = str(form.get("interest_free", "")).lower() in ("on", "true", "1")
        await act(self, ROLE, lambda s, who: merchant_svc.update_product(
            session=s, merchant_id=who.merchant_id, product_id=pid, trial_days=trial, min_score=score, allowed_plans=plans,
            interest_free=free, clock=runtime.clock()), ok="mer.saved")
        await reload(self)

    # ── the shop cap ─────────────────────────────────────────────────────────────────────
    @rx.event
    async def save_cap(self, form: dict):
        try:
            cap = parse_yuan(str((form or {}).get("cap", "") if isinstance(form, dict) else ""), field="shop_cap")
        except ValidationError as err:
            return await refuse(self, err)
        await act(self, ROLE, lambda s, who: merchant_svc.set_shop_cap(session=s, merchant_id=who.merchant_id, cap_fen=cap),
                  ok="mer.cap_saved")
        await reload(self)

    # ── create / edit (with an image) ────────────────────────────────────────────────────
    @rx.event
    def open_new(self):
        self.edit_id, self.edit_name, self.edit_category, self.edit_price = 0, "", "", ""
        self.edit_stock, self.edit_description, self.edit_bnpl, self.edit_image = "", "", False, ""
        self.edit_error = ""
        self.editing = True
        return rx.clear_selected_files(PRODUCT_IMAGE_UPLOAD)

    @rx.event
    def open_edit(self, product_id: int | str):
        pid = record_id(product_id)
        row = next((p for p in self.products if p.id == pid), None)
        if row is None:  # only rows this merchant was shown can be opened; saving re-checks anyway
            return None
        self.edit_id, self.edit_name, self.edit_category = row.id, row.name, row.category
        self.edit_price, self.edit_stock, self.edit_description = row.price_input, str(row.stock), row.description
        self.edit_bnpl, self.edit_image = row.bnpl, row.image
        self.edit_error = ""
        self.editing = True
        return rx.clear_selected_files(PRODUCT_IMAGE_UPLOAD)

    @rx.event
    async def files_rejected(self, rejected: list[dict]):
        await refuse_rejected(self, rejected, allowed=uploads.IMAGE_TYPES)

    @rx.event
    def set_editing(self, value: bool):
        self.editing = value is True

    @rx.event
    def set_edit_name(self, value: str):
        self.edit_name = _text(value, 80)

    @rx.event
    def set_edit_category(self, value: str):
        self.edit_category = _text(value, 30)

    @rx.event
    def set_edit_price(self, value: str):
        self.edit_price = _text(value, 20)

    @rx.event
    def set_edit_stock(self, value: str):
        self.edit_stock = _text(value, 9)

    @rx.event
    def set_edit_description(self, value: str):
        self.edit_description = _text(value, 500)

    @rx.event
    def set_edit_bnpl(self, value: bool):
        self.edit_bnpl = value is True

    @rx.event
    async def save_product(self, files: list[rx.UploadFile]):
        """Create or edit in one step: the image (if any) is checked by content and size and stored
        in the transaction that writes the product row; refused, nothing is kept."""
        sess = await session_of(self)
        try:
            price = parse_yuan(self.edit_price, field="price")
            stock = merchant_svc.parse_stock(self.edit_stock)
            blobs = await read_uploads(files)
            if len(blobs) > 1:
                raise ValidationError("upload.too_many", field="file", max=1)
        except DomainError as err:
            sess._refuse(err)
            self.edit_error = sess.toast_text
            return None
        pid, bnpl = self.edit_id, self.edit_bnpl
        product = dict(name=self.edit_name, category=self.edit_category, description=self.edit_description,
                       price_fen=price, stock=stock, clock=runtime.clock())

        def save(s, who, stored):
            image = routes.upload_url(stored[0].stored_name) if stored else ""
            if pid:
                return merchant_svc.edit_product(session=s, merchant_id=who.merchant_id, product_id=pid, image=image, **product)
            return merchant_svc.create_product(session=s, merchant_id=who.merchant_id, image=image, bnpl_enabled=bnpl, **product)

        done = await act_with_files(self, ROLE, blobs, uploads.IMAGE_TYPES, save, ok="mer.saved" if pid else "mer.created")
        if done is None:
            self.edit_error = sess.toast_text
            return None
        self.edit_error = ""
        self.editing = False
        await reload(self)
        return rx.clear_selected_files(PRODUCT_IMAGE_UPLOAD)


class MerchantOrdersState(SearchMixin, rx.State):
    """The shop's orders a page at a time, filtered by status and searched by order number or shopper."""
    roles: ClassVar = ROLE

    orders: list[vm.MerchantOrderRow] = rx.field(default_factory=list)
    status: str = ""

    async def _page(self, cursor: str):
        status, query = self.status, self.query
        page = await look(self, ROLE, lambda s, who, lang: vm.order_rows(s, who.merchant_id, lang, status, query, cursor))
        self.orders = page.items if page else []
        return page

    @rx.event
    async def set_status(self, value: str):
        self.status = choice(value, set(OS)) or ""
        await self._first_page()


class MerchantReturnsState(SearchMixin, rx.State):
    """The returns desk a page at a time (work first), searched by order or tracking number."""
    roles: ClassVar = ROLE

    returns: list[vm.ReturnRow] = rx.field(default_factory=list)
    waiting: int = 0  # parcels waiting for inspection, on every page
    open_id: int = 0  # the parcel being inspected (one at a time: one photo picker)
    reason: str = ""

    async def _page(self, cursor: str):
        query = self.query
        found = await look(self, ROLE, lambda s, who, lang: vm.return_rows(s, who.merchant_id, lang, query, cursor))
        page, self.waiting = found or (None, 0)
        self.returns = page.items if page else []
        inspectable = [r.id for r in self.returns if r.can_inspect]
        if self.open_id not in inspectable:
            self.open_id = inspectable[0] if inspectable else 0
            self.reason = ""
        return page

    @rx.event
    def open(self, return_id: int | str):
        rid = record_id(return_id)
        if rid is not None and any(r.id == rid and r.can_inspect for r in self.returns) and rid != self.open_id:
            self.open_id = rid
            self.reason = ""
            return rx.clear_selected_files(INSPECT_UPLOAD)
        return None

    @rx.event
    def set_reason(self, value: str):
        self.reason = _text(value, 300)

    @rx.event
    async def files_rejected(self, rejected: list[dict]):
        await refuse_rejected(self, rejected, allowed=uploads.IMAGE_TYPES)

    @rx.event
    async def receive(self, return_id: int | str):
        rid = record_id(return_id)
        await act(self, ROLE, lambda s, who: orders.mark_received(
            session=s, merchant_id=who.merchant_id, return_id=rid, clock=runtime.clock()),
            ok="mer.received")
        await reload(self)

    @rx.event
    async def accept(self, return_id: int | str):
        rid = record_id(return_id)
        refunded = await act(self, ROLE, lambda s, who: orders.refunded_fen(session=s, order_id=orders.accept_return(
            session=s, merchant_id=who.merchant_id, return_id=rid, clock=runtime.clock()).order_id))
        if refunded is not None:  # a paid order's return refunds the shopper: say so, not "limit released"
            (await session_of(self))._say_key("mer.accepted_refunded" if refunded else "mer.accepted", amount=yuan(refunded))
        await reload(self)
        return rx.clear_selected_files(INSPECT_UPLOAD)

    @rx.event
    async def reject(self, files: list[rx.UploadFile], return_id: int | str):
        """Damaged: photos (images only, checked by content and size) and a reason, in one step."""
        rid, reason = record_id(return_id), self.reason
        try:
            blobs = await read_uploads(files)
        except DomainError as err:
            return await refuse(self, err)
        done = await act_with_files(self, ROLE, blobs, uploads.IMAGE_TYPES, lambda s, w, stored: orders.reject_return(
            session=s, merchant_id=w.merchant_id, return_id=rid, reason=reason,
            photos=[(f.stored_name, f.content_type, f.size) for f in stored], clock=runtime.clock()),
            ok="mer.rejected")
        if done is None:
            return None
        self.reason = ""
        await reload(self)
        return rx.clear_selected_files(INSPECT_UPLOAD)


class SettlementState(PagedMixin, rx.State):
    """Totals over all time; the days a page at a time, newest first."""
    roles: ClassVar = ROLE

    view: vm.SettlementView = rx.field(default_factory=vm.SettlementView)

    async def _page(self, cursor: str):
        found = await look(self, ROLE, lambda s, who, lang: vm.settlement_view(s, who.merchant_id, cursor))
        self.view, page = found or (vm.SettlementView(), None)
        return page

    @rx.event
    async def export_csv(self):
        csv_text = await look(self, ROLE, lambda s, who, lang: vm.settlement_csv(s, who.merchant_id, lang))
        if csv_text is None:
            return None
        day = runtime.clock().now().strftime("%Y%m%d")
        # A BOM so spreadsheet programs read the UTF-8 (Chinese product names) correctly.
        return rx.download(data=("\ufeff" + csv_text).encode("utf-8"), filename=f"settlement-{day}.csv",
                           mime_type="text/csv")


class AnalyticsState(rx.State):
    view: vm.AnalyticsView = rx.field(default_factory=vm.AnalyticsView)

    @rx.event
    @page_load
    async def load(self):
        await opened(self)
        self.view = await look(self, ROLE, lambda s, who, lang: vm.analytics_view(
            s, who.merchant_id, lang, runtime.clock().now())) or vm.AnalyticsView()
