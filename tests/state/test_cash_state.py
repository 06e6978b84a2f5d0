"""备用金 as a tab drives it: the page shows why a shopper may not apply or lets them apply; the draw
form shows the whole quote and confirming draws on exactly it (once, however often it is clicked),
or is refused with what changed and the new terms on screen; early repayment shows the saving
before it is confirmed and gives the line back; the product page buys with the line after showing
the quote. Other users' draws and visitors get nothing."""

from __future__ import annotations

import sqlalchemy as sa
from helpers import add_card, run, sent
from sqlmodel import select

from bnpl_app import routes
from bnpl_app.domain import loans
from bnpl_app.domain.money import yuan
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import CashDraw, CashLine, Order, OrderKind
from bnpl_app.services import cash
from bnpl_app.state.cash import CashBuyState, CashState


def _draws(world, uid) -> list[CashDraw]:
    with world.tx() as s:
        return list(s.exec(select(CashDraw).where(CashDraw.user_id == uid).order_by(CashDraw.id)))


def _line(world, uid) -> CashLine | None:
    with world.tx() as s:
        return cash.line_of(session=s, uid=uid)


def _shopper(world, **kw) -> int:
    uid = world.shopper(score=720, **kw)
    add_card(world, uid, 0)
    return uid


def _page(tab, uid):
    return tab.open(uid, CashState, path=routes.CASH)


def test_the_page_says_why_a_shopper_may_not_apply(world, tab):
    uid = world.shopper(score=POLICY.cash_min_score - 10)  # and no card
    t, page = _page(tab, uid)
    assert not page.view.has_line and not page.view.can_apply
    assert {r.rule for r in page.view.failures} == {"card", "score"}
    run(page.apply())
    kind, text = t.said()
    assert kind == "error" and "银行卡" in text
    assert _line(world, uid) is None


def test_apply_then_draw_on_the_quote_shown_once_however_often_confirmed(world, tab):
    uid = _shopper(world)
    t, page = _page(tab, uid)
    assert page.view.can_apply and page.view.would_get == yuan(POLICY.cash_line_for(720))
    run(page.apply())
    assert t.said()[0] == "success"
    assert page.view.has_line and page.view.available == yuan(POLICY.cash_line_for(720))

    page.set_amount_text("3000")
    page.set_term("6")
    run(page.show_quote())
    assert page.quoted and page.quote.ok
    terms = cash.DrawTerms.of(amount_fen=300_000, term=6, daily_rate_ppm=POLICY.cash_daily_rate_ppm, at=world.clock.now())
    assert page.quote.total_interest == yuan(terms.total_interest_fen)
    assert page.quote.rate == "0.04%" and page.quote.apr == "14.6%"
    assert len(page.quote.periods) == 6 and page.quote.periods[0].days == terms.periods[0].days
    run(page.confirm_draw())
    assert t.said() == ("success", "借款成功，已打款到您的银行卡")
    (d,) = _draws(world, uid)
    assert cash.DrawTerms.parse(d.quote_json) == terms
    assert page.view.available == yuan(POLICY.cash_line_for(720) - 300_000)
    run(page.confirm_draw())  # a second click: the quote it drew on is gone
    assert t.said()[0] == "error" and len(_draws(world, uid)) == 1


def test_a_draw_whose_terms_changed_is_refused_and_the_new_terms_are_shown(world, tab):
    uid = _shopper(world)
    with world.tx() as s:
        cash.apply(session=s, uid=uid, clock=world.clock)
    t, page = _page(tab, uid)
    page.set_amount_text("2000")
    run(page.show_quote())
    with world.tx() as s:
        s.execute(sa.update(CashLine.__table__).where(CashLine.__table__.c.user_id == uid).values(daily_rate_ppm=300))
    run(page.confirm_draw())
    kind, text = t.said()
    assert kind == "error" and "0.03%" in text
    assert page.changed and page.quoted and page.quote.rate == "0.03%"
    assert _draws(world, uid) == []
    run(page.confirm_draw())  # on the new terms, now on screen
    assert t.said()[0] == "success"
    assert _draws(world, uid)[0].daily_rate_ppm == 300


