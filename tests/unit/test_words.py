"""The words catalog: every key in both languages with the same placeholders, and every key the
code names — written out, raised, notified, or built from a status, a plan, a step — exists.
The code is read as source (its syntax tree), so a key named on a path no test runs is checked too."""

from __future__ import annotations

import ast
import string
from collections import defaultdict
from pathlib import Path

import pytest

from bnpl_app import words
from bnpl_app.domain import errors
from bnpl_app.domain.policy import POLICY
from bnpl_app.models import (
    ApplicationKind,
    ApplicationStatus,
    BnplStatus,
    InstallmentStatus,
    OrderKind,
    OrderStatus,
    ReturnOutcome,
    ReturnStatus,
)
from bnpl_app.services import applications
from bnpl_app.views import account as account_views
from bnpl_app.words import WORDS

PACKAGE = Path(words.__file__).parent.parent
SCANNED = ("pages", "components", "views", "state", "services", "domain")
AREAS = {key.split(".", 1)[0] for key in WORDS if "." in key}


def _sources() -> dict[str, ast.Module]:
    files = [p for d in SCANNED for p in sorted((PACKAGE / d).rglob("*.py"))]
    files += [PACKAGE / "bnpl_app.py", PACKAGE / "cli.py"]
    return {str(p.relative_to(PACKAGE)): ast.parse(p.read_text(encoding="utf-8")) for p in files}


SOURCES = _sources()


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the string constants that are docstrings (prose about the code, not keys)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _strings(node: ast.AST | None) -> set[str]:
    """The string constants an argument can be (``"a" if x else "b"`` is both)."""
    if node is None:
        return set()
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _calls(name: str, *, files: str = ""):
    for path, tree in SOURCES.items():
        if path.startswith(files):
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and _name(node.func) == name:
                    yield node


def _keyword(name: str, *, files: str = "") -> set[str]:
    """Every string passed as ``name=…`` to any call."""
    return {v for path, tree in SOURCES.items() if path.startswith(files) for node in ast.walk(tree)
            if isinstance(node, ast.Call) for kw in node.keywords if kw.arg == name for v in _strings(kw.value)}


def _placeholders(text: str) -> set[str]:
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field}


# ── the catalog itself ───────────────────────────────────────────────────────────────────────
def test_every_key_has_chinese_and_english():
    for key, pair in WORDS.items():
        assert isinstance(pair, tuple) and len(pair) == 2, key
        zh, en = pair
        assert zh.strip() and en.strip(), key


def test_both_languages_of_a_key_name_the_same_placeholders():
    for key, (zh, en) in WORDS.items():
        assert _placeholders(zh) == _placeholders(en), key


def test_a_key_defined_in_two_areas_stops_the_import():
    with pytest.raises(KeyError, match="defined twice"):
        words._merge({"a": {"x.y": ("一", "one")}, "b": {"x.y": ("二", "two")}})


def test_render_fills_placeholders_and_keeps_unknown_ones_visible():
    assert words.render("page.of", "en", n=2, m=5) == "Page 2 of 5"
    assert words.render("page.of", "zh", n=2) == "第 2 / {m} 页"
    assert words.text("page.of", "en") == "Page {n} of {m}"
    assert words.render("no.such.key", "en") == "no.such.key"


def test_the_long_prose_names_only_the_policy_figures_the_views_fill():
    from bnpl_app.views import figures
    from bnpl_app.words.help import HELP

    by_caller = {"plan.fee_rule": {"fee"}}  # the plan's own fee, filled by the view that shows it
    for key, (zh, _en) in HELP.items():
        assert _placeholders(zh) <= set(figures("zh")) | by_caller.get(key, set()), key


