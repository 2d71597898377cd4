"""The one relaxation of the Content-Security-Policy (config/settings/base.py).

A staff-written HTML e-mail is previewed in an ``<iframe sandbox srcdoc=…>``: sandboxed with
no flags, it runs no script and has an opaque origin. But a ``srcdoc`` frame inherits the
page's policy, and e-mail HTML is styled inline (``style=""``, ``<style>``; mail clients
ignore stylesheets) and shows images from the shop's own web site. So the pages that host
such a preview allow inline *styles* and https images; scripts stay ``'self'`` only.
"""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update

email_preview_csp = csp_update({"style-src": [UNSAFE_INLINE], "img-src": ["https:"]})
