"""Limit restoration (seed 002) and hardship negotiation (seed 003): the shopper applies with
proof, an operator approves with terms or rejects with a reason the shopper sees."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from ..domain.clock import Clock, add_months
from ..domain.errors import InvalidTransition, NotFound, ValidationError
from ..domain.messages import render
from ..domain.money import split_even, yuan
from ..domain.policy import POLICY
from ..models import (
    BNPL_ACTIVE,
    Application,
    ApplicationKind as AK,
    ApplicationProof,
    ApplicationStatus as AS,
    Installment,
    InstallmentStatus as IS,
    Order,
    OrderEvent,
)
from . import credit, payments
from .credit import reason_of
from .notify import notify
from ..domain.rules import days_overdue
from .uploads import StoredFile

APP = Application.__table__
INST = Installment.__table__
REASONS = ("medical", "unemployment", "other")


def _pending(session: Session, uid: int, kind: str) -> bool:
    return session.exec(select(Application.id).where(Application.shopper_id == uid, Application.kind == kind,
                                                     Application.status == AS.PENDING)).first() is not None


def _statement(text: object) -> str:
    text = text.strip() if isinstance(text, str) else ""
    if len(text) > 1000:
        raise ValidationError("bad_text", field="statement", min=0, max=1000)
    return text


def _add_proofs(session: Session, app: Application, proofs: list[StoredFile], at: datetime) -> None:
    if not proofs:
        raise ValidationError("app.proof_required", field="proofs")
    for p in proofs:
        session.add(ApplicationProof(application_id=app.id, stored_name=p.stored_name, content_type=p.content_type,
                                     size=p.size, label=p.label, created_at=at))


def overdue_owed(*, session: Session, uid: int) -> int:
    return sum(payments.owed(i) for i in session.exec(
        select(Installment).where(Installment.shopper_id == uid, Installment.status == IS.OVERDUE)))


def apply_restoration(*, session: Session, uid: int, statement: str, proofs: list[StoredFile], clock: Clock) -> Application:
    acct = credit.account(session=session, uid=uid)
    if acct.restorable_limit_fen is None:
        raise InvalidTransition("app.not_needed")
    if (owed := overdue_owed(session=session, uid=uid)) > 0:
        raise InvalidTransition("app.still_owing", owed=yuan(owed))
    if _pending(session, uid, AK.RESTORATION):
        raise InvalidTransition("app.pending_exists")
    now = clock.now()
    app = Application(shopper_id=uid, kind=AK.RESTORATION, statement=_statement(statement), created_at=now)
    session.add(app)
    session.flush()
    _add_proofs(session, app, proofs, now)
    return app


def hardship_eligible(*, session: Session, uid: int, clock: Clock) -> bool:
    now = clock.now()
    return any(days_overdue(i.due_at, now) >= POLICY.hardship_min_overdue_days for i in session.exec(
        select(Installment).where(Installment.shopper_id == uid, Installment.status == IS.OVERDUE)))


def apply_hardship(*, session: Session, uid: int, reason_category: str, statement: str, proposed_installments: object,
                   request_fee_waiver: bool, proofs: list[StoredFile], clock: Clock) -> Application:
    now = clock.now()
    if reason_category not in REASONS:
        raise ValidationError("bad_choice", field="reason", value=str(reason_category)[:20])
    n = proposed_installments
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= POLICY.hardship_max_installments:
        raise ValidationError("app.installments_range", field="installments", max=POLICY.hardship_max_installments)
    if not hardship_eligible(session=session, uid=uid, clock=clock):
        raise InvalidTransition("app.hardship_not_needed", days=POLICY.hardship_min_overdue_days)
    if _pending(session, uid, AK.HARDSHIP):
        raise InvalidTransition("app.pending_exists")
    app = Application(shopper_id=uid, kind=AK.HARDSHIP, reason_category=reason_category, statement=_statement(statement),
                      proposed_installments=n, request_fee_waiver=bool(request_fee_waiver), created_at=now)
    session.add(app)
    session.flush()
    _add_proofs(session, app, proofs, now)
    return app


def of_shopper(*, session: Session, uid: int) -> list[tuple[Application, list[str]]]:
    """The shopper's applications, newest first, each with the labels of its proof files."""
    apps = list(session.exec(select(Application).where(Application.shopper_id == uid).order_by(Application.id.desc())))
    labels: dict[int, list[str]] = {a.id: [] for a in apps}
    if apps:
        for app_id, label in session.execute(
                sa.select(ApplicationProof.application_id, ApplicationProof.label)
                .where(ApplicationProof.application_id.in_(list(labels))).order_by(ApplicationProof.id)):
            labels[app_id].append(label)
    return [(a, labels[a.id]) for a in apps]


