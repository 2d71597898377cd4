from django.urls import path

from . import views

app_name = "automations"
urlpatterns = [
    path("", views.automation_list, name="list"),
    path("nueva/", views.automation_edit, name="create"),
    path("simulacion/", views.dry_run_view, name="dry_run"),
    path("<int:pk>/", views.automation_report_view, name="report"),
    path("<int:pk>/editar/", views.automation_edit, name="edit"),
    path("<int:pk>/activar/", views.automation_toggle, name="toggle"),
]
