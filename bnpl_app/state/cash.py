"""备用金: the shopper's cash-line page (apply, draw on the quote shown, repay early) and the product
page's "buy with 备用金".

A draw is made on the terms on screen: the quote the tab showed is kept server-side with the
idempotency key made when it was shown (a new key only when the terms change), so confirming twice
draws once, and a change of terms is refused with what changed and the new terms shown. Every
handler checks what the browser sent and acts only for the user of the server-side session."""

from __future__ import annotations

import uuid

import reflex as rx

from .. import routes, runtime
from ..domain.errors import DomainError, TermsChanged, ValidationError
from ..domain.money import parse_yuan
from ..domain.policy import POLICY
from ..models import SHOPPER, DrawDest
from ..services import cash
from ..views import cash as vc
from ..views.shop import change_texts
from .helpers import as_int, opened, record_id, refuse
from .session import act, attempt, look, page_load, reload, session_of


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _term(value: object) -> int | None:
    n = as_int(value, lo=1, hi=max(POLICY.cash_terms))
    return n if n in POLICY.cash_terms else None


class CashState(rx.State):
    view: vc.CashView = rx.field(default_factory=vc.CashView)
    amount_text: str = ""
    term: str = str(POLICY.cash_terms[0])
    card: str = ""
    quote: vc.QuoteView = rx.field(default_factory=vc.QuoteView)
    quoted: bool = False
    changed: list[str] = rx.field(default_factory=list)  # what changed between the terms shown and those on offer at confirming
    repay_for: int = 0  # the draw whose early-repayment form is open
    repay_text: str = ""
    repay: vc.RepayView = rx.field(default_factory=vc.RepayView)
    repay_quoted: bool = False
    _shown: str = ""  # the terms on screen (JSON)
    _asked: list = rx.field(default_factory=list)  # (amount fen, term, card id) the terms on screen are for
    _key: str = ""  # the idempotency key of drawing on them
    _repay_asked: list = rx.field(default_factory=list)  # (draw id, principal fen) the repayment on screen is for

    @rx.event
    @page_load
    async def load(self):
        await opened(self)
        found = await look(self, (SHOPPER,), lambda s, who, lang: vc.cash_screen(
            s, uid=who.user_id, lang=lang, now=runtime.clock().now()))
        self.view = found or vc.CashView()
        ids = [c.id for c in self.view.cards]
        if self.card not in ids:
            self.card = ids[0] if ids else ""
        if self.repay_for and self.repay_for not in [d.id for d in self.view.draws if d.open]:
            self._close_repay()

    @rx.event
    async def apply(self):
        await act(self, (SHOPPER,), lambda s, who: cash.apply(session=s, uid=who.user_id, clock=runtime.clock()).id,
                  ok="cash.applied")
        await reload(self)

    # ── the draw form ────────────────────────────────────────────────────────────────────
    def _unquote(self) -> None:
        self.quoted, self.quote, self._shown, self._asked, self._key = False, vc.QuoteView(), "", [], ""
        self.changed = []

    @rx.event
    def set_amount_text(self, value: str):
        self.amount_text = _text(value, 20)
        self._unquote()

    @rx.event
    def set_term(self, value: str):
        if _term(value) is not None:
            self.term = str(_term(value))
            self._unquote()

    @rx.event
    def set_card(self, value: str):
        if isinstance(value, str) and value in [c.id for c in self.view.cards]:
            self.card = value
            self._unquote()

    def _ask(self) -> tuple[int, int, int]:
        """(amount fen, term, card id) as the form holds them, or the refusal a person can read."""
        amount = parse_yuan(self.amount_text, field="amount")
        term = _term(self.term)
        if term is None:
            raise ValidationError("cash.bad_term", terms=" / ".join(map(str, POLICY.cash_terms)))
        card = record_id(self.card)
        if card is None:
            raise ValidationError("cash.no_card")
        return amount, term, card

    async def _show(self, amount: int, term: int, card: int) -> bool:
        """Quote (amount, term) now and show it with a new key; False if it could not be quoted."""
        sess = await session_of(self)
        lang = sess.lang
        got = await act(self, (SHOPPER,), lambda s, who: (lambda q: (vc.quote_view(q, lang), q.terms.to_json()))(
            cash.quote(session=s, uid=who.user_id, amount_fen=amount, term=term, clock=runtime.clock())), writes=False)
        if got is None:
            return False
        self.quote, self._shown = got
        self._asked, self._key, self.quoted = [amount, term, card], uuid.uuid4().hex, True
        return True

    @rx.event
    async def show_quote(self):
        try:
            asked = self._ask()
        except DomainError as err:
            return await refuse(self, err)
        self.changed = []
        await self._show(*asked)

    @rx.event
    async def confirm_draw(self):
        try:
            asked = self._ask()
        except DomainError as err:
            return await refuse(self, err)
        if not self.quoted or list(asked) != list(self._asked):  # show the terms before drawing on them
            return await refuse(self, ValidationError("cash.quote_stale"))
        amount, term, card = asked
        shown, key = self._shown, self._key
        done, err = await attempt(self, (SHOPPER,), lambda s, who: cash.draw(
            session=s, uid=who.user_id, amount_fen=amount, term=term, dest=DrawDest.CARD, method_id=card,
            idempotency_key=key, terms=shown, clock=runtime.clock()).id)
        sess = await session_of(self)
        if err is not None:
            if isinstance(err, TermsChanged):
                changes = err.changes
                if await self._show(amount, term, card):
                    self.changed = change_texts(changes, sess.lang)
            sess._refuse(err)
            return await reload(self)
        self._unquote()
        self.amount_text = ""
        sess._say_key("cash.drawn")
        await reload(self)

    # ── early repayment ──────────────────────────────────────────────────────────────────
    def _close_repay(self) -> None:
        self.repay_for, self.repay_text, self.repay, self.repay_quoted, self._repay_asked = 0, "", vc.RepayView(), False, []

    @rx.event
    def open_repay(self, draw_id: int | str):
        """Open the form on a draw this tab was shown (anything else: closes it)."""
        did = record_id(draw_id)
        shown = {d.id: d for d in self.view.draws if d.open}
        self._close_repay()
        if did in shown and shown[did].repay_options:
            self.repay_for, self.repay_text = did, shown[did].repay_options[-1].id  # all of it, to start with

    @rx.event
    def close_repay(self):
        self._close_repay()

    @rx.event
    def set_repay_text(self, value: str):
        self.repay_text = _text(value, 20)
        self.repay_quoted, self.repay, self._repay_asked = False, vc.RepayView(), []

    @rx.event
    async def quote_repay(self):
        if not self.repay_for:
            return await refuse(self, ValidationError("bad_id"))
        amount = as_int(self.repay_text)
        if amount is None:
            return await refuse(self, ValidationError("amount_not_positive"))
        did, lang = self.repay_for, (await session_of(self)).lang
        got = await act(self, (SHOPPER,), lambda s, who: vc.repay_view(cash.early_quote(
            session=s, uid=who.user_id, draw_id=did, amount_fen=amount, clock=runtime.clock()), lang), writes=False)
        if got is not None:
            self.repay, self.repay_quoted, self._repay_asked = got, True, [did, amount]

    @rx.event
    async def confirm_repay(self):
        if not self.repay_quoted or not self._repay_asked:
            return await refuse(self, ValidationError("cash.quote_stale"))
        did, amount = self._repay_asked
        total, saving = self.repay.total_fen, self.repay.saving_fen
        done = await act(self, (SHOPPER,), lambda s, who: cash.early_repay(
            session=s, uid=who.user_id, draw_id=did, amount_fen=amount, expected_total_fen=total,
            expected_saving_fen=saving, clock=runtime.clock()).draw_id, ok="cash.repaid")
        if done is not None:
            self._close_repay()
        else:
            self.repay_quoted, self.repay, self._repay_asked = False, vc.RepayView(), []
        await reload(self)