def test_an_amount_typed_after_the_quote_must_be_quoted_again(world, tab):
    uid = _shopper(world)
    with world.tx() as s:
        cash.apply(session=s, uid=uid, clock=world.clock)
    t, page = _page(tab, uid)
    page.set_amount_text("2000")
    run(page.show_quote())
    page.set_amount_text("9000")
    assert not page.quoted
    run(page.confirm_draw())
    assert t.said()[0] == "error" and _draws(world, uid) == []
    page.set_amount_text("50")  # below the minimum: the quote names it and cannot be confirmed
    run(page.show_quote())
    assert not page.quote.ok and [r.rule for r in page.quote.problems] == ["min"]


def test_early_repayment_shows_the_saving_then_gives_the_line_back(world, tab):
    uid = _shopper(world, wallet_fen=700_000)
    with world.tx() as s:
        cash.apply(session=s, uid=uid, clock=world.clock)
    t, page = _page(tab, uid)
    page.set_amount_text("6000")
    run(page.show_quote())
    run(page.confirm_draw())
    t.said()
    world.advance(days=10)
    run(page.load())
    (d,) = page.view.draws
    assert [o.id for o in d.repay_options][-1] == "600000"
    page.open_repay(d.id)
    assert page.repay_for == d.id and page.repay_text == "600000"
    run(page.quote_repay())
    saving = _draws(world, uid)[0].interest_fen - loans.interest(600_000, 400, 10)
    assert page.repay_quoted and page.repay.saving == yuan(saving) and page.repay.whole
    run(page.confirm_repay())
    assert t.said()[0] == "success"
    assert page.view.available == yuan(POLICY.cash_line_for(720)) and page.repay_for == 0
    assert _line(world, uid).outstanding_fen == 0


def test_another_shoppers_draw_cannot_be_opened_or_repaid(world, tab):
    victim = _shopper(world, wallet_fen=700_000)
    with world.tx() as s:
        cash.apply(session=s, uid=victim, clock=world.clock)
        row = cash.draw(session=s, uid=victim, amount_fen=100_000, term=3, dest="card",
                        method_id=cash.bound_cards(session=s, uid=victim)[0].id, idempotency_key="victim-draw-1",
                        clock=world.clock)
        did = row.id
    uid = _shopper(world, wallet_fen=700_000)
    t, page = _page(tab, uid)
    page.open_repay(did)
    assert page.repay_for == 0
    page.repay_for, page.repay_text = did, "100000"  # even forced into the state
    run(page.quote_repay())
    assert t.not_found("draw") and not page.repay_quoted
    assert _line(world, victim).outstanding_fen == 100_000


def test_buy_with_the_line_on_the_product_page_shows_the_quote_first(world, tab):
    uid = _shopper(world)
    m = world.merchant()
    pid = world.product(m, price_fen=45_900, bnpl=False)
    t = tab(uid, path=routes.product(pid))
    buy = t.state(CashBuyState)
    run(buy.check())
    assert not buy.has_line  # no line: no button
    with world.tx() as s:
        cash.apply(session=s, uid=uid, clock=world.clock)
    run(buy.check())
    assert buy.has_line and not buy.open
    run(buy.start(pid))
    assert buy.open and buy.quote.amount == yuan(45_900) and buy.quote.ok
    run(buy.choose_term("6"))
    assert len(buy.quote.periods) == 6
    assert sent(run(buy.confirm()))["path"] == routes.CASH
    assert t.said()[0] == "success"
    (d,) = _draws(world, uid)
    assert d.term_months == 6 and d.dest == "shop"
    with world.tx() as s:
        assert s.get(Order, d.purchase_order_id).kind == OrderKind.BUY


def test_a_visitor_gets_nothing(world, tab):
    t, page = _page(tab, None)
    assert not page.view.has_line and page.view.draws == []
    run(page.apply())
    assert t.said()[0] == "error"
