"""Message templates: the sandbox, validation messages, Spanish formatting, escaping, and
the set-based recipient variables on real rows."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from fideliza.accounts.services import Actor
from fideliza.catalog.models import Category, PathLevel, Product
from fideliza.customers.services import customer_create
from fideliza.engagement import templating as t
from fideliza.engagement.templating import TemplateError, template_render, template_validate
from fideliza.insights.models import CustomerMetrics, RunStatus, SnapshotRun
from fideliza.loyalty.models import EarningRule, Member, Program, RuleKind, Tier, TierBasis
from fideliza.loyalty.services import bonus_award, member_enroll
from fideliza.sales.services import order_record

_seq = itertools.count(1)
MADRID = ZoneInfo("Europe/Madrid")


# -- the sandbox: nothing reaches Python objects or runs code ------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ ''.__class__.__mro__ }}", "no se permite acceder a atributos («.__class__»)"),
        ("{{ ''.__class__.__mro__ }}", "no se permite acceder a atributos («.__mro__»)"),
        ("{{ cycler.__init__.__globals__ }}", "no se permite acceder a atributos («.__init__»)"),
        ("{% for x in range(10**9) %}{{ x }}{% endfor %}", "no se permite la etiqueta {% for %}"),
        ("{{ nombre.upper() }}", "no se permite llamar a funciones o métodos"),
        ("{{ nombre['__class__'] }}", "no se permite acceder a elementos"),
        ("{{ lipsum() }}", "no se permite llamar a funciones o métodos"),
        ("{% set x = 'a' %}{{ x }}", "no se permite la etiqueta {% set %}"),
        ("{% macro m() %}{{ m() }}{% endmacro %}", "no se permite la etiqueta {% macro %}"),
        ("{% include 'base.html' %}", "no se permite incluir otras plantillas"),
        ("{% autoescape false %}{{ nombre }}{% endautoescape %}", "la etiqueta {% autoescape %}"),
        ("{{ 2 ** 1000000 }}", "no se permite el operador **"),
        ("{{ '%0999999999d' % 1 }}", "no se permite el operador %"),
        ("{{ nombre|format(1) }}", "filtro desconocido «format»"),
        ("{{ nombre|center(1000000000) }}", "filtro desconocido «center»"),
        ("{{ nombre|safe }}", "filtro desconocido «safe»"),
        ("{{ nombre|attr('__class__') }}", "filtro desconocido «attr»"),
    ],
)
def test_unsafe_constructs_are_refused_before_running(source, expected):
    errors = template_validate(source, html=True)
    assert any(expected in e for e in errors), errors
    assert all(e.startswith("Línea 1: ") for e in errors)
    with pytest.raises(TemplateError) as exc:
        template_render(source, {"nombre": "Ana"})
    assert expected in str(exc.value) and exc.value.lineno == 1


def test_string_repetition_is_refused_at_run_time():
    # `*` is allowed for numbers only; repeating text could fill the memory.
    assert template_render("{{ puntos * 2 }}", {"puntos": 21}) == "42"
    errors = template_validate("{{ 'x' * 1000000000 }}")
    assert errors == ["Línea 1: solo se pueden multiplicar números."]
    with pytest.raises(TemplateError, match="solo se pueden multiplicar números"):
        template_render("hola\n{{ nombre * 1000000000 }}", {"nombre": "Ana"})


def test_sandbox_refuses_attributes_even_past_the_static_check():
    """Second line of defence: the environment itself gives no attribute and no call."""
    from jinja2.exceptions import SecurityError

    env = t._environment(False)
    assert env.from_string("{{ x.__class__ }}|{{ x.upper }}|{{ d.k }}").render(x="abc", d={"k": 1}) == "||1"  # dict keys only
    with pytest.raises(SecurityError, match="not safely callable"):
        env.from_string("{{ f() }}").render(f=lambda: "ran")


@pytest.mark.parametrize("source", [
    "{{ " + "(" * 300 + "puntos" + ")" * 300 + " }}",
    "{% if puntos %}" * 3000 + "x" + "{% endif %}" * 3000,
    "{{ " + " + ".join(["puntos"] * 3000) + " }}",
])
def test_deep_nesting_is_an_error_not_a_crash(source):
    assert template_validate(source) == [
        "La plantilla tiene demasiados niveles de paréntesis o bloques anidados."]
    with pytest.raises(TemplateError, match="demasiados niveles"):
        template_render(source, {})


def test_long_chains_still_validate():
    # Jinja's constant folding is off: it is cubic in this nesting.
    assert template_validate("{{ " + "not " * 50 + "puntos }}") == []
    assert template_validate("{{ puntos" + "|abs" * 50 + " }}") == []


def test_overflow_is_reported():
    assert template_validate("{{ 1e308 * 10 }}") == ["Línea 1: número fuera de rango."]


def test_output_is_capped(monkeypatch):
    monkeypatch.setattr(t, "_MAX_OUTPUT", 20)
    assert template_render("{{ nombre }}" * 2, {"nombre": "x" * 10}) == "x" * 20
    with pytest.raises(TemplateError, match="demasiado largo"):
        template_render("{{ nombre }}" * 3, {"nombre": "x" * 10})


def test_huge_templates_are_refused():
    errors = template_validate("a" * 100_001)
    assert errors and "demasiado larga" in errors[0]


# -- validation messages -------------------------------------------------------------------


def test_unknown_variables_are_listed_with_their_line_and_a_suggestion():
    source = "Hola {{ nombre }},\n{% if puntos > 10 %}\n{{ nmbre }} {{ ptos }}\n{% else %}{{ zzz }}{% endif %}"
    assert template_validate(source) == [
        "Línea 3: variable desconocida «nmbre». ¿Quería decir «nombre»?",
        "Línea 3: variable desconocida «ptos». ¿Quería decir «puntos»?",
        "Línea 4: variable desconocida «zzz».",
    ]


def test_syntax_errors_in_spanish_with_line():
    assert template_validate("Hola\n{% if puntos > 10 %}\nmuchos") == [
        "Línea 3: falta cerrar el bloque «if» (por ejemplo con {% endif %})."]
    assert template_validate("{% endif %}") == ["Línea 1: etiqueta desconocida «endif»."]
    assert template_validate("a\n\n{{ }}")[0].startswith("Línea 3: falta una expresión")
    (error,) = template_validate("{{ nombre + 1 }}")
    assert error.startswith("Línea 1: operación no válida entre valores de distinto tipo")
    with pytest.raises(TemplateError) as exc:
        template_render("uno\ndos\n{{ puntos / 0 }}", {"puntos": 3})
    assert str(exc.value) == "Línea 3: división por cero." and exc.value.lineno == 3


def test_every_documented_variable_and_filter_validates():
    body = "\n".join(f"{{{{ {name} }}}}" for name, _d in t.VARIABLES)
    assert template_validate(body) == []
    assert template_validate(body, html=True) == []
    assert template_validate('{{ clv|dinero }} {{ puntos|numero }} {{ hoy|fecha("largo") }} '
                             '{{ nombre|default("cliente")|upper|truncate(10) }} {{ clv|round(1) }}') == []
    assert len({name for name, _d in t.VARIABLES}) == len(t.VARIABLES)
    assert {name for name, _d in t.FILTERS} <= set(t._environment(False).filters)


def test_validation_tries_an_empty_recipient():
    # Every variable may be missing for some recipient (no purchase, no membership).
    assert template_validate("{% if dias_sin_comprar > 90 %}¡Te echamos de menos!{% endif %}") == []
    assert template_validate("{{ puntos + 100 }} {{ clv * 2 }} {{ -puntos }}") == []


# -- rendering -----------------------------------------------------------------------------


def test_spanish_money_numbers_and_dates(settings):
    settings.FIDELIZA_DEFAULT_CURRENCY = "EUR"
    ctx = {"clv": Decimal("1234.5"), "puntos": 12500, "hoy": date(2026, 12, 3),
           "fecha_caducidad": datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("UTC"))}
    out = template_render(
        "{{ clv|dinero }}|{{ clv }}|{{ puntos }}|{{ puntos|numero }}|{{ clv|numero(1) }}|"
        "{{ hoy|fecha }}|{{ hoy|fecha('largo') }}|{{ hoy|fecha('dia_mes') }}|{{ hoy|fecha('mes') }}|"
        "{{ fecha_caducidad|fecha }}", ctx)
    assert out == ("1.234,50 €|1.234,50|12.500|12.500|1.234,5|03/12/2026|3 de diciembre de 2026|"
                   "3 de diciembre|diciembre de 2026|01/01/2027")
    assert t.format_money(Decimal("-0.004")) == "0,00 €"
    assert t.format_money(Decimal("-1234567.891")) == "-1.234.567,89 €"
    assert t.format_money(Decimal("0.005")) == "0,01 €"  # half up, as shops round
    settings.FIDELIZA_DEFAULT_CURRENCY = "USD"
    assert template_render("{{ clv|dinero }}", ctx) == "1.234,50 US$"
    settings.FIDELIZA_DEFAULT_CURRENCY = "MXN"
    assert template_render("{{ clv|dinero }}", ctx) == "1.234,50 MXN"


def test_missing_values_render_empty_and_take_default():
    source = ("Hola {{ nombre|default('cliente') }}{{ apellidos }}."
              "{% if dias_sin_comprar > 90 %} Vuelve.{% endif %}"
              "{% if not nivel %} Únete al club.{% endif %}"
              " [{{ puntos|numero }}][{{ clv|dinero }}][{{ cupon_caduca|fecha }}][{{ puntos + 5 }}]")
    for ctx in ({}, {"nombre": None, "apellidos": "", "dias_sin_comprar": None, "nivel": None}):
        assert template_render(source, ctx) == "Hola cliente. Únete al club. [][][][]"
    assert template_render(source, {"nombre": "Ana", "dias_sin_comprar": 120, "nivel": "Oro",
                                    "puntos": 1000}) == "Hola Ana. Vuelve. [1.000][][][1.005]"
    assert template_render("{{ nombre is defined }}", {}) == "no"


def test_html_is_autoescaped_and_text_is_not():
    ctx = {"nombre": '<script>alert("x")</script> & Cía', "enlace_baja": t.UNSUBSCRIBE_MARKER}
    html = template_render('<p>Hola <b>{{ nombre }}</b></p><a href="{{ enlace_baja }}">Baja</a>', ctx, html=True)
    assert html == ('<p>Hola <b>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Cía</b></p>'
                    '<a href="%%unsubscribe_url%%">Baja</a>')
    text = template_render("Hola {{ nombre }}", ctx)
    assert text == 'Hola <script>alert("x")</script> & Cía'


def test_subject_is_one_line():
    ctx = {"nombre": "Ana\r\nBcc: todos@example.com"}
    assert t.subject_render("Hola {{ nombre }},\n  tu oferta", ctx) == "Hola Ana Bcc: todos@example.com, tu oferta"


def test_if_blocks_leave_no_blank_lines_in_text():
    source = "Hola {{ nombre }}:\n{% if puntos > 100 %}\nTienes {{ puntos }} puntos.\n{% endif %}\nUn saludo\n"
    assert template_render(source, {"nombre": "Ana", "puntos": 150}) == "Hola Ana:\nTienes 150 puntos.\nUn saludo\n"
    assert template_render(source, {"nombre": "Ana", "puntos": 50}) == "Hola Ana:\nUn saludo\n"


def test_compiled_once_per_source():
    t._compiled.cache_clear()
    for i in range(50):
        template_render("Hola {{ nombre }}", {"nombre": f"C{i}"})
    assert t._compiled.cache_info().misses == 1


# -- recipients_context on real rows -------------------------------------------------------


def _customer(**data):
    n = next(_seq)
    data.setdefault("first_name", f"Cliente{n}")
    data.setdefault("email", f"tmpl{n}@example.com")
    return customer_create(actor=Actor.system("tests"), data=data)


def _order(customer, product, quantity, *, placed_at):
    return order_record(actor=Actor.system("tests"), customer=customer, source="tpv",
                        external_id=f"TPL-{next(_seq)}", placed_at=placed_at,
                        lines=[{"sku": product.sku, "quantity": Decimal(quantity)}])


@pytest.fixture
def now(time_machine):
    """3 December 2026 at noon, and the clock pinned there (order_record checks dates against it)."""
    moment = datetime(2026, 12, 3, 12, 0, tzinfo=MADRID)
    time_machine.move_to(moment, tick=False)
    return moment


@pytest.fixture
def shop(db, now):
    """A program of 1 point per euro, amount-based tiers Bronce/Plata/Oro, points living
    365 days, and a drill that is the 'main' step of the relationship path."""
    tools = Category.objects.create(name="Herramientas")
    drill = Product.objects.create(sku="TAL-9", name="Taladro percutor", category=tools,
                                   list_price=Decimal("125.00"), path_level=PathLevel.MAIN)
    program = Program.objects.create(name="Club", point_value=Decimal("0.01"), expiry_days=365)
    EarningRule.objects.create(program=program, name="Base", kind=RuleKind.PER_AMOUNT, points=1)
    for name, rank, threshold in [("Bronce", 0, 0), ("Plata", 1, 200), ("Oro", 2, 1000)]:
        Tier.objects.create(program=program, name=name, rank=rank, threshold=threshold)
    return {"program": program, "drill": drill}


def _metrics(customer, *, last_purchase, next_product=None, **extra):
    run = SnapshotRun.objects.create(status=RunStatus.SUCCEEDED, as_of=last_purchase)
    values = dict(
        customer=customer, run=run, first_purchase=last_purchase, last_purchase=last_purchase,
        orders=2, revenue=Decimal("250.00"), average_order_value=Decimal("125.00"), frequency=1,
        recency=10.0, age=100.0, monetary_value=Decimal("125.00"), r_score=5, f_score=4, m_score=4,
        rfm_segment="champions", abc_revenue="A", value_tier="oro", activity_state="at_risk",
        days_since_last=3, clv_historic=Decimal("250.00"), clv_predicted=Decimal("1234.56"),
        next_product=next_product, next_category="Herramientas", path_step="value",
        path_next_step="main")
    values.update(extra)
    return CustomerMetrics.objects.create(**values)


def test_recipients_context_card_loyalty_analytics_and_offer(shop, now):
    ana = _customer(first_name="Ana", last_name="García López", city="Valencia",
                    region="Valencia", country="ES", email="ana@example.com")
    # 250 € a hundred days ago: 250 points, Plata, 750 € missing for Oro.
    _order(ana, shop["drill"], 2, placed_at=now - timedelta(days=100))
    member = Member.objects.get(customer=ana)
    # Two bonuses on the same day 350 days ago expire together in 15 days: 40 + 10 points.
    earned = now - timedelta(days=350)
    bonus_award(member=member, cause_type="survey", cause_id="s1", actor=Actor.system("t"),
                points=40, occurred_at=earned)
    bonus_award(member=member, cause_type="review", cause_id="r1", actor=Actor.system("t"),
                points=10, occurred_at=earned + timedelta(hours=2))
    _metrics(ana, last_purchase=(now - timedelta(days=100)).date(), next_product=shop["drill"])
    company = _customer(kind="company", first_name="", company_name="Obras Pérez SL",
                        email="obras@example.com")
    offer = {"codes": {ana.pk: "ANA-10"}, "description": "10 € de descuento",
             "valid_until": date(2026, 12, 31)}

    got = t.recipients_context([ana.pk, company.pk, 999_999], offer=offer, now=now)

    assert list(got) == [ana.pk, company.pk]  # unknown ids left out, order kept
    a = got[ana.pk]
    assert a["nombre"] == "Ana" and a["apellidos"] == "García López"
    assert a["nombre_completo"] == "Ana García López" and a["empresa"] is None
    assert (a["ciudad"], a["region"], a["pais"], a["email"]) == ("Valencia", "Valencia", "ES", "ana@example.com")
    assert a["puntos"] == 300 and a["nivel"] == "Plata" and a["siguiente_nivel"] == "Oro"
    assert a["importe_para_siguiente_nivel"] == Decimal("750.00")
    assert a["puntos_para_siguiente_nivel"] is None
    assert a["falta_para_siguiente_nivel"] == "750,00 €"
    assert a["puntos_que_caducan"] == 50
    assert a["fecha_caducidad"] == (earned + timedelta(days=365)).date()
    assert a["codigo_recomendacion"] == member.referral_code
    assert a["segmento_rfm"] == "Campeones" and a["nivel_valor"] == "Oro"
    assert a["estado_actividad"] == "En riesgo"
    assert a["dias_sin_comprar"] == 100 and a["ultima_compra"] == (now - timedelta(days=100)).date()
    assert a["clv"] == Decimal("1234.56")
    assert a["producto_recomendado"] == "Taladro percutor"
    assert a["categoria_recomendada"] == "Herramientas"
    assert a["producto_recomendado_nivel"] == "Producto principal"
    assert a["paso_sendero"] == "Producto de valor"
    assert a["siguiente_paso_sendero"] == "Producto principal"
    assert a["cupon"] == "ANA-10" and a["cupon_descripcion"] == "10 € de descuento"
    assert a["cupon_caduca"] == date(2026, 12, 31) and a["hoy"] == date(2026, 12, 3)
    assert a["enlace_baja"] == "%%unsubscribe_url%%"
    assert a["enlace_preferencias"] == "%%preferences_url%%"
    assert set(a) == {name for name, _d in t.VARIABLES}

    c = got[company.pk]
    assert c["nombre"] == "Obras Pérez SL" and c["nombre_completo"] == "Obras Pérez SL"
    assert c["empresa"] == "Obras Pérez SL" and c["cupon"] is None
    assert c["puntos"] is None and c["nivel"] is None and c["segmento_rfm"] is None
    assert set(c) == set(a)

    body = ("Hola {{ nombre }}, tienes {{ puntos|numero }} puntos y eres {{ nivel }}. "
            "Te faltan {{ falta_para_siguiente_nivel }} para {{ siguiente_nivel }}. "
            "{% if puntos_que_caducan %}{{ puntos_que_caducan }} puntos caducan el "
            "{{ fecha_caducidad|fecha('largo') }}. {% endif %}"
            "Tu cupón {{ cupon }}: {{ cupon_descripcion }} hasta el {{ cupon_caduca|fecha('dia_mes') }}.")
    assert template_validate(body) == []
    expiry = (earned + timedelta(days=365)).date()
    assert template_render(body, a) == (
        "Hola Ana, tienes 300 puntos y eres Plata. Te faltan 750,00 € para Oro. "
        f"50 puntos caducan el {expiry.day} de diciembre de {expiry.year}. "
        "Tu cupón ANA-10: 10 € de descuento hasta el 31 de diciembre.")
    assert template_render("Hola {{ nombre }}, {{ puntos|default('únete al club') }}", c) == (
        "Hola Obras Pérez SL, únete al club")


def test_points_based_tiers_and_top_tier(shop, now):
    program = shop["program"]
    program.tier_basis = TierBasis.POINTS
    program.save()
    ana = _customer(first_name="Ana")
    _order(ana, shop["drill"], 1, placed_at=now - timedelta(days=5))  # 125 points
    top = _customer(first_name="Berta")
    _order(top, shop["drill"], 10, placed_at=now - timedelta(days=5))  # 1250 points: Oro
    got = t.recipients_context([ana.pk, top.pk], now=now)
    assert got[ana.pk]["nivel"] == "Bronce" and got[ana.pk]["siguiente_nivel"] == "Plata"
    assert got[ana.pk]["puntos_para_siguiente_nivel"] == 75
    assert got[ana.pk]["falta_para_siguiente_nivel"] == "75 puntos"
    assert got[top.pk]["nivel"] == "Oro" and got[top.pk]["siguiente_nivel"] is None
    assert got[top.pk]["falta_para_siguiente_nivel"] is None


def test_expired_and_pending_points_are_not_spendable(shop, now):
    program = shop["program"]
    ana = _customer(first_name="Ana")
    member = member_enroll(program=program, customer=ana, actor=Actor.system("t"), at=now - timedelta(days=400))
    # A lot already past its expiry (the nightly job has not run yet) is neither spendable
    # nor "about to expire".
    bonus_award(member=member, cause_type="survey", cause_id="old", actor=Actor.system("t"),
                points=70, occurred_at=now - timedelta(days=366))
    bonus_award(member=member, cause_type="survey", cause_id="new", actor=Actor.system("t"),
                points=30, occurred_at=now - timedelta(days=10))
    got = t.recipients_context([ana.pk], now=now)[ana.pk]
    assert got["puntos"] == 30
    assert got["puntos_que_caducan"] == 30
    assert got["fecha_caducidad"] == (now - timedelta(days=10) + timedelta(days=365)).date()


def test_recipients_context_is_set_based(shop, now, django_assert_max_num_queries):
    """A fixed number of queries whatever the number of recipients (no N+1)."""
    ids = []
    for i in range(40):
        customer = _customer(first_name=f"C{i}", city="Madrid")
        _order(customer, shop["drill"], 1 + i % 3, placed_at=now - timedelta(days=20 + i))
        _metrics(customer, last_purchase=(now - timedelta(days=20 + i)).date(), next_product=shop["drill"])
        ids.append(customer.pk)
    # programs, tiers (once); cards, memberships, spendable, the open lots that expire
    # (the next expiry day and the notice period from one query), tier values, snapshot
    # (per chunk of 5,000)
    with django_assert_max_num_queries(8) as few:
        t.recipients_context(ids[:2], now=now)
    with django_assert_max_num_queries(8) as many:
        big = t.recipients_context(ids, now=now)
    assert len(few.captured_queries) == len(many.captured_queries)
    assert len(big) == 40 and big[ids[5]]["producto_recomendado"] == "Taladro percutor"
    assert all(ctx["puntos"] > 0 and ctx["nivel"] for ctx in big.values())


def test_expiry_days_are_local_days_across_the_dst_change(shop, now):
    """The next expiry day sums every lot of that local day (one just after midnight in
    Madrid is the day before in UTC), and not the next day's; the notice period counts
    the instants within it. Lots live 365 days: earned on 2025-10-25/26, they expire
    around the autumn change of 2026 (25 October, 03:00 CEST -> 02:00 CET)."""
    program = shop["program"]
    program.expiry_notice_days = 330
    program.save()
    ana = _customer(first_name="Ana")
    member = member_enroll(program=program, customer=ana, actor=Actor.system("t"),
                           at=datetime(2025, 1, 1, tzinfo=MADRID))
    earned = [(datetime(2025, 10, 26, 0, 30, tzinfo=MADRID), 5),    # 2026-10-25 22:30 UTC
              (datetime(2025, 10, 26, 23, 45, tzinfo=MADRID), 7),   # same local day
              (datetime(2025, 10, 27, 0, 15, tzinfo=MADRID), 11),   # the next local day
              (datetime(2025, 12, 20, 10, 0, tzinfo=MADRID), 13)]   # beyond the notice period
    for i, (when, points) in enumerate(earned):
        bonus_award(member=member, cause_type="survey", cause_id=f"dst{i}", actor=Actor.system("t"),
                    points=points, occurred_at=when)
    with timezone.override(MADRID):
        got = t.recipients_context([ana.pk], now=now - timedelta(days=340))[ana.pk]
    assert got["fecha_caducidad"] == date(2026, 10, 26) and got["puntos_que_caducan"] == 12
    assert got["puntos_por_caducar"] == 23
    assert got["caducidades"] == "12 puntos el 26 de octubre de 2026 y 11 puntos el 27 de octubre de 2026"


def test_dense_id_ranges_skip_the_customers_not_asked_for(shop, now):
    """Over 100 dense ids the queries use a range instead of IN (…); customers inside the
    range who are not recipients must not leak into the result or into anyone's values."""
    program = shop["program"]
    customers = [_customer(first_name=f"D{i}") for i in range(130)]
    for i, customer in enumerate(customers):
        member = member_enroll(program=program, customer=customer, actor=Actor.system("t"),
                               at=now - timedelta(days=30))
        bonus_award(member=member, cause_type="survey", cause_id=f"d{i}", actor=Actor.system("t"),
                    points=i + 1, occurred_at=now - timedelta(days=300 - i))
        _metrics(customer, last_purchase=(now - timedelta(days=i)).date())
    asked = [c.pk for i, c in enumerate(customers) if i % 5]
    assert len(asked) > 100 and asked[-1] - asked[0] < 2 * len(asked)  # the range path
    got = t.recipients_context(list(reversed(asked)), now=now)
    assert list(got) == list(reversed(asked))
    for i, customer in enumerate(customers):
        if i % 5 == 0:
            assert customer.pk not in got
            continue
        ctx = got[customer.pk]
        assert ctx["nombre"] == f"D{i}" and ctx["puntos"] == i + 1
        assert ctx["puntos_que_caducan"] == i + 1
        assert ctx["fecha_caducidad"] == (now - timedelta(days=300 - i) + timedelta(days=365)).date()
        assert ctx["dias_sin_comprar"] == i


