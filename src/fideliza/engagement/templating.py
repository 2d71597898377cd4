"""Message templates written by staff: validation, sandboxed rendering, the per-recipient
variables and the live preview.

Templates use Jinja2's syntax in its sandbox, cut down to what a message needs: variables
(``{{ nombre }}``), filters (``{{ puntos|numero }}``, ``{{ clv|dinero }}``,
``{{ fecha_caducidad|fecha("largo") }}``), ``{% if %}`` / ``{% elif %}`` / ``{% else %}``,
comparisons and arithmetic. Everything else is refused before rendering, with a Spanish
message and the line: loops, macros, ``set``, includes, function or method calls and
attribute or item access. Without loops, calls and recursion a template runs in time
linear in its length, and no allowed filter repeats, pads or formats (its output is
bounded by its input and arguments), so a template can neither reach Python objects
(``''.__class__``) nor run code nor exhaust memory or CPU (``range(10**9)``,
``'x' * 10**9``, ``|center(10**9)``); a rendered message is capped at a million characters
all the same. The context holds only plain values (str, int, Decimal, date); the sandbox
itself (no attributes, no calls) is a second line of defence.

HTML bodies are autoescaped (a customer named ``<b>`` stays text); text bodies and
subjects are not. :func:`template_validate` reports unknown variables, filters and
syntax errors (as ``StrictUndefined`` would, but for every branch at once) and tries the
template on a full and an empty sample; at send time a missing variable, ``None`` or an
empty string renders as nothing, compares false, and takes ``|default("…")``.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.sandbox import SandboxedEnvironment

from fideliza.analytics import labels

__all__ = [
    "FILTERS",
    "PREFERENCES_MARKER",
    "UNSUBSCRIBE_MARKER",
    "VARIABLES",
    "TemplateError",
    "expiry_summary",
    "format_date",
    "format_money",
    "format_number",
    "preview",
    "recipients_context",
    "subject_render",
    "template_render",
    "template_validate",
]

UNSUBSCRIBE_MARKER = "%%unsubscribe_url%%"
PREFERENCES_MARKER = "%%preferences_url%%"

# (name, description) for the editor's help panel. Descriptions are marked for
# extraction and translated where they are shown: `gettext(description)`.
VARIABLES: list[tuple[str, str]] = [
    ("nombre", N_("Nombre de pila (la razón social si es una empresa sin nombre)")),
    ("apellidos", N_("Apellidos")),
    ("nombre_completo", N_("Nombre y apellidos, o la razón social de una empresa")),
    ("empresa", N_("Razón social")),
    ("email", N_("E-mail")),
    ("telefono", N_("Teléfono")),
    ("ciudad", N_("Ciudad")),
    ("region", N_("Provincia o región")),
    ("pais", N_("País (código ISO, p. ej. ES)")),
    ("puntos", N_("Puntos disponibles para canjear")),
    ("nivel", N_("Nivel de fidelización actual (p. ej. Oro)")),
    ("siguiente_nivel", N_("Siguiente nivel de fidelización (vacío en el nivel más alto)")),
    ("puntos_para_siguiente_nivel",
     N_("Puntos que faltan para el siguiente nivel (programas cuyo nivel va por puntos)")),
    ("importe_para_siguiente_nivel",
     N_("Importe que falta gastar para el siguiente nivel (programas cuyo nivel va por importe)")),
    ("falta_para_siguiente_nivel",
     N_("Lo que falta para el siguiente nivel, ya escrito: «120 puntos» o «45,50 €»")),
    ("puntos_que_caducan", N_("Puntos que caducan en la próxima fecha de caducidad")),
    ("fecha_caducidad", N_("Próxima fecha en que caducan puntos")),
    ("puntos_por_caducar",
     N_("Todos los puntos que caducan dentro del plazo de aviso del programa, sumando todas las fechas")),
    ("caducidades",
     N_("Qué puntos caducan y cuándo dentro del plazo de aviso, ya escrito: "
        "«130 puntos el 10 de diciembre y 50 puntos el 3 de enero de 2027»")),
    ("codigo_recomendacion", N_("Código para recomendar a un amigo")),
    ("segmento_rfm", N_("Segmento RFM (p. ej. Campeones, En riesgo)")),
    ("nivel_valor", N_("Nivel de valor (Platino, Oro, Plata, Bronce)")),
    ("estado_actividad", N_("Estado de actividad (Activo, En riesgo, Dormido, Perdido)")),
    ("ultima_compra", N_("Fecha de la última compra")),
    ("dias_sin_comprar", N_("Días desde la última compra")),
    ("clv", N_("Valor previsto del cliente (CLV); el histórico si no hay previsión")),
    ("producto_recomendado", N_("Siguiente producto recomendado")),
    ("categoria_recomendada", N_("Categoría del producto recomendado")),
    ("producto_recomendado_nivel",
     N_("Nivel del producto recomendado en el sendero de relación (entrada, valor, principal, premium)")),
    ("paso_sendero", N_("Paso del cliente en el sendero de relación")),
    ("siguiente_paso_sendero", N_("Siguiente paso del sendero de relación")),
    ("cupon", N_("Código de cupón personal de la oferta de la campaña")),
    ("cupon_descripcion", N_("Descripción de la oferta")),
    ("cupon_caduca", N_("Fecha hasta la que vale el cupón")),
    ("encuesta_enlace", N_("Enlace personal a la encuesta que lleva el envío (vacío si no lleva)")),
    ("hoy", N_("Fecha de hoy")),
    ("enlace_baja", N_("Enlace para darse de baja (obligatorio en los envíos comerciales)")),
    ("enlace_preferencias", N_("Enlace a la página de preferencias de comunicación")),
]

FILTERS: list[tuple[str, str]] = [
    ("dinero", N_("Importe con la moneda del negocio: {{ clv|dinero }} → 1.234,50 €")),
    ("numero", N_("Número con separador de miles: {{ puntos|numero }} → 12.500; "
                  "{{ x|numero(2) }} con dos decimales")),
    ("fecha", N_("Fecha: {{ hoy|fecha }} → 03/12/2026; |fecha(\"largo\") → 3 de diciembre de 2026; "
                 "|fecha(\"dia_mes\") → 3 de diciembre")),
    ("default", N_("Texto si la variable está vacía: {{ nombre|default(\"cliente\") }}")),
    ("upper", N_("MAYÚSCULAS")),
    ("lower", N_("minúsculas")),
    ("capitalize", N_("Primera letra en mayúscula")),
    ("title", N_("Cada Palabra En Mayúscula")),
    ("trim", N_("Quita los espacios de los extremos")),
    ("truncate", N_("Corta un texto largo: {{ producto_recomendado|truncate(30) }}")),
    ("round", N_("Redondea un número")),
]

_MAX_SOURCE = 100_000  # characters of template source
_MAX_OUTPUT = 1_000_000  # characters of one rendered message
_CHUNK = 5000  # recipients per round of queries in recipients_context

_BUILTIN_FILTERS = ("default", "d", "upper", "lower", "capitalize", "title", "trim", "truncate",
                    "round", "int", "abs", "length", "count", "wordcount", "striptags",
                    "escape", "e", "first", "last")
_TESTS = ("defined", "undefined", "none", "number", "string", "integer", "float", "true", "false",
          "even", "odd", "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<",
          "le", "<=", "gt", "greaterthan", ">", "ge", ">=", "in", "lower", "upper", "boolean")

_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.If,
    nodes.CondExpr, nodes.Filter, nodes.Test, nodes.Compare, nodes.Operand, nodes.And, nodes.Or,
    nodes.Not, nodes.Neg, nodes.Pos, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv,
    nodes.Concat, nodes.List, nodes.Tuple, nodes.Keyword,
)

_REFUSED: dict[type[nodes.Node], str] = {
    nodes.For: N_("la etiqueta {% for %} (no hay bucles en las plantillas de mensajes)"),
    nodes.Macro: N_("la etiqueta {% macro %}"),
    nodes.CallBlock: N_("la etiqueta {% call %}"),
    nodes.FilterBlock: N_("la etiqueta {% filter %}"),
    nodes.With: N_("la etiqueta {% with %}"),
    nodes.Block: N_("la etiqueta {% block %}"),
    nodes.Extends: N_("usar otras plantillas ({% extends %})"),
    nodes.Include: N_("incluir otras plantillas ({% include %})"),
    nodes.Import: N_("importar otras plantillas ({% import %})"),
    nodes.FromImport: N_("importar otras plantillas ({% from %})"),
    nodes.Assign: N_("la etiqueta {% set %}"),
    nodes.AssignBlock: N_("la etiqueta {% set %}"),
    nodes.Scope: N_("la etiqueta {% autoescape %}"),  # {% autoescape %} parses to a Scope
    nodes.ScopedEvalContextModifier: N_("la etiqueta {% autoescape %}"),
    nodes.EvalContextModifier: N_("la etiqueta {% autoescape %}"),
    nodes.Call: N_("llamar a funciones o métodos"),
    nodes.Getitem: N_("acceder a elementos («variable[…]»)"),
    nodes.Slice: N_("acceder a elementos («variable[…]»)"),
    nodes.Pow: N_("el operador **"),
    nodes.Mod: N_("el operador %"),
    nodes.Dict: N_("diccionarios"),
    nodes.NSRef: N_("acceder a atributos («variable.algo»)"),
}


class TemplateError(ValueError):
    """A template that cannot be used; the message is in Spanish and names the line."""

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.lineno = lineno


# -- formatting (the message language: Spanish) -------------------------------------------

_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre")
_CURRENCY_SYMBOLS = {"EUR": "€", "USD": "US$", "GBP": "£", "CHF": "CHF"}


def _is_empty(value: Any) -> bool:
    return value is None or isinstance(value, Undefined) or value == ""


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return None


def format_number(value: Any, decimals: int = 0) -> str:
    """Spanish number: "." between thousands, "," before decimals (half up)."""
    if _is_empty(value):
        return ""
    number = _to_decimal(value)
    if number is None:
        return str(value)
    decimals = max(0, min(int(decimals), 6))
    number = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if number == 0:
        number = abs(number)  # no "-0,00"
    text = f"{number:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_money(value: Any, currency: str | None = None) -> str:
    """"1.234,50 €": two decimals and the business currency (FIDELIZA_DEFAULT_CURRENCY)."""
    if _is_empty(value):
        return ""
    if _to_decimal(value) is None:
        return str(value)
    code = (currency or settings.FIDELIZA_DEFAULT_CURRENCY).upper()
    return f"{format_number(value, 2)} {_CURRENCY_SYMBOLS.get(code, code)}"


def format_date(value: Any, style: str = "corto") -> str:
    """"corto" 03/12/2026, "largo" 3 de diciembre de 2026, "dia_mes" 3 de diciembre,
    "mes" diciembre de 2026. Aware datetimes are shown in the business's time zone."""
    if _is_empty(value):
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if not isinstance(value, date):
        return str(value)
    month = _MONTHS[value.month - 1]
    if style == "largo":
        return f"{value.day} de {month} de {value.year}"
    if style == "dia_mes":
        return f"{value.day} de {month}"
    if style == "mes":
        return f"{month} de {value.year}"
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def _finalize(value: Any) -> Any:
    """How a bare {{ variable }} prints: nothing for missing values, Spanish numbers and
    dates."""
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, int):
        return format_number(value)
    if isinstance(value, Decimal | float):
        return format_number(value, 2)
    if isinstance(value, date):
        return format_date(value)
    return value


