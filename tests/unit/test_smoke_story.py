"""A first end-to-end pass through the services: buy for ¥0, let the trial end, get deducted."""

from bnpl_app.models import Order, OrderStatus
from bnpl_app.services import credit


def test_full_plan_is_deducted_at_trial_end_and_limit_is_free_again(world):
    m = world.merchant()
    p = world.product(m, price_fen=29_900, trial_days=7)
    uid = world.shopper(score=700, wallet_fen=50_000)
    oid = world.buy(uid, p)
    with world.tx() as s:
        acct = credit.account(session=s, uid=uid)
        assert acct.frozen_fen == 29_900 and credit.available(acct) == acct.limit_fen - 29_900
    world.advance(days=7)
    with world.tx() as s:
        assert s.get(Order, oid).status == OrderStatus.PAID
        acct = credit.account(session=s, uid=uid)
        assert acct.frozen_fen == 0 and acct.outstanding_fen == 0
    world.audit_ok()
