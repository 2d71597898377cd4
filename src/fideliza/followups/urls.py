from django.urls import path

from . import views

app_name = "followups"

urlpatterns = [
    path("", views.my_day_page, name="my_day"),
    path("<int:pk>/hecho/", views.complete, name="complete"),
    path("<int:pk>/aplazar/", views.snooze, name="snooze"),
    path("<int:pk>/cancelar/", views.cancel, name="cancel"),
]