# -- the sandbox --------------------------------------------------------------------------


class _Empty(Undefined):
    """A missing value at send time: prints nothing, is false, compares false, absorbs
    arithmetic, and takes `|default`."""

    __slots__ = ()

    def _empty(self, *args: Any, **kwargs: Any) -> _Empty:
        return self

    def _false(self, other: Any) -> bool:
        return False

    # One method for every operator, as Jinja's Undefined does; these return where its ones raise
    # (typed NoReturn), which mypy reports as incompatible overrides.
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _empty  # type: ignore[assignment]
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _empty  # type: ignore[assignment]
    __mod__ = __rmod__ = __pos__ = __neg__ = __abs__ = __round__ = _empty  # type: ignore[assignment]
    __lt__ = __le__ = __gt__ = __ge__ = _false  # type: ignore[assignment]

    # Undefined raises here too (NoReturn); the empty value is 0.
    def __int__(self) -> int:  # type: ignore[override]
        return 0

    def __float__(self) -> float:  # type: ignore[override]
        return 0.0

    def __eq__(self, other: Any) -> bool:
        return _is_empty(other)

    def __ne__(self, other: Any) -> bool:
        return not _is_empty(other)

    __hash__ = Undefined.__hash__


class _Refused(SecurityError):
    """An operation the sandbox refuses, with a Spanish message for the author."""


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox with no attribute access and no calls at all.

    The static check (`_structure_errors`) already refuses attribute access and calls;
    this is the second line: should a path through the check exist, the sandbox still
    returns nothing for any attribute and refuses any call.
    """

    intercepted_binops = frozenset({"*"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        # `*` repeats strings and lists: 'x' * 10**9 would fill the memory.
        if operator == "*" and not (_is_number(left) and _is_number(right)):
            if isinstance(left, Undefined) or isinstance(right, Undefined):
                return _Empty()
            raise _Refused(_("solo se pueden multiplicar números."))
        return super().call_binop(context, operator, left, right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


@functools.cache
def _environment(html: bool) -> _Sandbox:
    env = _Sandbox(autoescape=html, undefined=_Empty, finalize=_finalize, trim_blocks=True,
                   lstrip_blocks=True, keep_trailing_newline=True, auto_reload=False,
                   cache_size=0,
                   # Jinja's constant folding is cubic in the nesting of an expression
                   # (`not not … not x` takes seconds); message templates gain nothing from it.
                   optimized=False)
    env.globals.clear()  # no range, cycler, joiner, namespace, lipsum, dict
    builtin = env.filters
    env.filters = {name: builtin[name] for name in _BUILTIN_FILTERS}
    env.filters.update(dinero=format_money, numero=format_number, fecha=format_date)
    env.tests = {name: env.tests[name] for name in _TESTS if name in env.tests}
    return env


def _walk(tree: nodes.Node, *, prune: bool = True) -> Iterator[nodes.Node]:
    """Every node, depth first, without recursion (the nesting is the author's choice)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if prune and isinstance(node, nodes.Stmt) and not isinstance(node, _ALLOWED_NODES):
            continue  # a refused tag is reported once, not once per construct inside it
        stack.extend(reversed(list(node.iter_child_nodes())))


def _line(lineno: int | None) -> str:
    return _("Línea %(line)s") % {"line": lineno or 1}


def _suggest(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return " " + _("¿Quería decir «%(name)s»?") % {"name": close[0]} if close else ""


def _structure_errors(tree: nodes.Template, env: _Sandbox) -> list[TemplateError]:
    """Constructs a message template may not use, unknown filters and tests."""
    errors: list[TemplateError] = []
    for node in _walk(tree):
        lineno = getattr(node, "lineno", None) or next(
            (n.lineno for n in _walk(node, prune=False) if getattr(n, "lineno", None)), None)
        if isinstance(node, nodes.Filter):
            if node.name not in env.filters:
                errors.append(TemplateError(
                    f"{_line(lineno)}: " + _("filtro desconocido «%(name)s».") % {"name": node.name}
                    + _suggest(node.name, list(env.filters)), lineno))
            if node.dyn_args is not None or node.dyn_kwargs is not None:
                errors.append(TemplateError(f"{_line(lineno)}: " + _("no se permite «*args» en un filtro."),
                                            lineno))
        elif isinstance(node, nodes.Test) and node.name not in env.tests:
            errors.append(TemplateError(
                f"{_line(lineno)}: " + _("comprobación desconocida «is %(name)s».") % {"name": node.name},
                lineno))
        elif isinstance(node, nodes.Getattr):
            errors.append(TemplateError(
                f"{_line(lineno)}: " + _("no se permite acceder a atributos («%(attr)s»).")
                % {"attr": "." + node.attr}, lineno))
        elif not isinstance(node, _ALLOWED_NODES) and not (
                isinstance(node, nodes.Name) and node.ctx != "load"):  # reported with its tag
            what = _REFUSED.get(type(node), N_("esta construcción"))
            errors.append(TemplateError(
                f"{_line(lineno)}: " + _("no se permite %(what)s.") % {"what": _(what)}, lineno))
    return errors


_SYNTAX_HINTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Unexpected end of template.*innermost block that needs to be closed is '(\w+)'", re.S),
     N_("falta cerrar el bloque «%(x)s» (por ejemplo con {%% end%(x)s %%}).")),
    (re.compile(r"Unexpected end of template", re.S),
     N_("la plantilla termina con una etiqueta sin cerrar.")),
    (re.compile(r"Encountered unknown tag '(\w+)'"), N_("etiqueta desconocida «%(x)s».")),
    (re.compile(r"unexpected '(.+)'"), N_("carácter inesperado «%(x)s».")),
    (re.compile(r"expected token '[^']+', got '(.+)'"), N_("no se esperaba «%(x)s» aquí.")),
    (re.compile(r"unexpected char '(.+)'"), N_("carácter no válido «%(x)s».")),
    (re.compile(r"Expected an expression"), N_("falta una expresión (¿«{{ }}» vacío?).")),
]


