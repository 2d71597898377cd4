from django.urls import path

from . import views_dedup as views

app_name = "dedup"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("buscar/", views.run, name="run"),
    path("tarea/<int:pk>/", views.job_status, name="job"),
    path("par/<int:pk>/", views.pair, name="pair"),
    path("par/<int:pk>/decidir/", views.decide, name="decide"),
    path("fusiones/", views.merges, name="merges"),
    path("fusiones/<int:pk>/deshacer/", views.undo, name="undo"),
]
