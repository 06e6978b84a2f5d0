"""A headless Reflex 0.10 tab: speaks the app's own websocket protocol, so a load test can drive
hundreds of "browser tabs" from one process without a browser.

API (everything else is private)::

    from bench.reflex_client import ReflexClient, BuildInfo, event_name, EventError

    build = BuildInfo.from_web_dir(app_dir / ".web")   # optional, from a built frontend: client
                                                       # storage names, state hashes, routes, and
                                                       # the periodic events each page fires
    async with ReflexClient("http://127.0.0.1:3000", build=build) as tab:   # a fresh token
        await tab.open("/login")                  # connect + hydrate + the page's on_load; seconds
        r = await tab.log_in("u", "p")            # the form POSTed to /auth/login (HttpOnly cookie
        r.seconds, r.redirect                     # kept), then the page it answered with loaded anew
        await tab.post_form("/auth/logout", {})   # any form: (status, Location); the cookie follows
        await tab.navigate("/product/3")          # an in-app link: on_load, until hydrated; seconds
        r = await tab.call(event_name(ProductState, "choose_plan"), {"plan": "3"},
                           until=tab.changed(ProductState, "plan"))
        tab.get(SessionState, "toast_kind")       # the tab's copy of a var (merged deltas; a var
                                                  # still at its compiled default may be absent)
        await tab.send(name, payload)             # emit and do not wait (a flood, hostile frames)
        stop = tab.listen(seen.append)            # every update from now on, until stop()

``event_name(StateClass, "handler")`` builds the wire name (``reflex___state____state.<substate
path>.<handler>``) from the state class and checks the handler exists, so a renamed handler fails
loudly instead of timing out. ``call`` raises ``EventError`` on a backend exception (the default
"An error occurred." toast), on ``fail(update)`` returning true, on a lost connection, or when
nothing completes it within ``timeout``.

The protocol (reflex 0.10.1: ``reflex/app.py`` EventNamespace, ``.web/utils/state.js``):

* socket.io (engine.io v4, websocket transport only) at ``<base>/_event``, namespace ``/_event``,
  query ``?token=<uuid4>`` (the tab's identity), an ``Origin`` header the app allows;
* the CONNECT packet's auth carries the boot event ``<root>.hydrate_and_load`` (payload: the
  browser-storage vars and the compiled state hashes) and ``state_schema``; the backend answers
  with deltas, runs the page's on_load chain server-side and ends it with a delta setting
  ``<root>.is_hydrated_rx_state_`` to true: that is when the page is "loaded";
* every event is ``emit("event", {name, payload, router_data: {pathname, asPath, query}})``;
  the server answers ``"event"`` messages ``{delta: {substate: {var_rx_state_: value}}, events:
  [...]}``; frontend events (``_redirect``, ``_call_function``…) come in ``events``;
* an in-app navigation sends ``<root>.reflex___state____update_vars_internal_state.
  update_vars_internal`` (browser-storage vars, if any) then ``<root>.reflex___state____on_load_
  internal_state.on_load_internal`` with the new router_data, and waits for ``is_hydrated``.

There is no end-of-event message in 0.10.1 (``StateUpdate.final`` is deprecated and not sent; an
event that changes nothing sends nothing), so ``call`` finishes on what the caller says the event
does: ``until(update)`` true for an update, or, with ``redirect=True``, the redirect it sends
followed and the next page hydrated. Without either, the first update after the emit ends it.

Log-in is HTTP, as in the browser: ``log_in`` POSTs the form to the app's endpoint, keeps the
session cookie it sets (``tab.cookie``; HttpOnly, so never a var) and reconnects on the page the
answer names — a new socket whose handshake carries the cookie (``Cookie`` header), as a full page
load does; the tab token stays (``sessionStorage`` in a browser).

Like the browser, a tab follows every ``_redirect`` it receives, keeps the cookie / localStorage
vars the build declares (``BuildInfo.storage``) and sends them on (re)hydration, and, with
``periodic=True``, fires the page's interval events (``rx.moment(interval=…, on_change=…)``) as
the compiled page would. All traffic goes to ``base_url``; nothing here loops unbounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import random
import re
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import socketio

__all__ = ["BuildInfo", "EventError", "ReflexClient", "Result", "event_name", "var_name"]

ROOT_STATE = "reflex___state____state"
SUFFIX = "_rx_state_"  # the frontend's name of a var: <var>_rx_state_
HYDRATED = "is_hydrated" + SUFFIX
ON_LOAD = f"{ROOT_STATE}.reflex___state____on_load_internal_state.on_load_internal"
UPDATE_VARS = f"{ROOT_STATE}.reflex___state____update_vars_internal_state.update_vars_internal"
NAMESPACE = "/_event"
SESSION_COOKIE = "bnpl_session"  # the app's HttpOnly session cookie (set by its /auth/ endpoints)


@functools.lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """The TLS context every form POST of this process uses (built once)."""
    return ssl.create_default_context()


def _full_name(state: Any) -> str:
    return state if isinstance(state, str) else state.get_full_name()


def event_name(state: Any, handler: str) -> str:
    """The wire name of ``state.handler``; KeyError if the state class has no such handler."""
    if not isinstance(state, str):
        handlers = getattr(state, "event_handlers", {})
        if handler not in handlers:
            raise KeyError(f"{state.__name__} has no event handler {handler!r} (renamed?)")
    return f"{_full_name(state)}.{handler}"


def var_name(var: str) -> str:
    return var if var.endswith(SUFFIX) else var + SUFFIX


class EventError(Exception):
    """An event that failed: backend exception, refusal (``fail``), lost socket or timeout."""


@dataclass
class Result:
    seconds: float  # emit → completion
    updates: list[dict] = field(default_factory=list)  # what arrived meanwhile, in order
    redirect: str | None = None  # the path a followed redirect led to


# ── what a built frontend tells ─────────────────────────────────────────────────────────────────
def _route_of(filename: str) -> str:
    """``[product].$[pid]._index.jsx`` → ``/product/[pid]``; ``_index.jsx`` → ``/``."""
    stem = filename.removesuffix(".jsx").removesuffix(".js").removesuffix("._index").removesuffix("_index")
    parts = []
    for part in filter(None, stem.split(".")):
        m = re.fullmatch(r"\$?\[([^\]]+)\]", part)
        if not m:
            return ""
        parts.append(f"[{m.group(1)}]" if part.startswith("$") else m.group(1))
    return "/" + "/".join(parts)


@dataclass
class BuildInfo:
    """Facts read from a built ``.web`` dir (all optional: a client works without them)."""

    storage: dict[str, str] = field(default_factory=dict)  # full var name → "cookie" | "local" | "session"
    hashes: list[str] | None = None  # initialStateHashes, sent on the first hydrate
    state_schema: str | None = None
    routes: list[str] = field(default_factory=list)  # "/product/[pid]", …
    # route → [(event name, payload argument names, interval seconds)]
    periodic: dict[str, list[tuple[str, tuple[str, ...], float]]] = field(default_factory=dict)

    @classmethod
    def from_web_dir(cls, web: str | Path) -> BuildInfo:
        web = Path(web)
        info = cls()
        context = (web / "utils" / "context.jsx")
        if not context.exists():
            context = web / "utils" / "context.js"
        text = context.read_text(encoding="utf-8") if context.exists() else ""
        if m := re.search(r"export const clientStorage = (\{.*?\})\s*$", text, re.M):
            storage = json.loads(m.group(1))
            for kind, key in (("cookie", "cookies"), ("local", "local_storage"), ("session", "session_storage")):
                for name in storage.get(key) or {}:
                    info.storage[name] = kind
        if m := re.search(r"export const initialStateHashes = (\[.*?\])\s*$", text, re.M):
            info.hashes = json.loads(m.group(1))
        if m := re.search(r'export const stateSchema = "([^"]*)"', text):
            info.state_schema = m.group(1)

        # Interval components (rx.moment(interval=…, on_change=…)) by memo component name.
        timers: dict[str, list[tuple[str, tuple[str, ...], float]]] = {}
        for src in sorted((web / "app_components").rglob("*.js*")) if (web / "app_components").exists() else []:
            body = src.read_text(encoding="utf-8", errors="replace")
            for block in re.split(r"(?m)^export const ", body):
                name = block.split(" ", 1)[0]
                iv = re.search(r"\binterval:(\d+(?:\.\d+)?)", block)
                if not iv or "onChange" not in block:
                    continue
                for ev in re.finditer(r'ReflexEvent\("([^"]+)", \(\{([^)]*)\}\)', block):
                    args = tuple(re.findall(r'\["([^"]+)"\]', ev.group(2)))
                    timers.setdefault(name, []).append((ev.group(1), args, float(iv.group(1)) / 1000))
        routes_dir = web / "app" / "routes"
        for src in sorted(routes_dir.glob("*.js*")) if routes_dir.exists() else []:
            route = _route_of(src.name)
            if not route or route == "/404":
                continue
            info.routes.append(route)
            body = src.read_text(encoding="utf-8", errors="replace")
            found = [t for comp, ts in timers.items() if re.search(rf"\b{re.escape(comp)}\b", body) for t in ts]
            if found:
                info.periodic[route] = sorted(set(found))
        return info

    def match(self, path: str) -> tuple[str, dict[str, str]]:
        """The route pattern for a concrete path and its params (``/product/3`` → ``/product/[pid]``)."""
        segs = [s for s in path.split("/") if s]
        for route in self.routes:
            rsegs = [s for s in route.split("/") if s]
            if len(rsegs) != len(segs):
                continue
            params = {}
            for r, s in zip(rsegs, segs):
                if r.startswith("[") and r.endswith("]"):
                    params[r[1:-1]] = s
                elif r != s:
                    break
            else:
                return route, params
        return path, {}


# ── the tab ─────────────────────────────────────────────────────────────────────────────────────
class _Waiter:
    __slots__ = ("done", "fail", "future", "updates")

    def __init__(self, done: Callable[[dict], bool] | None, fail: Callable[[dict], bool] | None):
        self.done, self.fail = done, fail
        self.future: asyncio.Future = asyncio.get_running_loop().create_future()
        # A failed wait nobody awaits any more (a tab closing) must not log "never retrieved".
        self.future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.updates: list[dict] = []


def _backend_error(update: dict) -> str | None:
    """Reflex's default backend exception handler sends a toast event 'An error occurred.'"""
    for ev in update.get("events") or ():
        if str(ev.get("name", "")).startswith("_"):
            blob = json.dumps(ev.get("payload"), ensure_ascii=False, default=str)
            if "backend_error" in blob or "An error occurred" in blob:
                return blob[:300]
    return None


