"""«Número de empleados» as a segment rule (issue 15 part 4, seed 004: personas o empresas)."""

import pytest

from fideliza.customers.models import Customer, CustomerKind
from fideliza.segments.rules import FIELDS
from fideliza.segments.selectors import customers_matching

pytestmark = pytest.mark.django_db


@pytest.fixture
def firms():
    made = {
        "small": Customer.objects.create(kind=CustomerKind.COMPANY, company_name="Taller Pequeño", employees=4),
        "medium": Customer.objects.create(kind=CustomerKind.COMPANY, company_name="Obras Medianas", employees=40),
        "big": Customer.objects.create(kind=CustomerKind.COMPANY, company_name="Constructora Grande", employees=250),
        "unknown": Customer.objects.create(kind=CustomerKind.COMPANY, company_name="Sin Dato"),
        "person": Customer.objects.create(first_name="Lucía", last_name="Pérez"),
    }
    return made


def _ids(rule: dict) -> set[int]:
    return set(customers_matching({"op": "and", "rules": [rule]}).values_list("pk", flat=True))


def test_employees_is_a_number_field_of_the_card():
    field = FIELDS["employees"]
    assert (field.group, field.kind) == ("card", "number")
    assert str(field.label) == "Número de empleados"


@pytest.mark.parametrize(("cmp", "value", "expected"), [
    ("gte", 10, {"medium", "big"}),
    ("lte", 40, {"small", "medium"}),
    ("eq", 250, {"big"}),
    ("between", [5, 100], {"medium"}),
])
def test_employees_rule_selects_by_the_count(firms, cmp, value, expected):
    assert _ids({"field": "employees", "cmp": cmp, "value": value}) == {firms[k].pk for k in expected}


def test_a_card_without_the_count_never_matches_and_its_negation_does(firms):
    """A person, or a company whose count is not known, is not «≥ 10»; so «not ≥ 10» takes them."""
    negated = _ids({"field": "employees", "cmp": "gte", "value": 10, "negate": True})
    assert negated == {firms[k].pk for k in ("small", "unknown", "person")}


def test_a_non_number_is_refused_with_a_field_error(firms):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        _ids({"field": "employees", "cmp": "gte", "value": "muchos"})
