from django.urls import path

from . import views_public

app_name = "events_public"
urlpatterns = [
    path("<str:token>/calendario.ics", views_public.ics, name="ics"),
    path("<str:token>/", views_public.rsvp, name="rsvp"),
]
