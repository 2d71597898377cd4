"""Every table that refers to a customer, found from Django's model metadata.

Foreign keys and one-to-one keys to `Customer` (nullable ones and hidden ones declared with
`related_name="+"` included, which `Customer._meta.related_objects` leaves out), the
automatic tables of many-to-many fields, and the *indirect* references that hold a
customer without a key: an id in a plain column, a card's data copied into JSON. Merging
(`merging.MERGE_POLICIES`) and erasure (`privacy.ERASURE_POLICIES`) each need a policy for
every one of them; tests/customers/test_policies.py checks that they have.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models

from .models import Customer

# Tables that refer to a customer without a foreign key: (model label, field, what it holds).
INDIRECT_REFERENCES: tuple[tuple[str, str, str], ...] = (
    # A generic relation by customer id: entity="customers.customer", entity_id=str(pk).
    ("accounts.AuditLog", "entity_id", "the card's change history (old and new values)"),
    # Stored API responses, replayed on retries: may hold a copy of the card.
    ("core.IdempotencyRecord", "response_body", "copies of the card in API responses"),
    # Import error reports quote the cells of rejected rows.
    ("imports.ImportRun", "errors", "cell values of rejected rows"),
)


@dataclass(frozen=True)
class Reference:
    model: type[models.Model]
    field: str
    indirect: bool = False

    @property
    def label(self) -> str:
        return self.model._meta.label


def customer_keys() -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every (model, foreign or one-to-one key) in the project that points at Customer."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey) and field.related_model is Customer:
                found.append((model, field))
    return found


def customer_references() -> list[Reference]:
    """Foreign keys to Customer, then the indirect references."""
    refs = [Reference(model, field.name) for model, field in customer_keys()]
    for label, field, _what in INDIRECT_REFERENCES:
        try:
            model = apps.get_model(label)
        except LookupError:  # an app not installed
            continue
        refs.append(Reference(model, field, indirect=True))
    return refs
