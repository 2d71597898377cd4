import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def spanish():
    """A request to /en/ leaves English active in this thread; each test starts in Spanish."""
    with translation.override("es"):
        yield
