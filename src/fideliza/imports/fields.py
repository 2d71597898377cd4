"""The fields each kind of file can carry, and how file headers are recognised.

Headers are compared after normalisation (no accents, lower case, punctuation and
filler words such as "de" or "Nº" removed), so "Fecha de nacimiento", "FECHA NACIMIENTO"
and "fecha_nacimiento" all name `birth_date`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fideliza.customers.normalize import strip_accents


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str | Promise
    type: str  # text email phone date datetime money quantity int bool choice tags category country
    aliases: tuple[str, ...] = ()
    max_length: int | None = None
    required: bool = False


_FILLER = {"de", "del", "la", "el", "los", "las", "of", "the", "a", "en"}
_NUMBER_WORDS = {"n", "no", "nro", "num", "numero", "number", "nr", "nbr"}


def normalize_header(header: str) -> str:
    """'Nº de Factura' -> 'factura'; 'E-mail' -> 'e mail'; 'Apellido(s)' -> 'apellido s'."""
    text = strip_accents(str(header or "")).lower()
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

CUSTOMER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("external_id", _("Id del cliente en el origen"), "text",
              ("id", "id cliente", "cliente id", "codigo cliente", "cod cliente", "cliente",
               "customer id", "client id", "customer", "customer number", "customer code",
               "referencia cliente", "ref cliente", "codigo", "socio", "tarjeta", "tarjeta cliente"),
              max_length=128),
    FieldSpec("kind", _("Tipo (persona / empresa)"), "choice",
              ("tipo", "tipo cliente", "type", "customer type", "persona empresa")),
    FieldSpec("first_name", _("Nombre"), "text",
              ("nombre", "nombre pila", "first name", "firstname", "given name", "name", "nombres"),
              max_length=100),
    FieldSpec("last_name", _("Apellidos"), "text",
              ("apellido", "apellidos", "apellido s", "last name", "lastname", "surname",
               "family name", "surnames"), max_length=150),
    FieldSpec("full_name", _("Nombre y apellidos"), "text",
              ("nombre completo", "nombre y apellidos", "nombre apellidos", "full name",
               "fullname", "cliente nombre", "customer name"), max_length=250),
    FieldSpec("company_name", _("Razón social"), "text",
              ("razon social", "empresa", "compania", "company", "company name",
               "nombre empresa", "nombre fiscal", "sociedad", "organizacion", "organization"),
              max_length=200),
    FieldSpec("employees", _("Número de empleados"), "int",
              ("empleados", "numero empleados", "employees", "plantilla", "trabajadores")),
    FieldSpec("gender", _("Género"), "choice", ("sexo", "genero", "gender", "sex", "sexo genero")),
    FieldSpec("birth_date", _("Fecha de nacimiento"), "date",
              ("fecha nacimiento", "nacimiento", "f nacimiento", "fec nac", "fecha nac",
               "birth date", "birthdate", "date birth", "dob", "cumpleanos", "birthday")),
    FieldSpec("tax_id", _("NIF / CIF / DNI"), "text",
              ("nif", "cif", "dni", "nie", "nif cif", "cif nif", "nif cif dni", "dni nif",
               "nif dni", "dni nie", "tax id", "vat", "vat number", "vat id", "identificacion fiscal",
               "documento", "documento identidad"), max_length=32),
    FieldSpec("email", _("E-mail"), "email",
              ("email", "e mail", "correo", "correo electronico", "mail", "email address",
               "e mail address", "direccion correo", "direccion email"), max_length=254),
    FieldSpec("phone", _("Teléfono"), "phone",
              ("telefono", "movil", "tel", "tlf", "telf", "tfno", "phone", "mobile", "celular",
               "telefono movil", "phone number", "mobile phone", "movil telefono", "telefono contacto"),
              max_length=40),
    FieldSpec("address", _("Dirección"), "text",
              ("direccion", "domicilio", "calle", "address", "street", "direccion postal"),
              max_length=250),
    FieldSpec("postal_code", _("Código postal"), "text",
              ("cp", "c p", "codigo postal", "cod postal", "postal code", "zip", "postcode",
               "zip code", "cod post"), max_length=16),
    FieldSpec("city", _("Ciudad"), "text",
              ("ciudad", "localidad", "poblacion", "municipio", "city", "town"), max_length=100),
    FieldSpec("region", _("Provincia / región"), "text",
              ("provincia", "region", "comunidad", "comunidad autonoma", "estado", "state",
               "province", "county"), max_length=100),
    FieldSpec("country", _("País"), "country", ("pais", "country", "country code", "cod pais")),
    FieldSpec("interests", _("Intereses y aficiones"), "tags",
              ("intereses", "aficiones", "hobbies", "interests", "tags", "etiquetas", "gustos")),
    FieldSpec("preferred_channel", _("Canal preferido"), "choice",
              ("canal preferido", "canal contacto", "canal contacto preferido", "preferred channel",
               "contacto preferido")),
    FieldSpec("preferred_contact_time", _("Horario de contacto preferido"), "choice",
              ("horario contacto", "horario preferido", "horario", "preferred contact time",
               "contact time")),
    FieldSpec("acquisition_date", _("Fecha de alta"), "date",
              ("fecha alta", "alta", "cliente desde", "fecha registro", "registro", "signup date",
               "sign up date", "registration date", "customer since", "created", "fecha captacion")),
    FieldSpec("acquisition_channel", _("Canal de captación"), "text",
              ("canal captacion", "captacion", "origen cliente", "como nos conocio",
               "acquisition channel", "lead source"), max_length=64),
    FieldSpec("acquisition_cost", _("Coste de captación"), "money",
              ("coste captacion", "costo captacion", "cac", "acquisition cost")),
    FieldSpec("wallet_potential", _("Gasto potencial anual"), "money",
              ("gasto potencial", "potencial", "gasto potencial anual", "wallet potential")),
    FieldSpec("notes", _("Notas"), "text",
              ("notas", "nota", "observaciones", "comentarios", "notes", "comments", "remarks")),
    FieldSpec("consent_email", _("Acepta e-mail"), "bool",
              ("acepta email", "acepta e mail", "acepta correo", "consentimiento email",
               "consent email", "email opt in", "opt in email", "newsletter", "acepta newsletter")),
    FieldSpec("consent_sms", _("Acepta SMS"), "bool",
              ("acepta sms", "consentimiento sms", "consent sms", "sms opt in", "opt in sms")),
    FieldSpec("consent_phone", _("Acepta llamadas"), "bool",
              ("acepta llamadas", "acepta telefono", "consentimiento telefono", "consent phone")),
    FieldSpec("consent_whatsapp", _("Acepta WhatsApp"), "bool",
              ("acepta whatsapp", "consentimiento whatsapp", "consent whatsapp")),
    FieldSpec("consent_post", _("Acepta correo postal"), "bool",
              ("acepta correo postal", "acepta carta", "consentimiento correo postal", "consent post")),
)

PRODUCT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("sku", _("SKU / referencia"), "text",
              ("sku", "referencia", "ref", "codigo", "cod", "codigo articulo", "codigo producto",
               "ref articulo", "product code", "item code", "article", "reference", "code"),
              max_length=64, required=True),
    FieldSpec("name", _("Nombre"), "text",
              ("nombre", "descripcion", "articulo", "producto", "name", "description", "product",
               "product name", "nombre producto", "nombre articulo", "item", "titulo", "title",
               "nombre descripcion", "descripcion nombre"),
              max_length=200),
    FieldSpec("category", _("Categoría"), "category",
              ("categoria", "familia", "category", "seccion", "subcategoria", "departamento",
               "ruta categoria", "category path")),
    FieldSpec("list_price", _("Precio de venta"), "money",
              ("pvp", "precio", "precio venta", "price", "list price", "tarifa", "precio publico",
               "precio unitario", "retail price", "sale price")),
    FieldSpec("unit_cost", _("Coste unitario"), "money",
              ("coste", "costo", "precio coste", "coste unitario", "cost", "unit cost", "precio compra",
               "purchase price")),
    FieldSpec("currency", _("Moneda"), "text", ("moneda", "divisa", "currency"), max_length=3),
    FieldSpec("is_active", _("Activo"), "bool",
              ("activo", "active", "en venta", "disponible", "enabled", "habilitado")),
    FieldSpec("path_level", _("Nivel en el sendero de relación"), "choice",
              ("nivel", "level", "sendero", "path level", "nivel sendero", "gama")),
)

ORDER_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("order_id", _("Pedido / ticket"), "text",
              ("pedido", "id pedido", "ticket", "id ticket", "factura", "order", "order id",
               "invoice", "invoice id", "albaran", "venta", "id venta", "documento", "operacion",
               "transaction id", "receipt"), max_length=128, required=True),
    FieldSpec("customer_id", _("Cliente (id en el origen)"), "text",
              ("cliente", "id cliente", "codigo cliente", "cod cliente", "customer", "customer id",
               "client id", "socio", "tarjeta", "tarjeta cliente", "client"), max_length=128),
    FieldSpec("customer_email", _("E-mail del cliente"), "email",
              ("email", "e mail", "correo", "email cliente", "correo cliente", "customer email",
               "mail"), max_length=254),
    FieldSpec("placed_at", _("Fecha"), "datetime",
              ("fecha", "fecha pedido", "fecha hora", "fecha y hora", "fecha venta", "fecha ticket",
               "fecha factura", "date", "order date", "datetime", "timestamp", "created at",
               "placed at"), required=True),
    FieldSpec("placed_time", _("Hora"), "text", ("hora", "time", "hora venta"), max_length=16),
    FieldSpec("sku", _("SKU / referencia"), "text",
              ("sku", "referencia", "ref", "codigo articulo", "codigo producto", "articulo codigo",
               "product code", "item code", "ref articulo", "codigo"), max_length=64, required=True),
    FieldSpec("description", _("Descripción"), "text",
              ("descripcion", "producto", "articulo", "nombre producto", "description", "product",
               "product name", "item"), max_length=200),
    FieldSpec("quantity", _("Cantidad"), "quantity",
              ("cantidad", "uds", "unidades", "ud", "cant", "qty", "quantity", "units"),
              required=True),
    FieldSpec("unit_price", _("Precio unitario"), "money",
              ("precio", "precio unitario", "pvp", "price", "unit price", "importe unitario",
               "precio venta"), required=True),
    FieldSpec("unit_cost", _("Coste unitario"), "money",
              ("coste", "coste unitario", "costo", "cost", "unit cost", "precio coste")),
    FieldSpec("discount", _("Descuento (importe de la línea)"), "money",
              ("descuento", "dto", "desc", "discount", "importe descuento", "descuento linea")),
    FieldSpec("channel", _("Canal"), "choice", ("canal", "canal venta", "channel", "sales channel")),
    FieldSpec("store", _("Tienda (código)"), "text",
              ("tienda", "codigo tienda", "store", "store code", "punto venta", "establecimiento",
               "local", "shop", "id tienda"), max_length=32),
    FieldSpec("currency", _("Moneda"), "text", ("moneda", "divisa", "currency"), max_length=3),
)

FIELDS_BY_KIND: dict[str, tuple[FieldSpec, ...]] = {
    "customers": CUSTOMER_FIELDS,
    "products": PRODUCT_FIELDS,
    "orders": ORDER_FIELDS,
}


def field_specs(kind: str) -> dict[str, FieldSpec]:
    return {f.name: f for f in FIELDS_BY_KIND[kind]}


def guess_mapping(headers: list[str], kind: str) -> dict[str, str | None]:
    """{file column: field name or None}; each field is given to at most one column.

    Exact alias matches win over matches on the field's own name; the first column that
    claims a field keeps it.
    """
    lookup: dict[str, str] = {}
    for spec in FIELDS_BY_KIND[kind]:
        for alias in (*spec.aliases, spec.name.replace("_", " ")):
            lookup.setdefault(normalize_header(alias), spec.name)
    mapping: dict[str, str | None] = {}
    taken: set[str] = set()
    for header in headers:
        name = lookup.get(normalize_header(header))
        if name is not None and name not in taken:
            mapping[header] = name
            taken.add(name)
        else:
            mapping[header] = None
    return mapping