def _syntax_error(exc: TemplateSyntaxError) -> TemplateError:
    message = exc.message or ""
    for pattern, text in _SYNTAX_HINTS:
        match = pattern.search(message)
        if match:
            what = _(text) % {"x": match.group(1) if match.groups() else ""}
            break
    else:
        what = _("error de sintaxis (%(detail)s).") % {"detail": message}
    return TemplateError(f"{_line(exc.lineno)}: {what}", exc.lineno)


def _parse(source: str, html: bool) -> tuple[_Sandbox, nodes.Template]:
    if len(source) > _MAX_SOURCE:
        raise TemplateError(_("La plantilla es demasiado larga (máximo %(n)s caracteres).")
                            % {"n": format_number(_MAX_SOURCE)})
    env = _environment(html)
    try:
        return env, env.parse(source)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> TemplateError:
    return TemplateError(_("La plantilla tiene demasiados niveles de paréntesis o bloques anidados."))


@functools.lru_cache(maxsize=256)
def _compiled(source: str, html: bool) -> Any:
    """The checked, compiled template (cached: a campaign renders one source 100,000 times).

    Raises TemplateError for syntax errors and refused constructs.
    """
    env, tree = _parse(source, html)
    errors = sorted(_structure_errors(tree, env), key=lambda e: e.lineno or 0)
    if errors:
        raise TemplateError(" ".join(e.message for e in errors), errors[0].lineno)
    try:
        return env.from_string(tree)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc) from None
    except (RecursionError, SyntaxError, MemoryError):  # Python's own nesting limits
        raise _too_deep() from None


