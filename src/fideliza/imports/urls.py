from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("nueva/", views.import_new, name="new"),
    path("ejemplo/<str:kind>.csv", views.import_example, name="example"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/columnas/", views.import_mapping, name="mapping"),
    path("<int:pk>/progreso/", views.import_progress, name="progress"),
    path("<int:pk>/importar/", views.import_commit, name="commit"),
    path("<int:pk>/corregir/", views.import_reupload, name="reupload"),
]
