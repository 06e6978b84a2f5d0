"""The change feed's lookup of the users behind rows known only by id, on each backend: one
``UNION ALL`` over every table a transaction named, whatever the mix (PostgreSQL types the branches
of a UNION together, so a one-user table's empty second column must be an integer there too)."""

from __future__ import annotations

from bnpl_app.models import CreditAccount, Merchant
from bnpl_app.services import changes


def test_rows_known_by_id_in_several_tables_name_their_users(world):
    shopper = world.shopper()
    mid = world.merchant()
    oid = world.buy(shopper, world.product(mid, stock=50))
    with world.tx() as s:
        merchant_user = s.get(Merchant, mid).user_id
        account_id = s.query(CreditAccount).filter_by(user_id=shopper).one().id
        after = changes.last_id(session=s)
    with world.tx() as s:
        # Known by id only, in tables whose order puts a one-user table first.
        changes.note_row(session=s, table="credit_accounts", values={"id": account_id})
        changes.touch_merchants(session=s, merchant_ids=[mid])
        changes.note_row(session=s, table="orders", values={"id": oid})
    with world.tx() as s:
        got = {(uid, topic) for _id, uid, topic, _at in changes.since(session=s, after_id=after)}
    assert got == {(shopper, changes.CREDIT), (merchant_user, changes.ORDERS), (shopper, changes.ORDERS)}


def test_the_listeners_read_is_the_new_rows_and_the_gaps_it_names(world):
    """What a listener asks for on each wake-up: the rows after the highest it has seen, and the few
    missing ids below it (still committing, or rolled back) — not a window of old rows."""
    shopper = world.shopper()
    mid = world.merchant()
    world.buy(shopper, world.product(mid, stock=50))
    with world.tx() as s:
        top = changes.last_id(session=s)
        ids = [row[0] for row in changes.since(session=s, after_id=0)]
    assert len(ids) >= 3
    older, gap = ids[-3], ids[-2]
    with world.tx() as s:
        got = [row[0] for row in changes.since(session=s, after_id=top, also=[gap, older])]
        assert got == [older, gap]
        assert [row[0] for row in changes.since(session=s, after_id=gap, also=[])] == ids[-1:]
