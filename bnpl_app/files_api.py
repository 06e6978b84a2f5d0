"""Uploaded files, served only to who may see them.

``GET /files/<stored_name>`` reads the ``bnpl_session`` cookie, resolves the acting user from the
server-side session (wall clock, like every handler) and serves the file when:

* it is a product picture (``products.image`` points at it): anyone;
* it is an application proof (bank statements, vouchers): the shopper who applied, or an operator;
* it is an inspection photo: the shopper whose return it is, the merchant of the return, or an operator.

Anything else — unknown name, no session, someone else's file — is the same 404, so a probe
learns nothing. Reflex also mounts its own static ``/_upload/`` directory, which is where our
files live (``uploaded_files/``); reads through that door are closed here, uploads (POST) pass.

Mounted with ``rx.App(api_transformer=[files_api.api, files_api.bounded_uploads])``: Reflex mounts
its own app below ours, so these routes are matched first; ``bounded_uploads`` wraps everything and
guards the upload door (``POST /_upload``) before Reflex parses a byte of it: only a handler that
takes files, and a body no larger than ``upload_limit()`` — refused with 413 from its
Content-Length before reading, or as soon as the bytes streamed past the limit when no length is
given."""

from __future__ import annotations

import json
import logging
from functools import lru_cache

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import routes, runtime
from .db import reading
from .domain.errors import AuthError, DomainError
from .domain.messages import render
from .domain.numbers import whole_number
from .domain.policy import POLICY
from .models import (
    MERCHANT,
    OPERATOR,
    SHOPPER,
    Application,
    ApplicationProof,
    Product,
    Rental,
    RentalPhoto,
    ReturnPhoto,
    ReturnRequest,
)
from .services import auth, uploads
from .services.auth import Actor

log = logging.getLogger("bnpl.files")
COOKIE = "bnpl_session"
_PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
            "Referrer-Policy": "no-referrer"}
_PUBLIC = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404, headers={"Cache-Control": "no-store"})


def _actor(s, token: str | None) -> Actor | None:
    try:
        return auth.resolve(session=s, token=token, clock=runtime.WALL)
    except AuthError:
        return None


def decide(s, *, stored_name: str, token: str | None) -> tuple[str, bool] | None:
    """(content type, public?) if the holder of ``token`` may read ``stored_name``, else None.
    Kept apart from the HTTP layer so the rules are unit-tested on their own."""
    url = routes.upload_url(stored_name)
    if s.execute(sa.select(Product.id).where(Product.image == url).limit(1)).first() is not None:
        ctype = uploads.sniff(_head(stored_name))
        return (ctype, True) if ctype else None
    who = _actor(s, token)
    if who is None:
        return None
    proof = s.execute(sa.select(ApplicationProof.content_type, Application.shopper_id)
                      .join(Application, Application.id == ApplicationProof.application_id)
                      .where(ApplicationProof.stored_name == stored_name).limit(1)).first()
    if proof is not None:
        if who.role == OPERATOR or (who.role == SHOPPER and who.user_id == proof.shopper_id):
            return proof.content_type, False
        return None
    photo = s.execute(sa.select(ReturnPhoto.content_type, ReturnRequest.shopper_id, ReturnRequest.merchant_id)
                      .join(ReturnRequest, ReturnRequest.id == ReturnPhoto.return_id)
                      .where(ReturnPhoto.stored_name == stored_name).limit(1)).first()
    if photo is None:  # a rental's inspection photo: the same readers
        photo = s.execute(sa.select(RentalPhoto.content_type, Rental.shopper_id, Rental.merchant_id)
                          .join(Rental, Rental.id == RentalPhoto.rental_id)
                          .where(RentalPhoto.stored_name == stored_name).limit(1)).first()
    if photo is not None:
        if (who.role == OPERATOR or (who.role == SHOPPER and who.user_id == photo.shopper_id)
                or (who.role == MERCHANT and who.merchant_id is not None and who.merchant_id == photo.merchant_id)):
            return photo.content_type, False
        return None
    return None


def _head(stored_name: str) -> bytes:
    try:
        with uploads.path_of(stored_name).open("rb") as f:
            return f.read(16)
    except (OSError, DomainError):
        return b""


