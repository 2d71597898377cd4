from django.urls import path

from . import views

app_name = "loyalty"
urlpatterns = [
    path("", views.home, name="home"),
    path("programas/nuevo/", views.program_edit, name="program_create"),
    path("programas/<int:pk>/", views.program_edit, name="program_edit"),
    path("programas/<int:program_pk>/reglas/nueva/", views.rule_edit, name="rule_create"),
    path("programas/<int:program_pk>/reglas/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("programas/<int:program_pk>/niveles/nuevo/", views.tier_edit, name="tier_create"),
    path("programas/<int:program_pk>/niveles/<int:pk>/", views.tier_edit, name="tier_edit"),
    path("recompensas/", views.reward_list, name="rewards"),
    path("recompensas/nueva/", views.reward_edit, name="reward_create"),
    path("recompensas/<int:pk>/", views.reward_edit, name="reward_edit"),
    path("cupones/", views.coupon_list, name="coupons"),
    path("simulador/", views.simulator, name="simulator"),
    path("recomendaciones/", views.referrals, name="referrals"),
    path("afiliados/<int:pk>/pago/", views.affiliate_payout, name="affiliate_payout"),
    path("socios/<int:customer_pk>/canjear/", views.member_redeem_reward, name="member_redeem_reward"),
    path("socios/<int:customer_pk>/ajustar/", views.member_adjust, name="member_adjust"),
]