class ReflexClient:
    """One tab. ``async with`` closes it; ``open`` connects (one socket per tab, as a browser)."""

    def __init__(self, base_url: str, *, build: BuildInfo | None = None, token: str | None = None,
                 periodic: bool = False, timeout: float = 30.0, origin: str | None = None,
                 storage: dict[str, Any] | None = None, cookie: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.cookie = cookie  # the session cookie's value (None: the tab's browser holds none)
        self.build = build or BuildInfo()
        self.token = token or str(uuid.uuid4())
        self.periodic = periodic
        self.timeout = timeout
        self.origin = origin or self.base_url
        self.path = "/"
        self.state: dict[str, dict[str, Any]] = {}  # substate → var_rx_state_ → value
        self.storage: dict[str, Any] = dict(storage or {})  # browser storage vars (full names)
        self.received = 0  # updates
        self.backend_errors: list[str] = []
        self.closed = False
        self._reloading = False
        self._waiters: list[_Waiter] = []
        self._listeners: list[Callable[[dict], Any]] = []
        self._timers: list[asyncio.Task] = []
        self._tasks: set[asyncio.Task] = set()
        self._sio = self._socket()

    def _socket(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        sio.on("event", self._on_event, namespace=NAMESPACE)
        sio.on("new_token", self._on_new_token, namespace=NAMESPACE)
        sio.on("state_mismatch", self._on_mismatch, namespace=NAMESPACE)
        sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        return sio

    async def __aenter__(self) -> ReflexClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ── reading the tab's state ──────────────────────────────────────────────────────────────
    def get(self, state: Any, var: str, default: Any = None) -> Any:
        return self.state.get(_full_name(state), {}).get(var_name(var), default)

    @staticmethod
    def changed(state: Any, var: str, value: Any = ...) -> Callable[[dict], bool]:
        """A predicate: an update whose delta sets ``state.var`` (to ``value``, if given)."""
        sub, key = _full_name(state), var_name(var)

        def pred(update: dict) -> bool:
            d = (update.get("delta") or {}).get(sub)
            return d is not None and key in d and (value is ... or d[key] == value)

        return pred

    @property
    def hydrated(self) -> bool:
        return self.state.get(ROOT_STATE, {}).get(HYDRATED) is True

    # ── the protocol ────────────────────────────────────────────────────────────────────────
    def _router_data(self, path: str) -> dict:
        bare, _, qs = path.partition("?")
        _route, params = self.build.match(bare)
        query = dict(p.split("=", 1) if "=" in p else (p, "") for p in qs.split("&") if p)
        query.update(params)
        data: dict[str, Any] = {"pathname": bare, "asPath": path}
        if query:
            data["query"] = query
        return data

    def _storage_vars(self) -> dict[str, Any]:
        return {k: v for k, v in self.storage.items() if v not in (None, "")}

    async def open(self, path: str = "/", *, hydrate: bool = True) -> float:
        """Connect this tab on ``path`` (as a page load does) and wait until it is hydrated.
        ``hydrate=False``: connect only, sending no boot event (as an attacker replaying a tab
        token may), and return once connected."""
        self.path = path
        if not hydrate:
            headers = {"Origin": self.origin, **({"Cookie": f"{SESSION_COOKIE}={self.cookie}"} if self.cookie else {})}
            start = time.perf_counter()
            try:
                await asyncio.wait_for(self._sio.connect(
                    f"{self.base_url}?token={self.token}", headers=headers, transports=["websocket"],
                    namespaces=[NAMESPACE], socketio_path="/_event", wait_timeout=self.timeout), self.timeout)
            except Exception as err:
                raise EventError(f"connect failed: {type(err).__name__}: {err}") from err
            return time.perf_counter() - start
        payload: dict[str, Any] = {}
        if vars_ := self._storage_vars():
            payload["vars"] = vars_
        if self.build.hashes:
            payload["hashes"] = self.build.hashes
        auth: dict[str, Any] = {"event": {"name": f"{ROOT_STATE}.hydrate_and_load", "payload": payload,
                                          "router_data": self._router_data(path)}}
        if self.build.state_schema:
            auth["state_schema"] = self.build.state_schema
        waiter = self._wait(self._is_hydrated, None)
        start = time.perf_counter()
        headers = {"Origin": self.origin}
        if self.cookie:
            headers["Cookie"] = f"{SESSION_COOKIE}={self.cookie}"
        try:
            await asyncio.wait_for(self._sio.connect(
                f"{self.base_url}?token={self.token}", headers=headers, auth=auth,
                transports=["websocket"], namespaces=[NAMESPACE], socketio_path="/_event",
                wait_timeout=self.timeout), self.timeout)
        except Exception as err:
            self._drop(waiter)
            raise EventError(f"connect failed: {type(err).__name__}: {err}") from err
        await self._finish(waiter, start, "open " + path)
        self._restart_timers()
        return time.perf_counter() - start

    async def post_form(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        """POST ``form`` (urlencoded) to ``path`` as the page's native form does, from the app's
        origin with the cookie held; keep the session cookie the answer sets or clears. Returns
        (status, Location) — the redirect is not followed (``log_in`` / ``reload`` do that)."""
        import httpx

        headers = {"Origin": self.origin}
        if self.cookie:
            headers["Cookie"] = f"{SESSION_COOKIE}={self.cookie}"
        # One client per POST (no cookie jar shared between tabs), but one TLS context for all:
        # httpx builds one per client by default (the CA bundle read and parsed: ~20 ms of this
        # process's CPU, on the loop every tab of the bench shares), which a browser never does.
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, verify=_tls()) as http:
            r = await http.post(path, data=form, headers=headers)
        for header in r.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            if name.strip() == SESSION_COOKIE:
                value = rest.split(";", 1)[0].strip().strip('"')
                self.cookie = value or None
        return r.status_code, r.headers.get("location", "")

    async def log_in(self, username: str, password: str, *, path: str = "/auth/login",
                     form: dict[str, str] | None = None) -> Result:
        """The log-in form POSTed (``form`` instead, for sign-up or the demo's log-in-as), then the
        page it answered with loaded on a new socket (the new cookie in its handshake). Raises
        EventError when no cookie came back (``.redirect`` of the error: where it was sent)."""
        start = time.perf_counter()
        before = self.cookie
        status, location = await self.post_form(path, form or {"username": username, "password": password})
        if status != 303 or not self.cookie or self.cookie == before:
            raise EventError(f"log-in refused: {status} → {location}")
        await self.reload(location)
        return Result(time.perf_counter() - start, redirect=location)

    async def reload(self, path: str | None = None) -> float:
        """A full page load of ``path`` (default: the page shown) in this tab: the socket closed,
        a new one opened with the same tab token and the cookie held now."""
        self._reloading = True
        try:
            await self._sio.disconnect()
        finally:
            self._reloading = False
        self._sio = self._socket()
        self.state.setdefault(ROOT_STATE, {})[HYDRATED] = False
        return await self.open(path or self.path)

    async def navigate(self, path: str) -> float:
        """An in-app link to ``path``: the page's on_load chain, until hydrated; seconds."""
        start = time.perf_counter()
        await self._navigate(path, start)
        return time.perf_counter() - start

    async def call(self, name: str, payload: dict | None = None, *, until: Callable[[dict], bool] | None = None,
                   redirect: bool = False, fail: Callable[[dict], bool] | None = None,
                   timeout: float | None = None) -> Result:
        """Emit one event and wait for what completes it (see the module doc)."""
        if redirect:
            done = lambda u: any(e.get("name") == "_redirect" for e in u.get("events") or ())  # noqa: E731
        else:
            done = until or (lambda u: True)
        waiter = self._wait(done, fail)
        start = time.perf_counter()
        await self._emit(name, payload or {})
        update = await self._finish(waiter, start, name, timeout)
        result = Result(0.0, waiter.updates)
        if redirect:
            target = next(e for e in update.get("events") or () if e.get("name") == "_redirect")
            path = str((target.get("payload") or {}).get("path") or "/")
            # _on_event started following it; wait for that page to hydrate.
            await self._finish(self._nav_waiter, start, f"{name} → {path}", timeout)
            result.redirect = path
        result.seconds = time.perf_counter() - start
        return result

    async def send(self, name: str, payload: dict | None = None) -> None:
        """Emit one event and return at once (nothing waits for what it does)."""
        await self._emit(name, payload or {})

    def listen(self, fn: Callable[[dict], Any]) -> Callable[[], None]:
        """Call ``fn(update)`` for every update from now on; returns the function that stops it."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for t in [*self._timers, *self._tasks]:
            t.cancel()
        self._timers.clear()
        try:
            await asyncio.wait_for(self._sio.disconnect(), 10)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        finally:
            # A disconnect cut short (a server too busy to answer the close) leaves the
            # engine.io client's HTTP session open; close it here.
            http = getattr(self._sio.eio, "http", None)
            if http is not None and not http.closed:
                with contextlib.suppress(Exception):
                    await http.close()
        self._fail_all("tab closed")

    # ── internals ──────────────────────────────────────────────────────────────────────────
    _nav_waiter: _Waiter

    def _is_hydrated(self, update: dict) -> bool:
        return (update.get("delta") or {}).get(ROOT_STATE, {}).get(HYDRATED) is True

    def _wait(self, done, fail) -> _Waiter:
        w = _Waiter(done, fail)
        self._waiters.append(w)
        return w

    def _drop(self, w: _Waiter) -> None:
        if w in self._waiters:
            self._waiters.remove(w)

    async def _finish(self, w: _Waiter, start: float, what: str, timeout: float | None = None) -> dict:
        left = (timeout or self.timeout) - (time.perf_counter() - start)
        try:
            return await asyncio.wait_for(asyncio.shield(w.future), max(left, 0.001))
        except TimeoutError:
            raise EventError(f"timeout after {timeout or self.timeout:.0f}s: {what}") from None
        finally:
            self._drop(w)

    async def _emit(self, name: str, payload: dict, path: str | None = None) -> None:
        if not self._sio.connected:
            raise EventError(f"not connected: {name}")
        await self._sio.emit("event", {"name": name, "payload": payload,
                                       "router_data": self._router_data(path or self.path)}, namespace=NAMESPACE)

    async def _navigate(self, path: str, start: float) -> None:
        self.path = path
        self.state.setdefault(ROOT_STATE, {})[HYDRATED] = False
        w = self._nav_waiter = self._wait(self._is_hydrated, None)
        if vars_ := self._storage_vars():
            await self._emit(UPDATE_VARS, {"vars": vars_}, path)
        await self._emit(ON_LOAD, {}, path)
        self._restart_timers()
        await self._finish(w, start, "navigate " + path)

    def _on_event(self, update: dict) -> None:
        self.received += 1
        for sub, changes in (update.get("delta") or {}).items():
            self.state.setdefault(sub, {}).update(changes)
            for key, value in changes.items():
                full = f"{sub}.{key}"
                if full in self.build.storage:
                    self.storage[full] = value
        if err := _backend_error(update):
            self.backend_errors.append(err)
        for fn in list(self._listeners):
            fn(update)
        for ev in update.get("events") or ():
            if ev.get("name") == "_redirect" and not (ev.get("payload") or {}).get("external"):
                path = str((ev.get("payload") or {}).get("path") or "/")
                # Register the page-load waiter now, before any later update can hydrate it.
                self._nav_waiter = self._wait(self._is_hydrated, None)
                self._spawn(self._follow(path, self._nav_waiter))
        for w in list(self._waiters):
            if w.future.done():
                continue
            w.updates.append(update)
            if err:
                w.future.set_exception(EventError("backend exception: " + err))
            elif w.fail is not None and w.fail(update):
                w.future.set_exception(EventError("refused: " + json.dumps(update, ensure_ascii=False,
                                                                           default=str)[:300]))
            elif w.done is not None and w.done(update):
                w.future.set_result(update)
        # Finished waits stay readable by their _Waiter; only the list forgets them.
        self._waiters = [w for w in self._waiters if not w.future.done()]

    async def _follow(self, path: str, w: _Waiter) -> None:
        self.path = path
        self.state.setdefault(ROOT_STATE, {})[HYDRATED] = False
        try:
            if vars_ := self._storage_vars():
                await self._emit(UPDATE_VARS, {"vars": vars_}, path)
            await self._emit(ON_LOAD, {}, path)
        except Exception as err:  # noqa: BLE001 - reported to whoever waits for the page
            if not w.future.done():
                w.future.set_exception(EventError(f"redirect to {path}: {err}"))
            return
        self._restart_timers()

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _restart_timers(self) -> None:
        for t in self._timers:
            t.cancel()
        self._timers = []
        if not self.periodic or self.closed:
            return
        route, _ = self.build.match(self.path.partition("?")[0])
        for name, args, interval in self.build.periodic.get(route, ()):
            self._timers.append(asyncio.get_running_loop().create_task(self._every(name, args, interval)))

    async def _every(self, name: str, args: tuple[str, ...], interval: float) -> None:
        """What the page's interval component sends: one event per interval while the tab lives."""
        await asyncio.sleep(random.uniform(0, interval))  # tabs are not opened in lockstep
        while not self.closed and self._sio.connected:
            stamp = datetime.now().astimezone().isoformat()
            try:
                await self._emit(name, {a: stamp for a in args})
            except Exception:  # noqa: BLE001 - a closing tab stops ticking
                return
            await asyncio.sleep(interval)

    def _on_new_token(self, token: str) -> None:
        self.token = token

    def _on_mismatch(self, data: Any) -> None:
        self._fail_all(f"state_mismatch: the frontend build does not match the backend ({data})")

    def _on_disconnect(self, *args: Any) -> None:
        if not self.closed and not self._reloading:
            self._fail_all("disconnected by the server")

    def _fail_all(self, why: str) -> None:
        for w in list(self._waiters):
            if not w.future.done():
                w.future.set_exception(EventError(why))
        self._waiters.clear()
