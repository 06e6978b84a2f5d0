"""A demo that is safe to expose, and a log-in that holds under a flood — driven as a hostile tab
drives it: the demo clock called by an anonymous visitor, and with demo mode off (the env var and
the runtime switch), is refused with nothing changed; "log in as" (the HTTP endpoint) never opens
the operator; wrong passwords lock the account name and the client address (unknown names alike)
before anything is hashed, a success resets the account, a lock lapses as the clock moves;
sign-ups are throttled per address. Log-in goes through the HTTP endpoints (``auth_api``); a
refusal is what the log-in page then says."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from helpers import background, run, sent, snapshot

from bnpl_app import routes, runtime
from bnpl_app.domain import throttle
from bnpl_app.domain.clock import UTC, FixedClock
from bnpl_app.domain.errors import Throttled
from bnpl_app.domain.policy import POLICY
from bnpl_app.jobs import seed
from bnpl_app.jobs.seed import DEMO_PASSWORD

SHOPPERS, SHOPS = list(seed.SHOPPERS), list(seed.SHOPS)
from bnpl_app.services import auth

REAL_DEMO_MODE = runtime.demo_mode  # before the ``tab`` fixture switches demo mode on
STEPS = ("1h", "1d", "7d", "next")
PER_ACCOUNT = POLICY.login_attempts_per_account


def _demo_accounts(world) -> dict[str, int]:
    """The demo's log-in-as accounts (one shopper, one shop) and its operator, with the demo password."""
    from bnpl_app.models import MERCHANT, OPERATOR, Merchant

    ids = {}
    with world.tx() as s:
        for name, role in ((SHOPPERS[0], "shopper"), (SHOPS[0], MERCHANT), ("ops", OPERATOR)):
            u = auth.register(session=s, username=name, password=DEMO_PASSWORD, display_name=name, clock=world.clock,
                              role=role)
            if role == MERCHANT:
                s.add(Merchant(user_id=u.id, name=name, shop_cap_fen=POLICY.default_shop_cap_fen))
            ids[name] = u.id
    return ids


def _from(t, address: str):
    """The tab's browser is at ``address`` (what its websocket's handshake and its log-in POST
    come from)."""
    from reflex.istate.data import RouterData, SessionData

    t.root.router = RouterData(session=SessionData(client_token=f"tab-{address}", client_ip=address),
                               headers=t.root.router.headers)
    return t


@pytest.fixture
def wall(monkeypatch) -> FixedClock:
    """The app's wall clock (sessions, throttling), standing still until advanced."""
    clock = FixedClock(datetime.now(UTC))
    monkeypatch.setattr(runtime, "WALL", clock)
    return clock


@pytest.fixture
def hashes(monkeypatch) -> list[str]:
    """Every password hashed or checked, in order (a throttled attempt must add nothing)."""
    seen: list[str] = []
    check, make = auth.check_password, auth.hash_password
    monkeypatch.setattr(auth, "check_password", lambda creds, pw: seen.append(pw) or check(creds, pw))
    monkeypatch.setattr(auth, "hash_password", lambda pw: seen.append(pw) or make(pw))
    return seen


LOGIN, DEMO, REGISTER = routes.AUTH_LOGIN, routes.AUTH_DEMO, routes.AUTH_REGISTER


@pytest.fixture
def post(tab):
    """``post(t, path, form)``: the form posted from tab ``t``, the answer followed."""
    return lambda t, path, form: t.submit(path, form)


def log_in(t, username: str, password: str):
    return t.submit(LOGIN, {"username": username, "password": password})


def throttled(t, wait: timedelta) -> bool:
    return t.said() == ("error", Throttled(throttle.minutes(wait)).text(t.sess.lang))


# ── the demo handlers ────────────────────────────────────────────────────────────────────────
def test_an_anonymous_visitor_cannot_move_the_demo_clock(world, tab):
    t = tab(None)
    start, before = world.clock.now(), snapshot(world.engine)
    for step in STEPS:
        run(background(t.sess, "advance", step))
        assert t.refused_with("login.clock_needs_login"), step
        assert t.sess.clock_busy is False
    assert world.clock.now() == start and snapshot(world.engine) == before


def test_a_forged_or_expired_session_cannot_move_the_demo_clock_either(world, tab):
    t = tab(None)
    t.cookie("forged-token-" + "x" * 30)
    start = world.clock.now()
    run(background(t.sess, "advance", "7d"))
    assert t.refused_with("login.clock_needs_login") and world.clock.now() == start


