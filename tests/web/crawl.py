"""Crawl the web UI as a logged-in user and read each page as its reader sees it.

`visible_text` keeps what a person reads (text nodes plus the few attributes shown as
tooltips or spoken by screen readers) and drops markup, scripts, styles and every other
attribute. `page_problems` says what on that text gives away a raw code, a Python value or
a word of the other language; `money_problems` checks the amounts next to a currency.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.urls import Resolver404, resolve

# Attributes a person reads (tooltips, screen readers, empty inputs); the rest is machinery.
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}
# Scripts and styles are not read. An element marked translate="no" holds what the user
# types or copies verbatim (template variables, an HTTP header, a technical key): not prose.
SKIP_ELEMENTS = {"script", "style", "template", "noscript"}
# Links never followed: they change state or leave the HTML UI.
SKIP_PATHS = re.compile(r"/(logout|i18n|api|m|static|media)/|/admin/.+|\.(csv|xlsx|json|gif|svg|txt)(\?|$)")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.links: list[str] = []
        self._skip: list[str] = []  # open elements whose content is not read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if values.get("hx-get"):
            self.links.append(values["hx-get"] or "")
        if tag in VOID_ELEMENTS:
            if not self._skip:
                self._read_attributes(values)
            self.chunks.append(" ")
            return
        if self._skip or tag in SKIP_ELEMENTS or values.get("translate") == "no":
            self._skip.append(tag)
            return
        self._read_attributes(values)
        # Element boundaries separate words.
        self.chunks.append(" ")

    def _read_attributes(self, values: dict[str, str | None]) -> None:
        for name in READ_ATTRIBUTES:
            if values.get(name):
                self.chunks.append(f" {values[name]} ")

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag in self._skip:
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        self.chunks.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                 "source", "track", "wbr"}


def read_page(html: str) -> tuple[str, list[str]]:
    """(visible text with whitespace collapsed, hrefs and hx-get targets)."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    text = re.sub(r"\s+", " ", "".join(reader.chunks)).strip()
    return text, reader.links


def visible_text(html: str) -> str:
    return read_page(html)[0]


# --- What gives a page away ------------------------------------------------------------------
SNAKE = re.compile(r"(?<![\w@./:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@]|\.\w)")
CODE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("snake_case", SNAKE),
    ("list or dict repr", re.compile(r"[\[{]\s*['\"]\w|\{\s*\w+\s*:")),
    ("dunder", re.compile(r"__\w+__")),
    ("internal reference", re.compile(r"\b[a-z_]+:\d+(?::[a-z_]+:\d+)+\b")),
    ("untranslated template", re.compile(r"\{\{|\}\}|\{%|%\}|%\([a-z_]+\)s")),
]
# Python's values, on a Spanish page (on an English one "None" is also a word).
SPANISH_ONLY = [("None", re.compile(r"\bNone\b")), ("True/False", re.compile(r"\b(True|False)\b"))]
# Words that never belong to a page in the other language (lower case; matched as words).
GIVEAWAYS: dict[str, set[str]] = {
    "es": {"the", "and", "of", "with", "without", "from", "high", "low", "medium", "loyal",
           "champions", "hibernating", "lost", "new", "active", "inactive", "customers",
           "customer", "sent", "failed", "pending", "is", "not", "set", "none",
           "true", "false", "yes", "days", "orders", "points", "need", "attention", "risk",
           "at", "should", "this", "that", "which", "are", "was", "has", "must", "row",
           "column", "value", "missing", "invalid", "unknown", "required"},
    "en": {"de", "del", "y", "los", "las", "el", "la", "clientes", "cliente", "con", "sin",
           "para", "por", "una", "pedidos", "ventas", "puntos", "fila", "columna", "valor",
           "falta", "obligatorio", "desde", "hasta", "es", "alto", "bajo", "medio", "nivel",
           "enviados", "enviado", "fallido", "días", "meses", "años", "hace", "tiene", "sí",
           "oro", "plata", "platino", "bronce", "sus", "más", "menos", "entre", "también",
           "según", "cuando", "todos", "ninguno", "mismo", "misma", "nombre", "apellidos",
           "teléfono", "correo", "dirección", "campaña", "segmento", "riesgo", "abandono"},
}
WORD = re.compile(r"(?<![\w-])[^\W\d_]+(?:['’][^\W\d_]+)?(?![\w-])")


