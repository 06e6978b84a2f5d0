"""The shopper's account screens: bills (repay, early repay, auto-repay), credit (consent, self cap,
identity checks, restoration and hardship applications with proof uploads), wallet, inbox, help.

Every handler is callable by any connected browser with any arguments, so each one checks its
arguments itself and acts only for the user of the server-side session (``act``/``look``)."""

from __future__ import annotations

import reflex as rx

from .. import routes, runtime
from ..views import account as va
from ..domain.errors import AuthError, DomainError, ValidationError
from ..domain.money import parse_yuan
from ..domain.policy import POLICY
from ..services import applications, bills, consent, inbox, uploads, wallet
from .helpers import act_with_files, as_int, choice, opened, read_uploads, record_id, refuse, refuse_rejected
from .paging import PagedMixin
from .session import act, look, page_load, reload, session_of
from ..models import ApplicationKind as AK, Role, SHOPPER

PROOF_UPLOAD = "proof"
# Handler arguments are typed ``int | str`` where a plain ``int`` would make Reflex itself raise on
# a crafted string before the handler runs: the handler refuses it, visibly, instead.


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


# ── bills ───────────────────────────────────────────────────────────────────────────────────
class BillsState(PagedMixin, rx.State):
    """The bills screen; its statements show one page of installments (latest due first)."""

    view: va.BillsView = rx.field(default_factory=va.BillsView)
    first_method: str = ""
    days_before: str = "0"
    _edited: bool = False  # the auto-repay form has unsaved choices: a live reload keeps them

    async def _page(self, cursor: str):
        found = await look(self, (SHOPPER,), lambda s, who, lang: va.my_bills(
            s, uid=who.user_id, lang=lang, now=runtime.clock().now(), cursor=cursor))
        self.view, page = found or (va.BillsView(), None)
        return page

    @rx.event
    @page_load
    async def load(self):
        await opened(self)
        await self._reload()
        ids = [str(m.id) for m in self.view.methods]
        if not self._edited or self.first_method not in ids:
            self.first_method = ids[0] if ids else ""
            self.days_before = str(self.view.days_before)
            self._edited = False

    @rx.event
    async def repay(self, installment_id: int | str, expected_fen: int | str):
        iid, expected = record_id(installment_id), as_int(expected_fen, lo=0)
        if iid is None or expected is None:
            return await refuse(self, ValidationError("bad_id"))
        await act(self, (SHOPPER,), lambda s, who: bills.repay(
            session=s, uid=who.user_id, installment_id=iid, expected_fen=expected, clock=runtime.clock()), ok="bills.repaid")
        await reload(self)

    @rx.event
    async def early_repay(self, order_id: int | str, expected_fen: int | str):
        oid, expected = record_id(order_id), as_int(expected_fen, lo=0)
        if oid is None or expected is None:
            return await refuse(self, ValidationError("bad_id"))
        await act(self, (SHOPPER,), lambda s, who: bills.early_repay(
            session=s, uid=who.user_id, order_id=oid, expected_fen=expected, clock=runtime.clock()), ok="bills.early_done")
        await reload(self)

    @rx.event
    def set_first_method(self, value: str):
        if isinstance(value, str) and value in [str(m.id) for m in self.view.methods]:
            self.first_method = value
            self._edited = True

    @rx.event
    def set_days_before(self, value: str):
        if as_int(value, lo=0, hi=POLICY.autopay_days_before_max) is not None:
            self.days_before = str(as_int(value, lo=0))
            self._edited = True

    @rx.event
    async def save_autopay(self):
        days = as_int(self.days_before, lo=0, hi=POLICY.autopay_days_before_max)
        first = record_id(self.first_method)
        if days is None:
            return await refuse(self, ValidationError("autopay.days_range", max=POLICY.autopay_days_before_max))

        if await act(self, (SHOPPER,), lambda s, who: bills.set_autopay_first(
                session=s, uid=who.user_id, days_before=days, first_method_id=first, clock=runtime.clock()) or True,
                ok="bills.autopay_saved"):
            self._edited = False
        await reload(self)


