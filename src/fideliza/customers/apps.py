from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "fideliza.customers"
    label = "customers"
    verbose_name = _("Clientes")

    def ready(self) -> None:
        # Erasure of the tables customers owns, and of the copies of a card that accounts
        # (audit history) and core (stored API responses) keep: they sit below customers.
        from . import contacts, merging, privacy

        for label, handler in (
                ("customers.ConsentRecord", privacy.consents_erase),
                ("customers.CustomerMerge", privacy.merges_erase),
                ("customers.DataSubjectRequest", privacy.requests_erase),
                ("accounts.AuditLog", privacy.audit_erase),
                ("core.IdempotencyRecord", privacy.scrub_idempotency_responses)):
            privacy.erasure_handler_register(label, handler)
        # Contact persons: folded into the survivor's on a merge, erased with their card.
        privacy.erasure_handler_register("customers.Contact", contacts.contacts_erase)
        merging.merge_handler_register("customers.Contact", contacts.contacts_merge)
