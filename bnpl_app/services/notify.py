"""The in-app inbox and the outbox that stands in for SMS. A dedupe key makes a reminder or a
late-fee notice go out once however many times the sweep runs."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from ..db import insert_ignore
from ..domain.messages import render
from ..models import Notification, Outbox


def notify(
    session: Session,
    *,
    user_id: int,
    kind: str,
    at: datetime,
    dedupe_key: str | None = None,
    sms: bool = True,
    **params: object,
) -> bool:
    """Returns False when this notice (by dedupe key) was already sent."""
    # ``kind`` names the notice here, so callers pass an application's kind as ``kind_label``;
    # the templates call it {kind}.
    fmt = {"kind": params["kind_label"], **params} if "kind_label" in params else params
    title = render(f"n.{kind}.title", "zh", **fmt)
    body = render(f"n.{kind}.body", "zh", **fmt)
    values = dict(
        user_id=user_id, kind=kind, title=title[:120], body=body[:500],
        params_json=json.dumps(params, ensure_ascii=False, default=str)[:1000], created_at=at, dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        session.add(Notification(**values))
        inserted = True
    else:
        inserted = insert_ignore(session, Notification.__table__, values)
    if inserted and sms:
        session.add(Outbox(user_id=user_id, channel="sms", body=f"【先用后付】{title}：{body}"[:500], created_at=at,
                           dedupe_key=f"sms:{dedupe_key}" if dedupe_key else None))
    return inserted
