from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("tokens/", views.token_list, name="tokens"),
    path("tokens/nuevo/", views.token_create, name="token_create"),
    path("tokens/<int:token_id>/revocar/", views.token_revoke, name="token_revoke"),
    path("bloqueos/", views.lockout_list, name="lockouts"),
    path("bloqueos/desbloquear/", views.lockout_lift, name="lockout_lift"),
]
