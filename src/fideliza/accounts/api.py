"""REST endpoint to check a credential: who the caller acts as."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from fideliza.accounts.auth import can_write, request_token, request_user
from fideliza.api_support import ErrorOut

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    role: str
    token: str | None = Field(description="Name of the API token used; null for a session")
    sees_all_customers: bool = Field(description="False for a sales representative (only assigned customers)")
    can_write: dict[str, bool] = Field(description="Per area: customers, catalog, sales")


@router.get("/me", response={200: MeOut, 401: ErrorOut}, url_name="me")
def me(request: HttpRequest) -> dict:
    """The user this credential acts as, with their role: a quick way to test a token."""
    user = request_user(request)
    token = request_token(request)
    return {
        "username": user.get_username(),
        "role": "owner" if user.is_superuser and not user.role else user.role,
        "token": token.name if token else None,
        "sees_all_customers": user.sees_all_customers,
        "can_write": {area: can_write(user, area) for area in ("customers", "catalog", "sales")},
    }
