"""The Content-Security-Policy in a real browser (issue 12): every page, 0 violations.

The owner of the demo business (also staff, so the admin is in the navigation) logs in and
the test walks the site from the navigation, following links to every page kind (one URL
per URL name, so new pages and detail pages are found without being listed here), while an
init script and the console record every CSP violation and every JavaScript error. Then the
interactive parts run under the same recorder: the segment rule builder's live count, a
duplicate review, the import mapping step, the dashboard charts and the campaign editor's
live preview of an HTML e-mail. Last, /api/docs renders with the network cut off.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import expect

from fideliza.campaigns.models import Campaign
from fideliza.campaigns.services import MessageContent, campaign_create
from fideliza.customers.models import Customer, DataSubjectRequest, MatchCandidate
from fideliza.demo.services import DEMO_PASSWORD, demo_populate
from fideliza.engagement.services import preferences_url
from fideliza.segments.models import Segment, SegmentMember

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORDER = """
(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error('CSP-VIOLATION ' + e.effectiveDirective + ' blocked=' + (e.blockedURI || 'inline')
                  + ' at ' + (e.sourceFile || document.location.pathname) + ':' + e.lineNumber
                  + ' sample=' + (e.sample || ''));
  }, true);
})();
"""
SKIP_PREFIXES = ("/static/", "/media/", "/en/", "/i18n/", "/m/", "/logout/", "/api/v1/")
MAX_ADMIN_PAGES = 30


@dataclass
class Recorder:
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page) -> None:
        def on_console(msg) -> None:
            text = msg.text
            where = page.url
            if "CSP-VIOLATION" in text or "Content Security Policy" in text:
                self.violations.append(f"{where}: {text}")
            elif msg.type == "error" and "Failed to load resource" not in text:
                self.errors.append(f"{where}: {text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))

    def assert_clean(self) -> None:
        assert not self.violations, "\n".join(self.violations)
        assert not self.errors, "\n".join(self.errors)


@pytest.fixture(autouse=True, scope="module")
def _orm_beside_playwright_for_the_module():
    """As in test_dashboard.py: the transactional flush after each test runs while the
    module's browser event loop is still alive."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def recorded(browser, live_server):
    """A page whose every frame runs the violation recorder from the first script on."""
    context = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 900},
                                  base_url=live_server.url)
    context.set_default_timeout(20_000)
    context.add_init_script(RECORDER)
    page = context.new_page()
    recorder = Recorder()
    recorder.attach(page)
    yield page, recorder
    context.close()


