"""Documents kept with a customer: what may be uploaded, how it is checked, and erasure.

Accepted: forwarded e-mails (.eml), PDF, PNG, JPEG, GIF, WebP and plain text, up to
`FIDELIZA_DOCUMENT_MAX_MB` each. The type is decided by the extension *and* the file's first
bytes (a «.pdf» that is an HTML page is refused); the browser's declared type is ignored.
Files are always served as downloads, with our content type (never sniffed), so no upload
runs in the site's origin.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.utils.translation import gettext as _

from fideliza.accounts.models import User
from fideliza.customers.models import Customer

from .models import Document, Interaction

# extension → (content type, accepted first bytes; None: text, checked apart)
KINDS: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".eml": ("message/rfc822", None),
    ".txt": ("text/plain; charset=utf-8", None),
}


def max_bytes() -> int:
    return int(settings.FIDELIZA_DOCUMENT_MAX_MB) * 1024 * 1024


def document_check(upload: UploadedFile) -> str:
    """The content type to store and serve `upload` with, or a ValidationError saying why not."""
    name = upload.name or ""
    suffix = PurePath(name).suffix.lower()
    if suffix not in KINDS:
        raise ValidationError(_("Tipo de archivo no admitido: suba un e-mail (.eml), un PDF, una imagen (PNG, "
                                "JPEG, GIF, WebP) o un texto (.txt)."), code="file_type")
    if upload.size is None or upload.size > max_bytes():
        raise ValidationError(_("El archivo pesa más de %(mb)s MB.") % {"mb": settings.FIDELIZA_DOCUMENT_MAX_MB},
                              code="file_size")
    if upload.size == 0:
        raise ValidationError(_("El archivo está vacío."), code="file_empty")
    content_type, magics = KINDS[suffix]
    upload.seek(0)
    head = upload.read(512)
    upload.seek(0)
    if magics is None:
        if b"\x00" in head or head.lstrip().lower().startswith((b"<!doctype", b"<html", b"<svg", b"<?xml")):
            raise ValidationError(_("El contenido no corresponde a un texto o e-mail."), code="file_content")
    elif not head.startswith(magics) or (suffix == ".webp" and head[8:12] != b"WEBP"):
        raise ValidationError(_("El contenido del archivo no corresponde a su extensión."), code="file_content")
    return content_type


def _storage() -> Storage:
    field = Document._meta.get_field("file")
    assert isinstance(field, models.FileField)
    return field.storage


# The files stored inside the current `files_removed_on_error` block (per thread and task).
_STORED: ContextVar[list[str] | None] = ContextVar("fideliza_documents_stored", default=None)


@contextmanager
def files_removed_on_error() -> Iterator[None]:
    """Around a transaction that stores documents: if it fails, delete the files it stored
    (Django has no «on rollback» hook; the rows go with the transaction, the files here)."""
    names: list[str] = []
    token = _STORED.set(names)
    try:
        yield
    except BaseException:
        for name in names:
            _storage().delete(name)
        raise
    finally:
        _STORED.reset(token)


def document_add(*, customer: Customer, upload: UploadedFile, user: User | None,
                 interaction: Interaction | None = None, description: str = "") -> Document:
    """Keep `upload` with the card (or with one of its interactions). The caller has checked
    that `user` may see the customer; inside a larger transaction, wrap it in
    `files_removed_on_error` so a rollback does not leave the file behind."""
    if interaction is not None and interaction.customer_id != customer.pk:
        raise ValidationError(_("La interacción es de otro cliente."), code="other_customer")
    content_type = document_check(upload)
    document = Document(customer=customer, interaction=interaction, name=PurePath(upload.name or "").name[:255],
                        content_type=content_type, size=upload.size or 0, description=description.strip()[:300],
                        uploaded_by=user)
    document.file.save(PurePath(upload.name or "documento").name, upload, save=False)
    name = str(document.file.name)
    try:
        with transaction.atomic():
            document.save()
    except BaseException:
        _storage().delete(name)
        raise
    stored = _STORED.get()
    if stored is not None:
        stored.append(name)
    return document


def documents_erase(customer_ids: list[int], values: set[str]) -> int:
    """Erasure (customers.privacy): documents are the person's own papers: rows and files go."""
    rows = list(Document.objects.filter(customer_id__in=customer_ids).values_list("pk", "file"))
    if not rows:
        return 0
    Document.objects.filter(pk__in=[pk for pk, _name in rows]).delete()
    names = [name for _pk, name in rows if name]

    def delete_files() -> None:
        storage = _storage()
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete_files)
    return len(rows)
