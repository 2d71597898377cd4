from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path

from fideliza.api import api, api_not_found

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/", api.urls),
    re_path(r"^api/(?P<unmatched>.*)$", api_not_found),  # JSON 404, not the HTML page
    path("i18n/", include("django.conf.urls.i18n")),
    # Links inside messages (unsubscribe, preferences, open pixel, click redirect): no
    # language prefix, so they never change once sent.
    path("m/", include("fideliza.engagement.urls_public")),
    # The public complaints book (a QR code at the till): no language prefix either.
    path("reclamaciones/", include("fideliza.complaints.urls_public")),
    # The guest's personal invitation link (answer, calendar file): no prefix either.
    path("evento/", include("fideliza.events.urls_public")),
    # Survey links (personal, public/QR, testimonial): sent once, so no language prefix either.
    path("e/", include("fideliza.surveys.urls_public")),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("panel/", include("fideliza.insights.urls")),
    path("fidelizacion/", include("fideliza.loyalty.urls")),
    path("segmentos/", include("fideliza.segments.urls")),
    path("duplicados/", include("fideliza.customers.urls_dedup")),
    path("comunicacion/", include("fideliza.engagement.urls")),
    path("campanas/", include("fideliza.campaigns.urls")),
    path("automatizaciones/", include("fideliza.automations.urls")),
    path("privacidad/", include("fideliza.customers.urls_privacy")),
    path("mi-dia/", include("fideliza.followups.urls")),
    path("cadencias/", include("fideliza.cadences.urls")),
    path("documentos/", include("fideliza.interactions.urls")),
    path("metas/", include("fideliza.goals.urls")),
    path("plan/", include("fideliza.plan.urls")),
    path("quejas/", include("fideliza.complaints.urls")),
    path("eventos/", include("fideliza.events.urls")),
    path("encuestas/", include("fideliza.surveys.urls")),
    path("", include("fideliza.web.urls")),
    prefix_default_language=False,
)
if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