def get_application(*, session: Session, application_id: object) -> Application:
    if isinstance(application_id, bool) or not isinstance(application_id, int):
        raise NotFound("application")
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound("application")
    return app


def _decide(session: Session, app: Application, *, operator_id: int, status: str, now: datetime, **values) -> None:
    res = session.execute(sa.update(APP).where(APP.c.id == app.id, APP.c.status == AS.PENDING)
                          .values(status=status, decided_at=now, decided_by=operator_id, **values))
    if res.rowcount != 1:
        raise InvalidTransition("app.already_decided")
    session.refresh(app)


def reject(*, session: Session, operator_id: int, application_id: object, reason: str, clock: Clock) -> Application:
    app = get_application(session=session, application_id=application_id)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError("app.reason_required", field="reason")
    if len(reason) > 500:
        raise ValidationError("bad_text", field="reason", min=1, max=500)
    now = clock.now()
    _decide(session, app, operator_id=operator_id, status=AS.REJECTED, now=now, decision_reason=reason)
    notify(session=session, user_id=app.shopper_id, kind="app_rejected", at=now, dedupe_key=f"app:{app.id}",
           kind_label=render(f"kind.{app.kind}", "zh"), kind_code=app.kind, reason=reason)
    return app


def approve_restoration(*, session: Session, operator_id: int, application_id: object, limit_fen: object,
                        clock: Clock) -> Application:
    app = get_application(session=session, application_id=application_id)
    if app.kind != AK.RESTORATION:
        raise NotFound("application")
    acct = credit.account(session=session, uid=app.shopper_id)
    cap = acct.restorable_limit_fen or 0
    if isinstance(limit_fen, bool) or not isinstance(limit_fen, int) or not 0 < limit_fen <= cap:
        raise ValidationError("app.limit_range", field="limit", max=yuan(cap))
    now = clock.now()
    _decide(session, app, operator_id=operator_id, status=AS.APPROVED, now=now, approved_limit_fen=limit_fen)
    credit.set_limit(session=session, uid=app.shopper_id, new_limit=limit_fen, reason=reason_of("cr.restored", app=app.id), at=now)
    session.execute(sa.update(credit.CA).where(credit.CA.c.user_id == app.shopper_id)
                    .values(restorable_limit_fen=None, bad_debt=False))
    # The limit comes back; the status only for a suspended shopper (who had opened it): one who
    # closed 先用后付 keeps it closed (``rules.bnpl_status_after``) and reopens it themselves, with the terms.
    credit.set_status(session=session, uid=app.shopper_id, status=BNPL_ACTIVE, reason=reason_of("cr.restored", app=app.id), at=now)
    notify(session=session, user_id=app.shopper_id, kind="app_approved", at=now, dedupe_key=f"app:{app.id}",
           kind_label=render("kind.restoration", "zh"), kind_code=AK.RESTORATION,
           terms=render("n.restored_terms", "zh", limit=yuan(limit_fen)), limit=yuan(limit_fen))
    return app


def hardship_late_fees(*, session: Session, uid: int) -> int:
    return sum(i.late_fee_fen - i.late_fee_waived_fen for i in session.exec(
        select(Installment).where(Installment.shopper_id == uid, Installment.status.in_(IS.OPEN))))


