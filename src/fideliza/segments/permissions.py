from __future__ import annotations

from fideliza.accounts.models import Role, User

EDIT_ROLES = frozenset({Role.OWNER, Role.MARKETING, Role.SALES_REP})


def can_edit_segments(user: User) -> bool:
    """Owner, marketing and sales reps build segments (a rep's only ever hold their customers)."""
    return bool(user.is_authenticated and (user.is_superuser or user.role in EDIT_ROLES))
