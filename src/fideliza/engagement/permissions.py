from __future__ import annotations

from typing import Any

from fideliza.accounts.models import Role

READ_ROLES = frozenset({Role.OWNER, Role.MARKETING, Role.SUPPORT})
EDIT_ROLES = frozenset({Role.OWNER, Role.MARKETING})


def can_view_outbox(user: Any) -> bool:
    """Owner, marketing and support read the outbox (addresses, bodies); not sales reps."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in READ_ROLES))


def can_edit_messaging(user: Any) -> bool:
    """Owner and marketing change the contact budget and the suppression list."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in EDIT_ROLES))
