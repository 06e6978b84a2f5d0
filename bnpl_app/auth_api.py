"""Log-in, sign-up, the demo's "log in as" and log-out: HTTP endpoints on the app's own backend,
the only code that sets or clears the session cookie.

The cookie (``auth.COOKIE``) is ``HttpOnly`` (no page script can read it), ``SameSite=Strict``,
``Path=/``, for ``POLICY.session_ttl``, and ``Secure`` when the request came over HTTPS — seen in
the request's scheme, or in ``X-Forwarded-Proto`` when ``BNPL_TRUST_PROXY=1`` says a proxy in front
terminates TLS. The browser sends it with the websocket's handshake, and every event handler
re-derives the acting user from the cookie of its own connection (``state/session.py``): a tab
token without the cookie acts as nobody.

The login and sign-up pages post their forms here natively (no script): success answers 303 to
the role's home page — a full page load, so the new socket's handshake carries the new cookie;
a refusal answers 303 back to the form's page with a short code (``?e=``, ``&n=`` minutes) that
the page's loader turns into the message (``OUTCOMES``), so nothing a visitor typed goes into
the URL. Every POST must come from one of the app's origins (``Origin`` header; a cross-site form
cannot log a visitor in or out), with a small urlencoded body. Mounted with
``rx.App(api_transformer=[…, auth_api.api, …])``: matched before Reflex's own routes."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from . import routes, runtime, signin
from .db import transaction
from .domain.errors import DomainError, Throttled
from .domain.policy import POLICY
from .jobs.seed import DEMO_PASSWORD
from .services import auth
from .signin import DEMO_USERS

log = logging.getLogger("bnpl.auth")
BODY_LIMIT = 4096  # a log-in or sign-up form is a few hundred bytes

# What a refused form is sent back with (``?e=<code>``): the code → the words key its page says.
# Only these codes are ever shown; ``n`` is the minutes of a lock.
OUTCOMES = {
    "bad": "auth.bad_credentials",
    "throttled": "login.throttled",
    "demo_off": "login.demo_off",
    "demo_ops": "login.demo_ops_password",
    "not_demo": "auth.role_required",
    "bad_username": "auth.bad_username",
    "weak": "auth.weak_password",
    "taken": "auth.username_taken",
    "expired": "auth.session_expired",
}
_CODE_OF = {key: code for code, key in OUTCOMES.items()} | {"login.throttled_1": "throttled"}


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def is_https(request: Request) -> bool:
    """Whether the browser talks HTTPS to us: the scheme of the request, or, behind a proxy the
    operator vouches for (``BNPL_TRUST_PROXY=1``), the first ``X-Forwarded-Proto`` it sends."""
    if request.url.scheme == "https":
        return True
    if runtime.trust_proxy():
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def client_address(request: Request) -> str:
    """The client's address as Reflex sees a websocket's (``X-Forwarded-For`` believed only
    through ``trusted_proxy_hops`` proxies): what log-in and sign-up are throttled by."""
    from reflex.config import get_config

    address = request.client.host if request.client else ""
    hops = get_config().trusted_proxy_hops
    if hops:
        forwarded = [ip.strip() for ip in request.headers.get("x-forwarded-for", "").split(",") if ip.strip()]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    return address


def allowed_origins(request: Request) -> set[str]:
    """The app's own origin (as the browser sees it) and the configured ones (``BNPL_ORIGINS``)."""
    from reflex.config import get_config

    own = f"{'https' if is_https(request) else request.url.scheme}://{request.headers.get('host', '')}"
    return {own, *(o.rstrip("/") for o in get_config().cors_allowed_origins if o != "*")}


def same_origin(request: Request) -> bool:
    """A POST from one of the app's pages: its ``Origin`` is one of ours. Browsers send it with
    every form POST; a request without one is taken as same-site only if ``Sec-Fetch-Site`` says so."""
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site") == "same-origin"
    return origin.rstrip("/") in allowed_origins(request)


async def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded body's fields (first value of each), or None when it is too big or not a form."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > BODY_LIMIT:
            return None
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return None
    return {k: v[0] for k, v in fields.items() if v}


