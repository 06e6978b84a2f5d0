"""信用分租机 screens' states: the devices for rent, one device (the credit review and the contract,
accepted on exactly what the screen shows), the shopper's rentals (return, buy-out, cancel) and
the merchant's rentals desk (listings, delivery with the serial, receiving and inspecting returns,
settlement).

Each handler: who acts (the server-side session) → one service call → views into vars. Ids the
browser sends are only *which* record (parsed with ``need_int``); the services answer "not found"
for anything that is not the acting user's."""

from __future__ import annotations

import uuid
from typing import ClassVar

import reflex as rx

from .. import routes, runtime
from ..domain.errors import DomainError, TermsChanged, ValidationError
from ..domain.money import parse_yuan
from ..domain.numbers import whole_number
from ..domain.policy import POLICY
from ..models import MERCHANT, SHOPPER
from ..services import rental, uploads
from ..views import rental as views
from ..words import render
from .helpers import act_with_files, need_int, opened, path_id, read_uploads, refuse, refuse_rejected
from .paging import PagedMixin
from .session import act, attempt, look, page_load, read, reload, session_of

SHOP, MER = (SHOPPER,), (MERCHANT,)
RENTAL_PHOTO_UPLOAD = "rental-photos"


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


class RentCatalogState(PagedMixin, rx.State):
    """The devices for rent, a page at a time (public, like the catalog)."""

    listings: list[views.ListingCard] = rx.field(default_factory=list)

    async def _page(self, cursor: str):
        page = await read(self, lambda s, _who, lang: views.listing_cards(s, lang=lang, cursor=cursor))
        self.listings = page.items
        return page


class RentListingState(rx.State):
    """One device: for a shopper, the credit review of its deposit and the contract of the chosen
    term. What the screen shows is kept server-side (``_shown``) with the idempotency key of
    accepting it; accepting sends exactly that, and a change (the merchant's edit, the shopper's
    credit) is told, never swapped in silently."""

    detail: views.ListingDetail = rx.field(default_factory=views.ListingDetail)
    term: str = ""
    missing: bool = False
    reviewing: bool = False  # the contract is open for acceptance
    changed: list[str] = rx.field(default_factory=list)  # what changed in the contract since it was shown
    _shown: str = ""  # the contract on screen (JSON)
    _key: str = ""  # the idempotency key of accepting it

    @rx.event
    @page_load
    async def load(self):
        await opened(self)
        lid = path_id(self, routes.RENT_LISTING)
        term = whole_number(self.term, lo=1, hi=120) or 0

        def get(s, who, lang):
            uid = who.user_id if who is not None and who.role == SHOPPER else None
            return views.listing_detail(s, listing_id=lid, uid=uid, term=term, lang=lang)

        try:
            detail = await read(self, get)
        except DomainError:
            self.missing, self.detail, self._shown, self.reviewing = True, views.ListingDetail(), "", False
            return
        self.missing = False
        if detail.id != self.detail.id:
            self._shown, self.changed, self.reviewing = "", [], False
        now = detail.contract.json
        if self._shown and now and now != self._shown:
            before, after = rental.Contract.from_json(self._shown), rental.Contract.from_json(now)
            if before.term_months == after.term_months:
                lang = (await session_of(self)).lang
                self.changed = [render(k, lang, **p) for k, p in rental.changes(before, after)]
        if now != self._shown:
            self._key = uuid.uuid4().hex  # the old key stands for the old contract
        self._shown = now
        self.detail = detail
        if detail.terms and self.term not in detail.terms:
            self.term = str(detail.contract.term) if detail.contract.term else detail.terms[-1]

    @rx.event
    async def choose_term(self, term: str | list[str]):
        if isinstance(term, str) and term in self.detail.terms and term != self.term:
            self.term, self._shown, self.changed = term, "", []
            await reload(self)

    @rx.event
    async def apply(self):
        """Open the contract for acceptance (nothing is held or taken yet)."""
        ok = await act(self, SHOP, lambda s, who: True, writes=False)
        if ok is None:
            return
        await reload(self)
        if not self.detail.can_apply:
            sess = await session_of(self)
            sess._say("；".join(self.detail.problems) or render("rental.cannot_apply", sess.lang), "error")
            return
        self.reviewing, self.changed = True, []

    @rx.event
    def close_contract(self):
        self.reviewing = False

    @rx.event
    async def accept(self):
        """Accept the contract on screen: exactly it, with its key, however often this is clicked."""
        if await act(self, SHOP, lambda s, who: True, writes=False) is None:  # a visitor or another role: told, nothing done
            return None
        shown, key, lid = self._shown, self._key, self.detail.id
        term = whole_number(self.term, lo=1, hi=120)
        if not shown or not self.reviewing or term is None:
            await reload(self)
            return None
        rid, err = await attempt(self, SHOP, lambda s, who: rental.accept(
            session=s, uid=who.user_id, listing_id=lid, term=term, contract=shown, idempotency_key=key,
            clock=runtime.clock()).id)
        sess = await session_of(self)
        if err is not None:
            sess._refuse(err)
            if isinstance(err, TermsChanged):
                self.changed = err.what(sess.lang)
                self._shown = ""  # show the contract on offer now, with a new key
            await reload(self)
            return None
        sess._say_key("rental.accepted")
        self.reviewing = False
        return rx.redirect(routes.RENTALS)


