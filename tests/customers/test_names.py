"""The merged name is one card's name, whole, written as well as either card writes it."""

from datetime import date

import pytest
from django.test import override_settings

from fideliza.accounts.services import Actor
from fideliza.customers.merging import customer_merge, merge_plan
from fideliza.customers.models import Customer
from fideliza.customers.names import (
    LazyNameCounts,
    NameCounts,
    choose_group,
    fold,
    looks_swapped,
    rewrite,
)
from fideliza.customers.services import customer_create

pytestmark = pytest.mark.django_db

BASE = NameCounts.from_names([("Rosa", "Blanco Álvarez"), ("Rosa", "García"), ("María Dolores", "Santos Lorenzo"),
                              ("Antonio", "Pérez"), ("Dolores", "Martín Moreno"), ("Sara", "Hidalgo Pérez"),
                              ("Pedro", "Martín")])


def _same_name_as_one_input(result, *inputs) -> bool:
    key = lambda values: tuple(" ".join(fold(w) for w in v.split()) for v in values)  # noqa: E731
    return any(key(result) == key(i) for i in inputs)


@pytest.mark.parametrize(("survivor", "duplicate", "expected"), [
    # The cases: the web card had the fields swapped (and a slip, or all lower case).
    (("Mª DOLORES", "SANTOS LORENZO"), ("Santos Loreno", "María Dolores"), ("Mª Dolores", "Santos Lorenzo")),
    (("ROSA", "BLANCO ALVAREZ"), ("blanco álvarez", "rosa"), ("Rosa", "Blanco Álvarez")),
    # The same name better written on the other card: its writing.
    (("Mª DOLORES", "SANTOS LORENZO"), ("María Dolores", "Santos Lorenzo"), ("María Dolores", "Santos Lorenzo")),
    (("MARIA DOLORES", "SANTOS LORENZO"), ("María Dolores", "Santos Lorenzo"), ("María Dolores", "Santos Lorenzo")),
    (("samuel", "gómez roldán"), ("Samuel", "Gómez Roldán"), ("Samuel", "Gómez Roldán")),
    # The more complete card, with the other's accents and case for the words they share.
    (("MARIA", "BERMUDEZ RODRIGUEZ"), ("María", "Bermúdez"), ("María", "Bermúdez Rodriguez")),
    (("Lucía", "García"), ("Lucia", "García Pérez"), ("Lucía", "García Pérez")),
    # A slip: the spelling the base uses, never a mix («Antonio Luque FFlores»).
    (("Sara", "Hidalgo Pérez"), ("Sara", "Hidalgo Péreez"), ("Sara", "Hidalgo Pérez")),
    (("DOLORES", "MARTIN MORENO"), ("Dolores", "Martíín Moreno"), ("Dolores", "Martin Moreno")),
    # One card alone in capitals: title case, particles in lower case; a field in capitals.
    (("MARIA DEL CARMEN", "DE LA FUENTE"), ("", ""), ("Maria del Carmen", "De la Fuente")),
    (("ANA", "García López"), ("", ""), ("Ana", "García López")),
])
def test_name_group_comes_whole_from_one_card(survivor, duplicate, expected):
    for mine, theirs in ((survivor, duplicate), (duplicate, survivor)):  # whichever card survives
        _origin, written = choose_group(mine, theirs, counts=LazyNameCounts(lambda: BASE))
        assert written == expected
        assert _same_name_as_one_input(written, survivor, duplicate)


def test_swapped_fields_in_a_new_base_go_by_the_number_of_surnames():
    empty = LazyNameCounts(NameCounts)
    for mine, theirs in ((("blanco álvarez", "rosa"), ("ROSA", "BLANCO ALVAREZ")),
                         (("ROSA", "BLANCO ALVAREZ"), ("blanco álvarez", "rosa"))):
        assert choose_group(mine, theirs, counts=empty)[1] == ("Rosa", "Blanco Álvarez")


def test_swapped_fields_are_recognised():
    assert looks_swapped(("Rosa", "Blanco Álvarez"), ("Blanco", "Rosa"))
    assert looks_swapped(("Mª DOLORES", "SANTOS LORENZO"), ("Santos Loreno", "María Dolores"))
    assert not looks_swapped(("Rosa", "Blanco"), ("Rosa", "Blanco Álvarez"))


def test_company_names():
    assert choose_group(("FERRETERIA GARCIA SL",), ("Ferretería García S.L.",), group="company_name") == \
        ("duplicate", ("Ferretería García S.L.",))
    assert rewrite(("reformas del sur s.l.",), ("",), company=True) == ("Reformas Del Sur S.L.",)
    assert rewrite(("BBVA",), ("",), company=True) == ("BBVA",)  # capitals may be an acronym


def test_merge_writes_the_name_of_one_card(owner):
    actor = Actor.of(owner)
    for first, last in [("Rosa", "García"), ("Rosa", "Pérez Gil"), ("Pedro", "Blanco"), ("Luis", "Álvarez")]:
        customer_create(actor=actor, data={"first_name": first, "last_name": last})
    till = customer_create(actor=actor, data={"first_name": "ROSA", "last_name": "BLANCO ALVAREZ",
                                              "acquisition_date": date(2019, 1, 1)})
    web = customer_create(actor=actor, data={"first_name": "blanco álvarez", "last_name": "rosa",
                                             "email": "rosa.ba@correo.es"})
    customer_merge(actor=actor, survivor=web, duplicate=till, automatic=True)
    web.refresh_from_db()
    assert (web.first_name, web.last_name) == ("Rosa", "Blanco Álvarez")
    # What the campaign greets her with.
    from fideliza.engagement.templating import recipients_context

    assert recipients_context([web.pk])[web.pk]["nombre"] == "Rosa"


@override_settings(FIDELIZA_SURVIVORSHIP={"first_name": "most_complete", "last_name": "most_complete"})
def test_per_field_rules_apply_to_the_whole_group(owner):
    actor = Actor.of(owner)
    a = customer_create(actor=actor, data={"first_name": "Mª DOLORES", "last_name": "SANTOS LORENZO"})
    b = customer_create(actor=actor, data={"first_name": "Santos Loreno", "last_name": "María Dolores"})
    plan = merge_plan(a, b)
    assert plan.sources["first_name"] == plan.sources["last_name"]
    written = (plan.values["first_name"], plan.values["last_name"])
    assert _same_name_as_one_input(written, ("Mª DOLORES", "SANTOS LORENZO"), ("Santos Loreno", "María Dolores"))


def test_the_merged_card_is_saved_with_it(owner):
    actor = Actor.of(owner)
    a = customer_create(actor=actor, data={"first_name": "AITANA", "last_name": "VELASCO SERRANO"})
    b = customer_create(actor=actor, data={"first_name": "Aitana", "last_name": "Velasco Serrano"})
    merge = customer_merge(actor=actor, survivor=a, duplicate=b)
    assert Customer.objects.get(pk=a.pk).display_name == "Aitana Velasco Serrano"
    assert merge.field_sources["first_name"] == merge.field_sources["last_name"] == "duplicate"
