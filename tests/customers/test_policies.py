"""Every table that refers to a customer says what a merge and an erasure do to its rows.

The tables are enumerated from Django's model metadata, so a new app's table that points at
Customer (a foreign key, a one-to-one key, a many-to-many table, or a customer id kept in a
plain column) makes this test fail until its policies are declared.
"""

import re

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.db import models

from fideliza.customers.merging import MERGE_POLICIES, PLAIN_POLICIES, merge_handler, merge_policy
from fideliza.customers.models import Customer
from fideliza.customers.privacy import (
    ERASURE_PLAIN,
    ERASURE_POLICIES,
    erasure_handler,
    erasure_policy,
)
from fideliza.customers.references import INDIRECT_REFERENCES, customer_keys, customer_references

# A column that holds customers without being a key: customer, customer_id, friend_customer_pk,
# customer_ids (not counts such as max_uses_per_customer).
CUSTOMER_COLUMN = re.compile(r"^customer$|(^|_)customers?_(id|ids|pk|pks)$")


def test_every_key_to_customer_is_found_hidden_and_nullable_ones_too():
    found = {(m._meta.label, f.name) for m, f in customer_keys()}
    # related_name="+" (hidden), nullable, one-to-one and many-to-many tables included.
    assert {("engagement.DeliveryEvent", "customer"), ("loyalty.Coupon", "customer"),
            ("engagement.ContactBudget", "customer"), ("customers.Customer_interests", "customer"),
            ("customers.MatchCandidate", "customer_a"), ("automations.Enrollment", "customer")} <= found


def test_no_customer_column_outside_the_known_references():
    declared = {(label, field) for label, field, _what in INDIRECT_REFERENCES}
    unknown = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.get_fields():
            if isinstance(field, GenericForeignKey):
                unknown.append(f"{model._meta.label}.{field.name} (generic relation)")
            elif (getattr(field, "concrete", False) and not field.is_relation
                  and CUSTOMER_COLUMN.search(field.name)
                  and (model._meta.label, field.name) not in declared):
                unknown.append(f"{model._meta.label}.{field.name}")
    assert unknown == [], "declare them in customers.references.INDIRECT_REFERENCES"


def test_every_reference_has_a_merge_and_an_erasure_policy():
    missing = []
    for ref in customer_references():
        merge, erase = merge_policy(ref.model), erasure_policy(ref.model)
        if merge is None:
            missing.append(f"{ref.label}.{ref.field}: merge (customers.merging.MERGE_POLICIES)")
        if erase is None:
            missing.append(f"{ref.label}.{ref.field}: erasure (customers.privacy.ERASURE_POLICIES)")
    assert missing == []


def test_policies_are_valid():
    keys_per_model: dict[str, int] = {}
    for model, _field in customer_keys():
        keys_per_model[model._meta.label] = keys_per_model.get(model._meta.label, 0) + 1
    for ref in customer_references():
        merge, erase = merge_policy(ref.model), erasure_policy(ref.model)
        if ref.indirect:
            assert merge == "keep", ref.label  # nothing to re-point without a key
            assert erase != "delete", ref.label
        if merge == "union":
            assert ref.model._meta.auto_created, ref.label  # many-to-many tables only
        elif merge not in PLAIN_POLICIES:
            assert merge == "handler", (ref.label, merge)
            handler = merge_handler(ref.label)
            assert callable(handler) and callable(handler.undo), ref.label
        if merge in ("move", "move_unless_taken", "derived") or merge not in PLAIN_POLICIES:
            # Undo finds the key to move back by the model: one key to Customer.
            assert keys_per_model[ref.label] == 1, ref.label
        if erase not in ERASURE_PLAIN:
            assert erase == "handler", (ref.label, erase)
            assert callable(erasure_handler(ref.label)), ref.label
    # No policy for a table that does not exist (a typo would leave the real one without).
    labels = {ref.label for ref in customer_references()}
    assert set(MERGE_POLICIES) <= labels and set(ERASURE_POLICIES) <= labels


def test_customer_is_the_model_the_policies_are_for():
    assert all(f.related_model is Customer for _m, f in customer_keys())
    assert all(isinstance(f, models.ForeignKey) for _m, f in customer_keys())
