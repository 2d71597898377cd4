"""A database loaded by a version without DemoLoad may hold a half-loaded demo.

Before DemoLoad existed, a demo whose import was refused (the web orders of a DST night)
left part of the business in the database, and `fideliza run --demo` then served it as
if it were whole. Recognise that case by the demo's own import runs (its five files,
not all of them done) and record it as a failed attempt, so the next `fideliza run
--demo` reloads it. A database without the demo's files is left alone.
"""

from django.db import migrations
from django.utils import timezone

DEMO_FILES = ("catalogo_productos.csv", "tpv_clientes.csv", "tienda_online_clientes.csv",
              "tpv_ventas.csv", "tienda_online_pedidos.csv")


def record_half_loaded_demo(apps, schema_editor) -> None:
    DemoLoad = apps.get_model("demo", "DemoLoad")
    ImportRun = apps.get_model("imports", "ImportRun")
    if DemoLoad.objects.exists():
        return
    runs = list(ImportRun.objects.filter(file_name__in=DEMO_FILES).values_list("file_name", "status", "created_at"))
    if not runs:
        return
    done = {name for name, status, _at in runs if status == "done"}
    if done == set(DEMO_FILES):
        return
    missing = ", ".join(name for name in DEMO_FILES if name not in done)
    first = min(at for _name, _status, at in runs)
    DemoLoad.objects.create(
        started_at=first, updated_at=max(at for _name, _status, at in runs), status="failed",
        customers=0, seed=0, years=0, today=timezone.localdate(first),
        error=f"Carga incompleta de una versión anterior: sin terminar {missing}",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("demo", "0001_demo_load"),
        ("imports", "0001_initial"),
    ]

    operations = [migrations.RunPython(record_half_loaded_demo, migrations.RunPython.noop)]