# ── credit ──────────────────────────────────────────────────────────────────────────────────
class CreditState(rx.State):
    view: va.CreditView = rx.field(default_factory=va.CreditView)
    terms: list[va.HelpSection] = rx.field(default_factory=list)
    terms_ok: bool = False
    cap_text: str = ""
    real_name: str = ""
    id_number: str = ""
    phone: str = ""
    applying: str = ""  # "", "restoration" or "hardship": which application form is open
    statement: str = ""
    reason: str = "medical"
    installments: str = "6"
    waiver: bool = True

    @rx.event
    @page_load
    async def load(self):
        sess = await opened(self)
        found = await look(self, (SHOPPER,), lambda s, who, lang: va.my_credit(
            s, uid=who.user_id, lang=lang, now=runtime.clock().now()))
        self.view = found or va.CreditView()
        self.terms = va.terms(sess.lang)

    # consent
    @rx.event
    def set_terms_ok(self, value: bool | str):
        self.terms_ok = value is True

    @rx.event
    async def open_bnpl(self):
        accepted = self.terms_ok is True
        done = await act(self, (SHOPPER,), lambda s, who: consent.open_bnpl(
            session=s, uid=who.user_id, accept_terms=accepted, terms_version=POLICY.terms_version, clock=runtime.clock()) or True,
            ok="credit.opened")
        if done:
            self.terms_ok = False
        await reload(self)

    @rx.event
    async def close_bnpl(self):
        await act(self, (SHOPPER,), lambda s, who: consent.close_bnpl(session=s, uid=who.user_id, clock=runtime.clock()),
                  ok="credit.closed_ok")
        self.terms_ok = False  # turning it back on means reading and accepting the terms again
        await reload(self)

    # self cap
    @rx.event
    def set_cap_text(self, value: str):
        self.cap_text = _text(value, 20)

    @rx.event
    async def save_cap(self):
        try:
            cap = parse_yuan(self.cap_text, field="self_cap", allow_zero=True)
        except DomainError as err:
            return await refuse(self, err)
        if await act(self, (SHOPPER,), lambda s, who: consent.set_self_cap(
                session=s, uid=who.user_id, cap_fen=cap, clock=runtime.clock()) or True, ok="credit.cap_saved"):
            self.cap_text = ""
        await reload(self)

    @rx.event
    async def clear_cap(self):
        await act(self, (SHOPPER,), lambda s, who: consent.set_self_cap(
            session=s, uid=who.user_id, cap_fen=None, clock=runtime.clock()), ok="credit.cap_cleared")
        await reload(self)

    # identity checks
    @rx.event
    def set_real_name(self, value: str):
        self.real_name = _text(value, 40)

    @rx.event
    def set_id_number(self, value: str):
        self.id_number = _text(value, 24)

    @rx.event
    def set_phone(self, value: str):
        self.phone = _text(value, 20)

    @rx.event
    async def verify_identity(self):
        name, number = self.real_name, self.id_number
        if await act(self, (SHOPPER,), lambda s, who: consent.verify_identity(
                session=s, uid=who.user_id, real_name=name, id_number=number) or True, ok="credit.identity_ok"):
            self.real_name = self.id_number = ""
        await reload(self)

    @rx.event
    async def bind_phone(self):
        phone = self.phone
        if await act(self, (SHOPPER,), lambda s, who: consent.bind_phone(session=s, uid=who.user_id, phone=phone) or True,
                     ok="credit.phone_ok"):
            self.phone = ""
        await reload(self)

    # applications
    @rx.event
    def start_application(self, kind: str):
        if choice(kind, set(AK)) is not None:
            self.applying = kind
            self.statement = ""

    @rx.event
    def cancel_application(self):
        self.applying = ""
        return rx.clear_selected_files(PROOF_UPLOAD)

    @rx.event
    def set_statement(self, value: str):
        self.statement = _text(value, 1000)

    @rx.event
    def set_reason(self, value: str):
        if value in applications.REASONS:
            self.reason = value

    @rx.event
    def set_installments(self, value: str):
        self.installments = _text(value, 3)

    @rx.event
    def set_waiver(self, value: bool | str):
        self.waiver = value is True

    @rx.event
    async def files_rejected(self, rejected: list[dict]):
        """The drop zone refused a file before sending it (type or size): say which and why."""
        await refuse_rejected(self, rejected, allowed=uploads.PROOF_TYPES)

    @rx.event
    async def submit_application(self, files: list[rx.UploadFile]):
        """Files are read here (bounded), checked by content and stored under generated names by
        ``uploads`` with the application; the client's file name is kept only as a display label."""
        kind = self.applying
        if kind not in set(AK):
            return None
        try:
            blobs = await read_uploads(files)
        except DomainError as err:
            return await refuse(self, err)
        n = as_int(self.installments, lo=0) if kind == AK.HARDSHIP else 0
        if n is None:
            return await refuse(self, ValidationError("app.installments_range", max=POLICY.hardship_max_installments))
        statement, reason, waiver = self.statement, self.reason, self.waiver

        def apply(s, who, proofs):
            if kind == AK.RESTORATION:
                return applications.apply_restoration(session=s, uid=who.user_id, statement=statement, proofs=proofs,
                                                      clock=runtime.clock()).id
            return applications.apply_hardship(session=s, uid=who.user_id, reason_category=reason, statement=statement,
                                               proposed_installments=n, request_fee_waiver=waiver, proofs=proofs,
                                               clock=runtime.clock()).id

        done = await act_with_files(self, (SHOPPER,), blobs, uploads.PROOF_TYPES, apply, ok="credit.applied")
        await reload(self)
        if done:
            self.applying = ""
            self.statement = ""
            return rx.clear_selected_files(PROOF_UPLOAD)
        return None


