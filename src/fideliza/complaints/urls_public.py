from django.urls import path

from . import views_public

app_name = "complaints_public"

urlpatterns = [
    path("", views_public.book_default, name="default"),
    path("estado/", views_public.book_status, name="status"),
    path("recibida/<str:token>/", views_public.book_received, name="received"),
    path("<slug:rules_code>/", views_public.book_form, name="form"),
]
