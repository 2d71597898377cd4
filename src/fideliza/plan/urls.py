from django.urls import path

from . import views

app_name = "plan"

urlpatterns = [
    path("acciones/nueva/", views.item_edit, name="item_create"),
    path("acciones/<int:pk>/", views.item_edit, name="item_edit"),
    path("acciones/<int:pk>/estado/", views.item_status, name="item_status"),
    path("<slug:key>/", views.line_detail, name="line"),
    path("<slug:key>/seguimientos/", views.line_followups, name="followups"),
    path("<slug:key>/segmento/", views.line_segment, name="segment"),
    path("<slug:key>/campana/", views.line_campaign, name="campaign"),
]
