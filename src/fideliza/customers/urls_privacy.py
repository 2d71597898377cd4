from django.urls import path

from . import views_privacy as views

app_name = "privacy"
urlpatterns = [
    path("", views.request_list, name="list"),
    path("nueva/", views.request_create, name="create"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/cerrar/", views.request_close, name="close"),
    path("<int:pk>/suprimir/", views.request_erase, name="erase"),
    path("cliente/<int:customer_id>/datos.<str:fmt>", views.customer_export, name="export"),
]
