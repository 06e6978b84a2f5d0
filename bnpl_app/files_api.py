"""Uploaded files, served only to who may see them.

``GET /files/<stored_name>`` reads the ``bnpl_session`` cookie, resolves the acting user from the
server-side session (wall clock, like every handler) and serves the file when:

* it is a product picture (``products.image`` points at it): anyone;
* it is an application proof (bank statements, vouchers): the shopper who applied, or an operator;
* it is an inspection photo: the shopper whose return it is, the merchant of the return, or an operator.

Anything else — unknown name, no session, someone else's file — is the same 404, so a probe
learns nothing. Reflex also mounts its own static ``/_upload/`` directory, which is where our
files live (``uploaded_files/``); reads through that door are closed here, uploads (POST) pass.

Mounted with ``rx.App(api_transformer=files_api.api)``: Reflex mounts its own app below ours, so
these routes are matched first."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import routes, runtime
from .db import reading
from .domain.errors import AuthError, DomainError
from .models import (
    MERCHANT,
    OPERATOR,
    SHOPPER,
    Application,
    ApplicationProof,
    Product,
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
