"""Sessions bound to an HttpOnly cookie (issue #11): the services (idle expiry and the once-a-minute
touch, rotation on log-in, the list of a user's sessions, ending the others, the password change
ending them too), the cookie's parsing, and the HTTP endpoints that alone set and clear the
cookie (its flags, Secure behind a proxy only when trusted, the origin check, the body bound, a
refused log-in leaving no session). Every refusal: a typed error or a plain HTTP refusal, and
nothing changed in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from helpers import cookie_set, post_auth, refused, snapshot
from sqlmodel import select

from bnpl_app import routes, runtime
from bnpl_app.domain.errors import AuthError, ValidationError
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import AuthSession, User
from bnpl_app.services import auth
from bnpl_app.views.sessions import device_name

PASSWORD = "password123"  # what the factories give every user


def _user(world, name="sam") -> int:
    return world.shopper(name=name)


def _start(world, uid, **kw) -> str:
    with world.tx() as s:
        return auth.start_session(session=s, user=s.get(User, uid), clock=world.clock, **kw)


def _resolve(world, token):
    with world.tx() as s:
        return auth.resolve(session=s, token=token, clock=world.clock)


def _rows(world):
    with world.tx() as s:
        return {r.id: r for r in s.exec(select(AuthSession))}


# ── idle expiry and the touch ──────────────────────────────────────────────────────────────
def test_a_session_unused_for_the_idle_timeout_ends(world):
    token = _start(world, _user(world))
    world.clock.advance(POLICY.session_idle - timedelta(seconds=1))
    assert _resolve(world, token).username == "sam"
    world.clock.advance(timedelta(seconds=1))
    assert refused(world, AuthError, lambda s: auth.resolve(session=s, token=token, clock=world.clock)).key == \
        "auth.session_expired"


def test_a_used_session_is_touched_at_most_once_a_minute_and_lives_on(world):
    token = _start(world, _user(world))
    who = _resolve(world, token)
    assert who.touch_due is False  # just started
    with world.tx() as s:
        assert auth.touch(session=s, session_id=who.session_id, clock=world.clock) is False  # nothing to write
    world.clock.advance(POLICY.session_touch_every)
    who = _resolve(world, token)
    assert who.touch_due is True
    with world.tx() as s:
        assert auth.touch(session=s, session_id=who.session_id, clock=world.clock) is True
        assert auth.touch(session=s, session_id=who.session_id, clock=world.clock) is False  # a replay: once
    assert _rows(world)[who.session_id].last_seen_at == world.clock.now()
    world.clock.advance(POLICY.session_idle - timedelta(seconds=1))  # idle counts from the touch
    assert _resolve(world, token).username == "sam"


def test_an_ended_or_idle_session_is_never_touched_back_to_life(world):
    uid = _user(world)
    ended, idle = _start(world, uid), _start(world, uid)
    ids = {_resolve(world, t).session_id: t for t in (ended, idle)}
    with world.tx() as s:
        auth.logout(session=s, token=ended, clock=world.clock)
    world.clock.advance(POLICY.session_idle)
    before = snapshot(world.engine)
    with world.tx() as s:
        for sid in ids:
            assert auth.touch(session=s, session_id=sid, clock=world.clock) is False
    assert snapshot(world.engine) == before


# ── rotation, the list, ending the others ────────────────────────────────────────────────────
def test_every_log_in_starts_a_new_session_and_ends_the_one_the_browser_held(world):
    uid = _user(world)
    old = _start(world, uid)
    with world.tx() as s:
        new, who = auth.finish_login(session=s, user_id=uid, password=PASSWORD, clock=world.clock, replacing=old,
                                     address="10.0.0.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120")
    assert new != old and who.user_id == uid
    refused(world, AuthError, lambda s: auth.resolve(session=s, token=old, clock=world.clock))
    row = _rows(world)[_resolve(world, new).session_id]
    assert (row.address, row.user_agent, row.last_seen_at) == ("10.0.0.7", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120",
                                                               world.clock.now())


def test_a_user_sees_their_live_sessions_this_one_first_and_nobody_elses(world):
    uid, other = _user(world), _user(world, "tom")
    older = _start(world, uid, address="10.0.0.1", user_agent="Firefox/121 (Windows)")
    world.clock.advance(timedelta(minutes=5))
    here = _start(world, uid, address="10.0.0.2")
    ended = _start(world, uid)
    _start(world, other)
    with world.tx() as s:
        auth.logout(session=s, token=ended, clock=world.clock)
        rows = auth.active_sessions(session=s, user_id=uid, token=here, clock=world.clock)
    assert [(r.current, r.address) for r in rows] == [(True, "10.0.0.2"), (False, "10.0.0.1")]
    assert older not in repr(rows) and all(r.id != _resolve(world, older).session_id or not r.current for r in rows)
    world.clock.advance(POLICY.session_idle - timedelta(minutes=1))  # the older one went idle
    with world.tx() as s:
        assert [r.address for r in auth.active_sessions(session=s, user_id=uid, token=here, clock=world.clock)] == \
            ["10.0.0.2"]


def test_ending_the_other_sessions_keeps_only_this_one(world):
    uid, other = _user(world), _user(world, "tom")
    here, there, elsewhere = _start(world, uid), _start(world, uid), _start(world, uid)
    theirs = _start(world, other)
    with world.tx() as s:
        assert auth.end_other_sessions(session=s, user_id=uid, token=here, clock=world.clock) == 2
    assert _resolve(world, here).user_id == uid and _resolve(world, theirs).user_id == other
    for token in (there, elsewhere):
        refused(world, AuthError, lambda s, token=token: auth.resolve(session=s, token=token, clock=world.clock))
    with world.tx() as s:  # again: nothing left to end
        assert auth.end_other_sessions(session=s, user_id=uid, token=here, clock=world.clock) == 0


# ── the password change ─────────────────────────────────────────────────────────────────────
def test_a_password_change_replaces_the_hash_and_ends_every_other_session(world):
    uid = _user(world)
    here, there = _start(world, uid), _start(world, uid)
    with world.tx() as s:
        old_hash = s.get(User, uid).password_hash
    new_hash = auth.hash_password("a-new-password")
    with world.tx() as s:
        assert auth.change_password(session=s, user_id=uid, old_hash=old_hash, new_hash=new_hash, token=here,
                                    clock=world.clock) == 1
    refused(world, AuthError, lambda s: auth.resolve(session=s, token=there, clock=world.clock))
    assert _resolve(world, here).user_id == uid
    with world.tx() as s:
        assert auth.login(session=s, username="sam", password="a-new-password", clock=world.clock)[1].user_id == uid
    refused(world, AuthError, lambda s: auth.login(session=s, username="sam", password=PASSWORD, clock=world.clock))


def test_of_two_changes_from_the_same_password_only_one_wins(world):
    uid = _user(world)
    here, there = _start(world, uid), _start(world, uid)
    with world.tx() as s:
        old_hash = s.get(User, uid).password_hash
    with world.tx() as s:
        auth.change_password(session=s, user_id=uid, old_hash=old_hash, new_hash=auth.hash_password("first-one-1"),
                             token=here, clock=world.clock)
    before = snapshot(world.engine)
    err = refused(world, ValidationError, lambda s: auth.change_password(
        session=s, user_id=uid, old_hash=old_hash, new_hash=auth.hash_password("second-one-2"), token=there,
        clock=world.clock))
    assert err.key == "sessions.password_changed_meanwhile" and err.text("zh") and err.text("en")
    assert snapshot(world.engine) == before


@pytest.mark.parametrize("bad", ["short", "", None, 12345678, "x" * 201])
def test_a_new_password_is_checked_before_anything_is_hashed(bad):
    with pytest.raises(ValidationError) as err:
        auth.validate_password(bad)
    assert err.value.key == "auth.weak_password"


# ── the cookie ──────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("header, token", [
    ("bnpl_session=abc", "abc"),
    ("a=1; bnpl_session=abc; b=2", "abc"),
    ("bnpl_lang=en;bnpl_session=abc", "abc"),
    ("bnpl_session=", None),
    ("xbnpl_session=abc", None),
    ("bnpl_session=abc; bnpl_session=def", None),  # two: one was planted, which cannot be told
    ("", None), (None, None), (12, None),
])
def test_the_session_token_is_read_from_the_cookie_header(header, token):
    assert auth.token_from_cookies(header) == token


def test_a_device_is_named_from_its_user_agent():
    assert device_name("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120 "
                       "Safari/537.36", "en") == "Chrome · Linux"
    assert device_name("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1", "en") == "Safari · iOS"
    assert device_name("Mozilla/5.0 (Windows NT 10.0) Chrome/120 Safari/537.36 Edg/120", "en") == "Edge · Windows"
    assert device_name("", "en") == "Unknown browser" and device_name("", "zh") == "未知浏览器"


# ── the HTTP endpoints ──────────────────────────────────────────────────────────────────────
@pytest.fixture
def app_db(world, monkeypatch):
    monkeypatch.setattr(runtime, "engine", lambda: world.engine)
    monkeypatch.setattr(runtime, "clock", lambda: world.clock)
    monkeypatch.setattr(runtime, "WALL", world.clock)
    monkeypatch.setattr(runtime, "demo_mode", lambda: True)
    return world


def _login(**kw):
    return post_auth(routes.AUTH_LOGIN, {"username": "sam", "password": PASSWORD}, **kw)


def test_log_in_sets_an_httponly_strict_cookie_and_sends_the_browser_home(app_db):
    uid = _user(app_db)
    response = _login()
    token, attrs = cookie_set(response)
    assert (response.status_code, response.headers["location"]) == (303, routes.INDEX)
    assert token and "httponly" in attrs and "samesite=strict" in attrs and "path=/" in attrs
    assert f"max-age={int(POLICY.session_ttl.total_seconds())}" in attrs and "secure" not in attrs
    assert response.headers["cache-control"] == "no-store"
    assert _resolve(app_db, token).user_id == uid


def test_the_cookie_is_secure_over_https_and_behind_a_proxy_only_when_trusted(app_db, monkeypatch):
    _user(app_db)
    proxied = {"x-forwarded-proto": "https"}
    assert "secure" not in cookie_set(_login(headers=proxied))[1]  # anybody can send that header
    monkeypatch.setenv("BNPL_TRUST_PROXY", "1")
    assert "secure" in cookie_set(_login(headers=proxied, origin="https://testserver"))[1]
    assert "secure" not in cookie_set(_login())[1]


def test_a_locked_account_is_answered_only_after_the_pause_and_a_wrong_password_at_once(app_db, monkeypatch):
    """The tarpit: "too many attempts" waits ``POLICY.login_refusal_pause`` (an awaited timer, not
    the loop) so a flood that waits for its answers is slowed to one attempt per pause."""
    from bnpl_app import auth_api

    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
    monkeypatch.setattr(auth_api.asyncio, "sleep", pause)
    _user(app_db)
    for _ in range(POLICY.login_attempts_per_account - 1):
        assert _login_as("sam", "wrong-password").headers["location"] == f"{routes.LOGIN}?e=bad"
    assert pauses == []
    assert _login_as("sam", "wrong-password").headers["location"].startswith(f"{routes.LOGIN}?e=throttled")
    assert _login_as("sam", PASSWORD).headers["location"].startswith(f"{routes.LOGIN}?e=throttled")
    assert pauses == [POLICY.login_refusal_pause.total_seconds()] * 2


def _login_as(username: str, password: str):
    return post_auth(routes.AUTH_LOGIN, {"username": username, "password": password})


def test_a_log_in_rotates_the_session_the_browser_held(app_db):
    uid = _user(app_db)
    first, _ = cookie_set(_login())
    second, _ = cookie_set(_login(cookie=first))
    assert second and second != first
    refused(app_db, AuthError, lambda s: auth.resolve(session=s, token=first, clock=app_db.clock))
    assert _resolve(app_db, second).user_id == uid


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://testserver.evil.example"])
def test_a_log_in_or_out_posted_from_another_site_is_refused(app_db, origin):
    _user(app_db)
    token = _start(app_db, app_db.shopper(name="una"))
    before = snapshot(app_db.engine)
    for path in (routes.AUTH_LOGIN, routes.AUTH_DEMO, routes.AUTH_REGISTER, routes.AUTH_LOGOUT):
        response = post_auth(path, {"username": "sam", "password": PASSWORD}, origin=origin, cookie=token)
        assert response.status_code == 403 and cookie_set(response) == (None, []), path
    assert snapshot(app_db.engine) == before
    assert _resolve(app_db, token).username == "una"


def test_a_post_with_no_origin_is_taken_only_when_the_browser_says_same_origin(app_db):
    _user(app_db)
    assert _login(origin=None).status_code == 403
    assert cookie_set(_login(origin=None, headers={"sec-fetch-site": "same-origin"}))[0]


def test_an_oversize_or_non_form_body_is_refused_and_counts_nothing(app_db):
    _user(app_db)
    before = snapshot(app_db.engine)
    big = post_auth(routes.AUTH_LOGIN, {"username": "sam", "password": "x" * 5000})
    assert big.status_code == 413
    as_json = post_auth(routes.AUTH_LOGIN, {"username": "sam", "password": PASSWORD},
                        headers={"content-type": "application/json"})
    assert as_json.status_code == 400 and cookie_set(as_json) == (None, [])
    assert snapshot(app_db.engine) == before


def test_a_refused_log_in_sets_no_cookie_and_says_why_on_the_log_in_page(app_db):
    _user(app_db)
    response = post_auth(routes.AUTH_LOGIN, {"username": "sam", "password": "wrong-password"})
    assert (response.status_code, response.headers["location"]) == (303, routes.LOGIN + "?e=bad")
    assert cookie_set(response) == (None, [])
    with app_db.tx() as s:
        assert s.exec(select(AuthSession)).all() == []


def test_log_out_ends_the_session_and_clears_the_cookie(app_db):
    token = _start(app_db, _user(app_db))
    response = post_auth(routes.AUTH_LOGOUT, {}, cookie=token)
    value, attrs = cookie_set(response)
    assert (response.status_code, response.headers["location"]) == (303, routes.LOGIN)
    assert value == "" and "max-age=0" in attrs and "httponly" in attrs
    refused(app_db, AuthError, lambda s: auth.resolve(session=s, token=token, clock=app_db.clock))


def test_sign_up_logs_the_new_shopper_in_with_the_cookie(app_db):
    response = post_auth(routes.AUTH_REGISTER, {"username": "newbie", "password": "password123", "display_name": "N"})
    token, attrs = cookie_set(response)
    assert response.headers["location"] == routes.INDEX and "httponly" in attrs
    assert _resolve(app_db, token).username == "newbie"
    again = post_auth(routes.AUTH_REGISTER, {"username": "newbie", "password": "password123"}, address="10.9.0.2")
    assert again.headers["location"] == routes.REGISTER + "?e=taken" and cookie_set(again) == (None, [])
