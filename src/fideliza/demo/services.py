"""Loading the demo business into the database, through the same doors real data uses.

The generated files go through `fideliza.imports.services.import_file` exactly as a shop
owner's files would (products, then the till's and the web shop's customers, then their
orders); returns through `sales.services.return_record`; sales representatives are
assigned with `customers.services.customer_update`. Only the demo users and the stores'
display names are written directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fideliza.accounts.models import AuditAction, Role, User
from fideliza.accounts.selectors import user_by_username
from fideliza.accounts.services import Actor, audit_record, user_create
from fideliza.catalog.selectors import products_count
from fideliza.customers.selectors import customer_ids_by_source, customers_by_id, customers_count
from fideliza.customers.services import customer_update
from fideliza.imports.models import ImportRun, ImportStatus
from fideliza.imports.services import import_file
from fideliza.sales.selectors import orders_by_source_ids, sales_volume
from fideliza.sales.services import return_record, store_save

from .files import DemoFiles, files_digest, write_demo_files
from .generator import TPV, WEB, DemoData, DemoSpec, generate
from .models import DemoLoad, DemoLoadStatus
from .selectors import data_not_from_demo, demo_load_unfinished

logger = logging.getLogger(__name__)

DEMO_PASSWORD = "fideliza-demo"
CATALOG_SOURCE = "catalogo"
# (username, role, first name, last name, staff)
DEMO_USERS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("duena", Role.OWNER, "Carmen", "Ortega Soler", True),
    ("marketing", Role.MARKETING, "Lucía", "Ferrer Climent", False),
    ("comercial1", Role.SALES_REP, "Javier", "Sempere Mora", False),
    ("comercial2", Role.SALES_REP, "Marta", "Monzó Pastor", False),
    ("soporte", Role.SUPPORT, "Raúl", "Peñalver Gil", False),
)
# Apps whose rows are the business's data (wiped by a reset). Users, API tokens and the
# audit log (accounts) survive a reset; so does everything outside Fideliza.
KEEP_APPS = {"accounts", "demo"}

# progress(stage, done, total): stage is a short Spanish label for people watching.
DemoProgress = Callable[[str, int, int], None]


class DemoError(Exception):
    """The demo cannot be loaded (the database is not empty, or an import was refused)."""


@dataclass
class DemoSummary:
    customers: int
    seed: int
    years: int
    today: date
    people_by_list: dict[str, int]
    customers_by_source: dict[str, int]
    overlapping_people: int
    companies: int
    products: int
    orders: int
    order_lines: int
    returns: int
    revenue: Decimal                             # sum of order totals
    refunds: Decimal                             # sum of returns' refunds
    seconds: float
    out_dir: Path
    files_digest: str
    users: list[tuple[str, str, str]]           # (username, role label, password or "")
    import_runs: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def business_models() -> list[type[models.Model]]:
    """Every model holding business data, including automatic many-to-many tables."""
    result = []
    for model in apps.get_models(include_auto_created=True):
        config = apps.get_app_config(model._meta.app_label)
        if config.name.startswith("fideliza.") and model._meta.app_label not in KEEP_APPS \
                and model._meta.managed and not model._meta.proxy:
            result.append(model)
    return result


def database_is_empty() -> bool:
    """True when there are no customers, products or orders (users alone do not count)."""
    return not (customers_count() or products_count() or sales_volume().orders)


@transaction.atomic
def demo_reset(*, actor: Actor) -> dict[str, int]:
    """Delete every business row (customers, catalog, sales, imports …) and the background
    tasks queued for them (`queued_tasks_delete`); keep users and audit.

    Foreign keys are checked at commit on both SQLite and PostgreSQL (Django declares them
    DEFERRABLE INITIALLY DEFERRED), so whole tables can go in any order inside this one
    transaction, without loading a million rows into Django's deletion collector.
    """
    deleted: dict[str, int] = {}
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        for model in business_models():
            if model._meta.db_table not in existing:  # an app whose migration has not run
                continue
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")
            if cursor.rowcount:
                deleted[model._meta.label] = cursor.rowcount
    tasks = queued_tasks_delete()
    if tasks:
        deleted["django_tasks_db.DBTaskResult"] = tasks
    audit_record(actor=actor, action=AuditAction.DELETE, entity="demo.reset", entity_id="*",
                 context={"deleted": deleted})
    return deleted


def queued_tasks_delete() -> int:
    """Delete Fideliza's background tasks that are queued and not started, in every task
    backend that keeps them in the database (django-tasks' own model); returns how many.

    After a reset they would name rows that no longer exist. Tasks already running are left
    to finish (their worker still has to record the result: each task tolerates a vanished
    row); finished ones stay as history; other applications' tasks are not Fideliza's to
    delete. The scheduler enqueues its periodic jobs again at their next slot.
    """
    from django_tasks import TaskResultStatus, task_backends
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    aliases = [alias for alias in task_backends.settings
               if isinstance(task_backends[alias], DatabaseBackend)]
    if not aliases:
        return 0

    deleted, _by_model = DBTaskResult.objects.filter(
        backend_name__in=aliases, status=TaskResultStatus.READY, task_path__startswith="fideliza.",
    ).delete()
    return deleted


def demo_users_ensure() -> list[tuple[User, str]]:
    """The demo's staff, one per role; returns (user, password) - "" when the user existed."""
    result = []
    for username, role, first, last, staff in DEMO_USERS:
        user = user_by_username(username)
        if user is not None:
            result.append((user, ""))
            continue
        user = user_create(
            username=username, password=DEMO_PASSWORD, role=role, first_name=first, last_name=last,
            email=f"{username}@elmartillo.example", is_staff=staff, is_superuser=staff,
        )
        result.append((user, DEMO_PASSWORD))
    return result


def _stores_ensure(stores: pl.DataFrame) -> None:
    # Created with their names first, so the order imports find them instead of creating
    # bare codes.
    for row in stores.iter_rows(named=True):
        store_save(code=row["code"], name=row["name"], city=row["city"], is_online=row["is_online"])


def _import(*, path: Path, kind: str, source: str, actor: Actor, stage: str,
            progress: DemoProgress | None) -> ImportRun:
    def tick(done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    # The two lists stay unmerged: merging them is the first thing the owner does in the
    # demo (Duplicados), so the demo shows it instead of hiding it.
    run = import_file(path=path, kind=kind, source=source, actor=actor, progress=tick,
                      match_duplicates=False)
    if run.status != ImportStatus.DONE:
        details = "; ".join(f"fila {e.get('row')}, {e.get('column')}: {e.get('message')}"
                            for e in run.errors[:5])
        raise DemoError(_("La importación de «%(file)s» no se completó (%(status)s): %(details)s")
                        % {"file": path.name, "status": run.status, "details": details})
    return run


def _sales_rep_of(data: DemoData) -> dict[str, str]:
    """{till customer id: username} for the company accounts the till assigns to a rep."""
    wanted = data.tpv_customers.filter(pl.col("Comercial").is_not_null() & (pl.col("Comercial") != ""))
    return dict(wanted.select("Código cliente", "Comercial").iter_rows())


@transaction.atomic
def _assign_sales_reps(*, by_id: dict[str, str], actor: Actor, reps: dict[str, User]) -> int:
    """Company accounts of the till go to their sales representative (as the till says)."""
    owners = customer_ids_by_source(TPV, by_id)
    cards = customers_by_id(owners.values())
    count = 0
    for external_id, customer_id in owners.items():
        rep, card = reps.get(by_id[external_id]), cards[customer_id]
        if rep is not None and card.account_executive_id != rep.pk:
            customer_update(actor=actor, customer=card, data={"account_executive": rep})
            count += 1
    return count


def _record_returns(*, returns: pl.DataFrame, actor: Actor, progress: DemoProgress | None) -> int:
    rows = returns.to_dicts()
    orders = {
        key: order
        for source in (TPV, WEB)
        for key, order in orders_by_source_ids(source, [r["order_id"] for r in rows if r["source"] == source]).items()
    }
    done = 0
    # One transaction for all of them: a commit per return would cost a disk sync each.
    with transaction.atomic():
        done = _record_returns_rows(rows=rows, orders=orders, actor=actor, progress=progress)
    return done


def _record_returns_rows(*, rows: list[dict], orders: dict, actor: Actor,
                         progress: DemoProgress | None) -> int:
    done = 0
    for i, row in enumerate(rows):
        order = orders.get((row["source"], row["order_id"]))
        if order is None:
            continue
        # An instant already (the generator resolved the local time in the business's zone).
        returned_at: datetime = row["returned_at"]
        return_record(actor=actor, order=order, external_id=row["return_id"], returned_at=returned_at,
                      reason=row["reason"], lines=[{"line_no": row["line_no"], "quantity": row["quantity"]}])
        done += 1
        if progress and (i % 50 == 0 or i == len(rows) - 1):
            progress(_("devoluciones"), i + 1, len(rows))
    return done


# Saved segments the demo starts with: the owner sees what segments are for at once.
DEMO_SEGMENTS: tuple[tuple[str, str, dict], ...] = (
    ("Oro de Córdoba que no compran hace 90 días",
     "Clientes valiosos de la tienda de Córdoba a los que conviene llamar.",
     {"op": "and", "rules": [{"field": "value_tier", "cmp": "in", "value": ["oro", "platino"]},
                             {"field": "city", "cmp": "eq", "value": "Córdoba"},
                             {"field": "days_without_buying", "cmp": "gte", "value": 90}]}),
    ("En riesgo con valor", "Riesgo de abandono alto y CLV previsto de más de 200 €, con e-mail aceptado.",
     {"op": "and", "rules": [{"field": "churn_band", "cmp": "eq", "value": "high"},
                             {"field": "clv_predicted", "cmp": "gte", "value": "200"},
                             {"field": "consent", "cmp": "is_true", "value": "email"}]}),
    ("Cumpleaños este mes", "Cumplen años en los próximos 30 días.",
     {"op": "and", "rules": [{"field": "birthday_within_days", "cmp": "lte", "value": 30}]}),
)


def _bring_to_life(*, actor: Actor, today: date, say: Callable[[str], None],
                   lap: Callable[[str], None]) -> None:
    """What a real shop has after a while: a loyalty program with the points of past orders,
    saved segments and a current analytics snapshot (which fills the segments)."""
    from fideliza.insights.services import snapshot_recompute
    from fideliza.loyalty.demo import loyalty_demo_program
    from fideliza.loyalty.services import points_backfill
    from fideliza.segments.selectors import segment_name_taken
    from fideliza.segments.services import segment_create

    say(_("programa de fidelización y puntos de las compras pasadas"))
    loyalty_demo_program(actor=actor)
    points_backfill()
    lap("loyalty")
    owner = actor.user
    for name, description, rules in DEMO_SEGMENTS:
        if not segment_name_taken(name):
            segment_create(user=owner, name=name, description=description, rules=rules)
    say(_("calculando la analítica (RFM, ABC, CLV, riesgo de abandono)"))
    snapshot_recompute(as_of=today, trigger="demo")
    lap("analytics")
    # The standard journeys, active: the worker runs them every 15 minutes (messages go to
    # var/mail/ with the local settings, to a real SMTP server when one is configured).
    from fideliza.automations.demo import automations_demo_create

    automations_demo_create(active=True)
    # The team's relationship work (issue 15): the companies' contact persons, logged
    # contacts and open follow-ups, ranked by the snapshot just computed.
    from fideliza.customers.demo import contacts_demo_create
    from fideliza.interactions.demo import relationship_demo_create

    contacts_demo_create()

    say(_("contactos y seguimientos del equipo"))
    relationship_demo_create(today=today)
    # Retention goals for this year, quarter and month, and the six-moves plan (issue 15).
    from fideliza.goals.demo import goals_demo_create
    from fideliza.plan.demo import plan_demo_create

    say(_("metas de retención y plan de acción"))
    if owner is not None:
        goals_demo_create(today=today, owner=owner)
        plan_demo_create(today=today, owner=owner)
    # Contact cadences by tier and segment, and their first daily run (after the logged
    # contacts above, which reset some customers' clocks).
    from fideliza.cadences.demo import cadences_demo_create

    cadences_demo_create(today=today, actor=actor)
    lap("relationship")
    # The complaints book (issue 16): a few dozen complaints in every state; nothing is sent.
    from fideliza.complaints.demo import complaints_demo_create

    say(_("libro de quejas"))
    complaints_demo_create(today=today)
    lap("complaints")

    # One past event (attendance, no-shows, its report) and one upcoming, full, with a
    # waiting list: written as history, nothing is sent.
    from fideliza.events.demo import events_demo_create

    say(_("eventos y sus invitados"))
    events_demo_create(today=today, actor=actor)
    lap("events")

    # Two past survey rounds with their answers (issue 16): history only, nothing is sent.
    from fideliza.surveys.demo import surveys_demo_create

    say(_("encuestas y sus respuestas"))
    surveys_demo_create(today=today)
    lap("surveys")


def demo_populate(
    *,
    customers: int = 5000,
    seed: int = 42,
    years: int = 3,
    today: date | None = None,
    out_dir: Path | None = None,
    progress: DemoProgress | None = None,
) -> DemoSummary:
    """Generate the demo business, write its files and load them into an empty database.

    Deterministic for (customers, seed, years, today): `today` defaults to the current
    date in the business's time zone, so pass it to reproduce a run. Raises DemoError when
    the database already holds customers, products or orders (call `demo_reset` first).
    Runs several transactions (one per file, as imports do); do not wrap it in one.

    The attempt is recorded as a `DemoLoad`: `complete` only once the last step is done,
    `failed` with the reason when anything raises (then the exception propagates), and
    left `loading` if the process is killed - `demo_ensure` reloads any of those but
    `complete`.
    """
    if not database_is_empty():
        raise DemoError(_("La base de datos ya tiene clientes, productos o pedidos; "
                          "use --reset para borrarlos antes de cargar la demostración."))
    today = today or timezone.localdate()
    load = DemoLoad.objects.create(customers=customers, seed=seed, years=years, today=today)

    def tracked(stage: str, done: int, total: int) -> None:
        if stage != load.stage:  # one small UPDATE per stage: the attempt's last sign of life
            load.stage, load.updated_at = stage[:200], timezone.now()
            DemoLoad.objects.filter(pk=load.pk).update(stage=load.stage, updated_at=load.updated_at)
        if progress:
            progress(stage, done, total)

    try:
        summary = _populate(customers=customers, seed=seed, years=years, today=today,
                            out_dir=out_dir, progress=tracked)
    except BaseException as exc:  # Ctrl-C too: the attempt is over, and not complete
        _demo_load_failed(load, exc)
        raise
    now = timezone.now()
    DemoLoad.objects.filter(pk=load.pk).update(status=DemoLoadStatus.COMPLETE, finished_at=now, updated_at=now)
    return summary


def _demo_load_failed(load: DemoLoad, exc: BaseException) -> None:
    if isinstance(exc, DemoError):
        reason = str(exc)
    elif isinstance(exc, KeyboardInterrupt):
        reason = _("interrumpida")
    else:
        reason = f"{type(exc).__name__}: {exc}"
    now = timezone.now()
    try:
        DemoLoad.objects.filter(pk=load.pk).update(
            status=DemoLoadStatus.FAILED, error=reason, finished_at=now, updated_at=now)
    except DatabaseError:  # the database itself failed: the row stays `loading`, which is enough
        logger.exception("could not record the failed demo load %s", load.pk)


def _populate(*, customers: int, seed: int, years: int, today: date, out_dir: Path | None,
              progress: DemoProgress) -> DemoSummary:
    started = time.monotonic()
    timings: dict[str, float] = {}
    mark = [started]

    def lap(name: str) -> None:
        now = time.monotonic()
        timings[name] = round(now - mark[0], 2)
        mark[0] = now

    def say(stage: str) -> None:
        progress(stage, 0, 0)

    spec = DemoSpec(customers=customers, seed=seed, years=years, today=today, time_zone=settings.TIME_ZONE)
    out_dir = Path(out_dir) if out_dir is not None else Path(settings.VAR_DIR) / "demo"
    data = generate(spec, progress=lambda stage: say(_("generando %(what)s") % {"what": stage}))
    lap("generate")
    say(_("escribiendo archivos en %(dir)s") % {"dir": out_dir})
    files: DemoFiles = write_demo_files(data, out_dir)
    digest = files_digest(files)
    # Keep only what the loading still needs: a 100,000-customer demo has a million lines.
    lists = data.people["lists"].value_counts()
    people_by_list = dict(zip(lists["lists"].to_list(), lists["count"].to_list(), strict=True))
    companies = int((data.people["kind"] == "company").sum())
    by_source = {TPV: data.tpv_customers.height, WEB: data.web_customers.height}
    rep_of, returns_frame, stores = _sales_rep_of(data), data.returns, data.stores
    del data
    lap("write_files")

    users = demo_users_ensure()
    by_name = {u.username: u for u, _pw in users}
    actor = Actor.of(by_name["duena"], via="demo")
    _stores_ensure(stores)
    runs = [
        _import(path=files.products, kind="products", source=CATALOG_SOURCE, actor=actor,
                stage=_("catálogo"), progress=progress),
    ]
    lap("import_products")
    runs.append(_import(path=files.tpv_customers, kind="customers", source=TPV, actor=actor,
                        stage=_("clientes del TPV"), progress=progress))
    runs.append(_import(path=files.web_customers, kind="customers", source=WEB, actor=actor,
                        stage=_("clientes de la tienda online"), progress=progress))
    lap("import_customers")
    say(_("asignando comerciales"))
    _assign_sales_reps(by_id=rep_of, actor=actor, reps={n: u for n, u in by_name.items()
                                                      if u.role == Role.SALES_REP})
    lap("assign_sales_reps")
    runs.append(_import(path=files.tpv_orders, kind="orders", source=TPV, actor=actor,
                        stage=_("ventas del TPV"), progress=progress))
    runs.append(_import(path=files.web_orders, kind="orders", source=WEB, actor=actor,
                        stage=_("pedidos de la tienda online"), progress=progress))
    lap("import_orders")
    returns = _record_returns(returns=returns_frame, actor=actor, progress=progress)
    lap("returns")
    _bring_to_life(actor=actor, today=today, say=say, lap=lap)

    volume = sales_volume()
    return DemoSummary(
        customers=customers, seed=seed, years=years, today=today,
        people_by_list=people_by_list,
        customers_by_source=by_source,
        overlapping_people=people_by_list.get("both", 0),
        companies=companies,
        products=products_count(),
        orders=volume.orders,
        order_lines=volume.order_lines,
        returns=returns,
        revenue=volume.revenue,
        refunds=volume.refunds,
        seconds=round(time.monotonic() - started, 1),
        out_dir=out_dir,
        files_digest=digest,
        users=[(u.username, str(u.get_role_display()), pw) for u, pw in users],
        import_runs=[r.pk for r in runs],
        timings=timings,
    )


def demo_ensure(
    *,
    customers: int = 5000,
    seed: int = 42,
    years: int = 3,
    today: date | None = None,
    out_dir: Path | None = None,
    progress: DemoProgress | None = None,
    notify: Callable[[str], None] | None = None,
) -> DemoSummary | None:
    """The demo business, whole, or nothing: what `fideliza run --demo` calls before serving.

    - An empty database gets the demo.
    - An attempt that did not finish (failed, or killed half-way) is wiped with
      `demo_reset` and loaded again from scratch; `notify` is told why.
    - But if the database also holds data that is not the demo's (customers without the
      demo's source ids, orders of other sources, other imported files), nothing is
      deleted: DemoError says how to start again.
    - A complete demo, or a business without any demo attempt, is left as it is (None).

    Raises DemoError when the load fails (the attempt is then recorded as failed).
    """
    unfinished = demo_load_unfinished()
    if unfinished is not None:
        reason = unfinished.error or _("se interrumpió durante «%(stage)s»") % {
            "stage": unfinished.stage or _("el inicio")}
        foreign = data_not_from_demo()
        if foreign:
            raise DemoError(_(
                "La carga de la demostración del %(when)s no terminó (%(reason)s), y la base de "
                "datos tiene además datos que no son de la demostración (%(what)s): no se borra "
                "nada. Para empezar de cero, `fideliza demo --reset` borra los datos de negocio "
                "(conserva los usuarios) y carga la demostración; o use otra carpeta con "
                "FIDELIZA_VAR_DIR.") % {
                "when": timezone.localtime(unfinished.started_at).strftime("%d/%m/%Y %H:%M"),
                "reason": reason,
                "what": ", ".join(f"{label}: {count}" for label, count in foreign.items())})
        if notify:
            notify(_("La carga anterior de la demostración no terminó (%(reason)s): se borra lo "
                     "cargado y se carga de nuevo desde el principio.") % {"reason": reason})
        demo_reset(actor=Actor.system("fideliza demo: carga incompleta"))
    elif not database_is_empty():
        return None
    return demo_populate(customers=customers, seed=seed, years=years, today=today, out_dir=out_dir,
                         progress=progress)


__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "DemoError", "DemoSpec", "DemoSummary", "database_is_empty",
           "demo_ensure", "demo_populate", "demo_reset", "demo_users_ensure", "queued_tasks_delete"]
