"""Every handler classified (``bnpl_app/state/handlers.py``), and held to its class.

* The table and the app agree: every event handler of every state class reachable from Reflex's
  root state is in ``HANDLERS`` and every entry names one that exists — a new public method (a
  helper someone forgot to ``_underscore``) fails here until it is classified.
* Every ``Roles``/``Reads`` handler, called as a visitor and as a user of each role not allowed,
  with the arguments and form a real caller would send about real records of a victim shopper and
  shop: refused (a ``Roles`` handler says so), nothing changed in the database, nothing of the
  victim's shown in the state.
* Every handler that takes arguments, called by a user its class allows with hostile JSON in each
  argument (negative, huge, float, NaN, list, dict, None, "²", "３", 1 MB strings): no traceback,
  the database unchanged. Parametrized over the table, so a new handler is covered.
"""

from __future__ import annotations

import dataclasses
import inspect
import json

import pytest
import reflex as rx
from helpers import TRACKING, add_card, background, restoration_pending, return_parcel, run, snapshot

from bnpl_app.models import MERCHANT, OPERATOR, SHOPPER, Product
from bnpl_app.state.handlers import HANDLERS, STATES, Public, Roles

# A session's last-seen time may move when it is resolved, and a log-in attempt is counted by the
# throttle whatever it carries: the only tables a refused call may touch.
SKIP = frozenset({"auth_sessions", "login_throttles"})
SECRET = "SECRET-PRODUCT"
VICTIM = "victim_shopper"
MARKERS = (SECRET, TRACKING, "已全部还清", VICTIM)


def _all_states():
    from bnpl_app.state import account, cash, merchant, ops, orders, rental, security, session, shop  # noqa: F401  (what the app registers)
    from reflex.state import State

    out, todo = [], [State]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.get_substates())
    return out


STATE_CLASSES = _all_states()
BY_NAME = {cls.__name__: cls for cls in STATE_CLASSES}
FOUND = {f"{cls.__name__}.{name}": (cls, name) for cls in STATE_CLASSES for name in cls.event_handlers}
APP = sorted(k for k, (cls, _) in FOUND.items() if cls.__module__.startswith("bnpl_app."))
GUARDED = sorted(k for k in APP if isinstance(HANDLERS.get(k), Roles))


# ── the table and the app agree ─────────────────────────────────────────────────────────────
def test_state_class_names_are_unique():
    assert len(BY_NAME) == len(STATE_CLASSES)


def test_every_handler_is_classified_and_every_entry_exists():
    missing = sorted(set(FOUND) - set(HANDLERS))
    stale = sorted(set(HANDLERS) - set(FOUND))
    assert not missing, f"handlers not classified in bnpl_app/state/handlers.py: {missing}"
    assert not stale, f"the table names handlers that no longer exist: {stale}"


def test_every_app_state_is_listed():
    app_states = {cls.__name__ for cls in STATE_CLASSES if cls.__module__.startswith("bnpl_app.")}
    assert app_states == set(STATES)


def test_public_entries_give_a_reason_and_roles_are_real():
    for key, entry in HANDLERS.items():
        if isinstance(entry, Public):
            assert len(entry.reason) > 15, key
        else:
            assert entry.roles and set(entry.roles) <= {SHOPPER, MERCHANT, OPERATOR}, key


def test_helpers_are_underscored():
    """The helpers the issue named are not events (they would be callable from the browser)."""
    for cls in STATE_CLASSES:
        for name in ("say", "say_key", "actor", "tr", "on_page", "refuse", "learn", "forget", "guard", "sync"):
            assert name not in cls.event_handlers, f"{cls.__name__}.{name} is callable from the browser"


def test_setvar_reaches_only_classified_setters():
    """Reflex's ``setvar(name, value)`` calls ``set_<name>``: each one it can reach is a handler in the table."""
    for cls in STATE_CLASSES:
        for attr in dir(cls):
            if attr.startswith("set_"):
                assert f"{cls.__name__}.{attr}" in HANDLERS or attr == "set_is_hydrated", f"{cls.__name__}.{attr}"


# ── the scene: a victim shopper and shop, real records to aim at ─────────────────────────────
@dataclasses.dataclass
class Scene:
    shopper: int
    merchant_user: int
    operator: int
    mid: int
    pid: int
    oid: int  # an order in trial
    billed: int  # an order past its trial, billed
    iid: int
    card: int
    rid: int  # a return in transit
    aid: int  # a pending restoration application
    note: int
    listing: int = 0  # the shop's device for rent
    rental: int = 0  # the victim's rental of it, awaiting delivery


