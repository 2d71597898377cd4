"""Every page of the site. This module has no app_name of its own so that the apps it
includes keep their own namespaces (`customers:list`, not `web:customers:list`)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

web_patterns = [
    path("", views.home, name="home"),
    path("movimientos/<slug:slug>/", views.move, name="move"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html",
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]

urlpatterns = [
    path("", include((web_patterns, "web"))),
    path("clientes/", include("fideliza.customers.urls")),
    path("importaciones/", include("fideliza.imports.urls")),
    path("cuenta/", include("fideliza.accounts.urls")),
]
