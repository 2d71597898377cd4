"""The dependency direction between the apps (README.md, "Architecture"), as a test.

The contracts live in `.importlinter` and are checked by import-linter on grimp's import
graph of `fideliza`, deferred (function-level) imports included. The second test adds one
forbidden import at a time to the real graph and checks that the contracts catch it, so
the gate cannot pass by checking nothing.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.application import use_cases
from importlinter.application.app_config import settings as linter_settings
from importlinter.domain.contract import ContractCheck

CONTRACTS = Path(__file__).resolve().parents[1] / ".importlinter"


class _FixedGraph:
    """A graph builder handing import-linter a graph we prepared."""

    def __init__(self, graph: grimp.ImportGraph) -> None:
        self.graph = graph

    def build(self, **_options: object) -> grimp.ImportGraph:
        return self.graph


@pytest.fixture(scope="module")
def real_graph() -> grimp.ImportGraph:
    return grimp.build_graph("fideliza", include_external_packages=True, cache_dir=None)


def _check(graph: grimp.ImportGraph) -> dict[str, ContractCheck]:
    """{contract name: its check} for the contracts of `.importlinter` on `graph`."""
    configuration.configure()
    linter_settings.configure(GRAPH_BUILDER=_FixedGraph(graph))
    use_cases._register_built_in_contract_types()
    try:
        report = use_cases.create_report(use_cases.read_user_options(str(CONTRACTS)),
                                         cache_dir=None)
    finally:
        configuration.configure()
    assert not report.could_not_run, report.invalid_contract_options
    return {contract.name: check for contract, check in report.get_contracts_and_checks()}


def _imports(metadata: object) -> list[str]:
    """The direct imports ("a.b -> c.d (l.12)") named anywhere in a check's metadata."""
    found: list[str] = []
    if isinstance(metadata, dict):
        if "importer" in metadata and "line_numbers" in metadata:
            lines = ", ".join(f"l.{n}" for n in metadata["line_numbers"])
            found.append(f"{metadata['importer']} -> {metadata['imported']} ({lines})")
        for value in metadata.values():
            found += _imports(value)
    elif isinstance(metadata, list | tuple | set):
        for value in metadata:
            found += _imports(value)
    return found


def test_the_apps_keep_the_dependency_direction(real_graph):
    broken = {name: sorted(set(_imports(check.metadata)))
              for name, check in _check(real_graph).items() if not check.kept}
    # `.venv/bin/lint-imports` prints the same with the whole chains.
    assert not broken, broken


@pytest.mark.parametrize(("importer", "imported", "contract"), [
    ("fideliza.customers.selectors", "fideliza.sales.models", "Customers know nothing of sales"),
    ("fideliza.customers.services", "fideliza.insights.selectors", "Customers know nothing of sales"),
    ("fideliza.catalog.services", "fideliza.sales.services", "The catalog knows nothing of sales"),
    ("fideliza.segments.services", "fideliza.loyalty.services", "Segments know nothing of loyalty"),
    ("fideliza.loyalty.services", "fideliza.web.views", "No domain app imports the screens"),
    ("fideliza.core.models", "fideliza.accounts.models", "Apps depend downwards only"),
    ("fideliza.sales.services", "fideliza.loyalty.services", "Apps depend downwards only"),
    ("fideliza.campaigns.services", "fideliza.automations.services", "Apps depend downwards only"),
    ("fideliza.analytics.rfm", "django", "The analytics core is pure"),
])
def test_a_forbidden_import_breaks_the_contracts(real_graph, importer, imported, contract):
    graph = real_graph
    assert not graph.direct_import_exists(importer=importer, imported=imported)
    graph.add_import(importer=importer, imported=imported, line_number=1,
                     line_contents=f"import {imported}")
    try:
        checks = _check(graph)
    finally:
        graph.remove_import(importer=importer, imported=imported)
    broken = {name: check for name, check in checks.items() if not check.kept}
    [name] = [name for name in broken if name.startswith(contract)]
    assert importer in repr(broken[name].metadata)
    assert imported in repr(broken[name].metadata)
