"""The fields each kind of file can carry, how file headers are recognised, and the examples.

This module is the one source of truth for the columns of an import: the importers read
the fields from here, the upload page lists them (required and optional) and the example
file of each kind is written from the `examples` of its fields.

Headers are compared after normalisation (no accents, lower case, camelCase and
punctuation split, filler words such as "de" or "Nº" removed), so "Fecha de nacimiento",
"FECHA NACIMIENTO", "fecha_nacimiento" and "FechaNacimiento" all name `birth_date`. A
field's own label (in Spanish or English) is recognised too, so the example files map
themselves.

The aliases include the column names of the exports a shop already has: Shopify (orders
and customers), WooCommerce (the Customer/Order/Coupon Export and Import Export Suite
formats, and Analytics downloads), Salesforce contacts (report labels and API names),
HubSpot contacts, Odoo contacts and sale orders (labels and technical names). Aliases
marked `fallback` are only used when no column carries a primary alias of that field:
Shopify's "Default Address City" or WooCommerce's "billing_city" fill the city only when
the file has no plain "City".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fideliza.customers.normalize import strip_accents

if TYPE_CHECKING:
    import polars as pl

Text = str | Promise


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: Text
    type: str  # text email phone date datetime money quantity int bool choice tags category country
    aliases: tuple[str, ...] = ()
    max_length: int | None = None
    required: bool = False
    fallback: tuple[str, ...] = ()       # weaker aliases (see the module docstring)
    examples: tuple[Text, ...] = ()      # one value per row of the example file; () = not in it
    help: Text = ""                      # one line on the upload page
    truncate: bool = False               # over max_length: cut with "…" instead of an error


_FILLER = {"de", "del", "la", "el", "los", "las", "of", "the", "a", "en"}
_NUMBER_WORDS = {"n", "no", "nro", "num", "numero", "number", "nr", "nbr"}


def normalize_header(header: str) -> str:
    """'Nº de Factura' -> 'factura'; 'E-mail' -> 'e mail'; 'Apellido(s)' -> 'apellido s';
    'HasOptedOutOfEmail' -> 'has opted out email'; 'Address1' -> 'address 1';
    'Discount (%)' -> 'discount pct'."""
    text = str(header or "").replace("%", " pct ")
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)         # camelCase
    text = re.sub(r"(?<=[A-Za-z])(?=\d)", " ", text)          # Address1
    text = strip_accents(text).lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    words = [w for w in text.split() if w not in _FILLER]
    while len(words) > 1 and words[0] in _NUMBER_WORDS:
        words = words[1:]
    return " ".join(words)


CONSENT_FIELDS = {
    "consent_email": "email",
    "consent_sms": "sms",
    "consent_phone": "phone",
    "consent_whatsapp": "whatsapp",
    "consent_post": "post",
}
# Columns that say "does NOT accept" (Salesforce's Email Opt Out, HubSpot's "Unsubscribed
# from all email"): a yes there is a withdrawn consent.
OPT_OUT_FIELDS = {
    "email_opt_out": "email",
    "sms_opt_out": "sms",
    "do_not_call": "phone",
}

CUSTOMER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("external_id", _("Id del cliente en el origen"), "text",
              ("id", "id cliente", "cliente id", "codigo cliente", "cod cliente", "cliente",
               "customer id", "client id", "customer", "customer number", "customer code",
               "referencia cliente", "ref cliente", "codigo", "socio", "tarjeta", "tarjeta cliente",
               "record id", "contact id", "external id", "numero socio", "numero tarjeta"),
              max_length=128, fallback=("username", "user login", "user id"),
              examples=("C-001", "C-002", "C-003"),
              help=_("Su código en el programa de origen; reconoce al cliente al volver a importar.")),
    FieldSpec("kind", _("Tipo (persona / empresa)"), "choice",
              ("tipo", "tipo cliente", "type", "customer type", "persona empresa", "contact type"),
              examples=(_("persona"), _("persona"), _("empresa"))),
    FieldSpec("is_company", _("Es empresa"), "bool",
              ("es empresa", "empresa si no", "is company", "is a company", "company flag")),
    FieldSpec("first_name", pgettext_lazy("nombre de pila", "Nombre"), "text",
              ("nombre", "nombre pila", "first name", "firstname", "given name", "nombres",
               "forename"),
              max_length=100, fallback=("billing first name", "default address first name",
                                        "shipping first name"),
              examples=("Lucía", "José Antonio", "")),
    FieldSpec("last_name", _("Apellidos"), "text",
              ("apellido", "apellidos", "apellido s", "last name", "lastname", "surname",
               "family name", "surnames"), max_length=150,
              fallback=("billing last name", "default address last name", "shipping last name"),
              examples=("García Pérez", "Núñez Ruiz", "")),
    FieldSpec("full_name", _("Nombre y apellidos"), "text",
              ("nombre completo", "nombre y apellidos", "nombre apellidos", "full name",
               "fullname", "cliente nombre", "customer name", "name", "display name",
               "contact name", "nombre cliente", "razon social nombre"), max_length=250,
              fallback=("billing name", "billing full name", "shipping name")),
    FieldSpec("company_name", _("Razón social"), "text",
              ("razon social", "empresa", "compania", "company", "company name",
               "nombre empresa", "nombre fiscal", "sociedad", "organizacion", "organization",
               "account name", "related company", "associated company", "parent id"),
              max_length=200, fallback=("default address company", "billing company"),
              examples=("", "", "Reformas Sur S.L.")),
    FieldSpec("employees", _("Número de empleados"), "int",
              ("empleados", "numero empleados", "employees", "plantilla", "trabajadores",
               "number employees")),
    FieldSpec("gender", _("Género"), "choice", ("sexo", "genero", "gender", "sex", "sexo genero"),
              examples=(_("mujer"), _("hombre"), "")),
    FieldSpec("birth_date", _("Fecha de nacimiento"), "date",
              ("fecha nacimiento", "nacimiento", "f nacimiento", "fec nac", "fecha nac",
               "birth date", "birthdate", "date birth", "dob", "cumpleanos", "birthday"),
              examples=("1980-01-05", "1975-11-23", "")),
    FieldSpec("tax_id", _("NIF / CIF / DNI"), "text",
              ("nif", "cif", "dni", "nie", "nif cif", "cif nif", "nif cif dni", "dni nif",
               "nif dni", "dni nie", "tax id", "vat", "vat number", "vat id", "identificacion fiscal",
               "documento", "documento identidad"), max_length=32,
              examples=("", "", "B12345674")),
    FieldSpec("email", _("E-mail"), "email",
              ("email", "e mail", "correo", "correo electronico", "mail", "email address",
               "e mail address", "direccion correo", "direccion email", "user email"),
              max_length=254, fallback=("billing email",),
              examples=("lucia@example.com", "", "info@reformassur.example")),
    FieldSpec("phone", _("Teléfono"), "phone",
              ("telefono", "movil", "tel", "tlf", "telf", "tfno", "phone", "mobile", "celular",
               "telefono movil", "phone number", "mobile phone", "movil telefono", "telefono contacto",
               "mobile phone number"),
              max_length=40, fallback=("default address phone", "billing phone", "shipping phone"),
              examples=("612 34 56 78", "699 88 77 66", "954 12 34 56")),
    FieldSpec("address", _("Dirección"), "text",
              ("direccion", "domicilio", "calle", "address", "street", "direccion postal",
               "address 1", "street address", "mailing street", "direccion 1"),
              max_length=250,
              fallback=("default address address 1", "billing address 1", "shipping address 1"),
              examples=("Calle Feria 12", "", "Polígono Store, nave 4")),
    FieldSpec("postal_code", _("Código postal"), "text",
              ("cp", "c p", "codigo postal", "cod postal", "postal code", "zip", "postcode",
               "zip code", "cod post", "mailing zip postal code", "mailing postal code"),
              max_length=16,
              fallback=("default address zip", "billing postcode", "shipping postcode"),
              examples=("41003", "", "41008")),
    FieldSpec("city", _("Ciudad"), "text",
              ("ciudad", "localidad", "poblacion", "municipio", "city", "town", "mailing city"),
              max_length=100,
              fallback=("default address city", "billing city", "shipping city"),
              examples=("Sevilla", "Córdoba", "Sevilla")),
    FieldSpec("region", _("Provincia / región"), "text",
              ("provincia", "region", "comunidad", "comunidad autonoma", "estado", "state",
               "province", "county", "province code", "state region", "mailing state province",
               "mailing state", "state id"), max_length=100,
              fallback=("default address province code", "billing state", "shipping state"),
              examples=("Sevilla", "Córdoba", "Sevilla")),
    FieldSpec("country", _("País"), "country",
              ("pais", "country", "country code", "cod pais", "country region", "mailing country",
               "country id"),
              fallback=("default address country code", "billing country", "shipping country"),
              examples=("ES", "ES", "ES")),
    FieldSpec("interests", _("Intereses y aficiones"), "tags",
              ("intereses", "aficiones", "hobbies", "interests", "tags", "etiquetas", "gustos",
               "category id"),
              examples=(_("bricolaje, jardín"), "", "")),
    FieldSpec("preferred_channel", _("Canal preferido"), "choice",
              ("canal preferido", "canal contacto", "canal contacto preferido", "preferred channel",
               "contacto preferido"),
              examples=(_("e-mail"), _("teléfono"), "")),
    FieldSpec("preferred_contact_time", _("Horario de contacto preferido"), "choice",
              ("horario contacto", "horario preferido", "horario", "preferred contact time",
               "contact time")),
    FieldSpec("acquisition_date", _("Fecha de alta"), "date",
              ("fecha alta", "alta", "cliente desde", "fecha registro", "registro", "signup date",
               "sign up date", "registration date", "customer since", "created", "fecha captacion",
               "create date", "created date", "date registered", "user registered", "created at",
               "date created"),
              examples=("2023-05-10", "2024-01-15", "2022-09-01")),
    FieldSpec("acquisition_channel", _("Canal de captación"), "text",
              ("canal captacion", "captacion", "origen cliente", "como nos conocio",
               "acquisition channel", "lead source", "original source"), max_length=64,
              examples=(_("tienda"), _("web"), _("recomendación"))),
    FieldSpec("acquisition_cost", _("Coste de captación"), "money",
              ("coste captacion", "costo captacion", "cac", "acquisition cost")),
    FieldSpec("wallet_potential", _("Gasto potencial anual"), "money",
              ("gasto potencial", "potencial", "gasto potencial anual", "wallet potential")),
    FieldSpec("notes", _("Notas"), "text",
              ("notas", "nota", "observaciones", "comentarios", "notes", "comments", "remarks",
               "note", "comment", "description", "customer note")),
    FieldSpec("consent_email", _("Acepta e-mail"), "bool",
              ("acepta email", "acepta e mail", "acepta correo", "consentimiento email",
               "consent email", "email opt in", "opt in email", "newsletter", "acepta newsletter",
               "accepts email marketing", "accepts marketing", "email marketing consent"),
              examples=(_("sí"), _("no"), _("sí")),
              help=_("Sí / no; se guarda como consentimiento con la fecha y el archivo.")),
    FieldSpec("consent_sms", _("Acepta SMS"), "bool",
              ("acepta sms", "consentimiento sms", "consent sms", "sms opt in", "opt in sms",
               "accepts sms marketing", "sms marketing consent"),
              examples=(_("no"), _("sí"), "")),
    FieldSpec("consent_phone", _("Acepta llamadas"), "bool",
              ("acepta llamadas", "acepta telefono", "consentimiento telefono", "consent phone")),
    FieldSpec("consent_whatsapp", _("Acepta WhatsApp"), "bool",
              ("acepta whatsapp", "consentimiento whatsapp", "consent whatsapp")),
    FieldSpec("consent_post", _("Acepta correo postal"), "bool",
              ("acepta correo postal", "acepta carta", "consentimiento correo postal", "consent post")),
    FieldSpec("email_opt_out", _("Baja de e-mail (no acepta)"), "bool",
              ("baja email", "baja e mail", "no acepta email", "email opt out", "has opted out email",
               "unsubscribed from all email", "opted out email", "unsubscribed"),
              help=_("Sí = no quiere e-mails (p. ej. «Email Opt Out» de Salesforce).")),
    FieldSpec("sms_opt_out", _("Baja de SMS (no acepta)"), "bool",
              ("baja sms", "no acepta sms", "sms opt out", "has opted out sms")),
    FieldSpec("do_not_call", _("No llamar"), "bool",
              ("no llamar", "do not call", "robinson")),
)

# The contact persons of company cards, linked by the company's id in the same source (the
# customers file of that source brought the companies). Consent columns as the customers'.
CONTACT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("company_id", _("Id de la empresa en el origen"), "text",
              ("id empresa", "empresa id", "codigo empresa", "cod empresa", "id cliente", "cliente id",
               "codigo cliente", "company id", "account id", "customer id", "parent id", "empresa", "cliente",
               "company", "account"),
              max_length=128, required=True, examples=("C-003", "C-003"),
              help=_("El id de la empresa en el archivo de clientes de este mismo origen.")),
    FieldSpec("name", _("Nombre y apellidos"), "text",
              ("nombre", "nombre apellidos", "nombre completo", "contacto", "persona contacto", "name",
               "full name", "contact name", "contact"),
              max_length=150, required=True, examples=("Ana García Romero", "Luis Ortega")),
    FieldSpec("role", _("Cargo"), "text",
              ("cargo", "puesto", "funcion", "departamento", "role", "title", "job title", "position"),
              max_length=100, examples=(_("Compras"), _("Gerencia"))),
    FieldSpec("email", _("E-mail"), "email",
              ("email", "e mail", "correo", "correo electronico", "mail", "email address"),
              max_length=254, examples=("ana.garcia@reformassur.example", "")),
    FieldSpec("phone", _("Teléfono"), "phone",
              ("telefono", "movil", "tel", "tlf", "phone", "mobile", "celular", "telefono movil",
               "phone number", "mobile phone"),
              max_length=40, examples=("611 22 33 44", "954 12 34 57")),
    FieldSpec("is_primary", _("Contacto principal"), "bool",
              ("principal", "contacto principal", "primary", "primary contact", "is primary", "main contact"),
              examples=(_("sí"), _("no")),
              help=_("Los mensajes a la empresa van a su contacto principal (uno por empresa).")),
    FieldSpec("is_active", _("Activo"), "bool",
              ("activo", "active", "en plantilla", "vigente")),
    FieldSpec("notes", _("Notas"), "text",
              ("notas", "nota", "observaciones", "comentarios", "notes", "comments")),
    *(replace(spec, examples={"consent_email": (_("sí"), _("no")), "consent_sms": (_("no"), _("sí"))}.get(
        spec.name, ())) for spec in CUSTOMER_FIELDS
      if spec.name in ("consent_email", "consent_sms", "consent_phone", "consent_whatsapp")),
)

PRODUCT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("sku", _("SKU / referencia"), "text",
              ("sku", "referencia", "ref", "codigo", "cod", "codigo articulo", "codigo producto",
               "ref articulo", "product code", "item code", "article", "reference", "code",
               "default code", "internal reference", "variant sku"),
              max_length=64, required=True, examples=("MART-1", "TAL-2"),
              help=_("Identifica el producto; el catálogo es común a todos los orígenes.")),
    FieldSpec("name", _("Nombre del producto"), "text",
              ("nombre", "descripcion", "articulo", "producto", "name", "description", "product",
               "product name", "nombre producto", "nombre articulo", "item", "titulo", "title",
               "nombre descripcion", "descripcion nombre"),
              max_length=200, examples=(_("Martillo de carpintero"), _("Taladro percutor")),
              help=_("Obligatorio para un producto nuevo.")),
    FieldSpec("category", _("Categoría"), "category",
              ("categoria", "familia", "category", "seccion", "subcategoria", "departamento",
               "ruta categoria", "category path", "product category", "categ id", "type",
               "product type"),
              examples=(_("Herramientas > Manuales"), _("Herramientas > Eléctricas"))),
    FieldSpec("list_price", _("Precio de venta"), "money",
              ("pvp", "precio", "precio venta", "price", "list price", "tarifa", "precio publico",
               "precio unitario", "retail price", "sale price", "sales price", "regular price",
               "variant price"),
              examples=("12.50", "89.90")),
    FieldSpec("unit_cost", _("Coste unitario"), "money",
              ("coste", "costo", "precio coste", "coste unitario", "cost", "unit cost", "precio compra",
               "purchase price", "standard price", "cost per item"),
              examples=("6.10", "52.00")),
    FieldSpec("currency", _("Moneda"), "text", ("moneda", "divisa", "currency", "currency id"),
              max_length=3, examples=("EUR", "EUR")),
    FieldSpec("is_active", _("Activo"), "bool",
              ("activo", "active", "en venta", "disponible", "enabled", "habilitado", "published",
               "sale ok", "can be sold"),
              examples=(_("sí"), _("sí"))),
    FieldSpec("path_level", _("Nivel en el sendero de relación"), "choice",
              ("nivel", "level", "sendero", "path level", "nivel sendero", "gama"),
              examples=(_("entrada"), "premium")),
)

# Fields shared by the two order kinds (one row per line, one row per ticket).
_ORDER_ID_ALIASES = ("pedido", "id pedido", "ticket", "id ticket", "factura", "order", "order id",
                     "invoice", "invoice id", "albaran", "venta", "id venta", "documento",
                     "operacion", "transaction id", "receipt", "order number", "numero pedido",
                     "referencia pedido", "order reference", "numero ticket", "numero factura",
                     "num ticket", "order name")
_CUSTOMER_ID = FieldSpec(
    "customer_id", _("Cliente (id en el origen)"), "text",
    ("cliente", "id cliente", "codigo cliente", "cod cliente", "customer", "customer id",
     "client id", "socio", "tarjeta", "tarjeta cliente", "client", "numero socio",
     "numero tarjeta", "customer user", "partner id id", "customer external id",
     "customer number", "customer code"),
    max_length=128, examples=("C-001", "C-001", "C-002"),
    help=_("El id del cliente en el mismo origen (o su e-mail, o su nombre)."))
_CUSTOMER_EMAIL = FieldSpec(
    "customer_email", _("E-mail del cliente"), "email",
    ("email", "e mail", "correo", "email cliente", "correo cliente", "customer email", "mail",
     "email address"),
    max_length=254, fallback=("billing email",))
_CUSTOMER_NAME = FieldSpec(
    "customer_name", _("Cliente (nombre)"), "text",
    ("nombre cliente", "cliente nombre", "customer name", "partner id", "partner",
     "nombre y apellidos cliente", "razon social cliente"),
    max_length=250, fallback=("billing name", "billing full name"),
    help=_("Se busca entre las fichas del mismo origen; con «crear las fichas que falten» "
           "crea una ficha con ese nombre."))
_PLACED_AT_ALIASES = ("fecha", "fecha pedido", "fecha hora", "fecha y hora", "fecha venta",
                      "fecha ticket", "fecha factura", "date", "order date", "datetime",
                      "timestamp", "created at", "placed at", "date order", "fecha compra",
                      "purchase date")
_PLACED_TIME = FieldSpec("placed_time", _("Hora"), "text", ("hora", "time", "hora venta"),
                         max_length=16)
_CHANNEL = FieldSpec("channel", _("Canal"), "choice",
                     ("canal", "canal venta", "channel", "sales channel"),
                     help=_("tienda, web, teléfono, marketplace, comercial u otro."))
_STORE = FieldSpec("store", _("Tienda (código)"), "text",
                   ("tienda", "codigo tienda", "store", "store code", "punto venta",
                    "establecimiento", "local", "shop", "id tienda"), max_length=32,
                   fallback=("location", "pos location"))
_CURRENCY = FieldSpec("currency", _("Moneda"), "text",
                      ("moneda", "divisa", "currency", "order currency", "currency id"),
                      max_length=3)
_STATUS = FieldSpec(
    "status", _("Estado del pedido"), "choice",
    ("estado", "estado pedido", "status", "order status", "financial status", "state",
     "estado venta"),
    help=_("Los pedidos anulados, fallidos, reembolsados o pendientes de pago no se importan."))
_CANCELLED_AT = FieldSpec(
    "cancelled_at", _("Fecha de anulación"), "text",
    ("fecha anulacion", "anulado", "cancelado", "cancelled at", "canceled at", "fecha cancelacion"),
    max_length=64, help=_("Con fecha, el pedido está anulado y no se importa."))

ORDER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("order_id", _("Pedido / ticket"), "text", _ORDER_ID_ALIASES, max_length=128,
              required=True, fallback=("name", "number"),
              examples=("P-1001", "P-1001", "P-1002"),
              help=_("Agrupa las líneas de un pedido; una fila sin pedido, cliente ni fecha "
                     "continúa el pedido de la fila anterior.")),
    _CUSTOMER_ID,
    _CUSTOMER_EMAIL,
    _CUSTOMER_NAME,
    FieldSpec("placed_at", _("Fecha"), "datetime", _PLACED_AT_ALIASES, required=True,
              fallback=("creation date", "create date", "paid at", "paid date"),
              examples=("2024-03-05 10:30", "2024-03-05 10:30", "2024-03-09 18:05")),
    _PLACED_TIME,
    FieldSpec("sku", _("SKU / referencia"), "text",
              ("sku", "referencia", "ref", "codigo articulo", "codigo producto", "articulo codigo",
               "product code", "item code", "ref articulo", "codigo", "lineitem sku", "item sku",
               "line item sku", "order lines product internal reference"),
              max_length=64, examples=("MART-1", "TAL-2", "MART-1")),
    FieldSpec("description", _("Descripción"), "text",
              ("descripcion", "producto", "articulo", "nombre producto", "description", "product",
               "product name", "item", "lineitem name", "item name", "line item name",
               "order lines product", "order line product id", "order lines description",
               "order line name"),
              max_length=200, truncate=True,
              examples=(_("Martillo de carpintero"), _("Taladro percutor"), _("Martillo de carpintero")),
              help=_("Sin SKU, la línea se guarda con su descripción; «[REF] Nombre» (Odoo) "
                     "se lee como SKU y nombre.")),
    FieldSpec("quantity", _("Cantidad"), "quantity",
              ("cantidad", "uds", "unidades", "ud", "cant", "qty", "quantity", "units",
               "lineitem quantity", "item quantity", "line item quantity", "order lines quantity",
               "order line product uom qty", "items sold"),
              required=True, examples=("2", "1", "1")),
    FieldSpec("unit_price", _("Precio unitario"), "money",
              ("precio", "precio unitario", "pvp", "price", "unit price", "importe unitario",
               "precio venta", "lineitem price", "item price", "line item price",
               "order lines unit price", "order line price unit"),
              examples=("12.50", "89.90", "12.50"),
              help=_("O bien el importe de la línea.")),
    FieldSpec("line_total", _("Importe de la línea"), "money",
              ("importe linea", "total linea", "importe", "line total", "item total",
               "line item total", "order lines subtotal", "order line price subtotal", "subtotal linea"),
              help=_("Lo cobrado por la línea; con él no hace falta el precio unitario.")),
    FieldSpec("unit_cost", _("Coste unitario"), "money",
              ("coste", "coste unitario", "costo", "cost", "unit cost", "precio coste", "item cost")),
    FieldSpec("discount", _("Descuento (importe de la línea)"), "money",
              ("descuento", "dto", "desc", "discount", "importe descuento", "descuento linea",
               "lineitem discount", "line item discount"),
              examples=("1.00", "", "")),
    FieldSpec("discount_percent", _("Descuento (%)"), "money",
              ("descuento pct", "dto pct", "pct dto", "pct descuento", "discount pct",
               "porcentaje descuento", "order lines discount pct", "order line discount"),
              help=_("Porcentaje sobre el importe de la línea (Odoo).")),
    replace(_CHANNEL, examples=(_("tienda"), _("tienda"), _("web"))),
    replace(_STORE, examples=("CEN", "CEN", "")),
    replace(_CURRENCY, examples=("EUR", "EUR", "EUR")),
    replace(_STATUS, examples=(_("completado"), _("completado"), _("completado"))),
    _CANCELLED_AT,
)

TICKET_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("order_id", _("Número de ticket"), "text", _ORDER_ID_ALIASES, max_length=128,
              fallback=("number",), examples=("T-501", "", ""),
              help=_("Opcional: sin él, cada ticket se identifica por cliente, fecha e importe, "
                     "y volver a importar el archivo no añade nada.")),
    replace(_CUSTOMER_ID, examples=("C-001", "C-003", "C-002")),
    _CUSTOMER_EMAIL,
    _CUSTOMER_NAME,
    FieldSpec("placed_at", _("Fecha"), "datetime", _PLACED_AT_ALIASES, required=True,
              fallback=("creation date", "create date", "paid at", "paid date"),
              examples=("2024-03-05 10:30", "2024-03-06", "2024-03-09 18:05")),
    _PLACED_TIME,
    FieldSpec("amount", _("Importe"), "money",
              ("importe", "total", "importe total", "total ticket", "importe ticket", "total compra",
               "importe compra", "total venta", "importe venta", "amount", "total amount",
               "order total", "total price", "grand total", "net sales", "amount total",
               "total factura", "importe factura", "total pagado", "importe pagado", "monto",
               "total paid", "order total amount", "venta total"),
              required=True, examples=("23.40", "150.00", "9.95"),
              help=_("Lo que pagó el cliente; una devolución (importe negativo) se registra aparte.")),
    FieldSpec("discount", _("Descuento del ticket"), "money",
              ("descuento", "dto", "descuento ticket", "discount", "discount amount",
               "discount total", "cart discount", "importe descuento"),
              examples=("", "10.00", "")),
    FieldSpec("cost", _("Coste del ticket"), "money",
              ("coste", "coste total", "costo", "cost", "total cost", "coste ticket")),
    FieldSpec("description", _("Concepto"), "text",
              ("concepto", "descripcion", "detalle", "description", "concept", "product s",
               "products", "productos", "articulos"), max_length=200, truncate=True),
    replace(_CHANNEL, examples=(_("tienda"), _("tienda"), _("web"))),
    replace(_STORE, examples=("CEN", "NOR", "")),
    _CURRENCY,
    _STATUS,
    _CANCELLED_AT,
)

FIELDS_BY_KIND: dict[str, tuple[FieldSpec, ...]] = {
    "customers": CUSTOMER_FIELDS,
    "contacts": CONTACT_FIELDS,
    "products": PRODUCT_FIELDS,
    "orders": ORDER_FIELDS,
    "tickets": TICKET_FIELDS,
}

# At least one field of each group must be mapped (besides the `required` fields).
ONE_OF_BY_KIND: dict[str, tuple[tuple[str, ...], ...]] = {
    # Without one of these a customer cannot be recognised when the file comes again.
    "customers": (("external_id", "email", "phone"),),
    "contacts": (),
    "products": (),
    "orders": (("customer_id", "customer_email", "customer_name"), ("sku", "description"),
               ("unit_price", "line_total")),
    "tickets": (("customer_id", "customer_email", "customer_name"),),
}

# A column recognised as a customer code whose values are people's names is the name.
NAME_INSTEAD = {("orders", "customer_id"): "customer_name",
                ("tickets", "customer_id"): "customer_name",
                ("customers", "external_id"): "full_name"}

# Order-level fields: on the continuation rows of an order (Shopify, Odoo) they are empty
# and take the order's value.
ORDER_LEVEL_FIELDS = ("customer_id", "customer_email", "customer_name", "placed_at", "placed_time",
                      "channel", "store", "currency", "status", "cancelled_at")


def field_specs(kind: str) -> dict[str, FieldSpec]:
    return {f.name: f for f in FIELDS_BY_KIND[kind]}


def quoted(text: object) -> str:
    """«text» in Spanish, “text” in English: a column or field named in a sentence."""
    return str(_("«%(text)s»")) % {"text": text}


def one_of_label(kind: str, group: tuple[str, ...]) -> str:
    """«Cliente (id en el origen)», «E-mail del cliente» o «Cliente (nombre)»."""
    specs = field_specs(kind)
    labels = [quoted(specs[name].label) for name in group]
    return str(_("%(first)s o %(last)s")) % {"first": ", ".join(labels[:-1]), "last": labels[-1]}


@lru_cache(maxsize=16)
def _lookup(kind: str, language: str) -> tuple[dict[str, str], dict[str, str]]:
    """(primary {normalised header: field}, fallback {…}) for one kind; labels in every
    language of the site are primary aliases, so the example files map themselves."""
    primary: dict[str, str] = {}
    fallback: dict[str, str] = {}
    specs = FIELDS_BY_KIND[kind]
    languages = [code for code, _name in settings.LANGUAGES]
    for code in languages:
        with translation.override(code):
            for spec in specs:
                primary.setdefault(normalize_header(str(spec.label)), spec.name)
    for spec in specs:
        for alias in (*spec.aliases, spec.name.replace("_", " ")):
            primary.setdefault(normalize_header(alias), spec.name)
    for spec in specs:
        for alias in spec.fallback:
            key = normalize_header(alias)
            if key not in primary:
                fallback.setdefault(key, spec.name)
    return primary, fallback


_NAME_LIKE = r"^[^\d@_#/\\]*[A-Za-zÀ-ÿ][^\d@_#/\\]*[\s,][^\d@_#/\\]*[A-Za-zÀ-ÿ][^\d@_#/\\]*$"


def looks_like_names(values: pl.Series) -> bool:
    """Most sample values are words with a space and no digits («Deco Addict», «Ana Ruiz»)."""
    sample = values.drop_nulls().head(200)
    if len(sample) == 0:
        return False
    hits = int(sample.str.contains(_NAME_LIKE).sum())
    return hits >= 0.8 * len(sample)


def guess_mapping(headers: list[str], kind: str,
                  sample: pl.DataFrame | None = None) -> dict[str, str | None]:
    """{file column: field name or None}; each field is given to at most one column.

    Primary aliases and labels win over fallback aliases; among equals, the first column
    claims the field. With `sample` (the first rows), a column recognised as a customer
    code whose values are names (and no other column holds the name) is taken as the name.
    """
    primary, fallback = _lookup(kind, translation.get_language() or settings.LANGUAGE_CODE)
    mapping: dict[str, str | None] = dict.fromkeys(headers)
    taken: set[str] = set()
    for table in (primary, fallback):
        for header in headers:
            if mapping[header] is not None:
                continue
            name = table.get(normalize_header(header))
            if name is not None and name not in taken:
                mapping[header] = name
                taken.add(name)
    if sample is not None:
        for header, name in list(mapping.items()):
            instead = NAME_INSTEAD.get((kind, name or ""))
            if (instead and instead not in taken and header in sample.columns
                    and looks_like_names(sample[header])):
                mapping[header] = instead
                taken.discard(name or "")
                taken.add(instead)
    return mapping


def guess_alternates(headers: list[str], kind: str,
                     mapping: dict[str, str | None]) -> dict[str, list[str]]:
    """{field: [unassigned columns that name it too]}: where the assigned column is empty,
    these fill in, in file order (Salesforce's "Mobile" when "Phone" is empty, WooCommerce's
    shipping_city when billing_city is). Nothing is lost just because an export carries a
    field twice."""
    primary, fallback = _lookup(kind, translation.get_language() or settings.LANGUAGE_CODE)
    assigned = {name for name in mapping.values() if name}
    alternates: dict[str, list[str]] = {}
    for header in headers:
        if mapping.get(header):
            continue
        key = normalize_header(header)
        name = primary.get(key) or fallback.get(key)
        if name in assigned:
            alternates.setdefault(name, []).append(header)
    return alternates