def _mask(text: str, data: Iterable[str]) -> str:
    """`text` with every occurrence of the data values blanked out (longest first)."""
    for value in sorted(data, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, " ")
    return text


@dataclass
class DataStrings:
    """Business data shown on pages (names, cities, texts the shop wrote), per giveaway list."""

    values: set[str] = field(default_factory=set)
    _by_language: dict[str, list[str]] = field(default_factory=dict)
    _with_code: list[str] = field(default_factory=list)
    _with_digits: list[str] = field(default_factory=list)

    def add(self, values: Iterable[str]) -> None:
        for v in values:
            v = re.sub(r"\s+", " ", str(v)).strip()
            if v:
                self.values.add(v)
        self._by_language.clear()
        self._with_code = []
        self._with_digits = []

    def for_language(self, language: str) -> list[str]:
        if language not in self._by_language:
            words = GIVEAWAYS[language]
            self._by_language[language] = [
                v for v in self.values if any(w.lower() in words for w in WORD.findall(v))]
        return self._by_language[language]

    def with_digits(self) -> list[str]:
        if not self._with_digits:
            self._with_digits = [v for v in self.values if re.search(r"\d[.,]\d", v)]
        return self._with_digits

    def with_code(self) -> list[str]:
        if not self._with_code:
            self._with_code = [v for v in self.values if any(p.search(v) for _n, p in CODE_PATTERNS)]
        return self._with_code


def page_problems(text: str, language: str, data: DataStrings) -> list[str]:
    """Raw codes, Python values and other-language words on one page's visible text."""
    problems = []
    coded = _mask(text, data.with_code())
    # E-mail addresses and file names legitimately hold underscores.
    coded = re.sub(r"\S+@\S+|\S+\.(?:csv|xlsx|xls|json|txt)\b", " ", coded)
    for name, pattern in CODE_PATTERNS + (SPANISH_ONLY if language == "es" else []):
        for m in pattern.finditer(coded):
            problems.append(f"{name}: …{coded[max(0, m.start() - 40):m.end() + 40]}…")
    words = GIVEAWAYS[language]
    plain = _mask(text, data.for_language(language))
    # All-capital words are acronyms or codes the page explains (CLV, RFM, ES), not prose.
    found = Counter(w for w in WORD.findall(plain) if w.lower() in words and not w.isupper())
    for word in found:
        m = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", plain)
        where = plain[max(0, m.start() - 50):m.end() + 50] if m else ""
        problems.append(f"«{word}» on a {language} page: …{where}…")
    return problems


# --- Money --------------------------------------------------------------------------------------
CURRENCY = r"(?:€|EUR|US\$|\$|£|USD|GBP)"
NUMBER = r"\d[\d.,\u00a0\u202f ]*\d|\d"
MONEY_WRONG_MARK = {
    # A Spanish page writes 0,00 €; an English one €0.00.
    "es": [re.compile(rf"(?<![\d,.])\d+\.\d{{2}}(?!\d)\s?{CURRENCY}"),
           re.compile(rf"{CURRENCY}\s?(?:{NUMBER})\.\d{{2}}(?!\d)")],
    "en": [re.compile(rf"(?<![\d,.])\d+,\d{{2}}(?!\d)\s?{CURRENCY}"),
           re.compile(rf"{CURRENCY}\s?(?:{NUMBER}),\d{{2}}(?!\d)")],
}
# Words that make the next number an amount of money.
MONEY_WORDS = {
    "es": r"(?:pasivo de fidelización|importe|ingresos|ventas|total gastado|ticket medio|"
          r"clv[^\d]{0,30}|valor de vida|gasto|coste|reembolso|comisión|neto|descuento de importe:?|"
          r"compra mínima|descuentos? del pedido|precio|total)",
    "en": r"(?:loyalty liability|amount|revenue|sales|total spent|average ticket|"
          r"clv[^\d]{0,30}|lifetime value|spend|cost|refund|commission|net|amount discount:?|"
          r"minimum purchase|order discounts?|price|total)",
}