class CashBuyState(rx.State):
    """The product page's "buy with 备用金": the quote of drawing the price first, then the purchase."""

    has_line: bool = False
    open: bool = False
    product_id: int = 0
    term: str = str(POLICY.cash_terms[0])
    quote: vc.QuoteView = rx.field(default_factory=vc.QuoteView)
    changed: list[str] = rx.field(default_factory=list)
    _shown: str = ""
    _key: str = ""

    @rx.event
    async def check(self):
        """Whether the shopper on the product page has a line (the button shows only then)."""
        found = await look(self, (SHOPPER,), lambda s, who, _lang: cash.line_of(session=s, uid=who.user_id) is not None)
        self.has_line = found is True
        self.open = False

    async def _quote(self, pid: int, term: int) -> bool:
        lang = (await session_of(self)).lang
        got = await act(self, (SHOPPER,), lambda s, who: (lambda pq: (vc.quote_view(pq[1], lang), pq[1].terms.to_json()))(
            cash.shop_quote(session=s, uid=who.user_id, product_id=pid, term=term, clock=runtime.clock())), writes=False)
        if got is None:
            return False
        self.quote, self._shown = got
        self.product_id, self.term, self._key, self.open = pid, str(term), uuid.uuid4().hex, True
        return True

    @rx.event
    async def start(self, product_id: int | str):
        pid = record_id(product_id)
        if pid is None:
            return await refuse(self, ValidationError("bad_id"))
        self.changed = []
        await self._quote(pid, _term(self.term) or POLICY.cash_terms[0])

    @rx.event
    async def choose_term(self, value: str):
        term = _term(value)
        if term is None or not self.product_id:
            return await refuse(self, ValidationError("cash.bad_term", terms=" / ".join(map(str, POLICY.cash_terms))))
        self.changed = []
        await self._quote(self.product_id, term)

    @rx.event
    def cancel(self):
        self.open = False

    @rx.event
    async def confirm(self):
        term = _term(self.term)
        if not self.open or not self._shown or term is None:
            return await refuse(self, ValidationError("cash.quote_stale"))
        pid, shown, key = self.product_id, self._shown, self._key
        done, err = await attempt(self, (SHOPPER,), lambda s, who: cash.draw(
            session=s, uid=who.user_id, amount_fen=None, term=term, dest=DrawDest.SHOP, product_id=pid,
            idempotency_key=key, terms=shown, clock=runtime.clock()).id)
        sess = await session_of(self)
        if err is not None:
            if isinstance(err, TermsChanged):
                changes = err.changes
                if await self._quote(pid, term):
                    self.changed = change_texts(changes, sess.lang)
            sess._refuse(err)
            return None
        self.open = False
        sess._say_key("cash.bought")
        return rx.redirect(routes.CASH)
