"""Every event handler the app registers, classified: who may call it.

ENGINEERING.md: every public method of every ``rx.State`` subclass is an event handler any
connected browser can call with any JSON arguments, whether or not a button is wired to it. So
each one is listed here, as

* ``Roles(roles)`` — it acts (or reads) for these roles only; anybody else is refused with a
  message and nothing changes;
* ``Reads(roles)`` — it shows these roles' own data; anybody else is shown nothing (the page's
  guard, which runs before it, says why) and nothing changes;
* ``Public(reason)`` — anybody may call it, and the reason says why that is safe (most touch only
  the calling tab's own form fields; the action that uses them checks the role).

``tests/state/test_handlers_classified.py`` walks the state tree the app registers and fails when a
handler is missing here or an entry names one that no longer exists; it calls every ``Roles``/
``Reads`` handler as a visitor and as a user of a role not allowed (refused, database unchanged,
nothing shown), and every handler with hostile JSON (no traceback, database unchanged). A new
public method therefore fails the tests until it is classified: helpers are ``_underscore``.

Keys are ``<state class name>.<handler>``; class names are unique in the app (the test checks)."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import MERCHANT, OPERATOR, SHOPPER, Role


@dataclass(frozen=True)
class Public:
    """Anybody may call it: ``reason`` says why that is safe."""

    reason: str


@dataclass(frozen=True)
class Roles:
    """Only these roles; anybody else is refused with a message, the database unchanged."""

    roles: tuple[str, ...]
    says: bool = True  # the refusal is told (False: ``Reads``)


@dataclass(frozen=True)
class Reads(Roles):
    """Shows these roles' own data; anybody else sees nothing (the page's guard speaks)."""

    says: bool = False


ANY_ROLE = tuple(Role)
SHOP, MER, OPS = (SHOPPER,), (MERCHANT,), (OPERATOR,)

FORM = Public("a form field or choice of this tab only; the action that uses it checks the role")
TAB = Public("this tab's own screen only (a dialog, a confirmation, a message); no database, nothing shown")
DROPPED = Public("the drop zone's refusal of a file the browser did not send: tells this tab why")
CATALOG = Public("the catalog and product pages are public (published products only)")
SETVAR = Public("Reflex's own: calls this state's set_<name> handler, itself classified here")
REFLEX = Public("Reflex's own: hydration, on_load dispatch, client storage this browser owns, "
                "and its error report")

# The app's state classes (a new one fails the test until its handlers are listed here).
STATES = (
    "SessionState", "CatalogState", "ProductState", "CartState", "OrdersState", "OrderState",
    "BillsState", "CreditState", "WalletState", "InboxState", "HelpState", "CashState", "CashBuyState",
    "MerchantProductsState", "MerchantOrdersState", "MerchantReturnsState", "SettlementState", "AnalyticsState",
    "OpsQueueState", "OpsApplicationState", "OpsShoppersState", "RiskState", "AuditState",
    "SecurityState", "AuthFormState",
    "RentCatalogState", "RentListingState", "MyRentalsState", "MerchantRentalsState",
)

HANDLERS: dict[str, Public | Roles] = {
    # ── Reflex's own states ──────────────────────────────────────────────────────────────
    "State.hydrate": REFLEX,
    "State.hydrate_and_load": REFLEX,
    "State.set_is_hydrated": REFLEX,
    "State.setvar": SETVAR,
    "OnLoadInternalState.on_load_internal": REFLEX,
    "OnLoadInternalState.set_is_hydrated": REFLEX,
    "OnLoadInternalState.setvar": SETVAR,
    "UpdateVarsInternalState.update_vars_internal": Public(
        "Reflex's own: the browser's local storage (bnpl_lang), which it owns anyway; the session cookie is "
        "HttpOnly, never a var, read from each connection's handshake"),
    "UpdateVarsInternalState.setvar": SETVAR,
    "FrontendEventExceptionState.handle_frontend_exception": REFLEX,
    "FrontendEventExceptionState.setvar": SETVAR,
    "SharedStateBaseInternal.setvar": SETVAR,
    # ── session (language, guards, the demo clock; log-in and log-out are HTTP: auth_api.py) ─
    "SessionState.advance": Roles(ANY_ROLE),  # and only in demo mode: the demo clock
    "SessionState.identify": Public("learns who holds this tab's session, if anyone; changes nothing"),
    "SessionState.refresh": Public("re-reads this tab's session and reloads its page through that page's checks"),
    "SessionState.toggle_lang": TAB,
    "SessionState.dismiss_toast": TAB,
    # ── account security (sessions, password) ────────────────────────────────────────────
    "SecurityState.load": Roles(ANY_ROLE),
    "SecurityState.end_others": Roles(ANY_ROLE),
    "SecurityState.change_password": Roles(ANY_ROLE),
    "AuthFormState.load": Public("says why the log-in or sign-up form came back (a fixed code from the URL); "
                                 "reads nothing else"),
    # ── shop ─────────────────────────────────────────────────────────────────────────────
    "CatalogState.load": CATALOG,
    "CatalogState.next_page": CATALOG,
    "CatalogState.prev_page": CATALOG,
    "CatalogState.set_query": CATALOG,
    "CatalogState.set_bnpl_only": CATALOG,
    "ProductState.load": CATALOG,
    "ProductState.choose_plan": FORM,
    "ProductState.add_to_cart": Roles(SHOP),
    "ProductState.buy_bnpl": Roles(SHOP),
    "CartState.load": Reads(SHOP),
    "CartState.remove": Public("removes a line from this tab's own cart; nothing is ordered"),
    "CartState.confirm": Roles(SHOP),
    "OrdersState.load": Reads(SHOP),
    "OrdersState.next_page": Reads(SHOP),
    "OrdersState.prev_page": Reads(SHOP),
    "OrderState.load": Reads(SHOP),
    "OrderState.set_tracking": FORM,
    "OrderState.pay_now": Roles(SHOP),
    "OrderState.request_return": Roles(SHOP),
    # ── the shopper's account ────────────────────────────────────────────────────────────
    "BillsState.load": Reads(SHOP),
    "BillsState.next_page": Reads(SHOP),
    "BillsState.prev_page": Reads(SHOP),
    "BillsState.repay": Roles(SHOP),
    "BillsState.early_repay": Roles(SHOP),
    "BillsState.set_first_method": FORM,
    "BillsState.set_days_before": FORM,
    "BillsState.save_autopay": Roles(SHOP),
    "CreditState.load": Reads(SHOP),
    "CreditState.set_terms_ok": FORM,
    "CreditState.open_bnpl": Roles(SHOP),
    "CreditState.close_bnpl": Roles(SHOP),
    "CreditState.set_cap_text": FORM,
    "CreditState.save_cap": Roles(SHOP),
    "CreditState.clear_cap": Roles(SHOP),
    "CreditState.set_real_name": FORM,
    "CreditState.set_id_number": FORM,
    "CreditState.set_phone": FORM,
    "CreditState.verify_identity": Roles(SHOP),
    "CreditState.bind_phone": Roles(SHOP),
    "CreditState.start_application": FORM,
    "CreditState.cancel_application": FORM,
    "CreditState.set_statement": FORM,
    "CreditState.set_reason": FORM,
    "CreditState.set_installments": FORM,
    "CreditState.set_waiver": FORM,
    "CreditState.files_rejected": DROPPED,
    "CreditState.submit_application": Roles(SHOP),
    "CashState.load": Reads(SHOP),
    "CashState.apply": Roles(SHOP),
    "CashState.set_amount_text": FORM,
    "CashState.set_term": FORM,
    "CashState.set_card": FORM,
    "CashState.show_quote": Roles(SHOP),
    "CashState.confirm_draw": Roles(SHOP),
    "CashState.open_repay": Public("opens the early-repayment form on a draw this tab was shown (draws come from load)"),
    "CashState.close_repay": TAB,
    "CashState.set_repay_text": FORM,
    "CashState.quote_repay": Roles(SHOP),
    "CashState.confirm_repay": Roles(SHOP),
    "CashBuyState.check": Reads(SHOP),
    "CashBuyState.start": Roles(SHOP),
    "CashBuyState.choose_term": Roles(SHOP),
    "CashBuyState.cancel": TAB,
    "CashBuyState.confirm": Roles(SHOP),
    "WalletState.load": Reads(SHOP),
    "WalletState.set_topup_text": FORM,
    "WalletState.set_bank": FORM,
    "WalletState.set_last4": FORM,
    "WalletState.set_card_balance": FORM,
    "WalletState.topup": Roles(SHOP),
    "WalletState.add_card": Roles(SHOP),
    "WalletState.toggle_add": TAB,
    "WalletState.ask_remove": TAB,
    "WalletState.cancel_remove": TAB,
    "WalletState.remove_method": Roles(SHOP),
    "WalletState.set_autopay": Roles(SHOP),
    "WalletState.move": Roles(SHOP),
    "WalletState.rebind_wallet": Roles(SHOP),
    "InboxState.load": Roles(ANY_ROLE),
    "InboxState.next_page": Reads(ANY_ROLE),
    "InboxState.prev_page": Reads(ANY_ROLE),
    "InboxState.mark_read": Roles(ANY_ROLE),
    "InboxState.mark_all_read": Roles(ANY_ROLE),
    "HelpState.load": Public("the help pages are public"),
    # ── merchant console ─────────────────────────────────────────────────────────────────
    "MerchantProductsState.load": Reads(MER),
    "MerchantProductsState.toggle_bnpl": Roles(MER),
    "MerchantProductsState.save_settings": Roles(MER),
    "MerchantProductsState.save_cap": Roles(MER),
    "MerchantProductsState.open_new": TAB,
    "MerchantProductsState.open_edit": Public("opens the dialog on a row this tab was shown (rows come from load)"),
    "MerchantProductsState.files_rejected": DROPPED,
    "MerchantProductsState.set_editing": TAB,
    "MerchantProductsState.set_edit_name": FORM,
    "MerchantProductsState.set_edit_category": FORM,
    "MerchantProductsState.set_edit_price": FORM,
    "MerchantProductsState.set_edit_stock": FORM,
    "MerchantProductsState.set_edit_description": FORM,
    "MerchantProductsState.set_edit_bnpl": FORM,
    "MerchantProductsState.save_product": Roles(MER),
    "MerchantOrdersState.load": Reads(MER),
    "MerchantOrdersState.next_page": Reads(MER),
    "MerchantOrdersState.prev_page": Reads(MER),
    "MerchantOrdersState.set_query": Reads(MER),
    "MerchantOrdersState.set_status": Reads(MER),
    "MerchantReturnsState.load": Reads(MER),
    "MerchantReturnsState.next_page": Reads(MER),
    "MerchantReturnsState.prev_page": Reads(MER),
    "MerchantReturnsState.set_query": Reads(MER),
    "MerchantReturnsState.open": Public("opens the inspection of a row this tab was shown (rows come from load)"),
    "MerchantReturnsState.set_reason": FORM,
    "MerchantReturnsState.files_rejected": DROPPED,
    "MerchantReturnsState.receive": Roles(MER),
    "MerchantReturnsState.accept": Roles(MER),
    "MerchantReturnsState.reject": Roles(MER),
    "SettlementState.load": Reads(MER),
    "SettlementState.next_page": Reads(MER),
    "SettlementState.prev_page": Reads(MER),
    "SettlementState.export_csv": Reads(MER),
    "AnalyticsState.load": Reads(MER),
    # ── 信用分租机 ───────────────────────────────────────────────────────────────────────────
    "RentCatalogState.load": CATALOG,
    "RentCatalogState.next_page": CATALOG,
    "RentCatalogState.prev_page": CATALOG,
    "RentListingState.load": Public("a device's page is public (active listings only); a shopper's own credit review "
                                    "is read from the server-side session"),
    "RentListingState.choose_term": FORM,
    "RentListingState.apply": Roles(SHOP),
    "RentListingState.close_contract": TAB,
    "RentListingState.accept": Roles(SHOP),
    "MyRentalsState.load": Reads(SHOP),
    "MyRentalsState.next_page": Reads(SHOP),
    "MyRentalsState.prev_page": Reads(SHOP),
    "MyRentalsState.open_return": Public("opens the return form of a row this tab was shown (rows come from load)"),
    "MyRentalsState.set_tracking": FORM,
    "MyRentalsState.request_return": Roles(SHOP),
    "MyRentalsState.buyout": Roles(SHOP),
    "MyRentalsState.cancel": Roles(SHOP),
    "MerchantRentalsState.load": Reads(MER),
    "MerchantRentalsState.next_page": Reads(MER),
    "MerchantRentalsState.prev_page": Reads(MER),
    "MerchantRentalsState.open_new": TAB,
    "MerchantRentalsState.open_edit": Public("opens the form on a row this tab was shown (rows come from load)"),
    "MerchantRentalsState.close_form": TAB,
    "MerchantRentalsState.set_field": FORM,
    "MerchantRentalsState.set_active": FORM,
    "MerchantRentalsState.save_listing": Roles(MER),
    "MerchantRentalsState.set_serial": FORM,
    "MerchantRentalsState.deliver": Roles(MER),
    "MerchantRentalsState.receive": Roles(MER),
    "MerchantRentalsState.open": Public("opens the inspection of a row this tab was shown (rows come from load)"),
    "MerchantRentalsState.set_reason": FORM,
    "MerchantRentalsState.set_repair": FORM,
    "MerchantRentalsState.files_rejected": DROPPED,
    "MerchantRentalsState.accept": Roles(MER),
    "MerchantRentalsState.reject": Roles(MER),
    # ── operator desk ────────────────────────────────────────────────────────────────────
    "OpsQueueState.load": Reads(OPS),
    "OpsQueueState.next_page": Reads(OPS),
    "OpsQueueState.prev_page": Reads(OPS),
    "OpsQueueState.set_query": Reads(OPS),
    "OpsQueueState.set_status": Reads(OPS),
    "OpsApplicationState.load": Reads(OPS),
    "OpsApplicationState.set_reason": FORM,
    "OpsApplicationState.set_limit_input": FORM,
    "OpsApplicationState.set_waive_mode": FORM,
    "OpsApplicationState.set_waive_input": FORM,
    "OpsApplicationState.set_installments_input": FORM,
    "OpsApplicationState.approve": Roles(OPS),
    "OpsApplicationState.reject": Roles(OPS),
    "OpsShoppersState.load": Reads(OPS),
    "OpsShoppersState.next_page": Reads(OPS),
    "OpsShoppersState.prev_page": Reads(OPS),
    "OpsShoppersState.search": Reads(OPS),
    "OpsShoppersState.set_query": Reads(OPS),
    "OpsShoppersState.open": Roles(OPS),
    "RiskState.load": Reads(OPS),
    "AuditState.load": Public("the audit page's shell; it reads nothing (run_audit does, for operators)"),
    "AuditState.run_audit": Roles(OPS),
    # every app state has Reflex's setvar
    **{f"{name}.setvar": SETVAR for name in STATES},
}


def classification(state_name: str, handler: str) -> Public | Roles | None:
    """How ``state_name.handler`` is classified (None: it is not — a test fails)."""
    return HANDLERS.get(f"{state_name}.{handler}")