def _template_lineno(exc: BaseException) -> int | None:
    """The template line of a runtime error (Jinja rewrites tracebacks to template lines)."""
    lineno = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


def _prepare(context: Mapping[str, Any]) -> dict[str, Any]:
    # None and "" become the empty marker: they print nothing and take |default.
    return {key: _Empty() if value is None or value == "" else value
            for key, value in context.items()}


def _render(template: Any, context: Mapping[str, Any]) -> str:
    return _render_prepared(template, _prepare(context))


def _render_prepared(template: Any, prepared: dict[str, Any]) -> str:
    parts: list[str] = []
    size = 0
    try:
        for part in template.generate(prepared):
            size += len(part)
            if size > _MAX_OUTPUT:
                raise TemplateError(_("El mensaje generado es demasiado largo (más de %(n)s caracteres).")
                                    % {"n": format_number(_MAX_OUTPUT)})
            parts.append(part)
    except TemplateError:
        raise
    except SecurityError as exc:
        lineno = _template_lineno(exc)
        detail = str(exc) if isinstance(exc, _Refused) else _("operación no permitida")
        raise TemplateError(f"{_line(lineno)}: {detail}", lineno) from None
    except (JinjaTemplateError, ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        lineno = _template_lineno(exc)
        if isinstance(exc, ZeroDivisionError):
            detail = _("división por cero.")
        elif isinstance(exc, ArithmeticError):
            detail = _("número fuera de rango.")
        elif isinstance(exc, RecursionError):
            detail = _("expresión demasiado anidada.")
        elif isinstance(exc, TypeError):
            detail = _("operación no válida entre valores de distinto tipo "
                       "(por ejemplo, sumar un texto y un número).")
        else:
            detail = _("no se puede generar el mensaje (%(detail)s).") % {"detail": exc}
        raise TemplateError(f"{_line(lineno)}: {detail}", lineno) from None
    return "".join(parts)


# -- public API ---------------------------------------------------------------------------


def template_validate(source: str, *, html: bool = False, extra: Sequence[str] = ()) -> list[str]:
    """Spanish error messages, each with its line; [] when the template can be used.

    Reports syntax errors, refused constructs, unknown filters and tests, variables not in
    :data:`VARIABLES` nor in `extra` (the variables another sender adds: a contact cadence's
    «dias_sin_contacto», a complaint's code) in every branch, as StrictUndefined would on the
    branches it reaches, and errors of a trial render on a full and on an empty sample
    recipient.
    """
    try:
        env, tree = _parse(source, html)
    except TemplateError as exc:
        return [exc.message]
    found = _structure_errors(tree, env)
    known = [name for name, _description in VARIABLES] + list(extra)
    seen: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in known and node.name not in seen:
            seen.add(node.name)
            found.append(TemplateError(f"{_line(node.lineno)}: " + _("variable desconocida «%(name)s».")
                                       % {"name": node.name} + _suggest(node.name, known), node.lineno))
    if found:
        return [e.message for e in sorted(found, key=lambda e: e.lineno or 0)]
    try:
        template = _compiled(source, html)
    except TemplateError as exc:
        return [exc.message]
    for sample in (_sample_context(), dict.fromkeys(known)):
        try:
            _render(template, sample)
        except TemplateError as exc:
            return [exc.message]
    return []


def template_variables(source: str, *, html: bool = False) -> set[str]:
    """The variables `source` reads (every branch); empty for a template that does not parse."""
    try:
        _env, tree = _parse(source, html)
    except TemplateError:
        return set()
    return {node.name for node in _walk(tree, prune=False) if isinstance(node, nodes.Name) and node.ctx == "load"}


def template_render(source: str, context: Mapping[str, Any], *, html: bool = False) -> str:
    """Render `source` for one recipient.

    `context` holds plain values only (str, int, Decimal, date, None), e.g. one value of
    :func:`recipients_context`. Missing variables, None and "" render as nothing. Raises
    :class:`TemplateError` (Spanish, with the line) for a template that cannot be used.
    """
    return _render(_compiled(source, html), context)


def subject_render(source: str, context: Mapping[str, Any]) -> str:
    """A subject (or any one-line header): rendered as text, whitespace collapsed to single
    spaces, so a line break in a customer's data can never start a new header."""
    return " ".join(template_render(source, context).split())


def message_render(subject: str, text: str, html: str, context: Mapping[str, Any]) -> tuple[str, str, str]:
    """The subject (as :func:`subject_render`), text and HTML parts of one recipient's
    message, as three separate calls would render them; an empty source gives "".

    The context is prepared once for the three parts: a campaign renders 100,000 of them
    and preparing it cost about as much as the rendering.
    """
    prepared = _prepare(context)
    return (" ".join(_render_prepared(_compiled(subject, False), prepared).split()) if subject else "",
            _render_prepared(_compiled(text, False), prepared) if text else "",
            _render_prepared(_compiled(html, True), prepared) if html else "")


def _sample_context() -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "nombre": "Ana", "apellidos": "García López", "nombre_completo": "Ana García López",
        "empresa": "Ferretería García", "email": "ana@example.com", "telefono": "+34600000000",
        "ciudad": "Valencia", "region": "Valencia", "pais": "ES", "puntos": 1250, "nivel": "Oro",
        "siguiente_nivel": "Platino", "puntos_para_siguiente_nivel": 300,
        "importe_para_siguiente_nivel": Decimal("45.50"), "falta_para_siguiente_nivel": "45,50 €",
        "puntos_que_caducan": 200, "fecha_caducidad": today + timedelta(days=20),
        "puntos_por_caducar": 250,
        "caducidades": expiry_summary([(today + timedelta(days=20), 200), (today + timedelta(days=27), 50)], today),
        "codigo_recomendacion": "ANA123", "segmento_rfm": "Campeones", "nivel_valor": "Oro",
        "estado_actividad": "Activo", "ultima_compra": today - timedelta(days=12),
        "dias_sin_comprar": 12, "clv": Decimal("1234.50"), "producto_recomendado": "Taladro",
        "categoria_recomendada": "Herramientas", "producto_recomendado_nivel": "Producto principal",
        "paso_sendero": "Producto de valor", "siguiente_paso_sendero": "Producto principal",
        "cupon": "BIENVENIDA-7Q2X", "cupon_descripcion": "10 € de descuento",
        "cupon_caduca": today + timedelta(days=30), "hoy": today,
        "encuesta_enlace": "https://example.com/e/ejemplo",
        "enlace_baja": UNSUBSCRIBE_MARKER, "enlace_preferencias": PREFERENCES_MARKER,
    }