class MyRentalsState(PagedMixin, rx.State):
    """The shopper's rentals: status, next rent, the contract, the hold timeline, photos; return,
    buy-out, cancel before delivery."""

    roles: ClassVar = SHOP
    rentals: list[views.RentalView] = rx.field(default_factory=list)
    tracking: str = ""
    returning: int = 0  # the rental whose return form is open

    async def _page(self, cursor: str):
        page = await look(self, SHOP, lambda s, who, lang: views.my_rentals(s, uid=who.user_id, lang=lang,
                                                                           now=runtime.clock().now(), cursor=cursor))
        self.rentals = page.items if page else []
        return page

    @rx.event
    def open_return(self, rental_id: int | str):
        rid = whole_number(rental_id)
        self.returning = rid if rid is not None and any(r.id == rid and r.can_return for r in self.rentals) else 0
        self.tracking = ""

    @rx.event
    def set_tracking(self, value: str):
        self.tracking = _text(value, 40)

    @rx.event
    async def request_return(self, rental_id: int | str):
        try:
            rid = need_int(rental_id, field="rental")
        except ValidationError as err:
            return await refuse(self, err)
        tracking = self.tracking
        done = await act(self, SHOP, lambda s, who: rental.request_return(
            session=s, uid=who.user_id, rental_id=rid, tracking_no=tracking, clock=runtime.clock()), ok="rental.return_sent")
        if done is not None:
            self.tracking, self.returning = "", 0
        await reload(self)

    @rx.event
    async def buyout(self, rental_id: int | str):
        try:
            rid = need_int(rental_id, field="rental")
        except ValidationError as err:
            return await refuse(self, err)
        await act(self, SHOP, lambda s, who: rental.buyout(session=s, uid=who.user_id, rental_id=rid,
                                                           clock=runtime.clock()), ok="rental.bought_out")
        await reload(self)

    @rx.event
    async def cancel(self, rental_id: int | str):
        try:
            rid = need_int(rental_id, field="rental")
        except ValidationError as err:
            return await refuse(self, err)
        await act(self, SHOP, lambda s, who: rental.cancel(session=s, uid=who.user_id, rental_id=rid,
                                                           clock=runtime.clock()), ok="rental.cancelled")
        await reload(self)


_FIELDS = {"name": 80, "description": 500, "rent": 20, "terms": 20, "deposit": 20, "buyout": 20, "damage_rules": 500,
           "stock": 9}
EMPTY_FORM = {**dict.fromkeys(_FIELDS, ""), "terms": ",".join(map(str, POLICY.rental_terms))}


