from django.urls import path

from . import views

app_name = "segments"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("nuevo/", views.segment_edit, name="create"),
    path("vista-previa/", views.segment_preview, name="preview"),
    path("comparar/", views.segment_compare, name="compare"),
    path("embudo/", views.funnel_view, name="funnel"),
    path("embudo/<slug:key>/", views.funnel_stage, name="funnel_stage"),
    path("<int:pk>/", views.segment_detail, name="detail"),
    path("<int:pk>/editar/", views.segment_edit, name="edit"),
    path("<int:pk>/recalcular/", views.segment_refresh_view, name="refresh"),
    path("<int:pk>/lista/", views.segment_static_upload, name="static_upload"),
    path("<int:pk>/exportar.<str:fmt>", views.segment_export, name="export"),
]
