from __future__ import annotations

from fideliza.accounts.models import Role, User

EDIT_ROLES = frozenset({Role.OWNER, Role.MARKETING})


def can_edit_events(user: User) -> bool:
    """Owner and marketing create, change, invite to and cancel events; every role reads them
    (and records the answers and the attendance of the customers they may see)."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in EDIT_ROLES))
