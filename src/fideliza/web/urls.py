"""Every page of the site. This module has no app_name of its own so that the apps it
includes keep their own namespaces (`customers:list`, not `web:customers:list`)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from fideliza.customers import urls as customers_urls

from . import customer_card, views

web_patterns = [
    path("", views.home, name="home"),
    path("movimientos/<slug:slug>/", views.move, name="move"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html",
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]

urlpatterns = [
    path("", include((web_patterns, "web"))),
    # The customers' pages plus the 360° card, composed here from every domain, in one
    # namespace: `customers:detail` and `customers:consent` are the card's.
    path("clientes/", include(([
        *customers_urls.urlpatterns,
        path("<int:pk>/", customer_card.customer_detail, name="detail"),
        path("<int:pk>/consentimiento/", customer_card.customer_consent, name="consent"),
        path("<int:pk>/interaccion/", customer_card.customer_interaction, name="interaction"),
        path("<int:pk>/seguimiento/", customer_card.customer_followup, name="followup"),
        path("<int:pk>/documento/", customer_card.customer_document, name="document"),
        path("<int:pk>/contactos/", customer_card.customer_contact_add, name="contact_add"),
        path("<int:pk>/contactos/consentimiento/", customer_card.customer_contact_consent,
             name="contact_consent"),
        path("<int:pk>/contactos/<int:contact_pk>/", customer_card.customer_contact_edit, name="contact_edit"),
        path("<int:pk>/contactos/<int:contact_pk>/principal/", customer_card.customer_contact_primary,
             name="contact_primary"),
        path("<int:pk>/contactos/<int:contact_pk>/baja/", customer_card.customer_contact_deactivate,
             name="contact_deactivate"),
        path("<int:pk>/contactos/<int:contact_pk>/suprimir/", customer_card.customer_contact_erase,
             name="contact_erase"),
    ], customers_urls.app_name))),
    path("importaciones/", include("fideliza.imports.urls")),
    path("cuenta/", include("fideliza.accounts.urls")),
]
