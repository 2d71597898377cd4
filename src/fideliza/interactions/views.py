"""Documents are served here, and only here: to users who may see the customer, as a download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404

from fideliza.accounts.http import AuthedRequest
from fideliza.customers.selectors import customers_visible_to

from .models import Document


@login_required
def document_download(request: AuthedRequest, pk: int) -> FileResponse:
    """The file, as an attachment with the type checked at upload (never sniffed, never
    rendered in the site's origin); 404 when the customer is not visible to the user."""
    document = get_object_or_404(Document.objects.filter(customer__in=customers_visible_to(request.user)), pk=pk)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=document.name, content_type=document.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
