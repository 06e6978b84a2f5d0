"""The names of the states an order, an installment and a shopper's 先用后付 can be in: plain
strings, stored as they are, so that the rules (``domain.rules``) can decide on them without the
tables. ``models`` re-exports them."""

from __future__ import annotations

# BNPL status of a credit account
BNPL_NOT_OPENED, BNPL_ACTIVE, BNPL_CLOSED, BNPL_SUSPENDED = "not_opened", "active", "closed", "suspended"


class OrderStatus:
    TRIAL = "TRIAL"
    RETURN_IN_TRANSIT = "RETURN_IN_TRANSIT"
    RETURN_RECEIVED = "RETURN_RECEIVED"
    RETURN_REJECTED = "RETURN_REJECTED"
    RETURNED = "RETURNED"
    DUE = "DUE"
    OVERDUE = "OVERDUE"
    PAID = "PAID"

    IN_TRIAL = (TRIAL, RETURN_REJECTED)  # the trial clock is running
    RETURNING = (RETURN_IN_TRANSIT, RETURN_RECEIVED)  # deduction paused
    HOLDING = (TRIAL, RETURN_IN_TRANSIT, RETURN_RECEIVED, RETURN_REJECTED)  # price is frozen
    BILLED = (DUE, OVERDUE)  # price is outstanding


class InstallmentStatus:
    PENDING = "PENDING"  # order still in trial
    SCHEDULED = "SCHEDULED"  # billed, waiting for its due date
    OVERDUE = "OVERDUE"
    PAID = "PAID"
    CANCELLED = "CANCELLED"  # order returned
    REPLACED = "REPLACED"  # superseded by an approved hardship plan

    OPEN = (SCHEDULED, OVERDUE)