class MerchantRentalsState(PagedMixin, rx.State):
    """The merchant's 租机 desk: listings (create, edit), the rentals a page at a time (deliver with
    the serial, receive and inspect returns), and what the rentals brought (settlement)."""

    roles: ClassVar = MER
    listings: list[views.MerchantListing] = rx.field(default_factory=list)
    rentals: list[views.RentalView] = rx.field(default_factory=list)
    settlement: views.RentalSettlement = rx.field(default_factory=views.RentalSettlement)
    # the listing form (0: a new listing)
    edit_id: int = 0
    form: dict[str, str] = rx.field(default_factory=EMPTY_FORM.copy)
    form_active: bool = True
    editing: bool = False
    serial: dict[str, str] = rx.field(default_factory=dict)  # rental id → the serial typed for it
    open_id: int = 0  # the return being inspected
    reason: str = ""
    repair: str = ""

    async def _page(self, cursor: str):
        got = await look(self, MER, lambda s, who, lang: (
            views.shop_rentals(s, merchant_id=who.merchant_id, lang=lang, now=runtime.clock().now(), cursor=cursor),
            views.merchant_listings(s, merchant_id=who.merchant_id),
            views.settlement_view(s, merchant_id=who.merchant_id)))
        if got is None:
            self.rentals, self.listings = [], []
            return None
        page, self.listings, self.settlement = got
        self.rentals = page.items
        inspectable = [r.id for r in self.rentals if r.can_inspect]
        if self.open_id not in inspectable:
            self.open_id = inspectable[0] if inspectable else 0
            self.reason, self.repair = "", ""
        return page

    # ── listings ─────────────────────────────────────────────────────────────────────────
    @rx.event
    def open_new(self):
        self.edit_id, self.form, self.form_active, self.editing = 0, dict(EMPTY_FORM), True, True

    @rx.event
    def open_edit(self, listing_id: int | str):
        lid = whole_number(listing_id)
        row = next((x for x in self.listings if x.id == lid), None)
        if row is None:  # only rows this merchant was shown; saving re-checks anyway
            return
        self.edit_id, self.form_active, self.editing = row.id, row.active, True
        self.form = {"name": row.name, "description": row.description, "rent": row.rent_input, "terms": row.terms,
                     "deposit": row.deposit_input, "buyout": row.buyout_input, "damage_rules": row.damage_rules,
                     "stock": str(row.stock)}

    @rx.event
    def close_form(self):
        self.editing = False

    @rx.event
    def set_field(self, name: str, value: str):
        if isinstance(name, str) and name in _FIELDS:
            self.form = {**self.form, name: _text(value, _FIELDS[name])}

    @rx.event
    def set_active(self, value: bool):
        self.form_active = value is True

    @rx.event
    async def save_listing(self):
        f, lid, active = dict(self.form), self.edit_id, self.form_active
        try:
            values = dict(name=f.get("name", ""), description=f.get("description", ""),
                          monthly_rent_fen=parse_yuan(f.get("rent", ""), field="monthly_rent"), terms=f.get("terms", ""),
                          deposit_fen=parse_yuan(f.get("deposit", "") or "0", field="deposit", allow_zero=True),
                          buyout_fen=parse_yuan(f.get("buyout", "") or "0", field="buyout", allow_zero=True),
                          damage_rules=f.get("damage_rules", ""), active=active)
            stock = need_int(f.get("stock", ""), lo=0, hi=rental.MAX_STOCK, field="stock")
        except ValidationError as err:
            return await refuse(self, err)

        def save(s, who):
            if lid:
                return rental.edit_listing(session=s, merchant_id=who.merchant_id, listing_id=lid, stock=stock,
                                           clock=runtime.clock(), **values).id
            return rental.create_listing(session=s, merchant_id=who.merchant_id, stock=stock, clock=runtime.clock(),
                                         **values).id

        if await act(self, MER, save, ok="rental.listing_saved" if lid else "rental.listing_created") is not None:
            self.editing = False
        await reload(self)

    # ── delivery ─────────────────────────────────────────────────────────────────────────
    @rx.event
    def set_serial(self, rental_id: int | str, value: str):
        rid = whole_number(rental_id)
        if rid is not None and any(r.id == rid for r in self.rentals):
            self.serial = {**self.serial, str(rid): _text(value, 40)}

    @rx.event
    async def deliver(self, rental_id: int | str):
        try:
            rid = need_int(rental_id, field="rental")
        except ValidationError as err:
            return await refuse(self, err)
        serial = self.serial.get(str(rid), "")
        done = await act(self, MER, lambda s, who: rental.deliver(session=s, merchant_id=who.merchant_id, rental_id=rid,
                                                                  serial=serial, clock=runtime.clock()),
                         ok="rental.delivered")
        if done is not None:
            self.serial = {k: v for k, v in self.serial.items() if k != str(rid)}
        await reload(self)

    # ── returns ──────────────────────────────────────────────────────────────────────────
    @rx.event
    async def receive(self, rental_id: int | str):
        try:
            rid = need_int(rental_id, field="rental")
        except ValidationError as err:
            return await refuse(self, err)
        await act(self, MER, lambda s, who: rental.mark_received(session=s, merchant_id=who.merchant_id, rental_id=rid,
                                                                 clock=runtime.clock()), ok="mer.received")
        await reload(self)

    @rx.event
    def open(self, rental_id: int | str):
        rid = whole_number(rental_id)
        if rid is not None and rid != self.open_id and any(r.id == rid and r.can_inspect for r in self.rentals):
            self.open_id, self.reason, self.repair = rid, "", ""
            return rx.clear_selected_files(RENTAL_PHOTO_UPLOAD)
        return None

    @rx.event
    def set_reason(self, value: str):
        self.reason = _text(value, 300)

    @rx.event
    def set_repair(self, value: str):
        self.repair = _text(value, 20)

    @rx.event
    async def files_rejected(self, rejected: list[dict]):
        await refuse_rejected(self, rejected, allowed=uploads.IMAGE_TYPES)

    @rx.event
    async def accept(self, rental_id: int | str):
        try:
            rid = need_int(rental_id, field="rental")
        except ValidationError as err:
            return await refuse(self, err)
        await act(self, MER, lambda s, who: rental.accept_return(session=s, merchant_id=who.merchant_id, rental_id=rid,
                                                                 clock=runtime.clock()), ok="rental.inspected_ok")
        await reload(self)
        return rx.clear_selected_files(RENTAL_PHOTO_UPLOAD)

    @rx.event
    async def reject(self, files: list[rx.UploadFile], rental_id: int | str):
        """Damaged: photos (images only, checked by content and size), a reason and a repair
        charge within the deposit, in one step."""
        reason = self.reason
        try:
            rid = need_int(rental_id, field="rental")
            repair = parse_yuan(self.repair, field="repair")
            blobs = await read_uploads(files)
        except DomainError as err:
            return await refuse(self, err)
        done = await act_with_files(self, MER, blobs, uploads.IMAGE_TYPES, lambda s, w, stored: rental.reject_return(
            session=s, merchant_id=w.merchant_id, rental_id=rid, reason=reason, repair_fen=repair,
            photos=[(f.stored_name, f.content_type, f.size) for f in stored], clock=runtime.clock()),
            ok="rental.inspected_damaged")
        if done is None:
            return None
        self.reason, self.repair = "", ""
        await reload(self)
        return rx.clear_selected_files(RENTAL_PHOTO_UPLOAD)
