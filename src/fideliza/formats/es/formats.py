"""Spanish number format of the UI: a dot between thousands, as shops and invoices in Spain
write it and as amounts of money are written (CLDR's «18.486,62 €», `core.money`), so that
counts and amounts on one page agree. Everything else comes from Django's `es` formats."""

THOUSAND_SEPARATOR = "."