# A decimal number written the other language's way (Spanish 4,45 / English 4.45); thousands
# groups (1.234 / 1,234) have three digits after the mark and are left alone.
# A number alone in parentheses is an example of a format («Punto (12.50)»), not a figure.
WRONG_DECIMAL = {"es": re.compile(r"(?<![\d.,/:(-])\d+\.\d{1,2}(?![\d.])"),
                 "en": re.compile(r"(?<![\d.,/:(-])\d+,\d{1,2}(?![\d,])")}


def number_problems(text: str, language: str, data: DataStrings) -> list[str]:
    plain = _mask(text, data.with_digits())
    return [f"decimal mark of the other language: …{plain[max(0, m.start() - 40):m.end() + 10]}…"
            for m in WRONG_DECIMAL[language].finditer(plain)]


def money_problems(text: str, language: str) -> list[str]:
    problems = []
    for pattern in MONEY_WRONG_MARK[language]:
        for m in pattern.finditer(text):
            problems.append(f"amount with the other language's decimal mark: …{text[max(0, m.start() - 40):m.end() + 10]}…")
    label = re.compile(rf"(?i)\b{MONEY_WORDS[language]}\s*:?\s*({NUMBER})(?!\s*%)(\s?{CURRENCY})?")
    for m in label.finditer(text):
        number, currency = m.group(1), m.group(2)
        if currency is None and re.search(r"\d[.,]\d{2}$", number) and not re.match(
                rf"\s?{CURRENCY}", text[m.end():m.end() + 3]) and not re.search(
                rf"{CURRENCY}\s?$", text[max(0, m.start(1) - 4):m.start(1)]):
            problems.append(f"amount without currency: …{text[max(0, m.start() - 10):m.end() + 10]}…")
    return problems


# --- The crawl -------------------------------------------------------------------------------
@dataclass
class Visit:
    url: str
    status: int
    text: str
    language: str


def route_of(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.route


def crawl(client, starts: list[str], *, language: str, max_depth: int = 3,
          per_route: int = 2) -> list[Visit]:
    """GET every page reachable from `starts` within the app, breadth first.

    At most `per_route` URLs per URL pattern (two customer cards, not two hundred), GET
    only, links that change state or leave the HTML UI skipped. Only pages in `language`
    are followed (the language switch is not a link).
    """
    seen: set[str] = set()
    by_route: Counter[str] = Counter()
    queue = [(u, 0) for u in starts]
    visits: list[Visit] = []
    while queue:
        url, depth = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        content_type = response.get("Content-Type", "")
        if response.status_code in (301, 302) or "text/html" not in content_type:
            visits.append(Visit(url, response.status_code, "", language))
            continue
        html = response.content.decode()
        text, links = read_page(html)
        visits.append(Visit(url, response.status_code, text, language))
        if depth >= max_depth:
            continue
        for href in links:
            target = urljoin(url, href)
            parts = urlsplit(target)
            if parts.netloc and parts.netloc != "testserver":
                continue
            path = parts.path
            if not path.startswith("/") or SKIP_PATHS.search(path + ("?" if parts.query else "")):
                continue
            if language == "en" and not path.startswith("/en/"):
                continue
            if language == "es" and path.startswith("/en/"):
                continue
            route = route_of(path)
            if route is None:
                continue
            full = path + (f"?{parts.query}" if parts.query else "")
            if full in seen or route.startswith("admin/"):
                continue
            # The navigation (the start page's links) is always followed; below it, a few
            # URLs per pattern stand for the rest.
            if depth > 0 and by_route[route] >= per_route:
                continue
            by_route[route] += 1
            queue.append((full, depth + 1))
    return visits
