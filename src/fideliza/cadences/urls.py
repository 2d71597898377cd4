from django.urls import path

from . import views

app_name = "cadences"
urlpatterns = [
    path("", views.rule_list, name="list"),
    path("nueva/", views.rule_edit, name="create"),
    path("<int:pk>/editar/", views.rule_edit, name="edit"),
    path("<int:pk>/activar/", views.rule_toggle, name="toggle"),
    path("perdiendo-contacto/", views.losing_touch_page, name="losing_touch"),
    path("perdiendo-contacto.<str:fmt>", views.losing_touch_export, name="losing_touch_export"),
]
