"""The names of the states an order, an installment, a return, an application and a shopper's
先用后付 can be in, and of the roles and payment-method kinds: string enums, stored as their values,
so that the rules (``domain.rules``) decide on them without the tables, and the tables' CHECK
constraints are built from them (``models.one_of``). ``models`` re-exports them."""

from __future__ import annotations

from enum import StrEnum, nonmember


class Role(StrEnum):
    SHOPPER = "shopper"
    MERCHANT = "merchant"
    OPERATOR = "operator"


class BnplStatus(StrEnum):
    """先用后付 on a credit account."""

    NOT_OPENED = "not_opened"
    ACTIVE = "active"
    CLOSED = "closed"
    SUSPENDED = "suspended"


# 先用后付 status as the numbers a CreditEvent(kind="status") stores in old_value/new_value: every
# change of it (open, close, suspend, restore) writes one, so the history can be replayed (the audit
# proves no order was made while it was not active). Never renumber: stored history reads by these.
BNPL_STATUS_CODE: dict[str, int] = {BnplStatus.NOT_OPENED: 0, BnplStatus.ACTIVE: 1, BnplStatus.CLOSED: 2,
                                    BnplStatus.SUSPENDED: 3}
BNPL_STATUS_OF_CODE: dict[int, str] = {code: status for status, code in BNPL_STATUS_CODE.items()}


class OrderStatus(StrEnum):
    TRIAL = "TRIAL"
    RETURN_IN_TRANSIT = "RETURN_IN_TRANSIT"
    RETURN_RECEIVED = "RETURN_RECEIVED"
    RETURN_REJECTED = "RETURN_REJECTED"
    RETURNED = "RETURNED"
    DUE = "DUE"
    OVERDUE = "OVERDUE"
    PAID = "PAID"

    IN_TRIAL = nonmember((TRIAL, RETURN_REJECTED))  # the trial clock is running
    RETURNING = nonmember((RETURN_IN_TRANSIT, RETURN_RECEIVED))  # deduction paused
    HOLDING = nonmember((TRIAL, RETURN_IN_TRANSIT, RETURN_RECEIVED, RETURN_REJECTED))  # price is frozen
    BILLED = nonmember((DUE, OVERDUE))  # price is outstanding


class InstallmentStatus(StrEnum):
    PENDING = "PENDING"  # order still in trial
    SCHEDULED = "SCHEDULED"  # billed, waiting for its due date
    OVERDUE = "OVERDUE"
    PAID = "PAID"
    CANCELLED = "CANCELLED"  # order returned
    REPLACED = "REPLACED"  # superseded by an approved hardship plan
    REFUNDED = "REFUNDED"  # was paid; the order was returned within its trial and the money given back

    OPEN = nonmember((SCHEDULED, OVERDUE))


class ReturnStatus(StrEnum):
    IN_TRANSIT = "IN_TRANSIT"
    RECEIVED = "RECEIVED"  # waiting for the merchant's inspection
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"


class ReturnOutcome(StrEnum):
    INTACT = "intact"
    DAMAGED = "damaged"
    AUTO_ACCEPTED = "auto_accepted"


class ApplicationKind(StrEnum):
    RESTORATION = "restoration"
    HARDSHIP = "hardship"


class ApplicationStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class OrderKind(StrEnum):
    """What an order is a contract for. Every kind's installments run on the one engine (notices,
    sweep, grace, late fees, penalties, hardship); the kind decides only where a capture's money
    goes and which credit line its principal repays (``domain.rules.payee_of`` / ``line_repaid``)."""

    BNPL = "bnpl"  # 先用后付: the price frozen on the limit in the trial, then billed
    CASH = "cash"  # a 备用金 draw: principal + interest, repaid to the cash line
    RENT = "rent"  # 信用分租机: the monthly rent of a rented device (no credit line)
    CHARGE = "charge"  # a charge billed on the 先用后付 limit (a repair captured from a waived deposit)
    BUY = "buy"  # an ordinary purchase paid at once (e.g. spent from the 备用金 line): no installments


class CashLineStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class DrawDest(StrEnum):
    CARD = "card"  # paid out to a bound bank card
    SHOP = "shop"  # spent directly on an ordinary purchase in our shop


class RentalStatus(StrEnum):
    AWAITING_DELIVERY = "AWAITING_DELIVERY"  # contract accepted, deposit decided (frozen / paid)
    RENTING = "RENTING"  # delivered (serial recorded): rent due monthly from delivery
    RETURN_IN_TRANSIT = "RETURN_IN_TRANSIT"
    RETURN_RECEIVED = "RETURN_RECEIVED"  # waiting for the merchant's inspection
    RETURNED = "RETURNED"  # inspected (intact or damaged and charged): the deposit resolved
    BOUGHT_OUT = "BOUGHT_OUT"  # the buy-out price paid: the device is the shopper's
    CANCELLED = "CANCELLED"  # cancelled before delivery: the deposit released / refunded

    ACTIVE = nonmember((AWAITING_DELIVERY, RENTING, RETURN_IN_TRANSIT, RETURN_RECEIVED))


class FreezeState(StrEnum):
    """The waived part of a rental deposit, held on the shopper's credit: resolved at most once."""

    NONE = "none"  # nothing waived, nothing held
    HELD = "held"
    RELEASED = "released"
    CAPTURED = "captured"  # (part) taken as a repair charge, the rest released


class MethodKind(StrEnum):
    WALLET = "wallet"
    CARD = "card"


# The names the code used before the enums (kept: shorter at call sites).
SHOPPER, MERCHANT, OPERATOR = Role.SHOPPER, Role.MERCHANT, Role.OPERATOR
BNPL_NOT_OPENED, BNPL_ACTIVE, BNPL_CLOSED, BNPL_SUSPENDED = (
    BnplStatus.NOT_OPENED, BnplStatus.ACTIVE, BnplStatus.CLOSED, BnplStatus.SUSPENDED)
