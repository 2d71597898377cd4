"""The one relaxation of the Content-Security-Policy (config/settings/base.py).

A staff-written HTML e-mail is previewed in an ``<iframe sandbox srcdoc=…>``: sandboxed with
no flags, it runs no script and has an opaque origin. But a ``srcdoc`` frame inherits the
page's policy, and e-mail HTML is styled inline (``style=""``, ``<style>``; mail clients
ignore stylesheets) and shows images from the shop's own web site. So the pages that host
such a preview allow inline *styles* and https images; scripts stay ``'self'`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.http import HttpResponseBase

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])

_email_preview_csp = csp_update({"style-src": [UNSAFE_INLINE], "img-src": ["https:"]})


def email_preview_csp(view: _View) -> _View:
    """The view with the e-mail preview's policy; its signature unchanged."""
    # django-csp types its result as a request-only view, but its wrapper passes every
    # argument on (URL parameters, typed requests): the view keeps its own signature.
    return _email_preview_csp(view)  # type: ignore[return-value]
