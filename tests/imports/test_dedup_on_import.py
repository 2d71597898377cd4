"""New cards of an import are matched against the base (issue 4: "runs on import")."""

from __future__ import annotations

import pytest

from fideliza.core.models import JobProgress
from fideliza.customers.models import Customer, MatchCandidate
from fideliza.imports.services import import_file

pytestmark = pytest.mark.django_db

TPV = ("Id cliente;Nombre;Apellidos;E-mail;Teléfono;Ciudad\n"
       "T1;Lucía;García Pérez;lucia.garcia@example.com;612345678;Sevilla\n"
       "T2;José;Núñez Ruiz;jose@example.com;600111222;Córdoba\n")
WEB = ("id,first_name,last_name,email,phone,city\n"
       "W1,Lucia,Garcia Perez,lucia.garcia@example.com,+34 612 34 56 78,Sevilla\n"   # same person
       "W2,Marta,Ibáñez,marta@example.com,699000111,Madrid\n")


def _import(write_csv, actor, text, source, **kw):
    return import_file(path=write_csv(text, name=f"{source}.csv"), kind="customers", source=source,
                       actor=actor, **kw)


def test_an_imported_duplicate_is_merged_into_the_existing_card(write_csv, actor,
                                                               django_capture_on_commit_callbacks):
    _import(write_csv, actor, TPV, "tpv")
    with django_capture_on_commit_callbacks(execute=True):
        run = _import(write_csv, actor, WEB, "web")
    assert run.status == "done"
    job = JobProgress.objects.get(pk=run.options["dedup_job"])
    assert job.finished_at is not None and job.result["merged"] == 1
    lucia = Customer.objects.get(source_ids__source="tpv", source_ids__external_id="T1")
    assert lucia.merged_into_id is None
    assert sorted(lucia.source_ids.values_list("source", flat=True)) == ["tpv", "web"]
    assert Customer.objects.filter(is_active=True).count() == 3


def test_matching_on_import_can_be_turned_off(write_csv, actor, settings):
    _import(write_csv, actor, TPV, "tpv")
    run = _import(write_csv, actor, WEB, "web", match_duplicates=False)
    assert "dedup_job" not in run.options
    assert Customer.objects.filter(is_active=True).count() == 4
    settings.FIDELIZA_MATCH_ON_IMPORT = False
    assert "dedup_job" not in _import(write_csv, actor, WEB.replace("W", "X"), "otra").options
    assert not MatchCandidate.objects.exists()
