"""What the states' handlers share, besides acting as the session's user (``session.act``/``look``/
``read``): reading numbers and record ids the browser sent, a page's first step, refusing with a
visible message, and uploads (read bounded, stored with the one service call that uses them, never
left behind when that call is refused).

Everything here starts from the assumption of ENGINEERING.md: a browser may call any handler with
any arguments, so every value it sends is checked here before a service sees it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx

from ..domain.errors import DomainError, ValidationError
from ..domain.numbers import MAX_ID, whole_number
from ..domain.policy import POLICY
from ..services import uploads
from ..services.auth import Actor
from ..services.uploads import StoredFile
from .session import SessionState, act, session_of

T = TypeVar("T")


# ── numbers and ids from the browser ────────────────────────────────────────────────────────
def as_int(value: object, *, lo: int = 1, hi: int = MAX_ID) -> int | None:
    """An int the browser sent, however it arrived ("12", 12, 12.0 are 12; True, "x", 1.5, "²",
    "３" are not), within ``lo``..``hi``; else None. The one parser: ``domain.numbers.whole_number``."""
    return whole_number(value, lo=lo, hi=hi)


def need_int(value: object, *, lo: int = 1, hi: int = MAX_ID, field: str = "") -> int:
    """``as_int``, or the refusal a person can read: "a whole number from lo to hi (digits 0-9)"."""
    n = whole_number(value, lo=lo, hi=hi)
    if n is None:
        raise ValidationError("input.whole_number", field=field, lo=lo, hi=hi)
    return n


def choice(value: object, allowed) -> str | None:
    """``value`` if it is one of the ``allowed`` strings (a browser may send a list or a dict
    where a string belongs: that is no choice at all, not an error)."""
    return value if isinstance(value, str) and value in allowed else None


def record_id(value: object) -> int | None:
    """A record id from an event's arguments or the URL: a positive int, else None. Only *which*
    record: the service still answers "not found" for one that is not the acting user's."""
    return as_int(value)


def path_id(state: rx.State, route: str) -> int | None:
    """The record id the current URL names on the dynamic ``route`` (``routes.ORDER``:
    ``/orders/42`` → 42); None when there is none or the URL is not that route's."""
    prefix = route.split("[", 1)[0]
    path = str(state.router.url.path or "")
    if not path.startswith(prefix):
        return None
    return record_id(path[len(prefix):].strip("/"))


# ── a page's first step, refusals ───────────────────────────────────────────────────────────
async def opened(state: rx.State) -> SessionState:
    """A page's loader starts here: this tab now shows ``state``'s page (what a live refresh or a
    language switch reloads). Returns the session. Who may see the page is checked in the loader's
    own trip to the database, and the visitor turned away after it (``session.page_load``)."""
    sess = await session_of(state)
    sess._on_page(state)
    return sess


async def refuse(state: rx.State, err: DomainError) -> None:
    """Say why not, in the reader's language."""
    (await session_of(state))._refuse(err)


# ── uploads ─────────────────────────────────────────────────────────────────────────────────
async def read_uploads(files: object) -> list[tuple[str, bytes]]:
    """(display label, bytes) of each uploaded file. At most one byte past the size limit is read
    per file, so an oversized upload is refused without holding all of it in memory."""
    if not isinstance(files, list):
        return []
    if len(files) > POLICY.upload_max_files:
        raise ValidationError("upload.too_many", field="file", max=POLICY.upload_max_files)
    out = []
    for f in files:
        if not callable(getattr(f, "read", None)):  # files arrive only through the upload door, never as JSON
            raise ValidationError("upload.not_a_file", field="file")
        data = await f.read(POLICY.upload_max_bytes + 1)
        out.append((uploads.safe_label(getattr(f, "name", None) or getattr(f, "filename", None)), data))
    return out


def discard(stored: list[StoredFile]) -> None:
    """Remove files stored for a change that did not happen: no orphan files."""
    for f in stored:
        uploads.path_of(f.stored_name).unlink(missing_ok=True)


async def act_with_files(state: rx.State, roles: tuple[str, ...], blobs: list[tuple[str, bytes]],
                         allowed: tuple[str, ...], fn: Callable[[Any, Actor, list[StoredFile]], T], *,
                         ok: str | None = None) -> T | None:
    """``act`` with files: once the role is checked, the files are checked by content and size and
    stored under generated names, then ``fn(session, who, stored)`` makes the one service call
    (returning something not None). If anything refuses, the stored files are removed again."""
    stored: list[StoredFile] = []

    def run(s, who):
        stored.extend(uploads.store_many(blobs, allowed=allowed))
        return fn(s, who, list(stored))

    done = None
    try:
        done = await act(state, roles, run, ok=ok)
    finally:
        if done is None and stored:
            await asyncio.to_thread(discard, stored)
    return done


async def refuse_rejected(state: rx.State, rejected: object, *, allowed: tuple[str, ...]) -> None:
    """The drop zone refused a file before sending it (type, size, count): say which and why in the
    reader's language, as the server would have; ``allowed`` are the content types it accepts."""
    first = rejected[0] if isinstance(rejected, list) and rejected and isinstance(rejected[0], dict) else {}
    file = first.get("file") if isinstance(first.get("file"), dict) else {}
    name = uploads.safe_label(file.get("path") or file.get("name") or "file")
    errors = first.get("errors") if isinstance(first.get("errors"), list) else []
    codes = {e.get("code") for e in errors if isinstance(e, dict)}
    if "too-many-files" in codes:
        err = ValidationError("upload.too_many", max=POLICY.upload_max_files)
    elif "file-too-large" in codes:
        err = ValidationError("upload.too_big", name=name, max_mb=POLICY.upload_max_bytes // (1024 * 1024))
    else:
        names = ", ".join(t.rsplit("/", 1)[-1].upper().replace("JPEG", "JPG") for t in allowed)
        err = ValidationError("upload.bad_type", name=name, allowed=names)
    await refuse(state, err)
