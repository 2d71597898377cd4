from django.urls import path

from . import views

app_name = "complaints"

urlpatterns = [
    path("", views.complaint_list, name="list"),
    path("nueva/", views.complaint_create, name="create"),
    path("informe/", views.complaint_report, name="report"),
    path("respuestas/", views.canned_answers, name="answers"),
    path("<int:pk>/", views.complaint_detail, name="detail"),
    path("<int:pk>/responder/", views.complaint_answer_view, name="answer"),
    path("<int:pk>/estado/", views.complaint_transition_view, name="transition"),
    path("<int:pk>/gesto/", views.complaint_gesture_view, name="gesture"),
    path("<int:pk>/clasificar/", views.complaint_classify_view, name="classify"),
    path("<int:pk>/nota/", views.complaint_note_view, name="note"),
]
