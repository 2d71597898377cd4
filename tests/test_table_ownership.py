"""Each app owns its tables (README.md, "Architecture"), as a test.

An app reads another app's tables only through that app's selectors and writes them only
through its services. Read statically (AST) from every module of `src/fideliza` outside
the migrations; a module belongs to the app of its package (`fideliza.sales.selectors` →
sales; the top-level `fideliza.api` is the app `api`). Models are resolved by importing
what each module imports, so aliases and function-level imports count.

A module of app A breaks the rule when it
- uses the manager of a model of another app B: `Order.objects…`, `._default_manager`,
  `._base_manager` (queries, `bulk_create`, `update`, `delete` all go through it);
- instantiates a model of B (`Coupon(...)`, the first step of a save or a bulk insert);
- hands a model of B to a function that queries or writes it (`get_object_or_404`,
  `get_list_or_404`, the `core.bulk` inserts);
- names a table of B in SQL: a string (or f-string) naming it, or `Model._meta.db_table`
  of a model of B, unless `RAW_SQL_OWNERS` lists that module for B (below);
- follows a reverse relation into B in a lookup (`"metrics__churn_risk"`,
  `orders__placed_at`): the joined table belongs to B.

What stays allowed: a query on A's own models may follow the foreign keys those models
declare (`Order.objects.filter(customer__city=…)`, `select_related("customer")` inside
sales, a referral's `qualifying_order.total`): the row is reached through A's own column.
A selector of B may return a QuerySet of B's models that A narrows or orders further: the
query is still anchored in B's selector.

The second test plants each kind of violation in a copy of a real module and checks the
scan reports it, so the gate cannot pass by checking nothing.
"""

from __future__ import annotations

import ast
import importlib
import re
import types
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

SRC = Path(__file__).resolve().parents[1] / "src" / "fideliza"
MANAGERS = {"objects", "_default_manager", "_base_manager"}
# Functions that query or write the model class passed to them.
MODEL_TAKERS = {"get_object_or_404", "get_list_or_404", "insert_objects", "insert_rows", "reserve_ids",
                "insert_constant"}
SQL_WORDS = re.compile(r"\b(select|insert|update|delete|from|join|copy)\b", re.IGNORECASE)

# Which module may name which other app's tables in SQL, and why. Each module names only
# its own app's tables otherwise.
RAW_SQL_OWNERS: dict[str, dict[str, str]] = {
    "fideliza.sales.selectors": {
        "catalog": "order_facts joins each line to its product along OrderLine.product (the category)"},
}

# Modules that may use other apps' models directly, and why. Keep it short: a new entry
# needs a reason that a selector or a service of the owning app cannot serve.
ALLOWED: dict[str, str] = {}