def serve_file(request: Request) -> Response:
    """A sync endpoint: Starlette runs it in its thread pool, so the database read never blocks the loop."""
    name = request.path_params.get("stored_name", "")
    try:
        path = uploads.path_of(name)
    except DomainError:
        return _not_found()
    try:
        with reading(runtime.engine()) as s:
            verdict = decide(s, stored_name=name, token=request.cookies.get(COOKIE))
    except Exception:  # noqa: BLE001 — a broken lookup must fail closed, and be visible in the log
        log.exception("file access check failed for %s", name)
        return _not_found()
    if verdict is None or not path.is_file():
        return _not_found()
    ctype, public = verdict
    headers = dict(_PUBLIC if public else _PRIVATE)
    headers["Content-Disposition"] = "inline"
    return FileResponse(path, media_type=ctype, headers=headers)


def _closed(request: Request) -> Response:
    return _not_found()


api = Starlette(routes=[
    Route("/files/{stored_name}", serve_file, methods=["GET", "HEAD"]),
    # Reflex's static mount of the upload directory would serve our private files to anyone
    # holding a name; uploads themselves are POSTs to /_upload and are not matched here.
    Route("/_upload/{rest:path}", _closed, methods=["GET", "HEAD"]),
])


# ── the upload door: bounded before it is read ──────────────────────────────────────────────
UPLOAD_PATH = "/_upload"
UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and part headers, the handler's bound arguments


def upload_limit() -> int:
    """The largest upload body accepted: every file the policy allows at its largest, plus overhead."""
    return POLICY.upload_max_bytes * POLICY.upload_max_files + UPLOAD_OVERHEAD


@lru_cache(maxsize=1)
def upload_handlers() -> frozenset[str]:
    """The full names (as the upload's ``reflex-event-handler`` header names them) of the event
    handlers that take files (a ``list[rx.UploadFile]`` argument): the only ones an upload may reach."""
    from reflex.state import State
    from reflex.utils.format import format_event_handler
    from reflex_base.event import resolve_upload_handler_param

    out: set[str] = set()
    todo = [State]
    while todo:
        cls = todo.pop()
        todo.extend(cls.get_substates())
        for handler in cls.event_handlers.values():
            try:
                resolve_upload_handler_param(handler)
            except Exception:  # noqa: BLE001 — Reflex's "not an upload handler" (UploadValueError/TypeError)
                continue
            out.add(format_event_handler(handler))
    return frozenset(out)


class _TooLarge(Exception):
    pass


def _words(key: str, **params) -> str:
    return f"{render(key, 'zh', **params)} / {render(key, 'en', **params)}"


async def _answer(send, status: int, key: str, **params) -> None:
    body = json.dumps({"detail": _words(key, **params)}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close"),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


def bounded_uploads(app):
    """ASGI middleware (an ``api_transformer``): ``POST /_upload`` reaches Reflex only for a handler
    that takes files (else 400, never Reflex's 500) and only with a body within ``upload_limit()``
    (else 413, before Reflex parses it). Every other request passes untouched."""

    async def guarded(scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path", "").rstrip("/") != UPLOAD_PATH:
            return await app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        limit = upload_limit()
        too_big = dict(max_files=POLICY.upload_max_files, max_mb=POLICY.upload_max_bytes // (1024 * 1024))
        handler = headers.get("reflex-event-handler", "")
        if handler and handler not in upload_handlers():
            log.warning("upload refused: %r takes no files", handler[:200])
            return await _answer(send, 400, "upload.not_an_upload")
        length = headers.get("content-length")
        if length is not None:
            n = whole_number(length, lo=0, max_digits=18)
            if n is None:
                return await _answer(send, 400, "upload.body_too_large", **too_big)
            if n > limit:
                log.warning("upload refused: Content-Length %d over the limit %d", n, limit)
                return await _answer(send, 413, "upload.body_too_large", **too_big)
        seen = 0
        tripped = False
        started = False

        async def counted():
            nonlocal seen, tripped
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    tripped = True
                    raise _TooLarge
            return message

        async def watched(message):
            nonlocal started
            if tripped:
                return  # what the app says about the aborted body is replaced by the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, counted, watched)
        except _TooLarge:
            pass
        except Exception:
            if not tripped:
                raise
        if tripped and not started:
            log.warning("upload refused: the body streamed past the limit %d", limit)
            await _answer(send, 413, "upload.body_too_large", **too_big)

    return guarded