def _scene(world) -> Scene:
    import sqlalchemy as sa

    from bnpl_app.models import Installment, Notification

    mid = world.merchant()
    pid = world.product(mid, trial_days=7)
    with world.tx() as s:
        s.get(Product, pid).name = SECRET
    victim = world.shopper(name=VICTIM, wallet_fen=500_000)
    billed = world.buy(victim, pid, plan="3")
    world.advance(days=8)
    oid = world.buy(victim, pid)
    returned = world.buy(victim, pid)
    rid = return_parcel(world, victim, returned)
    card = add_card(world, victim, 10_000)
    aid = restoration_pending(world)[2]
    with world.tx() as s:
        iid = s.execute(sa.select(Installment.id).where(Installment.order_id == billed).limit(1)).scalar_one()
        note = s.execute(sa.select(Notification.id).where(Notification.user_id == victim).limit(1)).scalar_one()
    listing, rental_id = _rental(world, mid, victim)
    return Scene(victim, world.merchant_user(mid), world.operator(), mid, pid, oid, billed, iid, card, rid, aid, note,
                 listing, rental_id)


def _rental(world, mid: int, victim: int) -> tuple[int, int]:
    """A device the shop rents out, and the victim's rental of it (accepted, awaiting delivery)."""
    import uuid

    from bnpl_app.services import rental

    with world.tx() as s:
        lid = rental.create_listing(session=s, merchant_id=mid, clock=world.clock, name="Phone", monthly_rent_fen=9_900,
                                    terms="6,12", deposit_fen=50_000, buyout_fen=80_000, damage_rules="按维修价",
                                    stock=3).id
    with world.tx() as s:
        shown = rental.quote(session=s, uid=victim, listing_id=lid, term=12).contract
        rid = rental.accept(session=s, uid=victim, listing_id=lid, term=12, contract=shown,
                            idempotency_key=uuid.uuid4().hex, clock=world.clock).id
    return lid, rid


def _args(key: str, sc: Scene) -> tuple:
    """What a real caller sends, aimed at the scene's records."""
    return {
        "BillsState.repay": (sc.iid, 10_000),
        "BillsState.early_repay": (sc.billed, 10_000),
        "CashBuyState.start": (sc.pid,),
        "CashBuyState.choose_term": ("3",),
        "WalletState.remove_method": (sc.card,),
        "WalletState.set_autopay": (sc.card, False),
        "WalletState.move": (sc.card, 1),
        "InboxState.mark_read": (sc.note,),
        "MerchantProductsState.toggle_bnpl": (sc.pid, False),
        "MerchantProductsState.save_settings": ({"product_id": sc.pid, "trial_days": "7", "min_score": "600",
                                                 "plans": "full"},),
        "MerchantProductsState.save_cap": ({"cap": "100"},),
        "MerchantProductsState.save_product": ([],),
        "MerchantReturnsState.receive": (sc.rid,),
        "MerchantReturnsState.accept": (sc.rid,),
        "MerchantReturnsState.reject": ([], sc.rid),
        "OpsShoppersState.open": (sc.shopper,),
        # searches that find the victim's records without spelling a marker (the query is the caller's own)
        "OpsShoppersState.search": ({"q": VICTIM[:6]},),
        "OpsShoppersState.set_query": (VICTIM[:6],),
        "MerchantOrdersState.set_query": (SECRET[:6],),
        "MerchantOrdersState.set_status": ("trial",),
        "MerchantReturnsState.set_query": (TRACKING[:6],),
        "OpsQueueState.set_query": ("shopper",),
        "OpsQueueState.set_status": ("pending",),
        "SessionState.advance": ("1d",),
        "CreditState.submit_application": ([],),
        "SecurityState.change_password": ({"current": "password123", "new": "another-password-1"},),
        "MyRentalsState.request_return": (sc.rental,),
        "MyRentalsState.buyout": (sc.rental,),
        "MyRentalsState.cancel": (sc.rental,),
        "MyRentalsState.open_return": (sc.rental,),
        "MerchantRentalsState.deliver": (sc.rental,),
        "MerchantRentalsState.receive": (sc.rental,),
        "MerchantRentalsState.accept": (sc.rental,),
        "MerchantRentalsState.reject": ([], sc.rental),
        "MerchantRentalsState.open": (sc.rental,),
        "MerchantRentalsState.open_edit": (sc.listing,),
        "MerchantRentalsState.set_serial": (sc.rental, "SN-0001"),
        "MerchantRentalsState.set_field": ("name", "Phone 2"),
        "RentListingState.choose_term": ("6",),
    }.get(key, ())