def _offer_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


_LOYALTY_KEYS = ("puntos", "nivel", "siguiente_nivel", "puntos_para_siguiente_nivel",
                 "importe_para_siguiente_nivel", "falta_para_siguiente_nivel",
                 "puntos_que_caducan", "fecha_caducidad", "puntos_por_caducar", "caducidades",
                 "codigo_recomendacion")
_ANALYTICS_KEYS = ("segmento_rfm", "nivel_valor", "estado_actividad", "ultima_compra",
                   "dias_sin_comprar", "clv", "producto_recomendado", "categoria_recomendada",
                   "producto_recomendado_nivel", "paso_sendero", "siguiente_paso_sendero")


def recipients_context(
    customer_ids: Sequence[int],
    *,
    offer: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    needs: Collection[str] | None = None,
) -> dict[int, dict[str, Any]]:
    """The template variables of many recipients: {customer id: {variable: value}}.

    Set-based: per chunk of 5,000 customers a fixed handful of queries (card, membership,
    spendable points, nearest expiry (two), snapshot, and the tier values of each program),
    never one per customer. Ids with no customer row are left out; the result keeps the
    order of `customer_ids`. Values are plain (str, int, Decimal, date, None); None means
    "does not apply" (no membership, no purchase yet).

    `offer`: ``{"codes": {customer_id: code}, "description": str, "valid_until": date}``.
    Labels (segment, tier, path step) are in the active language.

    `needs`: the variables the caller's templates use (`template_variables`); the loyalty
    and snapshot queries are skipped when none of theirs is among them (a follow-up title
    that names the customer needs the card only). The skipped variables are None.
    """
    # Imported here: rendering alone needs none of the selectors.
    from fideliza.customers.models import CustomerKind
    from fideliza.customers.selectors import card_rows
    from fideliza.insights.selectors import metrics_message_rows
    from fideliza.loyalty.selectors import members_message_facts

    now = now or timezone.now()
    today = timezone.localdate(now)
    lang = (get_language() or "es")[:2]
    offer = offer or {}
    codes = offer.get("codes") or {}
    common = {
        **dict.fromkeys(_LOYALTY_KEYS), **dict.fromkeys(_ANALYTICS_KEYS),
        "cupon_descripcion": offer.get("description") or None,
        "cupon_caduca": _offer_date(offer.get("valid_until")),
        "hoy": today, "enlace_baja": UNSUBSCRIBE_MARKER, "enlace_preferencias": PREFERENCES_MARKER,
        "encuesta_enlace": None,  # filled by a send that carries a survey (campaigns, automations)
    }
    currency = settings.FIDELIZA_DEFAULT_CURRENCY

    ordered = list(dict.fromkeys(int(i) for i in customer_ids))
    ids = sorted(ordered)
    want_loyalty = needs is None or not set(needs).isdisjoint(_LOYALTY_KEYS)
    want_analytics = needs is None or not set(needs).isdisjoint(_ANALYTICS_KEYS)
    out: dict[int, dict[str, Any]] = {}
    label_cache: dict[tuple[str, str], str] = {}

    def label(kind: str, code: str | None) -> str | None:
        if not code:
            return None
        key = (kind, code)
        if key not in label_cache:
            label_cache[key] = labels.label(kind, code, lang)
        return label_cache[key]

    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        present: list[int] = []
        for pk, kind, first, last, company, email, phone, city, region, country in card_rows(chunk):
            full = f"{first} {last}".strip()
            if kind == CustomerKind.COMPANY and company:
                full = company
            present.append(pk)
            out[pk] = {
                **common,
                "nombre": first or company or None,
                "apellidos": last or None,
                "nombre_completo": full or None,
                "empresa": company or None,
                "email": email or None,
                "telefono": phone or None,
                "ciudad": city or None,
                "region": region or None,
                "pais": country or None,
                "cupon": codes.get(pk) or codes.get(str(pk)) or None,
            }
        if not present:
            continue
        present.sort()

        # Loyalty: one membership per customer, the lowest program id (as member_for).
        for cid, member in (members_message_facts(present, now) if want_loyalty else {}).items():
            ctx = out[cid]
            ctx["puntos"] = member.points
            ctx["nivel"] = member.tier_name
            ctx["codigo_recomendacion"] = member.referral_code
            if member.expiring:
                ctx["fecha_caducidad"], ctx["puntos_que_caducan"] = member.expiring
            if member.soon:
                ctx["puntos_por_caducar"] = sum(points for _day, points in member.soon)
                ctx["caducidades"] = expiry_summary(member.soon, today)
            if member.next_tier_name is None or member.missing is None:
                continue
            ctx["siguiente_nivel"] = member.next_tier_name
            if member.missing_in_points:
                ctx["puntos_para_siguiente_nivel"] = int(member.missing)
                ctx["falta_para_siguiente_nivel"] = f"{format_number(int(member.missing))} puntos"
            else:
                ctx["importe_para_siguiente_nivel"] = member.missing
                ctx["falta_para_siguiente_nivel"] = format_money(member.missing, currency)

        # The analytics snapshot (customers who have bought).
        for (cid, segment, value_tier, activity, last_purchase, clv_predicted, clv_historic,
             product, product_level, category, path_step, path_next) in (metrics_message_rows(present)
                                                                         if want_analytics else []):
            out[cid].update(
                segmento_rfm=label("rfm_segment", segment),
                nivel_valor=label("value_tier", value_tier),
                estado_actividad=label("activity_state", activity),
                ultima_compra=last_purchase,
                # From the purchase date, not the snapshot's count: the snapshot may be days old.
                dias_sin_comprar=max(0, (today - last_purchase).days),
                clv=clv_predicted if clv_predicted is not None else clv_historic,
                producto_recomendado=product or None,
                categoria_recomendada=category or None,
                producto_recomendado_nivel=label("path_level", product_level),
                paso_sendero=label("path_level", path_step),
                siguiente_paso_sendero=label("path_level", path_next),
            )
    return {cid: out[cid] for cid in ordered if cid in out}


