"""`fideliza check --deploy` warns when a channel would write customers' messages to files
(the local settings' sinks) instead of sending them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.checks import run_checks
from django.test import override_settings


def _deploy_ids() -> set[str]:
    return {m.id for m in run_checks(include_deployment_checks=True) if m.id.startswith("fideliza.")}


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"FIDELIZA_SMS_GATEWAY": "file"}, {"fideliza.W001"}),
    ({"FIDELIZA_SMS_GATEWAY": "fideliza.engagement.channels.FileSmsGateway"}, {"fideliza.W001"}),
    ({"FIDELIZA_WEBHOOK_SINK": "file"}, {"fideliza.W002"}),
    ({"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend"}, {"fideliza.W003"}),
    ({"FIDELIZA_SMS_GATEWAY": "file", "FIDELIZA_WEBHOOK_SINK": "file"}, {"fideliza.W001", "fideliza.W002"}),
    ({"FIDELIZA_SMS_GATEWAY": "generic_json", "FIDELIZA_WEBHOOK_SINK": "http"}, set()),
])
def test_file_sinks_are_deploy_warnings(overrides, expected):
    base = {"FIDELIZA_SMS_GATEWAY": "generic_json", "FIDELIZA_WEBHOOK_SINK": "http",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    with override_settings(**{**base, **overrides}):
        assert _deploy_ids() == expected
        # Only with --deploy: the local settings use the sinks on purpose.
        assert not {m.id for m in run_checks() if m.id.startswith("fideliza.")}


def test_check_deploy_under_production_settings_reports_them(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fideliza.config.settings.production",
        "SECRET_KEY": "k" * 20 + "-production-secret-for-the-deploy-check-0123456789",
        "ALLOWED_HOSTS": "crm.example.com",
        "FIDELIZA_VAR_DIR": str(tmp_path),
        "FIDELIZA_SMS_GATEWAY": "file",
        "FIDELIZA_WEBHOOK_SINK": "file",
    }
    out = subprocess.run(
        [sys.executable, "-m", "fideliza.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env, capture_output=True, text=True,
    )
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert "(fideliza.W001) FIDELIZA_SMS_GATEWAY=file writes every SMS to a file" in text
    assert "(fideliza.W002) FIDELIZA_WEBHOOK_SINK=file" in text
