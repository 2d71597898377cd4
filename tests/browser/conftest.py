"""Browser tests: Playwright's sync API driving Debian's chromium against live_server.

Playwright cannot download its own browsers here; CI installs `chromium` from Debian
(`make browsers`). Without it these tests skip, saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module.

    Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
    calls made beside one ("cannot call this from an async context") unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set. It is set only while the module runs (never at import:
    a process-wide value would leak into the rest of the suite and into subprocesses such
    as `check --deploy`), and module scope stops the loop before the next module's tests.
    """
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium "
                    "(install it with `make browsers` or `apt-get install chromium`)")
    from playwright.sync_api import sync_playwright

    env = pytest.MonkeyPatch()
    env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                 args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        env.undo()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 900},
                                  base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(page):
    def do(username: str, password: str) -> None:
        page.goto("/login/")
        page.get_by_label("Usuario").fill(username)
        page.get_by_label("Contraseña").fill(password)
        page.get_by_role("button", name="Entrar").click()
        page.wait_for_url(lambda url: "/login/" not in url)

    return do