def expiry_summary(lots: Sequence[tuple[date, int]], today: date) -> str:
    """«130 puntos el 10 de diciembre y 50 puntos el 3 de enero de 2027»: each (day, points)
    in order, the year written only when it is not this one (message language: Spanish)."""
    parts = [f"{format_number(points)} {'punto' if points == 1 else 'puntos'} el "
             f"{format_date(day, 'dia_mes' if day.year == today.year else 'largo')}" for day, points in lots]
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " y " + parts[-1]


_PREVIEW_CODE = "CUPON-EJEMPLO"


def preview(
    source_subject: str,
    source_text: str,
    source_html: str,
    customer_id: int,
    *,
    offer: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The message as `customer_id` would receive it: {"subject", "text", "html", "errors"}.

    A part whose template has errors renders as "" and its messages go to "errors" (one
    per line, prefixed with the part's name). With an offer but no code for this customer
    yet (codes are issued at send time), the coupon shows as "CUPON-EJEMPLO". The subject is
    one line. Raises ``Customer.DoesNotExist`` for an unknown customer.
    """
    from fideliza.customers.models import Customer

    if offer is not None and not (offer.get("codes") or {}).get(customer_id):
        offer = {**offer, "codes": {customer_id: _PREVIEW_CODE}}
    contexts = recipients_context([customer_id], offer=offer)
    if customer_id not in contexts:
        raise Customer.DoesNotExist(f"customer {customer_id} does not exist")
    context = contexts[customer_id]
    result = {"subject": "", "text": "", "html": "", "errors": ""}
    errors: list[str] = []
    parts = (("subject", _("Asunto"), source_subject, False),
             ("text", _("Texto"), source_text, False),
             ("html", _("HTML"), source_html, True))
    for key, name, source, html in parts:
        if not source:
            continue
        problems = template_validate(source, html=html)
        if problems:
            errors += [f"{name}: {p}" for p in problems]
            continue
        result[key] = template_render(source, context, html=html)
    result["subject"] = " ".join(result["subject"].split())  # as subject_render
    result["errors"] = "\n".join(errors)
    return result