# ── keys written out in the code ─────────────────────────────────────────────────────────────
def _literal_keys() -> dict[str, set[str]]:
    """String constants that look like a key of a catalog area (``bills.repaid``), by file; not the
    docstrings, nor the constant parts of an f-string (those are checked as built keys below)."""
    found = defaultdict(set)
    for path, tree in SOURCES.items():
        skip = _docstrings(tree) | {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                v = node.value
                if "." in v and " " not in v and v.split(".", 1)[0] in AREAS and v.replace(".", "").replace("_", "").isalnum():
                    found[v].add(path)
    return found


def test_every_key_written_in_the_code_exists():
    sections = set(account_views.HELP)  # section names: checked with their paragraphs below
    missing = {k: sorted(p) for k, p in _literal_keys().items() if k not in WORDS and k not in sections}
    assert not missing, missing


def test_the_literal_key_scan_sees_the_screens_the_toasts_and_the_refusals():
    seen = _literal_keys()
    for key in ("bills.title", "mer.saved", "auth.login_required", "elig.real_name", "cr.on_time", "countdown.ended"):
        assert key in seen, key


def _raised_keys() -> dict[str, set[str]]:
    """The message key of every domain error raised by key (``ValidationError("bad_id")``)."""
    kinds = {name for name, c in vars(errors).items() if isinstance(c, type) and issubclass(c, errors.DomainError)}
    found = defaultdict(set)
    for path, tree in SOURCES.items():
        for node in ast.walk(tree):
            # NotFound names what (below); NotEligible carries the failed rules (their keys are literals)
            if isinstance(node, ast.Call) and _name(node.func) in kinds - {"NotFound", "NotEligible"} and node.args:
                for key in _strings(node.args[0]):
                    found[key].add(path)
    return found


def test_every_error_raised_by_key_has_its_words():
    raised = _raised_keys()
    assert "bad_id" in raised and "consent.terms_required" in raised
    missing = {k: sorted(p) for k, p in raised.items() if k not in WORDS}
    assert not missing, missing


def test_every_notice_kind_has_a_title_and_a_body():
    kinds = set()
    for call in _calls("notify", files="services"):
        kinds |= _strings(next((kw.value for kw in call.keywords if kw.arg == "kind"), None))
    for call in _calls("Notice", files="domain/rules.py"):  # rules.Notice(kind, dedupe_key, params)
        kinds |= _strings(call.args[0]) if call.args else set()
    assert {"deducted", "failed", "reminder", "reward", "reward_step", "app_approved"} <= kinds
    assert not {k for k in kinds for part in ("title", "body") if f"n.{k}.{part}" not in WORDS}


# ── keys built at run time (``f"status.{order.status}"``) ──────────────────────────────────
def _not_found() -> set[str]:
    """Everything a NotFound names (``NotFound("order")``): its words are ``what.order``."""
    what = {"record"}  # NotFound's default
    for call in _calls("NotFound"):
        what |= _strings(call.args[0]) if call.args else set()
    for call in _calls("_int_id"):  # orders._int_id(value, "order") raises NotFound(what)
        what |= _strings(call.args[1]) if len(call.args) > 1 else set()
    return what


BNPL = set(BnplStatus)
APPLICATION_STATUSES = set(ApplicationStatus)

# what each family of built keys ranges over (the values a record of that kind can hold)
FAMILIES: dict[tuple[str, str], set[str]] = {
    ("status.", ""): set(OrderStatus) | set(InstallmentStatus) | BNPL | set(ReturnStatus) | APPLICATION_STATUSES,
    ("plan.", ""): set(POLICY.plans),
    ("step.", ""): _keyword("step", files="services"),
    ("note.", ""): set(),  # a note is a code or free text: shown as it is when the catalog lacks it
    ("kind.", ""): set(ApplicationKind),
    ("n.", ".title"): set(),  # checked with the kinds notified, above
    ("n.", ".body"): set(),
    ("elig.", ""): BNPL - {BnplStatus.ACTIVE},
    ("ops.app.", ""): APPLICATION_STATUSES,
    ("ops.reason.", ""): set(applications.REASONS),
    ("credit.reason_", ""): set(applications.REASONS),
    ("ops.event.", ""): _keyword("kind", files="services/credit.py") & {"score", "limit", "status"},
    ("mer.outcome.", ""): set(ReturnOutcome),
    ("csv.", ""): {v for call in _calls("heads", files="services/console.py") for a in call.args for v in _strings(a)},
    ("what.", ""): _not_found(),
    ("move.", ""): {*account_views.MOVEMENT_KINDS, "other"},
    ("engine.kind.", ""): set(OrderKind),
}


def _built_keys() -> dict[tuple[str, str], set[str]]:
    """Every f-string that starts like a key (``f"status.{x}"``), by its constant prefix and suffix."""
    found = defaultdict(set)
    for path, tree in SOURCES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                head = node.values[0].value
                if "." in head and " " not in head and head.split(".", 1)[0] in AREAS:
                    last = node.values[-1]
                    tail = last.value if len(node.values) > 2 and isinstance(last, ast.Constant) else ""
                    found[(head, tail)].add(path)
    return found


def test_every_key_built_at_run_time_belongs_to_a_known_family():
    unknown = {f"{h}…{t}": sorted(p) for (h, t), p in _built_keys().items() if (h, t) not in FAMILIES}
    assert not unknown, f"list the values these keys range over in FAMILIES: {unknown}"


@pytest.mark.parametrize("family", sorted(FAMILIES), ids=lambda f: f"{f[0]}…{f[1]}")
def test_every_value_a_built_key_ranges_over_has_its_words(family):
    head, tail = family
    missing = sorted(v for v in FAMILIES[family] if f"{head}{v}{tail}" not in WORDS)
    assert not missing, missing


def test_the_families_found_their_values():
    assert {"TRIAL", "SCHEDULED", "not_opened", "IN_TRANSIT", "APPROVED"} <= FAMILIES[("status.", "")]
    assert {"frozen", "captured", "released", "restructured"} <= FAMILIES[("step.", "")]
    assert {"damaged", "auto_accepted"} <= FAMILIES[("mer.outcome.", "")]
    assert {"score", "limit", "status"} == FAMILIES[("ops.event.", "")]
    assert {"date", "net", "paid"} <= FAMILIES[("csv.", "")]
    assert {"order", "product", "installment", "wallet"} <= FAMILIES[("what.", "")]


def test_every_help_and_terms_section_has_a_title_and_paragraphs():
    for section in account_views.HELP:
        assert f"{section}.title" in WORDS and f"{section}.1" in WORDS, section
    for lang in words.LANGS:
        for sec in account_views.help_sections(lang):
            assert sec.lines and not any("{" in line for line in [sec.title, *sec.lines]), sec
