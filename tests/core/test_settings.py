import os
import subprocess
import sys

import pytest
from django.conf import settings

from fideliza.customers.normalize import normalize_phone


def test_check_deploy_has_no_warnings(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fideliza.config.settings.production",
        "SECRET_KEY": "k" * 20 + "-production-secret-for-the-deploy-check-0123456789",
        "ALLOWED_HOSTS": "crm.example.com",
        "FIDELIZA_VAR_DIR": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-m", "fideliza.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_production_refuses_the_default_key(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fideliza.config.settings.production",
           "FIDELIZA_VAR_DIR": str(tmp_path)}
    env.pop("SECRET_KEY", None)
    out = subprocess.run([sys.executable, "-m", "fideliza.cli", "check"], env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0 and "SECRET_KEY" in out.stderr


def test_database_follows_database_url():
    url = os.environ.get("DATABASE_URL", "")
    engine = settings.DATABASES["default"]["ENGINE"]
    assert ("postgresql" in engine) == url.startswith("postgres")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("612 34 56 78", "ES", "+34612345678"),
        ("0034 612-345-678", "ES", "+34612345678"),
        ("+34 612345678", "AR", "+34612345678"),
        ("011 4321-5678", "AR", "+541143215678"),
        ("12", "ES", None),
        ("", "ES", ""),
    ],
)
def test_phone_normalisation(raw, region, expected):
    assert normalize_phone(raw, region) == expected
