from django.urls import path

from . import views_public

app_name = "surveys_public"
urlpatterns = [
    path("p/<str:token>/", views_public.public_answer, name="public"),
    path("t/<str:token>/", views_public.testimonial, name="testimonial"),
    path("<str:token>/", views_public.answer, name="answer"),
]