def approve_hardship_waiving_all(*, session: Session, operator_id: int, application_id: object, installments: object,
                                 clock: Clock) -> Application:
    """``approve_hardship`` waiving every late fee: what they are at the moment of approval, read in
    the same transaction (not the figure on the operator's screen, which a sweep may have moved)."""
    app = get_application(session=session, application_id=application_id)
    return approve_hardship(session=session, operator_id=operator_id, application_id=app.id, installments=installments,
                            waive_fen=hardship_late_fees(session=session, uid=app.shopper_id), clock=clock)


def approve_hardship(*, session: Session, operator_id: int, application_id: object, waive_fen: object,
                     installments: object, clock: Clock) -> Application:
    """Every order with an overdue installment gets a new schedule of ``installments`` monthly
    payments (first due one month from now) carrying the remaining principal, the fees of periods
    already started, the late fees not waived and the overdue interest a 备用金 draw accrued; no fee
    is added, and late fees and overdue interest stop accruing (the plan replaces the schedule)."""
    app = get_application(session=session, application_id=application_id)
    if app.kind != AK.HARDSHIP:
        raise NotFound("application")
    n = installments
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= POLICY.hardship_max_installments:
        raise ValidationError("app.installments_range", field="installments", max=POLICY.hardship_max_installments)
    uid = app.shopper_id
    late_total = hardship_late_fees(session=session, uid=uid)
    if isinstance(waive_fen, bool) or not isinstance(waive_fen, int) or not 0 <= waive_fen <= late_total:
        raise ValidationError("app.waive_range", field="waive", max=yuan(late_total))
    now = clock.now()
    _decide(session, app, operator_id=operator_id, status=AS.APPROVED, now=now, waived_fen=waive_fen, plan_installments=n)
    order_ids = sorted({oid for (oid,) in session.execute(
        sa.select(INST.c.order_id).where(INST.c.shopper_id == uid, INST.c.status == IS.OVERDUE))})
    to_waive = waive_fen
    for oid in order_ids:
        order = session.get(Order, oid)
        old = list(session.exec(select(Installment).where(Installment.order_id == oid, Installment.status.in_(IS.OPEN))
                                .order_by(Installment.seq)))
        principal = sum(i.principal_fen for i in old)
        fees = sum(i.fee_fen - i.fee_waived_fen for i in old if i.due_at <= now)
        late = 0
        interest = sum(i.overdue_interest_fen for i in old)
        for i in old:
            left = i.late_fee_fen - i.late_fee_waived_fen
            w = min(left, to_waive)
            to_waive -= w
            late += left - w
            session.execute(sa.update(INST).where(INST.c.id == i.id, INST.c.status.in_(IS.OPEN))
                            .values(status=IS.REPLACED, late_fee_waived_fen=i.late_fee_waived_fen + w, attempt_at=None))
        rows = [dict(order_id=oid, shopper_id=uid, merchant_id=order.merchant_id, seq=k + 1, periods=n,
                     due_at=add_months(now, k + 1), principal_fen=p, fee_fen=f, late_fee_fen=lf, overdue_interest_fen=oi,
                     status=IS.SCHEDULED, attempt_at=add_months(now, k + 1), plan_application_id=app.id, penalized=True)
                for k, (p, f, lf, oi) in enumerate(zip(split_even(principal, n), split_even(fees, n), split_even(late, n),
                                                       split_even(interest, n)))]
        session.execute(sa.insert(Installment), rows)
        session.add(OrderEvent(order_id=oid, at=now, step="restructured", amount_fen=principal + fees + late + interest,
                               note=f"#{app.id} · {n}×"))
        payments.refresh_order_status(session=session, order=order, at=now)
    notify(session=session, user_id=uid, kind="app_approved", at=now, dedupe_key=f"app:{app.id}",
           kind_label=render("kind.hardship", "zh"), kind_code=AK.HARDSHIP,
           terms=render("n.hardship_terms", "zh", n=n, waived=yuan(waive_fen)), n=n, waived=yuan(waive_fen))
    return app
