from django.urls import path

from . import views

app_name = "customers"
# The card and its consent form (`customers:detail`, `customers:consent`) join this
# namespace in web.urls, which composes the card from every domain.
urlpatterns = [
    path("", views.customer_list_view, name="list"),
    path("nuevo/", views.customer_create_view, name="create"),
    path("<int:pk>/editar/", views.customer_edit, name="edit"),
]
