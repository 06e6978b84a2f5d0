"""Typed domain errors. Each carries a message key and its parameters; the text (中文 or English)
comes from the catalog in ``messages.py``, and so does a hint saying what the person can do."""

from __future__ import annotations

from .messages import has, render


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, key: str, /, *, field: str = "", **params: object) -> None:
        self.key = key
        self.params = params
        self.field = field
        super().__init__(self.text("en"))

    @property
    def message(self) -> str:
        return render(self.key, "en", **self.params)

    @property
    def hint(self) -> str:
        return render(self.key + ".hint", "en", **self.params) if has(self.key + ".hint") else ""

    def text(self, lang: str = "zh") -> str:
        msg = render(self.key, lang, **self.params)
        if has(self.key + ".hint"):
            msg += " — " + render(self.key + ".hint", lang, **self.params)
        return msg

    def __str__(self) -> str:
        return self.text("en")


class ValidationError(DomainError):
    code = "invalid"


class NotFound(DomainError):
    """Also raised when a record exists but belongs to someone else: never reveal that it exists."""

    code = "not_found"

    def __init__(self, what: str = "record", /, **params: object) -> None:
        super().__init__("not_found", what=what, **params)

    def text(self, lang: str = "zh") -> str:
        what = str(self.params.get("what", "record"))
        return render("not_found", lang, what=render(f"what.{what}", lang) if has(f"what.{what}") else what)


class Forbidden(DomainError):
    code = "forbidden"


class InvalidTransition(DomainError):
    code = "invalid_transition"


class InsufficientLimit(DomainError):
    code = "insufficient_limit"


class InsufficientFunds(DomainError):
    code = "insufficient_funds"


class Conflict(DomainError):
    """Same idempotency key with different parameters, or a concurrent change won the race."""

    code = "conflict"


class TermsChanged(Conflict):
    """The quote the shopper confirmed is no longer what the product is sold on: nothing was made.
    ``changes``: what changed, as (message key, params) pairs (the price from ¥a to ¥b, a plan no
    longer offered, …); ``terms``: the terms on offer now (``checkout.Terms``; None when the plan
    is no longer offered), for the screen to show before the shopper confirms again."""

    code = "terms_changed"

    def __init__(self, changes: list[tuple[str, dict]], terms: object | None) -> None:
        self.changes = list(changes)
        self.terms = terms
        super().__init__("checkout.terms_changed", count=len(self.changes))

    def what(self, lang: str = "zh") -> list[str]:
        """Each change in words."""
        return [render(key, lang, **params) for key, params in self.changes]

    def text(self, lang: str = "zh") -> str:
        return render("checkout.terms_changed.with", lang, message=render(self.key, lang),
                      changes=render("quote.sep", lang).join(self.what(lang)), hint=render(self.key + ".hint", lang))


class NotEligible(DomainError):
    code = "not_eligible"

    def __init__(self, reasons: list) -> None:  # list[EligibilityFailure]
        self.reasons = reasons
        super().__init__("not_eligible", count=len(reasons))

    def text(self, lang: str = "zh") -> str:
        return "；".join(r.text(lang) for r in self.reasons) if self.reasons else super().text(lang)


class AuthError(DomainError):
    code = "auth"


class Throttled(AuthError):
    """Too many log-in or sign-up attempts from this account name or address: try again in
    ``minutes`` (an HTTP endpoint answers 429 with Retry-After). Said alike whether or not the
    account exists."""

    code = "throttled"

    def __init__(self, minutes: int) -> None:
        super().__init__("login.throttled_1" if minutes == 1 else "login.throttled", minutes=minutes)
        self.minutes = minutes
