"""The demo business's files, written the way each source system exports them.

The till ("tpv") exports with `;`, Latin-1, dd/mm/yyyy dates and decimal commas; the web
shop ("tienda_online") with `,`, UTF-8, ISO dates and date-times with their offset; the
catalog comes from a spreadsheet saved as CSV (UTF-8 with BOM, `;`, decimal comma). The
importer has to cope with all three, which is the point of the demo.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .generator import DemoData

LEVEL_LABEL = {"entry": "Entrada", "value": "Valor", "main": "Principal", "premium": "Premium", "": ""}
CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class DemoFiles:
    products: Path
    tpv_customers: Path
    web_customers: Path
    tpv_orders: Path
    web_orders: Path
    ground_truth: Path

    def all(self) -> list[Path]:
        return [self.products, self.tpv_customers, self.web_customers, self.tpv_orders,
                self.web_orders, self.ground_truth]


FILE_NAMES = {
    "products": "catalogo_productos.csv",
    "tpv_customers": "tpv_clientes.csv",
    "web_customers": "tienda_online_clientes.csv",
    "tpv_orders": "tpv_ventas.csv",
    "web_orders": "tienda_online_pedidos.csv",
    "ground_truth": "personas_verdad.csv",
}


def _money(col: str, sep: str) -> pl.Expr:
    """Integer cents -> '12,50' / '12.50' (exact: no float ever touches the amount)."""
    c = pl.col(col)
    return pl.format("{}{}{}", c.abs() // 100, pl.lit(sep), (c.abs() % 100).cast(pl.String).str.zfill(2)) \
        .pipe(lambda e: pl.when(c < 0).then(pl.lit("-") + e).otherwise(e))


def products_export(data: DemoData) -> pl.DataFrame:
    return data.products.select(
        pl.col("sku").alias("Referencia"),
        pl.col("name").alias("Descripción"),
        pl.col("category").alias("Familia"),
        _money("list_price_c", ",").alias("PVP"),
        _money("unit_cost_c", ",").alias("Precio coste"),
        pl.col("path_level").replace_strict(LEVEL_LABEL, return_dtype=pl.String).alias("Nivel"),
        pl.lit("Sí").alias("Activo"),
    )


def tpv_orders_export(lines: pl.DataFrame) -> pl.DataFrame:
    """The till's sales: one row per ticket line, the ticket's local date and time (to the
    minute, no offset: a till knows only its wall clock) in two columns.

    `placed_at` is an instant in the business's zone, so the wall time written is one that
    exists; the importer reads it back in that zone to the same minute (no till time falls
    in the repeated autumn hour: stores are closed at night).
    """
    return lines.filter(pl.col("source") == "tpv").select(
        pl.col("order_id").alias("Ticket"),
        pl.col("placed_at").dt.strftime("%d/%m/%Y").alias("Fecha"),
        pl.col("placed_at").dt.strftime("%H:%M").alias("Hora"),
        pl.col("store").alias("Tienda"),
        pl.col("customer_external_id").alias("Cliente"),
        pl.col("sku").alias("Referencia"),
        pl.col("description").alias("Descripción"),
        pl.col("quantity").cast(pl.String).alias("Cantidad"),
        _money("unit_price_c", ",").alias("Precio"),
        _money("unit_cost_c", ",").alias("Coste"),
        _money("discount_c", ",").alias("Dto"),
    )


def web_orders_export(lines: pl.DataFrame) -> pl.DataFrame:
    """The web shop's orders: ISO 8601 local date-times with their offset (exact instants)."""
    return lines.filter(pl.col("source") == "tienda_online").select(
        pl.col("order_id"),
        pl.col("placed_at").dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias("created_at"),
        pl.col("customer_external_id").alias("customer_id"),
        pl.col("sku"),
        pl.col("description").alias("product_name"),
        pl.col("quantity").cast(pl.String),
        _money("unit_price_c", ".").alias("unit_price"),
        _money("unit_cost_c", ".").alias("unit_cost"),
        _money("discount_c", ".").alias("discount"),
        pl.lit("web").alias("channel"),
        pl.col("store"),
    )


def ground_truth_export(data: DemoData) -> pl.DataFrame:
    """Who is who across the two lists: the truth to measure duplicate matching against."""
    return data.people.select(
        "person", "kind", "segment", "lists", "tpv_id", "web_id", "first_name", "last_name",
        "company_name", "email", "phone", "city",
    ).with_columns(phone=pl.lit("+34") + pl.col("phone"))


def _write(frame: pl.DataFrame, path: Path, *, separator: str, encoding: str, bom: bool = False) -> None:
    """Write in chunks (a 100,000-customer demo has over a million order lines)."""
    # Empty cells are written as nothing at all, as spreadsheets and tills do (not as "").
    frame = frame.with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c)
        for c, t in frame.schema.items() if t == pl.String
    )
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        if bom:
            fh.write("\ufeff".encode())
        for i, start in enumerate(range(0, max(frame.height, 1), CHUNK_ROWS)):
            part = frame.slice(start, CHUNK_ROWS)
            text = part.write_csv(separator=separator, include_header=(i == 0), line_terminator="\r\n"
                                  if encoding == "latin-1" else "\n")
            fh.write(text.encode(encoding))
    tmp.replace(path)


def write_demo_files(data: DemoData, out_dir: Path) -> DemoFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = DemoFiles(**{key: out_dir / name for key, name in FILE_NAMES.items()})
    _write(products_export(data), files.products, separator=";", encoding="utf-8", bom=True)
    _write(data.tpv_customers, files.tpv_customers, separator=";", encoding="latin-1")
    _write(data.web_customers, files.web_customers, separator=",", encoding="utf-8")
    _write(tpv_orders_export(data.lines), files.tpv_orders, separator=";", encoding="latin-1")
    _write(web_orders_export(data.lines), files.web_orders, separator=",", encoding="utf-8")
    _write(ground_truth_export(data), files.ground_truth, separator=",", encoding="utf-8")
    return files


def files_digest(files: DemoFiles) -> str:
    """One SHA-256 over every file, in a fixed order: equal digests, byte-identical files."""
    digest = hashlib.sha256()
    for path in files.all():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
