import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fideliza.customers.models import Customer
from fideliza.imports.models import ImportRun
from fideliza.sales.models import Order

pytestmark = pytest.mark.django_db


def test_import_command_with_map_progress_and_idempotency(write_csv, capsys, owner):
    path = write_csv("Ref\tNombre\tMóvil\nR1\tPilar\t612345678\nR2\tJuan\t699887766\n")
    call_command("import", "customers", str(path), "--source", "crm", "--map", "Ref=external_id",
                 "--user", "duena")
    out, err = capsys.readouterr()
    assert "2 were created" in out and "delimiter='\\t'" in out
    assert "100%" in err  # the progress bar
    assert Customer.objects.get(source_ids__external_id="R1").first_name == "Pilar"
    run = ImportRun.objects.get()
    assert run.created_by == owner and run.status == "done"
    call_command("import", "customers", str(path), "--source", "crm", "--map", "Ref=external_id")
    assert "0 were created, 0 updated, 2 unchanged" in capsys.readouterr().out
    assert Customer.objects.count() == 2


def test_import_command_reports_errors_and_writes_nothing(write_csv, capsys):
    path = write_csv("Ticket;Cliente;Fecha;SKU;Cantidad;Precio\nT1;X;31/13/2024;S;1;2\n")
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import", "orders", str(path), "--source", "tpv", "--date-format", "%d/%m/%Y")
    err = capsys.readouterr().err
    assert 'Fila 2, columna "Fecha": "31/13/2024" no es una fecha válida' in err
    assert Order.objects.count() == 0


def test_import_command_dry_run(write_csv, capsys):
    path = write_csv("Código cliente,Nombre\nA,Ana\n")
    call_command("import", "customers", str(path), "--source", "x", "--dry-run")
    assert "1 would be created" in capsys.readouterr().out
    assert Customer.objects.count() == 0
