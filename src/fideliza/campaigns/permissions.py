from __future__ import annotations

from fideliza.accounts.models import Role, User

EDIT_ROLES = frozenset({Role.OWNER, Role.MARKETING})


def can_edit_campaigns(user: User) -> bool:
    """Owner and marketing write and send campaigns; every other role reads them."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in EDIT_ROLES))