def _app(module: str) -> str:
    return module.split(".")[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _tables() -> dict[str, str]:
    """{db table: owning app} for Fideliza's models (auto-created through tables too)."""
    owners = {}
    for model in apps.get_models(include_auto_created=True):
        if model.__module__.startswith("fideliza."):
            owners[model._meta.db_table] = _app(model.__module__)
    return owners


@cache
def _reverse_names() -> dict[str, str]:
    """{lookup name of a reverse relation that crosses apps: the app owning the joined table}."""
    names = {}
    for model in apps.get_models():
        if not model.__module__.startswith("fideliza."):
            continue
        for f in model._meta.get_fields():
            if not (f.is_relation and f.auto_created and not f.concrete and f.related_model is not None):
                continue
            owner = f.related_model.__module__
            if owner.startswith("fideliza.") and _app(owner) != _app(model.__module__):
                names[f.name] = _app(owner)
    return names


@dataclass(frozen=True)
class Site:
    module: str
    line: int
    what: str
    owner: str  # the app whose table it touches

    def __str__(self) -> str:
        return f"{self.module}:{self.line} {self.what} ({self.owner}'s table)"


def _bindings(tree: ast.Module, module: str, is_package: bool) -> dict[str, object]:
    """{name: object} for every `from fideliza… import name` in the module, at any depth."""
    bound: dict[str, object] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            target = ".".join([*base, *([node.module] if node.module else [])])
        else:
            target = node.module or ""
        if not target.startswith("fideliza"):
            continue
        imported = importlib.import_module(target)
        for alias in node.names:
            if alias.name == "*":
                continue
            obj = getattr(imported, alias.name, None)
            if obj is None:
                obj = importlib.import_module(f"{target}.{alias.name}")
            bound[alias.asname or alias.name] = obj
    return bound


def _lookup_heads(node: ast.AST) -> list[tuple[str, int]]:
    """The first segment of every Django lookup written in `node`: keyword names and
    strings containing `__` (`"metrics__revenue"`, `orders__total__gt=`)."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.keyword) and sub.arg and "__" in sub.arg:
            found.append((sub.arg.split("__")[0], sub.value.lineno))
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and re.fullmatch(r"-?\w+__\w*", sub.value):
            found.append((sub.value.lstrip("-").split("__")[0], sub.lineno))
    return found


def scan_source(source: str, module: str, *, is_package: bool = False,
                sql_owners: Collection[str] | None = None) -> list[Site]:
    """The places where `module` (of its app) touches another app's tables; SQL naming the
    tables of the apps in `sql_owners` (by default its RAW_SQL_OWNERS entry) is not one."""
    app = _app(module)
    tree = ast.parse(source)
    bound = _bindings(tree, module, is_package)

    def foreign(expr: ast.AST) -> type[models.Model] | None:
        obj: object = None
        if isinstance(expr, ast.Name):
            obj = bound.get(expr.id)
        elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            holder = bound.get(expr.value.id)
            if isinstance(holder, types.ModuleType):
                obj = getattr(holder, expr.attr, None)
        if (isinstance(obj, type) and issubclass(obj, models.Model) and obj.__module__.startswith("fideliza.")
                and _app(obj.__module__) != app):
            return obj
        return None

    sites: list[Site] = []
    sql_tables: list[tuple[int, str, str]] = []  # (line, table, owner)
    tables = _tables()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in MANAGERS and (m := foreign(node.value)):
            sites.append(Site(module, node.lineno, f"{m.__name__}.{node.attr}", _app(m.__module__)))
        elif isinstance(node, ast.Call):
            if m := foreign(node.func):
                sites.append(Site(module, node.lineno, f"{m.__name__}(…)", _app(m.__module__)))
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in MODEL_TAKERS:
                for arg in node.args[:1]:
                    if m := foreign(arg):
                        sites.append(Site(module, node.lineno, f"{name}({m.__name__}, …)", _app(m.__module__)))
        elif (isinstance(node, ast.Attribute) and node.attr == "db_table" and isinstance(node.value, ast.Attribute)
              and node.value.attr == "_meta" and (m := foreign(node.value.value))):
            sql_tables.append((node.lineno, m._meta.db_table, _app(m.__module__)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_WORDS.search(node.value):
            for word in re.findall(r"\b[a-z]+_[a-z_]+\b", node.value):
                if word in tables and tables[word] != app:
                    sql_tables.append((node.lineno, word, tables[word]))
    allowed_sql = RAW_SQL_OWNERS.get(module, {}) if sql_owners is None else sql_owners
    sites += [Site(module, line, f"SQL on {table}", owner)
              for line, table, owner in sql_tables if owner not in allowed_sql]
    reverse = _reverse_names()
    sites += [Site(module, line, f"lookup {head}__…", reverse[head])
              for head, line in _lookup_heads(tree) if head in reverse and reverse[head] != app]
    return sorted(set(sites), key=lambda s: (s.line, s.what))


def _modules() -> list[tuple[str, Path]]:
    return [(_module_name(p), p) for p in sorted(SRC.rglob("*.py"))
            if "migrations" not in p.parts and _module_name(p).count(".") >= 1]


@pytest.fixture(scope="module")
def sites() -> dict[str, list[Site]]:
    found: dict[str, list[Site]] = {}
    for module, path in _modules():
        if module in ALLOWED:
            continue
        here = scan_source(path.read_text(), module, is_package=path.name == "__init__.py")
        if here:
            found[module] = here
    return found


def test_each_app_touches_other_apps_tables_only_through_their_selectors_and_services(sites):
    assert not sites, "\n".join(str(s) for here in sites.values() for s in here)


def test_the_lists_are_exact():
    """Every entry names a real module; a raw-SQL owner still names the tables listed."""
    modules = {m for m, _p in _modules()}
    assert set(ALLOWED) <= modules, set(ALLOWED) - modules
    for module, owners in RAW_SQL_OWNERS.items():
        assert module in modules, module
        source = (SRC.parent / (module.replace(".", "/") + ".py")).read_text()
        named = {s.owner for s in scan_source(source, module, sql_owners=()) if s.what.startswith("SQL on")}
        assert set(owners) <= named, f"{module} no longer names {set(owners) - named} tables in SQL"


PLANTED = [
    ("from fideliza.sales.models import Order\nn = Order.objects.count()\n", "Order.objects"),
    ("from fideliza.sales import models as sm\nn = sm.Order._default_manager.count()\n", "Order._default_manager"),
    ("def f(ids):\n    from fideliza.loyalty.models import Coupon\n"
     "    Coupon.objects.filter(pk__in=ids).update(is_active=False)\n", "Coupon.objects"),
    ("from fideliza.customers.models import Customer\nc = Customer(first_name='Ana')\n", "Customer(…)"),
    ("from django.shortcuts import get_object_or_404\nfrom fideliza.sales.models import Order\n"
     "def f(pk):\n    return get_object_or_404(Order, pk=pk)\n", "get_object_or_404(Order, …)"),
    ("from fideliza.core.bulk import insert_objects\nfrom fideliza.customers.models import Customer\n"
     "insert_objects(Customer, [])\n", "insert_objects(Customer, …)"),
    ("from fideliza.sales.models import Order\nSQL = f'SELECT id FROM {Order._meta.db_table}'\n",
     "SQL on sales_order"),
    ("SQL = 'SELECT id, merged_into_id FROM customers_customer WHERE merged_into_id IS NOT NULL'\n",
     "SQL on customers_customer"),
    ("from django.db.models import Sum\nfrom fideliza.customers.models import Customer\n"
     "def f(qs):\n    return qs.aggregate(s=Sum('metrics__revenue'))\n", "lookup metrics__…"),
    ("def f(qs, since):\n    return qs.filter(orders__placed_at__gte=since)\n", "lookup orders__…"),
]


@pytest.mark.parametrize(("source", "what"), PLANTED)
def test_a_planted_violation_is_reported(source, what):
    module = "fideliza.campaigns.services"
    found = [s.what for s in scan_source(source, module)]
    assert what in found, found
    # The same code in the owning app is fine.
    owner = {"Order": "sales", "Coupon": "loyalty", "Customer": "customers", "sales_order": "sales",
             "customers_customer": "customers", "metrics": "insights", "orders": "sales"}
    key = next(k for k in owner if k in what)
    assert what not in [s.what for s in scan_source(source, f"fideliza.{owner[key]}.selectors")]
