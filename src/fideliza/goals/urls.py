from django.urls import path

from . import views

app_name = "goals"

urlpatterns = [
    path("", views.goal_list, name="list"),
    path("nueva/", views.goal_edit, name="create"),
    path("<int:pk>/", views.goal_edit, name="edit"),
    path("<int:pk>/eliminar/", views.goal_remove, name="delete"),
]
