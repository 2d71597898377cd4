from __future__ import annotations

from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from .fields import FIELDS_BY_KIND
from .models import ImportKind
from .reader import ImportFileError, sniff

ALLOWED_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
MAX_UPLOAD_MB = 200


def _clean_upload(upload):
    if Path(upload.name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise forms.ValidationError(_("Suba un archivo CSV o XLSX."))
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        raise forms.ValidationError(_("El archivo supera los %(mb)s MB.") % {"mb": MAX_UPLOAD_MB})
    # What the file is, not what its name says: a PDF or a program renamed .csv is refused
    # here, with the reason, before it becomes an import.
    try:
        sniff(upload)
    except ImportFileError as exc:
        raise forms.ValidationError(str(exc)) from exc
    return upload


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Tipo de datos"), choices=ImportKind.choices)
    source = forms.CharField(
        label=_("Origen"), max_length=64, initial="tpv",
        help_text=_("Sistema del que sale el archivo (tpv, tienda-online, crm-antiguo…). "
                    "Los ids de cada origen se guardan aparte; use siempre el mismo nombre."))
    file = forms.FileField(label=_("Archivo"), help_text=_("CSV (separado por comas, punto y coma o "
                                                          "tabuladores) o Excel .xlsx"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.xlsm"}))

    def clean_file(self):
        return _clean_upload(self.cleaned_data["file"])


class ReuploadForm(forms.Form):
    file = forms.FileField(label=_("Archivo"), help_text=_("El archivo corregido; se valida con las "
                                                          "mismas columnas y opciones."),
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.xlsm"}))

    def clean_file(self):
        return _clean_upload(self.cleaned_data["file"])


AUTO = ""


class OptionsForm(forms.Form):
    encoding = forms.ChoiceField(label=_("Codificación"), required=False, choices=[
        (AUTO, _("Detectar")), ("utf-8", "UTF-8"), ("cp1252", "Windows-1252"), ("latin-1", "Latin-1 (ISO-8859-1)")])
    delimiter = forms.ChoiceField(label=_("Separador"), required=False, choices=[
        (AUTO, _("Detectar")), (";", _("Punto y coma (;)")), (",", _("Coma (,)")), ("\t", _("Tabulador")),
        ("|", _("Barra vertical (|)"))])
    decimal = forms.ChoiceField(label=_("Separador decimal"), required=False, choices=[
        (AUTO, _("Detectar")), (",", _("Coma (12,50)")), (".", _("Punto (12.50)"))])
    date_format = forms.ChoiceField(label=_("Formato de fecha"), required=False, choices=[
        (AUTO, _("Detectar (dd/mm/aaaa o aaaa-mm-dd)")), ("%d/%m/%Y", "dd/mm/aaaa"),
        ("%d-%m-%Y", "dd-mm-aaaa"), ("%Y-%m-%d", "aaaa-mm-dd"), ("%m/%d/%Y", "mm/dd/aaaa")])
    create_missing_products = forms.BooleanField(
        label=_("Crear los productos que falten"), required=False,
        help_text=_("Pedidos: un SKU que no está en el catálogo crea un producto con la descripción "
                    "y el precio de la línea, en lugar de ser un error."))
    create_missing_stores = forms.BooleanField(
        label=_("Crear las tiendas que falten"), required=False, initial=True,
        help_text=_("Pedidos: un código de tienda desconocido crea la tienda."))
    create_missing_customers = forms.BooleanField(
        label=_("Crear fichas para los clientes que falten"), required=False,
        help_text=_("Pedidos y tickets: un cliente que no existe en este origen recibe una ficha "
                    "mínima (solo su identificador, o su e-mail o nombre si el archivo los trae). "
                    "Si más tarde importa los clientes de este mismo origen, esa ficha se completa "
                    "en lugar de crear otra."))

    ORDER_ONLY = ("create_missing_products", "create_missing_stores", "create_missing_customers")


class MappingForm(forms.Form):
    """One select per file column, pre-filled with the recognised field."""

    def __init__(self, *args, kind: str, headers: list[str], initial_mapping: dict[str, str | None],
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", _("— no importar —"))] + [(f.name, f.label) for f in FIELDS_BY_KIND[kind]]
        for i, header in enumerate(headers):
            self.fields[f"col_{i}"] = forms.ChoiceField(
                label=header, required=False, choices=choices, initial=initial_mapping.get(header) or "")

    def mapping(self) -> dict[str, str | None]:
        return {header: (self.cleaned_data.get(f"col_{i}") or None) for i, header in enumerate(self.headers)}

    def rows(self):
        return [(header, self[f"col_{i}"]) for i, header in enumerate(self.headers)]