def _prepare(key: str, tab, state, sc: Scene, world) -> None:
    """The form or screen a real caller has filled in before the action."""
    from bnpl_app.state.shop import _line
    from bnpl_app.views.ops import AppDetail
    from bnpl_app.views.shop import OrderView, ProductDetail

    cls_name = key.split(".")[0]
    if cls_name == "WalletState":
        state.topup_text, state.bank, state.last4, state.card_balance = "10", "ICBC", "1234", "5"
    elif cls_name == "CreditState":
        state.cap_text, state.real_name, state.id_number, state.phone = "100", "张三", "110101199003074514", "13800000000"
        state.applying, state.statement = "restoration", "please"
    elif cls_name == "MerchantProductsState":
        state.edit_name, state.edit_price, state.edit_stock, state.edit_id = "New", "10", "5", sc.pid
    elif cls_name == "MerchantReturnsState":
        state.reason = "damaged"
    elif cls_name == "OpsApplicationState":
        tab.at(f"/ops/applications/{sc.aid}")
        state.app = AppDetail(id=sc.aid, kind="restoration")
        state.limit_input, state.reason = "100", "no"
    elif cls_name == "OrderState":
        state.order = OrderView(id=sc.oid)
        state.tracking = "SF0000001"
    elif cls_name == "ProductState":
        state.detail = ProductDetail(id=sc.pid)
        state.plan = "full"
    elif cls_name == "MyRentalsState":
        state.tracking = "SF0000001"
    elif cls_name == "MerchantRentalsState":
        state.serial, state.reason, state.repair = {str(sc.rental): "SN-0001"}, "damaged", "10"
        state.edit_id, state.form_active = sc.listing, True
        state.form = {"name": "Phone", "description": "", "rent": "99", "terms": "6,12", "deposit": "500",
                      "buyout": "800", "damage_rules": "按维修价", "stock": "3"}
    elif cls_name == "RentListingState":
        from bnpl_app.services import rental

        tab.at(f"/rent/{sc.listing}")
        with world.tx() as s:
            listing = s.get(rental.RentalListing, sc.listing)
            state._shown = rental.offered(session=s, uid=sc.shopper, listing=listing, term=12).to_json()
        state._key, state.reviewing, state.term = "k" * 16, True, "12"
    elif cls_name == "CartState":
        state._lines = [_line(sc.pid, "full", world.terms(sc.pid).to_json(), SECRET)]


def _call(state, name: str, *args):
    handler = type(state).event_handlers[name]
    if handler.is_background:
        return run(background(state, name, *args))
    out = getattr(state, name)(*args)
    return run(out) if inspect.isawaitable(out) or hasattr(out, "__anext__") else out


def _callers(entry: Roles, sc: Scene) -> list[tuple[str, int | None]]:
    users = {SHOPPER: sc.shopper, MERCHANT: sc.merchant_user, OPERATOR: sc.operator}
    return [("visitor", None)] + [(role, uid) for role, uid in users.items() if role not in entry.roles]


def _shown(state) -> str:
    return json.dumps(state.dict(), default=str, ensure_ascii=False)


@pytest.mark.parametrize("key", GUARDED)
def test_guarded_handler_refuses_visitors_and_other_roles(key, tab, world, updir):
    entry = HANDLERS[key]
    sc = _scene(world)
    cls, name = FOUND[key]
    for who, uid in _callers(entry, sc):
        t = tab(uid)
        state = t.state(cls)
        _prepare(key, t, state, sc, world)
        t.said()
        before = snapshot(world.engine, skip=SKIP)
        _call(state, name, *_args(key, sc))
        kind, text = t.said()
        assert snapshot(world.engine, skip=SKIP) == before, f"{key} as {who} changed the database"
        assert kind != "success", f"{key} as {who} said {text!r}"
        if entry.says:
            assert kind == "error" and text, f"{key} as {who} was not told it is refused"
        leaked = [m for m in MARKERS if m in _shown(state)]
        assert not leaked, f"{key} as {who} showed {leaked}"


@pytest.mark.parametrize("key, uid_of", [
    ("BillsState.load", "shopper"), ("MerchantOrdersState.load", "merchant_user"),
    ("MerchantReturnsState.load", "merchant_user"), ("OpsShoppersState.search", "operator"),
])
def test_the_allowed_role_does_see_the_markers(key, uid_of, tab, world):
    """The control for the leak check above: the same call by the role allowed shows the records."""
    sc = _scene(world)
    cls, name = FOUND[key]
    t = tab(getattr(sc, uid_of))
    state = t.state(cls)
    _call(state, name, *_args(key, sc))
    assert any(m in _shown(state) for m in MARKERS)


