"""The in-app inbox and the outbox that stands in for SMS. A dedupe key makes a reminder or a
late-fee notice go out once however many times the sweep runs. One notice or many (the sweep's
batches) are rendered by the same function, ``written``, and deduplicated the same way."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from ..db import insert_ignore
from ..domain.rules import Notice, notice_text
from ..models import Notification, Outbox
from . import changes
from .bulk import BatchRefused, bind_time, execute_many

NOTE = Notification.__table__
OUTBOX = Outbox.__table__
_JSON = json.JSONEncoder(ensure_ascii=False, default=str)  # == json.dumps(…, ensure_ascii=False, default=str)


def written(kind: str, params: dict) -> tuple[str, str, str, str]:
    """What a notice stores: (title, body, params_json, SMS text), titles and bodies in 中文 (the
    parameters are kept to render it in the reader's language: ``rules.notice_text``)."""
    title, body = notice_text(kind, params, "zh")
    return title[:120], body[:500], _JSON.encode(params)[:1000], f"【先用后付】{title}：{body}"[:500]


def notify(
    *, session: Session,
    user_id: int,
    kind: str,
    at: datetime,
    dedupe_key: str | None = None,
    sms: bool = True,
    installment_id: int | None = None,
    **params: object,
) -> bool:
    """Returns False when this notice (by dedupe key) was already sent. ``installment_id``: the
    installment a deduction notice is about."""
    return _write(session, user_id, kind, at, dedupe_key, sms, installment_id, params)


def _write(session: Session, user_id: int, kind: str, at: datetime, dedupe_key: str | None, sms: bool,
           installment_id: int | None, params: dict) -> bool:
    """``notify`` with the parameters as a dict (a notice's may have any names, ``at`` included)."""
    title, body, params_json, text = written(kind, params)
    values = dict(user_id=user_id, kind=kind, title=title, body=body, params_json=params_json, created_at=at,
                  dedupe_key=dedupe_key, installment_id=installment_id)
    if dedupe_key is None:
        session.add(Notification(**values))
        inserted = True
    else:
        inserted = insert_ignore(session, NOTE, values)
    if inserted and sms:
        session.add(Outbox(user_id=user_id, channel="sms", body=text, created_at=at,
                           dedupe_key=f"sms:{dedupe_key}" if dedupe_key else None))
    return inserted


def send(*, session: Session, user_id: int, notice: Notice, at: datetime, sms: bool = True) -> bool:
    """``notify`` for a notice the rules made (``domain.rules.*_notice``)."""
    return _write(session, user_id, notice.kind, at, notice.dedupe_key, sms, notice.installment_id, notice.params)


_WRITTEN: dict[tuple, tuple[str, str, str, str]] = {}


def _written_kept(kind: str, params: dict) -> tuple[str, str, str, str]:
    """``written``, kept: in a sweep the same notice (kind and parameters) recurs a lot."""
    key = (kind, *params.items())
    hit = _WRITTEN.get(key)
    if hit is None:
        if len(_WRITTEN) >= 20_000:
            _WRITTEN.clear()
        hit = _WRITTEN[key] = written(kind, params)
    return hit


def notify_many(*, session: Session, notices: list[tuple[int, Notice]], at: datetime, sms: bool, when=None) -> int:
    """``send`` for many (user, notice) pairs, as two executemany statements: the same rendering,
    the same dedupe (a notice whose key was already used is not written again). Returns how many
    went in. With ``sms`` each one that went in also goes to the outbox, so then all of them must
    go in (else BatchRefused). ``when``: ``at`` as ``bulk.bind_time`` gives it."""
    if not notices:
        return 0
    when = bind_time(session=session, at=at) if when is None else when
    rows, texts = [], []
    for uid, n in notices:
        title, body, params_json, text = _written_kept(n.kind, n.params)
        rows.append((uid, n.kind, title, body, params_json, when, n.dedupe_key, n.installment_id))
        texts.append(text)
    changes.touch(session=session, users={uid for uid, _n in notices}, topic=changes.INBOX)
    went_in = execute_many(session=session, sql=f"INSERT INTO {NOTE.name} (user_id, kind, title, body, params_json, created_at, "
                                    "dedupe_key, installment_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                           rows=rows)
    if sms:
        if went_in != len(rows):
            raise BatchRefused("a notice was already sent")
        execute_many(session=session, sql=f"INSERT INTO {OUTBOX.name} (user_id, channel, body, created_at, dedupe_key) "
                              "VALUES (?, ?, ?, ?, ?)",
                     rows=[(uid, "sms", text, when, f"sms:{n.dedupe_key}") for (uid, n), text in zip(notices, texts)])
    return went_in
