from django.urls import path

from . import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list_view, name="list"),
    path("nuevo/", views.customer_create_view, name="create"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/editar/", views.customer_edit, name="edit"),
    path("<int:pk>/consentimiento/", views.customer_consent, name="consent"),
]