def test_a_logged_in_demo_user_moves_the_clock(world, tab):
    t = tab(world.shopper())
    start = world.clock.now()
    run(background(t.sess, "advance", "1d"))
    assert world.clock.now() == start + timedelta(days=1) and t.sess.toast_kind != "error"


def test_log_in_as_never_opens_the_operator(world, tab, post):
    from helpers import cookie_set

    _demo_accounts(world)
    for who in ({"username": "ops"}, {"username": "OPS"}, {"username": " ops"}, {"username": ""}, {},
                [("username", "ops"), ("username", SHOPPERS[0])], {"username": "ops", "password": DEMO_PASSWORD}):
        t = tab(None)
        before = snapshot(world.engine)
        response = post(t, DEMO, who)
        kind, said = t.said()
        assert cookie_set(response) == (None, []) and t.sess.role == "", who
        # sent back to the log-in page saying why (an empty POST, which no form sends: 400)
        assert (response.status_code, kind) in ((303, "error"), (400, "info")), who
        assert snapshot(world.engine) == before, who
    t = tab(None)
    post(t, DEMO, {"username": "ops"})
    assert t.refused_with("login.demo_ops_password")


def test_the_operator_still_logs_in_with_its_password_in_the_demo(world, tab):
    _demo_accounts(world)
    t = tab(None)
    response = log_in(t, "ops", DEMO_PASSWORD)
    assert response.headers["location"] == routes.OPS and t.sess.role == "operator"


def test_log_in_as_opens_a_demo_shopper_and_a_demo_shop(world, tab, post):
    _demo_accounts(world)
    for name, role in ((SHOPPERS[0], "shopper"), (SHOPS[0], "merchant")):
        t = tab(None)
        response = post(t, DEMO, {"username": name})
        assert (t.sess.username, t.sess.role) == (name, role)
        assert response.headers["location"] == routes.HOME_OF_ROLE[role]


@pytest.mark.parametrize("switch_off", ["env", "runtime"])
def test_with_demo_mode_off_no_demo_handler_acts(world, tab, monkeypatch, switch_off, post):
    ids = _demo_accounts(world)
    if switch_off == "env":
        monkeypatch.setattr(runtime, "demo_mode", REAL_DEMO_MODE)
        monkeypatch.setenv("BNPL_DEMO", "0")
    else:
        monkeypatch.setattr(runtime, "demo_mode", lambda: False)
    start, before = world.clock.now(), snapshot(world.engine)
    for uid in (None, ids[SHOPPERS[0]], ids["ops"]):  # a visitor, a shopper, the operator
        t = tab(uid)
        assert t.sess.demo is False
        for name in (SHOPPERS[0], SHOPS[0], "ops"):
            role = t.sess.role
            post(t, DEMO, {"username": name})
            assert t.refused_with("login.demo_off"), (uid, name)
            assert t.sess.role == role, (uid, name)  # nobody else is logged in
        for step in STEPS:
            run(background(t.sess, "advance", step))
            assert t.refused_with("demo_only"), (uid, step)
    assert world.clock.now() == start
    assert snapshot(world.engine, skip={"auth_sessions"}) == {k: v for k, v in before.items() if k != "auth_sessions"}
    with world.tx() as s:  # the only sessions are the two the test opened itself
        from bnpl_app.models import AuthSession
        from sqlmodel import select

        assert sorted(a.user_id for a in s.exec(select(AuthSession))) == sorted([ids[SHOPPERS[0]], ids["ops"]])


# ── the log-in throttle, through the handler ──────────────────────────────────────────────────
def test_wrong_passwords_then_the_right_one_is_refused_with_the_wait_told_and_not_hashed(world, tab, wall, hashes):
    world.shopper(name="amy")
    t = _from(tab(None), "10.1.0.1")
    for _ in range(PER_ACCOUNT - 1):
        assert log_in(t, "amy", "wrong-password").headers["location"] == "/login?e=bad"
        assert t.refused_with("auth.bad_credentials")
    assert log_in(t, "amy", "wrong-password").headers["location"].startswith("/login?e=throttled&n=")
    assert throttled(t, POLICY.login_lock_first)  # the attempt that reached the limit says so
    checked = len(hashes)
    before = snapshot(world.engine)
    assert "set-cookie" not in log_in(t, "amy", "password123").headers
    assert throttled(t, POLICY.login_lock_first) and t.sess.role == ""
    assert len(hashes) == checked and snapshot(world.engine) == before  # refused before any hash, nothing written
    t.sess.lang = "en"
    log_in(t, "amy", "password123")
    assert t.said()[1] == f"too many attempts, try again in {throttle.minutes(POLICY.login_lock_first)} minutes"


