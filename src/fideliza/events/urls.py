from django.urls import path

from . import views

app_name = "events"

urlpatterns = [
    path("", views.event_list, name="list"),
    path("nuevo/", views.event_edit, name="create"),
    path("<int:pk>/", views.event_detail, name="detail"),
    path("<int:pk>/editar/", views.event_edit, name="edit"),
    path("<int:pk>/invitar/", views.event_invite, name="invite"),
    path("<int:pk>/cancelar/", views.event_cancel_view, name="cancel"),
    path("invitacion/<int:pk>/respuesta/", views.invitation_answer, name="answer"),
    path("<int:pk>/puerta/", views.checkin, name="checkin"),
    path("<int:pk>/puerta/<int:invitation_pk>/", views.checkin_mark_view, name="checkin_mark"),
    path("<int:pk>/puerta/sin-invitacion/", views.walk_in, name="walk_in"),
    path("<int:pk>/puerta/nuevo-cliente/", views.walk_in_new, name="walk_in_new"),
]
