from django.urls import path

from . import views

app_name = "insights"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("recalcular/", views.recompute, name="recompute"),
    path("calculos/<int:run_id>/progreso/", views.run_progress, name="run_progress"),
]
