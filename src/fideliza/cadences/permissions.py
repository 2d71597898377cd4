from __future__ import annotations

from fideliza.accounts.models import Role, User

EDIT_ROLES = frozenset({Role.OWNER, Role.MARKETING})


def can_edit_cadences(user: User) -> bool:
    """Owner and marketing set the cadences (as the loyalty program and the automations);
    everyone reads them and the «Perdiendo contacto» list of their customers."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in EDIT_ROLES))
