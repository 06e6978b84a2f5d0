"""The log-in flood and the lockout, against the production app's HTTP log-in endpoint: the
``POLICY.login_attempts_per_account``-th wrong password locks the account — the right password is
then refused too, told "try again in N minutes", and no session is made; an account name that does
not exist gets exactly the same answers (nobody learns which names exist); another account logs in
meanwhile; a cross-site POST is refused before any password is checked."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bnpl_app import routes
from bnpl_app.domain.clock import SystemClock
from bnpl_app.domain.policy import POLICY
from bnpl_app.services import auth

PASSWORD = "right-password-1"


def _account(engine) -> str:
    name = f"fl{uuid.uuid4().hex[:10]}"
    with Session(engine) as s:
        auth.register(session=s, username=name, password=PASSWORD, display_name="Flood", clock=SystemClock())
        s.commit()
    return name


def _sessions_of(engine, name: str) -> int:
    with engine.connect() as c:
        return c.execute(sa.text("SELECT count(*) FROM auth_sessions a JOIN users u ON u.id = a.user_id "
                                 "WHERE u.username = :n"), {"n": name}).scalar_one()


@pytest.fixture
def post(app_server):
    with httpx.Client(base_url=app_server, follow_redirects=False, timeout=30) as client:
        def go(username: str, password: str, origin: str | None = app_server) -> httpx.Response:
            headers = {"Origin": origin} if origin else {}
            return client.post(routes.AUTH_LOGIN, data={"username": username, "password": password}, headers=headers)
        yield go


def _outcome(r: httpx.Response) -> str:
    """Where a log-in answer sends the browser: home (logged in) or back to the form with its code."""
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_an_account_is_locked_after_its_wrong_passwords_and_the_right_one_is_refused_too(post, engine):
    name = _account(engine)
    minutes = int(POLICY.login_lock_first.total_seconds() // 60)
    for _ in range(POLICY.login_attempts_per_account - 1):
        r = post(name, "wrong-password")
        assert _outcome(r) == f"{routes.LOGIN}?e=bad" and "set-cookie" not in r.headers
    # the attempt that reaches the limit locks the account, and says for how long
    assert _outcome(post(name, "wrong-password")) == f"{routes.LOGIN}?e=throttled&n={minutes}"
    r = post(name, PASSWORD)
    assert _outcome(r) == f"{routes.LOGIN}?e=throttled&n={minutes}"
    assert "set-cookie" not in r.headers
    assert _sessions_of(engine, name) == 0


def test_a_name_that_does_not_exist_gets_the_same_answers(post, engine):
    real, ghost = _account(engine), f"nobody{uuid.uuid4().hex[:8]}"
    answers = {}
    for who in (real, ghost):
        answers[who] = [_outcome(post(who, "wrong-password")) for _ in range(POLICY.login_attempts_per_account + 1)]
    assert answers[real] == answers[ghost]
    assert answers[ghost][-1].startswith(f"{routes.LOGIN}?e=throttled")


def test_while_one_account_is_flooded_another_logs_in(post, engine):
    flooded, other = _account(engine), _account(engine)
    for _ in range(POLICY.login_attempts_per_account + 3):
        post(flooded, "wrong-password")
    r = post(other, PASSWORD)
    assert _outcome(r) == routes.HOME_OF_ROLE["shopper"]
    cookie = r.headers["set-cookie"]
    assert f"{auth.COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert _sessions_of(engine, other) == 1


def test_a_cross_site_log_in_post_is_refused_before_any_password_is_checked(post, engine):
    name = _account(engine)
    r = post(name, PASSWORD, origin="https://evil.example")
    assert r.status_code == 403 and "set-cookie" not in r.headers
    assert _sessions_of(engine, name) == 0
    assert _outcome(post(name, PASSWORD)) == routes.HOME_OF_ROLE["shopper"]  # not counted as a failure
