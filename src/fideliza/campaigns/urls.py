from django.urls import path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("nueva/", views.campaign_edit, name="create"),
    path("vista-previa/", views.campaign_preview_form, name="preview_form"),
    path("vista-previa/clientes/", views.preview_customers, name="preview_customers"),
    path("plantillas/", views.template_list, name="templates"),
    path("plantillas/nueva/", views.template_edit, name="template_create"),
    path("plantillas/cargar/", views.template_load, name="template_load"),
    path("plantillas/<int:pk>/", views.template_edit, name="template_edit"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/editar/", views.campaign_edit, name="edit"),
    path("<int:pk>/enviar/", views.campaign_send_view, name="send"),
    path("<int:pk>/cancelar/", views.campaign_cancel_view, name="cancel"),
    path("<int:pk>/resultados/", views.campaign_results_view, name="results"),
]
