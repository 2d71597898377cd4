from django.urls import path

from . import views_public

app_name = "messages_public"
urlpatterns = [
    path("u/<str:token>", views_public.unsubscribe, name="unsubscribe"),
    path("p/<str:token>", views_public.preferences, name="preferences"),
    path("o/<str:token>.gif", views_public.open_pixel, name="open"),
    path("c/<str:token>", views_public.click, name="click"),
]