# ── wallet ──────────────────────────────────────────────────────────────────────────────────
class WalletState(rx.State):
    """The wallet screen: the balance and top-up, and the shopper's payment methods — bind a card,
    unbind one (after a confirmation), whether automatic deduction may use each, and their order."""

    view: va.WalletView = rx.field(default_factory=va.WalletView)
    topup_text: str = ""
    bank: str = ""
    last4: str = ""
    card_balance: str = ""
    adding: bool = False  # the bind-card form is open
    removing: int = 0  # the method whose unbinding waits for the shopper's confirmation

    @rx.event
    @page_load
    async def load(self):
        await opened(self)
        self.view = await look(self, (SHOPPER,), lambda s, who, lang: va.my_wallet(s, uid=who.user_id, lang=lang)) \
            or va.WalletView()

    @rx.event
    def set_topup_text(self, value: str):
        self.topup_text = _text(value, 20)

    @rx.event
    def set_bank(self, value: str):
        self.bank = _text(value, 30)

    @rx.event
    def set_last4(self, value: str):
        self.last4 = _text(value, 8)

    @rx.event
    def set_card_balance(self, value: str):
        self.card_balance = _text(value, 20)

    @rx.event
    async def topup(self):
        try:
            amount = parse_yuan(self.topup_text)
        except DomainError as err:
            return await refuse(self, err)
        if await act(self, (SHOPPER,), lambda s, who: wallet.topup(session=s, uid=who.user_id, amount_fen=amount,
                                                                     clock=runtime.clock()), ok="wallet.topped_up"):
            self.topup_text = ""
        await reload(self)

    @rx.event
    async def add_card(self):
        try:
            balance = parse_yuan(self.card_balance, field="balance", allow_zero=True) if self.card_balance.strip() else 0
        except DomainError as err:
            return await refuse(self, err)
        bank, last4 = self.bank.strip(), self.last4.strip()
        if await act(self, (SHOPPER,), lambda s, who: wallet.add_card(
                session=s, uid=who.user_id, bank=bank, last4=last4, balance_fen=balance, clock=runtime.clock()),
                ok="wallet.card_added"):
            self.bank = self.last4 = self.card_balance = ""
            self.adding = False
        await reload(self)

    # the methods: bind, unbind, auto-deduction, order
    @rx.event
    def toggle_add(self):
        self.adding = not self.adding

    @rx.event
    def ask_remove(self, method_id: int | str):
        """Show the confirmation on the row of one of the methods on this screen (anything else: nothing)."""
        mid = record_id(method_id)
        self.removing = mid if mid is not None and mid in [m.id for m in self.view.methods] else 0

    @rx.event
    def cancel_remove(self):
        self.removing = 0

    @rx.event
    async def remove_method(self, method_id: int | str):
        mid = record_id(method_id)
        self.removing = 0
        if mid is None:
            return await refuse(self, ValidationError("bad_id"))
        await act(self, (SHOPPER,), lambda s, who: wallet.remove_method(
            session=s, uid=who.user_id, method_id=mid, clock=runtime.clock()), ok="wallet.method_removed")
        await reload(self)

    @rx.event
    async def set_autopay(self, method_id: int | str, on: bool | str):
        mid = record_id(method_id)
        if mid is None or not isinstance(on, bool):
            return await refuse(self, ValidationError("bad_id"))
        await act(self, (SHOPPER,), lambda s, who: wallet.set_method_autopay(
            session=s, uid=who.user_id, method_id=mid, on=on, clock=runtime.clock()),
            ok="wallet.autopay_on" if on else "wallet.autopay_off")
        await reload(self)

    @rx.event
    async def move(self, method_id: int | str, step: int | str):
        """One place earlier (-1) or later (+1) in the order automatic deduction tries them."""
        mid, st = record_id(method_id), as_int(step, lo=-1, hi=1)
        if mid is None or st not in (-1, 1):
            return await refuse(self, ValidationError("bad_id"))
        await act(self, (SHOPPER,), lambda s, who: wallet.move_method(session=s, uid=who.user_id, method_id=mid, step=st),
                  ok="wallet.order_saved")
        await reload(self)

    @rx.event
    async def rebind_wallet(self):
        await act(self, (SHOPPER,), lambda s, who: wallet.rebind_wallet(session=s, uid=who.user_id, clock=runtime.clock()),
                  ok="wallet.rebound")
        await reload(self)


