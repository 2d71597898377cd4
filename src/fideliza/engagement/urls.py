from django.urls import path

from . import views

app_name = "engagement"
urlpatterns = [
    path("", views.outbox, name="outbox"),
    path("mensajes/<int:pk>/", views.message_detail, name="message"),
    path("decisiones/", views.decisions, name="decisions"),
    path("supresiones/", views.suppressions, name="suppressions"),
    path("supresiones/<int:pk>/quitar/", views.suppression_delete, name="suppression_delete"),
    path("limites/", views.budgets, name="budgets"),
    path("limites/<int:pk>/quitar/", views.budget_remove, name="budget_delete"),
]