@pytest.fixture
def demo(transactional_db, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    summary = demo_populate(customers=300, seed=5, years=2, today=dt.date(2026, 6, 15),
                            out_dir=tmp_path / "demo")
    # A pair waiting in the review queue, a data-subject request, and a campaign whose HTML
    # e-mail is styled inline (as e-mails are) for the preview.
    a = Customer.objects.create(first_name="Ramón", last_name="Ibarra", phone="+34600123456",
                                email="ramon.ibarra@example.com", city="Jaén")
    b = Customer.objects.create(first_name="Ramon", last_name="Ibarre", phone="+34600123456",
                                email="ribarra@example.net")
    MatchCandidate.objects.create(customer_a=a, customer_b=b, score=0.8, reasons="teléfono")
    DataSubjectRequest.objects.create(customer=a, kind="access", received_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
                                      due_date=dt.date(2026, 7, 1), country="ES")
    segment = Segment.objects.create(name="Para la vista previa", kind="static", member_count=1)
    SegmentMember.objects.create(segment=segment, customer=a)
    campaign_create(user=None, name="Rebajas de verano", segment=segment, channels=["email"], messages={
        "email": MessageContent(subject="{{ nombre }}, rebajas", body_text="Hola {{ nombre }}",
                                body_html='<p style="color:#0b5d57;font-weight:bold">Hola {{ nombre }}</p>'
                                          "<style>p { margin: 0 }</style>")})
    return summary


def _log_in(page, username: str = "duena", password: str = DEMO_PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def _page_key(path: str) -> str | None:
    """One visit per URL name (a customer card stands for all); None for what is not a page."""
    if path.startswith(SKIP_PREFIXES):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    fmt = match.kwargs.get("fmt")
    if (fmt is not None and fmt != "html") or path.endswith((".csv", ".xlsx", ".json")):
        return None  # a file download (exports are checked in tests/core/test_exports.py)
    return match.view_name


def _links(page) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    origin = urlsplit(page.url)
    out = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.netloc == origin.netloc and parts.scheme in ("http", "https"):
            out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def test_every_page_has_no_csp_violation(recorded, demo):
    page, recorder = recorded
    login = page.goto("/login/")
    policy = login.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'unsafe-inline'" not in re.search(r"style-src ([^;]*)", policy).group(1)
    _log_in(page)

    nav = page.get_by_role("navigation", name="Navegación principal")
    nav_paths = [urlsplit(h).path for h in nav.locator("a").evaluate_all("els => els.map(e => e.href)")]
    assert len(nav_paths) >= 12  # every data page, the six moves and the admin

    queue = deque(nav_paths)
    visited: dict[str, str] = {}
    admin_pages = 0
    while queue:
        path = queue.popleft()
        key = _page_key(urlsplit(path).path)
        if key is None or key in visited:
            continue
        if key.startswith("admin:"):
            if admin_pages >= MAX_ADMIN_PAGES:
                continue
            admin_pages += 1
        visited[key] = path
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        assert "content-security-policy" in response.headers, path
        page.wait_for_load_state("networkidle")
        queue.extend(_links(page))

    # The public preference page of the e-mails (no login needed) is under the policy too.
    customer = Customer.objects.filter(email__gt="").order_by("pk").first()
    response = page.goto(urlsplit(preferences_url(customer.pk)).path)
    assert response.status == 200 and "content-security-policy" in response.headers

    expected = {"web:home", "customers:list", "customers:detail", "insights:dashboard", "segments:list",
                "segments:detail", "segments:create", "segments:funnel", "campaigns:list", "campaigns:detail",
                "automations:list", "engagement:outbox", "loyalty:home", "imports:list", "imports:detail",
                "dedup:queue", "dedup:pair", "privacy:list", "privacy:detail", "privacy:export",
                "accounts:tokens", "accounts:lockouts", "admin:index", "web:move"}
    assert expected <= set(visited), sorted(expected - set(visited))
    assert len(visited) >= 50, sorted(visited)
    print(f"CSP: {len(visited)} pages, {admin_pages} of the admin")
    recorder.assert_clean()


def test_interactive_parts_work_under_the_policy(recorded, demo):
    page, recorder = recorded
    _log_in(page)

    # The segment rule builder (segments/builder.js + htmx live count).
    page.goto("/segmentos/nuevo/")
    page.get_by_label("Nombre").fill("Clientes oro")  # htmx posts the form only when it is valid
    page.get_by_role("button", name="Añadir regla").click()
    row = page.locator("#rules-list li").first
    row.get_by_label("Campo").select_option(label="Nivel de valor")
    row.get_by_label("Condición").select_option(label="es")
    row.get_by_label("Valor").select_option(label="Oro")
    count = page.locator("#segment-count")
    expect(count).to_contain_text("clientes")
    before = count.inner_text()
    row.get_by_label("Valor").select_option(label="Bronce")
    expect(count).not_to_have_text(before)
    expect(count).to_contain_text("clientes")

    # A duplicate review: the pair side by side, merged.
    candidate = MatchCandidate.objects.get(customer_a__last_name="Ibarra")
    page.goto(f"/duplicados/par/{candidate.pk}/")
    page.get_by_role("button", name="Fusionar y conservar A").click()
    expect(page.locator(".messages")).to_contain_text("Fichas fusionadas")

    # The import mapping step (after the upload).
    upload = demo.out_dir / "tpv_clientes.csv"
    page.goto("/importaciones/nueva/")
    page.get_by_label("Tipo de datos").select_option("customers")
    page.get_by_label("Origen").fill("tpv-prueba")
    page.get_by_label("Archivo").set_input_files(str(upload))
    page.get_by_role("button", name="Continuar").click()
    expect(page.locator("#import-mapping")).to_be_visible()
    expect(page.locator("#import-preview")).to_be_visible()
    page.get_by_role("button", name="Actualizar vista previa").click()
    expect(page.locator("#import-mapping")).to_be_visible()

    # The dashboard's charts are drawn (server-rendered SVG).
    page.goto("/panel/")
    charts = page.locator("svg.chart")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 5

    # The live customer search (htmx swap).
    page.goto("/clientes/")
    page.get_by_placeholder("Nombre, empresa, e-mail, teléfono o NIF").press_sequentially("ibarra")
    expect(page.locator("#customer-results")).to_contain_text("Ibarra")

    # The campaign page previews the inline-styled HTML e-mail: styles apply, no violation.
    campaign = Campaign.objects.get(name="Rebajas de verano")
    page.goto(f"/campanas/{campaign.pk}/")
    frame = page.frame_locator("iframe.preview-html")
    expect(frame.locator("p").first).to_have_css("font-weight", "700")
    recorder.assert_clean()


def test_a_violation_would_be_caught(recorded, demo, live_server):
    """The recorder is not blind: an inline handler injected into a page is reported."""
    page, recorder = recorded
    _log_in(page)
    page.goto("/clientes/")
    page.evaluate("""() => { const d = document.createElement('div');
                             d.innerHTML = '<img src="/static/web/favicon.svg" onload="window.x=1">';
                             document.body.appendChild(d); }""")
    page.wait_for_timeout(500)
    assert any("script-src" in v for v in recorder.violations), recorder.violations


def test_api_docs_render_offline(recorded, live_server, owner):
    page, recorder = recorded
    host = urlsplit(live_server.url).netloc
    blocked: list[str] = []

    def only_local(route) -> None:
        if urlsplit(route.request.url).netloc == host:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_local)
    response = page.goto("/api/docs")
    assert response.status == 200 and "content-security-policy" in response.headers
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= 8
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/customers").first).to_be_visible()
    assert not blocked, blocked
    recorder.assert_clean()
