from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("", views.survey_list, name="list"),
    path("nueva/", views.survey_new, name="create"),
    path("testimonios/", views.testimonial_list, name="testimonials"),
    path("testimonios/<int:pk>/retirar/", views.testimonial_revoke_view, name="testimonial_revoke"),
    path("<int:pk>/", views.survey_results_page, name="results"),
    path("<int:pk>/editar/", views.survey_edit, name="edit"),
    path("<int:pk>/preguntas/<int:question_pk>/eliminar/", views.question_remove, name="question_delete"),
    path("<int:pk>/qr.svg", views.survey_qr, name="qr"),
    path("<int:pk>/exportar.<str:fmt>", views.survey_export, name="export"),
]