def test_recipients_context_chunks_large_lists(shop, now, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(t, "_CHUNK", 10)
    ids = [_customer(first_name=f"C{i}").pk for i in range(25)]
    # 3 chunks x (cards, memberships, snapshot): customers with no membership skip the rest
    with django_assert_num_queries(9):
        got = t.recipients_context(ids, now=now)
    assert list(got) == ids


def test_preview_for_one_customer(shop, now):
    ana = _customer(first_name="Ana", email="ana@example.com")
    _order(ana, shop["drill"], 1, placed_at=now - timedelta(days=3))
    out = t.preview("Hola {{ nombre }},\n ¡{{ puntos }} puntos!",
                    "Tu cupón: {{ cupon }} ({{ cupon_descripcion }})",
                    "<p>{{ nombre }} &mdash; <a href='{{ enlace_baja }}'>baja</a></p>",
                    ana.pk, offer={"description": "Envío gratis", "valid_until": None})
    assert out == {
        "subject": "Hola Ana, ¡125 puntos!",  # one line
        "text": "Tu cupón: CUPON-EJEMPLO (Envío gratis)",
        "html": "<p>Ana &mdash; <a href='%%unsubscribe_url%%'>baja</a></p>",
        "errors": "",
    }
    bad = t.preview("Hola {{ nmbre }}", "ok", "", ana.pk)
    assert bad["subject"] == "" and bad["text"] == "ok"
    assert bad["errors"] == "Asunto: Línea 1: variable desconocida «nmbre». ¿Quería decir «nombre»?"
    from fideliza.customers.models import Customer

    with pytest.raises(Customer.DoesNotExist):
        t.preview("x", "y", "", 999_999)


# -- fuzzing: whatever staff type, the answer is a message, never a crash --------------------

_TOKENS = ["{{", "}}", "{%", "%}", "{#", "#}", " ", "\n", "if", "elif", "else", "endif", "for",
           "in", "range", "set", "=", "not", "and", "or", "is", "defined", "nombre", "puntos",
           "clv", "hoy", "cycler", "x", "(", ")", "[", "]", ".", "__class__", "__globals__",
           "|", "dinero", "fecha", "upper", "default", "truncate", "round", "+", "-", "*", "/",
           "//", "%", "**", "~", "==", "<", ">", ",", "'a'", '"b"', "1", "0", "10**9", "1e308",
           "Hola", "<b>", "&"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=40), st.booleans())
def test_any_token_soup_gives_messages_or_text_never_a_crash(tokens, html):
    source = "".join(tokens)
    errors = template_validate(source, html=html)
    assert isinstance(errors, list) and all(isinstance(e, str) and e for e in errors)
    for ctx in ({}, {"nombre": "Ana <b>", "puntos": 1250, "clv": Decimal("12.5"), "hoy": date(2026, 1, 2)}):
        try:
            out = template_render(source, ctx, html=html)
        except TemplateError as exc:
            assert str(exc)
        else:
            assert isinstance(out, str)
            # no Python object ever reaches the output
            assert not any(leak in out for leak in ("<class", "built-in", "object at 0x", "<function"))