# ── hostile JSON in every argument ──────────────────────────────────────────────────────────
# Never a valid argument of any handler: refused — nothing said but a refusal, nothing written.
HOSTILE = [2**63, 10**400, 1.5, float("nan"), float("inf"), -float("inf"), None, [], [1, 2], {}, {"id": 1},
           "²", "３", "٣", "1e3", "1_0", "+1", "0x1", "x" * 1_000_000, "1" * 1_000_000]
# Valid for some arguments (a step of -1, an "on" of True, an index of 0): only no traceback.
ODD = [-1, 0, True, False, "", "-0"]


def _params(cls, name: str) -> list[str]:
    fn = cls.event_handlers[name].fn
    return [p for p in inspect.signature(fn).parameters if p != "self"]


WITH_ARGS = sorted(k for k in APP if _params(*FOUND[k]) and not k.endswith(".setvar"))


def _caller(entry, sc: Scene) -> int:
    if isinstance(entry, Roles):
        return {SHOPPER: sc.shopper, MERCHANT: sc.merchant_user, OPERATOR: sc.operator}[entry.roles[0]]
    return sc.shopper


@pytest.mark.parametrize("key", WITH_ARGS)
def test_hostile_arguments_are_refused_without_a_traceback(key, tab, world, updir):
    sc = _scene(world)
    cls, name = FOUND[key]
    params = _params(cls, name)
    plausible = list(_args(key, sc)) or [1] * len(params)
    plausible += [1] * (len(params) - len(plausible))
    t = tab(_caller(HANDLERS[key], sc))
    state = t.state(cls)
    before = snapshot(world.engine, skip=SKIP)
    for i in range(len(params)):
        for bad in HOSTILE:
            args = list(plausible)
            args[i] = bad
            _survives(state, name, key, params[i], args)
            kind, text = t.said()
            assert kind != "success", f"{key}({params[i]}={str(bad)[:20]!r}) said {text!r}"
            assert len(text) < 2000, f"{key} echoed a hostile value back"
    assert snapshot(world.engine, skip=SKIP) == before, f"{key} with hostile arguments changed the database"
    for i in range(len(params)):
        for odd in ODD:
            args = list(plausible)
            args[i] = odd
            _survives(state, name, key, params[i], args)


def _survives(state, name, key, param, args):
    try:
        _call(state, name, *args)
    except Exception as exc:  # noqa: BLE001 — the failure names the handler and the value
        pytest.fail(f"{key}({param}=...{str(args)[:60]}) raised {type(exc).__name__}: {str(exc)[:200]}")


@pytest.mark.parametrize("bad", ["²", "３", "1" * 5000, -1, float("nan"), [7], {"a": 1}, None])
def test_form_fields_with_hostile_values_then_the_action_is_refused(bad, tab, world, updir):
    """The zero-argument actions read their forms: hostile values typed in (through the setters)
    are refused when the action runs."""
    sc = _scene(world)
    before = snapshot(world.engine, skip=SKIP)
    for key in FORM_ACTIONS:
        cls, name = FOUND[key]
        t = tab(_caller(HANDLERS[key], sc))
        state = t.state(cls)
        _prepare(key, t, state, sc, world)
        for setter in [n for n in cls.event_handlers if n.startswith("set_") and len(_params(cls, n)) == 1]:
            _survives(state, setter, f"{cls.__name__}.{setter}", "value", [bad])
        _survives(state, name, key, "form", list(_args(key, sc)))
        kind, text = t.said()
        assert kind != "success", f"{key} after {str(bad)[:20]!r} typed in said {text!r}"
    assert snapshot(world.engine, skip=SKIP) == before


# The actions that act on what was typed into their screen's fields (set_*) — numbers, amounts,
# choices. (A free-text reason such as the operator's rejection may well be "²": that is text.)
FORM_ACTIONS = ("WalletState.topup", "WalletState.add_card", "CreditState.save_cap", "CreditState.verify_identity",
                "CreditState.bind_phone", "CreditState.open_bnpl", "CreditState.submit_application",
                "BillsState.save_autopay", "OrderState.request_return", "MerchantProductsState.save_product",
                "MerchantReturnsState.reject", "OpsApplicationState.approve", "MerchantRentalsState.reject",
                "MyRentalsState.request_return")
