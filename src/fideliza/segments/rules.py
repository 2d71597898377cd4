"""Segment rules: a small JSON language compiled to one Django query.

A rule set is a group::

    {"op": "and" | "or", "negate": false, "rules": [rule or group, ...]}

and a rule is ``{"field": "city", "cmp": "eq", "value": "Córdoba", "negate": false}``.
Fields come from three sources — the customer card, the analytics snapshot
(`insights.CustomerMetrics`) and behaviour (orders, products; points, which loyalty adds
with `rule_field_register`) — and each compiles
to a `Q` over `Customer`, with `Exists`/`IN (subquery)` for behaviour so that the whole
segment is one SQL statement on SQLite and PostgreSQL alike.

A rule about a value the customer does not have (no snapshot row, no birth date, no
orders) is *false*, so its negation is *true*: "nivel de valor no es oro" includes customers
without a snapshot. SQL's three-valued logic would make such a rule NULL and drop the
customer under any NOT, so every leaf compiles to a two-valued condition — an explicit
``IS NOT NULL`` guard next to a comparison on a nullable column or a LEFT JOIN, `Exists`,
`IN (subquery)` of non-null ids, or a `Coalesce` — and NOT is then plain SQL NOT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import (
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.db.models.lookups import Exact, GreaterThanOrEqual, LessThanOrEqual, Range
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fideliza.catalog.selectors import (
    category_ids_named,
    category_names,
    category_parents,
    product_ids_in_categories,
    product_ids_with_skus,
)
from fideliza.customers.models import Channel, ConsentStatus, CustomerKind, Gender
from fideliza.customers.selectors import consent_latest_status
from fideliza.insights.selectors import metrics_lookup
from fideliza.sales.selectors import (
    customer_spent_since,
    customers_bought,
    customers_last_ordered_between,
    customers_with_order_count,
)

MAX_DEPTH = 5
MAX_RULES = 50

TEXT_OPS = ("eq", "ne", "in", "contains", "startswith", "empty", "not_empty")
CHOICE_OPS = ("eq", "ne", "in", "not_in")
NUMBER_OPS = ("eq", "gte", "lte", "between")
DATE_OPS = ("before", "after", "between")
FLAG_OPS = ("is_true", "is_false")

OP_LABELS = {
    "eq": gettext_lazy("es"), "ne": gettext_lazy("no es"), "in": gettext_lazy("es uno de"),
    "not_in": gettext_lazy("no es ninguno de"), "contains": gettext_lazy("contiene"),
    "startswith": gettext_lazy("empieza por"), "empty": gettext_lazy("está vacío"),
    "not_empty": gettext_lazy("no está vacío"), "gte": gettext_lazy("≥"), "lte": gettext_lazy("≤"),
    "between": gettext_lazy("entre"), "before": gettext_lazy("antes de"),
    "after": gettext_lazy("después de"), "is_true": gettext_lazy("sí"), "is_false": gettext_lazy("no"),
}


@dataclass(frozen=True)
class FieldDef:
    key: str
    label: Any
    group: str  # "card" | "analytics" | "behaviour"
    kind: str  # text | choice | number | money | date | flag | days
    ops: tuple[str, ...]
    compile: Callable[[str, Any], Q]
    choices: Callable[[], list[tuple[str, str]]] | None = None
    help: Any = ""
    extra: dict = field(default_factory=dict)


def _today() -> date:
    return timezone.localdate()


# ---------------------------------------------------------------- value parsing

def _as_list(value: Any) -> list:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [value]


def _number(value: Any, name: str) -> Decimal:
    try:
        return Decimal(str(value).replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({name: _("«%(v)s» no es un número.") % {"v": value}}) from exc


def _date(value: Any, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError({name: _("«%(v)s» no es una fecha (AAAA-MM-DD).") % {"v": value}}) from exc


def _pair(value: Any, name: str, parse: Callable[[Any, str], Any]) -> tuple[Any, Any]:
    items = _as_list(value)
    if len(items) != 2:
        raise ValidationError({name: _("«entre» necesita dos valores.")})
    return parse(items[0], name), parse(items[1], name)


# ---------------------------------------------------------------- compilers

def _text(path: str) -> Callable[[str, Any], Q]:
    def compile_(op: str, value: Any) -> Q:
        if op == "eq":
            return Q(**{f"{path}__iexact": str(value).strip()})
        if op == "ne":
            return ~Q(**{f"{path}__iexact": str(value).strip()})
        if op == "in":
            q = Q()
            for item in _as_list(value):
                q |= Q(**{f"{path}__iexact": item})
            return q
        if op == "contains":
            return Q(**{f"{path}__icontains": str(value).strip()})
        if op == "startswith":
            return Q(**{f"{path}__istartswith": str(value).strip()})
        if op == "empty":
            return Q(**{path: ""}) | Q(**{f"{path}__isnull": True})
        return ~Q(**{path: ""}) & Q(**{f"{path}__isnull": False})
    return compile_


def _present(path: str) -> Q:
    """The guard that keeps a comparison on `path` two-valued (see the module docstring)."""
    return Q(**{f"{path}__isnull": False})


def _choice(path: str) -> Callable[[str, Any], Q]:
    def compile_(op: str, value: Any) -> Q:
        if op in ("eq", "ne"):
            q = Q(**{path: value}) & _present(path)
        else:
            q = Q(**{f"{path}__in": _as_list(value)}) & _present(path)
        return q if op in ("eq", "in") else ~q
    return compile_


def _numeric(path: str) -> Callable[[str, Any], Q]:
    def compile_(op: str, value: Any) -> Q:
        if op == "between":
            low, high = _pair(value, path, _number)
            return Q(**{f"{path}__gte": low, f"{path}__lte": high}) & _present(path)
        number = _number(value, path)
        return Q(**{f"{path}__{'exact' if op == 'eq' else op}": number}) & _present(path)
    return compile_


def expression_rule(expr_factory: Callable[[], Any], guard: Q | None = None) -> Callable[[str, Any], Q]:
    """Compare a per-customer expression (points, share of wallet…) with a number; `guard`
    says when the expression is not NULL (None: it never is)."""
    def compile_(op: str, value: Any) -> Q:
        expr = expr_factory()
        if op == "between":
            low, high = _pair(value, "value", _number)
            q = Q(GreaterThanOrEqual(expr, low)) & Q(LessThanOrEqual(expr, high))
        else:
            number = _number(value, "value")
            if op == "gte":
                q = Q(GreaterThanOrEqual(expr, number))
            elif op == "lte":
                q = Q(LessThanOrEqual(expr, number))
            else:
                q = Q(GreaterThanOrEqual(expr, number)) & Q(LessThanOrEqual(expr, number))
        return q & guard if guard is not None else q
    return compile_


def _range(op: str, value: Any, name: str) -> tuple[Decimal | None, Decimal | None]:
    """A number comparison as a closed interval [low, high] (None = unbounded)."""
    if op == "between":
        return _pair(value, name, _number)
    number = _number(value, name)
    return {"gte": (number, None), "lte": (None, number)}.get(op, (number, number))


def _age(op: str, value: Any) -> Q:
    today = _today()

    def born_before_for_age(years: Decimal) -> date:  # age ≥ years  ⇔  born on/before this
        y = int(years)
        try:
            return today.replace(year=today.year - y)
        except ValueError:  # 29 February
            return today.replace(year=today.year - y, day=28)

    # Plain comparisons of the date column: two-valued once NULL birth dates are excluded.
    low, high = _range(op, value, "age")
    q = _present("birth_date")
    if low is not None:
        q &= Q(birth_date__lte=born_before_for_age(low))
    if high is not None:
        q &= Q(birth_date__gt=born_before_for_age(high + 1))
    return q


class MonthDay(Func):
    """A date column's month × 100 + day (25 December → 1225), one native expression per row.

    Django's `__month`/`__day` lookups call a Python function per row on SQLite; comparing
    one integer against at most a few ranges keeps the birthday rule fast on both databases.
    """

    output_field = IntegerField()
    arity = 1
    template = "CAST(EXTRACT(MONTH FROM %(expressions)s) * 100 + EXTRACT(DAY FROM %(expressions)s) AS integer)"

    def as_sqlite(self, compiler, connection, **extra_context):
        # A literal % must reach the driver doubled (Django's SQLite backend un-doubles it).
        return super().as_sql(compiler, connection, template="CAST(strftime('%%%%m%%%%d', %(expressions)s) AS integer)",
                              **extra_context)


def birthday_window(days: int, today: date | None = None) -> Q:
    """Birthday (month/day) within the next `days` days, today included; 29 Feb counts on 28 Feb
    in non-leap years."""
    today = today or _today()
    by_month: dict[int, list[int]] = {}
    for offset in range(min(max(0, days), 366) + 1):
        d = today + timedelta(days=offset)
        by_month.setdefault(d.month, []).append(d.day)
        if d.month == 2 and d.day == 28 and not _leap(d.year):
            by_month[2].append(29)
    # Months the window covers in full merge with their neighbours into one range, so a
    # window is at most two ranges (it may wrap around the year end).
    spans: list[list[int]] = []
    for month in sorted(by_month):
        low, high = month * 100 + min(by_month[month]), month * 100 + max(by_month[month])
        if spans and spans[-1][1] // 100 == month - 1 and low % 100 == 1 and _month_full(spans[-1][1]):
            spans[-1][1] = high
        else:
            spans.append([low, high])
    mmdd = MonthDay("birth_date")
    q = Q(Range(mmdd, tuple(spans[0])))
    for low, high in spans[1:]:
        q |= Q(Range(mmdd, (low, high)))
    return q & _present("birth_date")


def _month_full(mmdd: int) -> bool:
    """Whether month/day `mmdd` is the last day of its month (29 February in a leap year)."""
    month, day = divmod(mmdd, 100)
    return day == (31 if month in (1, 3, 5, 7, 8, 10, 12) else 30 if month != 2 else 29)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _birthday(op: str, value: Any) -> Q:
    return birthday_window(int(_number(value, "birthday_within_days")))


def _consent(op: str, value: Any) -> Q:
    """The latest consent record for the channel says granted (no record = not granted)."""
    latest = consent_latest_status(str(value))
    granted = Q(Exact(Coalesce(latest, Value("")), ConsentStatus.GRANTED))
    return granted if op == "is_true" else ~granted


def _interest(op: str, value: Any) -> Q:
    names = [n.lower() for n in _as_list(value)]
    q = Q(Exists(_through().objects.filter(customer_id=OuterRef("pk"), tag__name__in=names)))
    return q if op in ("eq", "in") else ~q


def _through():
    from fideliza.customers.models import Customer

    return Customer.interests.through


# Behaviour reads the orders themselves, not the snapshot (which lags new sales until the
# next recompute). Each rule is an `Exists` probe of the (customer, placed_at) index, run only
# for the customers the cheaper conditions let through, or one uncorrelated
# `customer IN (SELECT … GROUP BY customer)` where every customer needs a count anyway. Both
# are two-valued: customers without orders simply do not match.

def _day_start(d: date):
    from datetime import datetime, time

    return datetime.combine(d, time.min, tzinfo=timezone.get_current_timezone())


def _last_order_in(since: date | None, until: date | None) -> Q:
    """Customers whose last order falls on local days [since, until] (None = open end)."""
    return customers_last_ordered_between(_day_start(since) if since is not None else None,
                                          _day_start(until + timedelta(days=1)) if until is not None else None)


def _last_purchase(op: str, value: Any) -> Q:
    if op == "between":
        low, high = _pair(value, "last_purchase", _date)
        return _last_order_in(low, high)
    d = _date(value, "last_purchase")
    if op == "before":
        return _last_order_in(None, d - timedelta(days=1))
    return _last_order_in(d + timedelta(days=1), None)


def _days_without_buying(op: str, value: Any) -> Q:
    """Bought at least once, and the last purchase was N whole days ago ("no compra hace N
    días": N ≥ 90 means nothing bought in the last 89 days nor today)."""
    low, high = _range(op, value, "days_without_buying")
    today = _today()
    since = today - timedelta(days=int(high)) if high is not None else None
    until = today - timedelta(days=int(low) if int(low) == low else int(low) + 1) if low is not None else None
    return _last_order_in(since, until)


def _orders_count(op: str, value: Any) -> Q:
    """Number of orders in [low, high]; customers without orders count 0."""
    low, high = _range(op, value, "orders_count")
    return customers_with_order_count(low, high)


def _category_ids(value: Any) -> list[int]:
    """The categories named (by id or name) and all their descendants."""
    roots: list[int] = []
    for item in _as_list(value):
        if str(item).isdigit():
            roots.append(int(item))
        else:
            roots.extend(category_ids_named(str(item)))
    parents = category_parents()
    wanted = set(roots)
    changed = True
    while changed:
        changed = False
        for pk, parent in parents.items():
            if parent in wanted and pk not in wanted:
                wanted.add(pk)
                changed = True
    return sorted(wanted)


def _bought(kind: str) -> Callable[[str, Any], Q]:
    def compile_(op: str, value: Any) -> Q:
        if kind == "product":
            skus = [str(s) for s in _as_list(value)]
            q = customers_bought(products=product_ids_with_skus(skus), skus=skus)
        else:  # categories resolved once here; the products in them by an uncorrelated subquery
            q = customers_bought(products=product_ids_in_categories(_category_ids(value)))
        return q if op == "is_true" else ~q
    return compile_


def _share_of_wallet():
    """Last 12 months' spend / the estimated annual potential on the card (null if unknown)."""
    since = timezone.now() - timedelta(days=365)
    spent = customer_spent_since(since)
    return Coalesce(spent, Decimal(0)) / NullIf(F("wallet_potential"), Decimal(0))


def _choices_from(enum) -> Callable[[], list[tuple[str, str]]]:
    return lambda: [(str(v), str(label)) for v, label in enum.choices if v != ""]


def _analytics_choices(name: str) -> Callable[[], list[tuple[str, str]]]:
    """Codes of the analytics core with their display name in the active language."""
    def choices() -> list[tuple[str, str]]:
        from fideliza.insights.labels import choices_of

        return choices_of(name)
    return choices


def _abc() -> list[tuple[str, str]]:
    return [("A", "A"), ("B", "B"), ("C", "C")]


def _executives() -> list[tuple[str, str]]:
    from fideliza.accounts.selectors import user_choices

    return user_choices()


def _tags() -> list[tuple[str, str]]:
    from fideliza.customers.selectors import tag_names

    return [(t, t) for t in tag_names()]


M = metrics_lookup  # the rules on the analytics snapshot reach it through insights' join
FIELDS: dict[str, FieldDef] = {f.key: f for f in (
    # The card
    FieldDef("city", gettext_lazy("Ciudad"), "card", "text", TEXT_OPS, _text("city")),
    FieldDef("region", gettext_lazy("Provincia / región"), "card", "text", TEXT_OPS, _text("region")),
    FieldDef("postal_code", gettext_lazy("Código postal"), "card", "text", TEXT_OPS, _text("postal_code")),
    FieldDef("country", gettext_lazy("País"), "card", "text", TEXT_OPS, _text("country")),
    FieldDef("kind", gettext_lazy("Tipo de cliente"), "card", "choice", CHOICE_OPS, _choice("kind"),
             _choices_from(CustomerKind)),
    FieldDef("gender", gettext_lazy("Género"), "card", "choice", CHOICE_OPS, _choice("gender"),
             _choices_from(Gender)),
    FieldDef("age", gettext_lazy("Edad"), "card", "number", NUMBER_OPS, _age),
    FieldDef("employees", gettext_lazy("Número de empleados"), "card", "number", NUMBER_OPS, _numeric("employees"),
             help=gettext_lazy("De las empresas; una persona, o una empresa sin el dato, no cumple la condición.")),
    FieldDef("birthday_within_days", gettext_lazy("Cumpleaños en los próximos N días"), "card", "days",
             ("lte",), _birthday),
    FieldDef("interest", gettext_lazy("Interés / afición"), "card", "choice", ("eq", "in", "ne", "not_in"),
             _interest, _tags),
    FieldDef("consent", gettext_lazy("Acepta comunicaciones por"), "card", "flag", FLAG_OPS, _consent,
             _choices_from(Channel), extra={"negative_label": gettext_lazy("No acepta comunicaciones por")}),
    FieldDef("account_executive", gettext_lazy("Ejecutivo de cuenta"), "card", "choice", CHOICE_OPS,
             _choice("account_executive_id"), _executives),
    FieldDef("acquisition_channel", gettext_lazy("Canal de captación"), "card", "text", TEXT_OPS,
             _text("acquisition_channel")),
    # The analytics snapshot
    FieldDef("rfm_segment", gettext_lazy("Segmento RFM"), "analytics", "choice", CHOICE_OPS,
             _choice(M("rfm_segment")), _analytics_choices("rfm_segment")),
    FieldDef("abc_revenue", gettext_lazy("Clase ABC por ventas"), "analytics", "choice", CHOICE_OPS,
             _choice(M("abc_revenue")), _abc),
    FieldDef("abc_margin", gettext_lazy("Clase ABC por margen"), "analytics", "choice", CHOICE_OPS,
             _choice(M("abc_margin")), _abc),
    FieldDef("value_tier", gettext_lazy("Nivel de valor"), "analytics", "choice", CHOICE_OPS,
             _choice(M("value_tier")), _analytics_choices("value_tier")),
    FieldDef("activity_state", gettext_lazy("Estado de actividad"), "analytics", "choice", CHOICE_OPS,
             _choice(M("activity_state")), _analytics_choices("activity_state")),
    FieldDef("churn_band", gettext_lazy("Banda de riesgo de abandono"), "analytics", "choice", CHOICE_OPS,
             _choice(M("churn_band")), _analytics_choices("churn_band")),
    FieldDef("churn_risk", gettext_lazy("Riesgo de abandono (0–1)"), "analytics", "number", NUMBER_OPS,
             _numeric(M("churn_risk"))),
    FieldDef("p_alive", gettext_lazy("Probabilidad de seguir activo (0–1)"), "analytics", "number",
             NUMBER_OPS, _numeric(M("p_alive"))),
    FieldDef("clv_predicted", gettext_lazy("CLV previsto"), "analytics", "money", NUMBER_OPS,
             _numeric(M("clv_predicted"))),
    FieldDef("clv_historic", gettext_lazy("CLV histórico"), "analytics", "money", NUMBER_OPS,
             _numeric(M("clv_historic"))),
    FieldDef("share_of_wallet", gettext_lazy("Cuota de cliente (gasto 12 meses / potencial)"), "analytics",
             "number", NUMBER_OPS, expression_rule(_share_of_wallet, Q(wallet_potential__gt=0))),
    # Behaviour
    FieldDef("bought_product", gettext_lazy("Ha comprado el producto (SKU)"), "behaviour", "flag",
             FLAG_OPS, _bought("product"),
             extra={"negative_label": gettext_lazy("No ha comprado el producto (SKU)")}),
    FieldDef("bought_category", gettext_lazy("Ha comprado en la categoría"), "behaviour", "flag",
             FLAG_OPS, _bought("category"),
             extra={"negative_label": gettext_lazy("No ha comprado en la categoría")}),
    FieldDef("last_purchase", gettext_lazy("Última compra"), "behaviour", "date", DATE_OPS, _last_purchase),
    FieldDef("days_without_buying", gettext_lazy("Días sin comprar"), "behaviour", "number",
             NUMBER_OPS, _days_without_buying),
    FieldDef("orders_count", gettext_lazy("Número de pedidos"), "behaviour", "number", NUMBER_OPS,
             _orders_count),
)}


def rule_field_register(definition: FieldDef) -> None:
    """Add a field that an app above segments knows about (loyalty: the points balance);
    call from its AppConfig.ready. Fields are offered in the order they are added."""
    FIELDS[definition.key] = definition


def compile_rules(rules: dict, *, depth: int = 0, counter: list[int] | None = None) -> Q:
    """The `Q` for a rule group; raises ValidationError with a message per bad rule."""
    counter = counter if counter is not None else [0]
    if depth > MAX_DEPTH:
        raise ValidationError(_("Demasiados niveles de grupos (máximo %(n)s).") % {"n": MAX_DEPTH})
    if not isinstance(rules, dict):
        raise ValidationError(_("Las reglas deben ser un objeto JSON."))
    if "field" in rules:
        q = _compile_rule(rules, counter)
    else:
        op = rules.get("op", "and")
        if op not in ("and", "or"):
            raise ValidationError(_("Operador de grupo desconocido: %(op)s") % {"op": op})
        children = rules.get("rules") or []
        if not isinstance(children, list):
            raise ValidationError(_("«rules» debe ser una lista."))
        q = Q()
        for child in children:
            compiled = compile_rules(child, depth=depth + 1, counter=counter)
            q = (q & compiled) if op == "and" else (q | compiled)
        if not children and op == "or":
            q = Q(pk__in=[])
    return ~q if rules.get("negate") else q


def _compile_rule(rule: dict, counter: list[int]) -> Q:
    counter[0] += 1
    if counter[0] > MAX_RULES:
        raise ValidationError(_("Demasiadas reglas (máximo %(n)s).") % {"n": MAX_RULES})
    key = rule.get("field")
    definition = FIELDS.get(key) if isinstance(key, str) else None
    if definition is None:
        raise ValidationError(_("Campo desconocido: %(f)s") % {"f": key})
    op = rule.get("cmp") or definition.ops[0]
    if op not in definition.ops:
        raise ValidationError(_("«%(op)s» no se puede usar con «%(f)s».") % {"op": op, "f": definition.label})
    value = rule.get("value")
    if op not in ("empty", "not_empty") and definition.kind != "flag" and value in (None, "", []):
        raise ValidationError(_("Falta el valor de «%(f)s».") % {"f": definition.label})
    if definition.kind == "flag" and definition.choices is not None and value in (None, ""):
        raise ValidationError(_("Falta el valor de «%(f)s».") % {"f": definition.label})
    return definition.compile(op, value)


def _listing(items: list[str], *, negative: bool = False) -> str:
    """«Oro», «Oro o Platino», «Oro, Plata o Platino» (after a negation: «… ni …»)."""
    if len(items) <= 1:
        return "".join(items)
    last = _("%(rest)s ni %(last)s") if negative else _("%(rest)s o %(last)s")
    return last % {"rest": ", ".join(items[:-1]), "last": items[-1]}


def _value_words(definition: FieldDef | None, value: Any) -> list[str]:
    """The rule's value(s) as the reader calls them: choice labels, money, dates, names."""
    from django.utils.formats import date_format, number_format

    from fideliza.core.money import money_format

    items = _as_list(value) if value not in (None, "") else []
    if definition is None:
        return [str(v) for v in items]
    names: dict[str, str] = {}
    if definition.choices is not None:
        names = {str(code): str(label) for code, label in definition.choices()}
    if definition.key == "bought_category":
        ids = [int(v) for v in items if str(v).isdigit()]
        names.update({str(pk): name for pk, name in category_names(ids).items()})
    words = []
    for item in items:
        text = str(item)
        if text in names:
            words.append(names[text])
        elif definition.kind == "money":
            try:
                words.append(money_format(Decimal(text.replace(",", "."))))
            except InvalidOperation:
                words.append(text)
        elif definition.kind in ("number", "days"):
            try:
                words.append(number_format(Decimal(text.replace(",", "."))))
            except InvalidOperation:
                words.append(text)
        elif definition.kind == "date":
            try:
                words.append(date_format(date.fromisoformat(text), "SHORT_DATE_FORMAT"))
            except ValueError:
                words.append(text)
        else:
            words.append(text)
    return words


def _describe_rule(rule: dict) -> str:
    definition = FIELDS.get(rule.get("field", ""))
    label = str(definition.label) if definition else str(rule.get("field", ""))
    op = rule.get("cmp") or (definition.ops[0] if definition else "")
    values = _value_words(definition, rule.get("value"))
    if definition is not None and definition.key == "birthday_within_days":
        return _("cumple años en los próximos %(n)s días") % {"n": _listing(values)}
    if op == "in":
        text = _("%(field)s es %(values)s") % {"field": label, "values": _listing(values)}
    elif op == "not_in":
        text = _("%(field)s no es %(values)s") % {"field": label, "values": _listing(values, negative=True)}
    elif op in ("empty", "not_empty"):
        text = f"{label} {OP_LABELS[op]}"
    elif op == "between" and len(values) == 2:
        text = _("%(field)s entre %(low)s y %(high)s") % {"field": label, "low": values[0], "high": values[1]}
    elif op in ("is_true", "is_false"):
        negative = definition.extra.get("negative_label") if definition else None
        if op == "is_false":
            label = str(negative) if negative else _("no: %(rule)s") % {"rule": label}
        text = f"{label} {_listing(values)}".strip()
    else:
        text = f"{label} {OP_LABELS.get(op, op)} {_listing(values)}".strip()
    return text


def describe(rules: dict) -> str:
    """The rules as a sentence in the reader's language, e.g. «Nivel de valor es Oro o
    Platino y ciudad es Córdoba» / «Value tier is Gold or Platinum and city is Córdoba»."""
    text = _describe(rules, top=True)
    return text[:1].upper() + text[1:]


def _describe(rules: dict, *, top: bool = False) -> str:
    if "field" in rules:
        text = _describe_rule(rules)
    else:
        joiner = f" {_('y')} " if rules.get("op", "and") == "and" else f" {_('o')} "
        children = rules.get("rules") or []
        parts = []
        for child in children:
            part = _lower_first(_describe(child))
            if "field" not in child and len(children) > 1:
                part = f"({part})"
            parts.append(part)
        text = joiner.join(parts)
    return _("no (%(rule)s)") % {"rule": _lower_first(text)} if rules.get("negate") else text


def _lower_first(text: str) -> str:
    """«Nivel de valor …» → «nivel de valor …» inside a sentence; acronyms («CLV», «RFM») stay."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text