# ── inbox ───────────────────────────────────────────────────────────────────────────────────
class InboxState(PagedMixin, rx.State):
    """Every role has an inbox, shown a page at a time, newest first."""

    notices: list[va.NoticeView] = rx.field(default_factory=list)
    unread_here: int = 0  # unread notices in the whole inbox, not only on this page

    async def _page(self, cursor: str):
        def read(s, who, lang):
            return va.my_notices(s, uid=who.user_id, lang=lang, cursor=cursor), inbox.unread_count(session=s, uid=who.user_id)

        found = await look(self, tuple(Role), read)
        page, self.unread_here = found or (None, 0)
        self.notices = page.items if page else []
        return page

    @rx.event
    @page_load
    async def load(self):
        """Every role has an inbox, so this page guards itself: logged in is enough."""
        sess = await opened(self)
        try:
            await sess._actor()
        except AuthError:
            self.notices = []
            self.unread_here = 0
            sess._say_key("auth.login_required", "error")
            return rx.redirect(routes.LOGIN)
        await self._reload()

    async def _recount(self) -> None:
        sess = await session_of(self)
        unread = await look(self, tuple(Role),
                            lambda s, who, _lang: inbox.unread_count(session=s, uid=who.user_id))
        if unread is not None:
            sess.unread = unread

    @rx.event
    async def mark_read(self, notification_id: int | str):
        nid = record_id(notification_id)
        if nid is None:
            return await refuse(self, ValidationError("bad_id"))
        await act(self, tuple(Role), lambda s, who: inbox.mark_read(
            session=s, uid=who.user_id, notification_id=nid, clock=runtime.clock()))
        await reload(self)
        await self._recount()

    @rx.event
    async def mark_all_read(self):
        await act(self, tuple(Role),
                  lambda s, who: inbox.mark_all_read(session=s, uid=who.user_id, clock=runtime.clock()), ok="inbox.all_read")
        await reload(self)
        await self._recount()


# ── help ────────────────────────────────────────────────────────────────────────────────────
class HelpState(rx.State):
    intro: list[va.HelpSection] = rx.field(default_factory=list)  # what it is and who can use it: shown above the score bands
    sections: list[va.HelpSection] = rx.field(default_factory=list)
    bands: list[va.BandRow] = rx.field(default_factory=list)

    @rx.event
    @page_load
    async def load(self):
        sess = await opened(self)
        sections = va.help_sections(sess.lang)
        self.intro, self.sections = sections[:2], sections[2:]
        self.bands = va.bands(sess.lang)
