from django.urls import path

from . import views

app_name = "interactions"

urlpatterns = [
    path("<int:pk>/", views.document_download, name="document"),
]
