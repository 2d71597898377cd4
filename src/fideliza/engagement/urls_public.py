from django.urls import path  # noqa: F401

app_name = "messages_public"
urlpatterns: list = []