def test_an_unknown_username_is_throttled_the_same_way(world, tab, wall):
    world.shopper(name="amy")
    said = {}
    for name, address in (("amy", "10.1.0.2"), ("nobody_at_all", "10.1.0.3")):
        t = _from(tab(None), address)
        for _ in range(PER_ACCOUNT + 1):
            log_in(t, name, "wrong-password")
        said.setdefault(name, []).append(t.said())
        log_in(t, name, "password123")
        said[name].append(t.said())
    assert said["amy"] == said["nobody_at_all"] and said["amy"][0][0] == "error"


def test_the_count_is_per_account_across_addresses_and_per_address_across_accounts(world, tab, wall):
    world.shopper(name="amy")
    world.shopper(name="bea")
    for i in range(PER_ACCOUNT):  # one account, a new address for each guess
        log_in(_from(tab(None), f"10.2.0.{i}"), "amy", "wrong-password")
    t = _from(tab(None), "10.2.1.1")
    log_in(t, "amy", "password123")
    assert throttled(t, POLICY.login_lock_first)
    flood = _from(tab(None), "10.3.0.1")  # one address, a new name for each guess
    for i in range(POLICY.login_attempts_per_address):
        log_in(flood, f"guess_{i}", "wrong-password")
    other_tab_same_address = _from(tab(None), "10.3.0.1")
    log_in(other_tab_same_address, "bea", "password123")
    assert throttled(other_tab_same_address, POLICY.login_lock_first)
    elsewhere = _from(tab(None), "10.3.0.2")
    log_in(elsewhere, "bea", "password123")
    assert elsewhere.sess.role == "shopper"


def test_a_success_resets_the_account_count(world, tab, wall):
    world.shopper(name="amy")
    t = _from(tab(None), "10.4.0.1")
    for _ in range(PER_ACCOUNT - 1):
        log_in(t, "amy", "wrong-password")
    log_in(t, "amy", "password123")
    assert t.sess.role == "shopper"
    t2 = _from(tab(None), "10.4.0.1")
    for _ in range(PER_ACCOUNT - 1):
        log_in(t2, "amy", "wrong-password")
        assert t2.refused_with("auth.bad_credentials")  # a whole new set of attempts


def test_the_lock_lapses_as_the_clock_moves(world, tab, wall):
    world.shopper(name="amy")
    t = _from(tab(None), "10.5.0.1")
    for _ in range(PER_ACCOUNT):
        log_in(t, "amy", "wrong-password")
    t.said()
    wall.advance(POLICY.login_lock_first - timedelta(minutes=1))
    log_in(t, "amy", "password123")
    assert throttled(t, timedelta(minutes=1))
    world.clock.advance(timedelta(days=30))  # the demo clock does not lift a lock
    log_in(t, "amy", "password123")
    assert throttled(t, timedelta(minutes=1))
    wall.advance(timedelta(minutes=1))
    log_in(t, "amy", "password123")
    assert t.sess.role == "shopper" and t.sess.toast_kind != "error"


def test_sign_ups_are_throttled_per_address_before_hashing(world, tab, wall, hashes):
    from bnpl_app.models import User
    from sqlmodel import select

    for i in range(POLICY.signups_per_address):
        t = _from(tab(None), "10.6.0.1")
        t.submit(REGISTER, {"username": f"new_{i}", "password": "password123", "display_name": "N"})
        assert t.sess.role == "shopper", i
    t = _from(tab(None), "10.6.0.1")
    hashed, before = len(hashes), snapshot(world.engine)
    t.submit(REGISTER, {"username": "one_more", "password": "password123", "display_name": "N"})
    assert throttled(t, POLICY.login_lock_first) and t.sess.role == ""
    assert len(hashes) == hashed and snapshot(world.engine) == before
    t = _from(tab(None), "10.6.0.2")
    t.submit(REGISTER, {"username": "one_more", "password": "password123", "display_name": "N"})
    with world.tx() as s:
        assert s.exec(select(User).where(User.username == "one_more")).first() is not None