def _back(path: str, err: DomainError | None = None, code: str = "") -> Response:
    """303 back to the form's page, saying ``err`` (or ``code``) there."""
    code = code or (_CODE_OF.get(err.key, "bad") if err is not None else "")
    query = {"e": code} if code else {}
    if isinstance(err, Throttled):
        query["n"] = str(err.minutes)
    return _see(path + (("?" + urlencode(query)) if query else ""))


def _see(location: str) -> Response:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def _set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(auth.COOKIE, token, max_age=int(POLICY.session_ttl.total_seconds()), path="/",
                        httponly=True, samesite="strict", secure=is_https(request))


def _clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(auth.COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(request))


def _refused(status: int, text: str) -> Response:
    return PlainTextResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


async def _guarded(request: Request) -> tuple[dict[str, str] | None, Response | None]:
    if not same_origin(request):
        log.warning("auth POST refused: origin %r not allowed", request.headers.get("origin", "")[:200])
        return None, _refused(403, "Forbidden: not from this site")
    form = await _form(request)
    if form is None:
        return None, _refused(413 if int(request.headers.get("content-length") or 0) > BODY_LIMIT else 400,
                              "Bad request: a small urlencoded form is expected")
    return form, None


def _held(request: Request) -> str | None:
    return auth.token_from_cookies(request.headers.get("cookie"))


async def _logged_in(request: Request, form_page: str, attempt) -> Response:
    """Run a log-in ``attempt(address, user_agent, replacing)``: 303 home with the new cookie, or
    303 back to ``form_page`` saying why."""
    try:
        token, who = await attempt(client_address(request), request.headers.get("user-agent"), _held(request))
    except Throttled as err:
        # A locked account or address is answered only after a pause (a tarpit): a flood that
        # waits for each answer is slowed to one attempt per pause per connection, so it cannot
        # keep the one event loop busy with refusals. The pause holds a timer, not the loop.
        await asyncio.sleep(POLICY.login_refusal_pause.total_seconds())
        return _back(form_page, err)
    except DomainError as err:
        return _back(form_page, err)
    response = _see(routes.HOME_OF_ROLE.get(who.role, routes.INDEX))
    _set_cookie(response, request, token)
    return response


async def login(request: Request) -> Response:
    form, refused = await _guarded(request)
    if refused is not None:
        return refused
    username, password = form.get("username", "")[:40], form.get("password", "")[:200]
    return await _logged_in(request, routes.LOGIN, lambda address, agent, held: signin.log_in(
        username, password, address=address, user_agent=agent, replacing=held))


async def demo(request: Request) -> Response:
    """Demo mode only: one click logs in a demo shopper or shop (never the operator)."""
    form, refused = await _guarded(request)
    if refused is not None:
        return refused
    username = form.get("username", "")
    if not runtime.demo_mode():
        return _back(routes.LOGIN, code="demo_off")
    if username not in DEMO_USERS:
        return _back(routes.LOGIN, code="demo_ops" if username == "ops" else "not_demo")
    return await _logged_in(request, routes.LOGIN, lambda address, agent, held: signin.log_in(
        username, DEMO_PASSWORD, address=address, user_agent=agent, replacing=held))


async def register(request: Request) -> Response:
    form, refused = await _guarded(request)
    if refused is not None:
        return refused
    username, password = form.get("username", "")[:40], form.get("password", "")[:200]
    display_name = form.get("display_name", "")[:60]
    return await _logged_in(request, routes.REGISTER, lambda address, agent, held: signin.sign_up(
        username, password, display_name, address=address, user_agent=agent, replacing=held))


def _end(token: str | None) -> None:
    with transaction(runtime.engine()) as s:
        auth.logout(session=s, token=token, clock=runtime.WALL)


async def logout(request: Request) -> Response:
    """Ends the session of the cookie presented, clears the cookie, 303 to the log-in page."""
    if not same_origin(request):
        return _refused(403, "Forbidden: not from this site")
    if (token := _held(request)) is not None:
        await asyncio.to_thread(_end, token)
    response = _see(routes.LOGIN)
    _clear_cookie(response, request)
    return response


api = Starlette(routes=[
    Route(routes.AUTH_LOGIN, login, methods=["POST"]),
    Route(routes.AUTH_DEMO, demo, methods=["POST"]),
    Route(routes.AUTH_REGISTER, register, methods=["POST"]),
    Route(routes.AUTH_LOGOUT, logout, methods=["POST"]),
])
