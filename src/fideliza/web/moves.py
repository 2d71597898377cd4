"""The six moves of customer management (seed 002: "Gestión estratégica de clientes actuales").

Each move's page says what it is and lists its tools. A tool is a `Capability` linked to
the page where it lives; whether it is already in Fideliza is computed — its page exists
(the URL name reverses) and what it needs is there (an automation trigger, an app) — never
written by hand, so a page never announces as "coming later" something the product has,
nor offers what it lacks. Tools still to come name the page that will hold them: the day
that page exists, the item moves to "what you can already do" by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


def _trigger(kind: str) -> Callable[[], bool]:
    """The automations offer this trigger (birthday greetings, win-back …)."""
    def check() -> bool:
        from fideliza.automations.models import TriggerKind

        return kind in TriggerKind.values
    return check


@dataclass(frozen=True)
class Capability:
    label: Promise | str
    url_name: str
    query: str = ""
    staff_only: bool = False
    permission: str = ""  # a model permission the page checks (the admin's pages do)
    requires: Callable[[], bool] | None = None

    def may_open(self, user) -> bool:
        """Whether `user` gets the page rather than a 403 (the role checks are web's)."""
        if self.staff_only and not user.is_staff:
            return False
        return not self.permission or user.has_perm(self.permission)

    def url(self) -> str | None:
        try:
            url = reverse(self.url_name)
        except NoReverseMatch:
            return None
        return f"{url}?{self.query}" if self.query else url

    def available(self) -> bool:
        """In the product: its page exists and what it needs is there."""
        return self.url() is not None and (self.requires is None or self.requires())


@dataclass(frozen=True)
class Move:
    slug: str
    title: Promise | str
    summary: Promise | str
    tools: list[Capability] = field(default_factory=list)


CUSTOMERS = "customers:list"
DASHBOARD = "insights:dashboard"
AUTOMATIONS = "automations:list"
MY_DAY = "followups:my_day"
CADENCES = "cadences:list"
LOSING_TOUCH = "cadences:losing_touch"
EVENTS = "events:list"
SURVEYS = "surveys:list"
COMPLAINTS = "complaints:list"
TESTIMONIALS = "surveys:testimonials"
GOALS = "goals:list"

MOVES: list[Move] = [
    Move(
        slug="relacion",
        title=_("Relación"),
        summary=_(
            "Las relaciones con los clientes se pueden diseñar: pasar de relaciones espontáneas, "
            "en las que el cliente compra lo que quiere cuando quiere, a relaciones gestionadas, en "
            "las que recorre un sendero de crecimiento (producto de entrada, de valor, principal y "
            "premium)."
        ),
        tools=[
            Capability(_("Fichas de clientes: intereses, canal y horario preferidos, consentimientos"), CUSTOMERS),
            Capability(_("Dar de alta un cliente"), "customers:create"),
            Capability(_("Catálogo con el nivel de cada producto en el sendero de relación"),
                       "admin:catalog_product_changelist", staff_only=True, permission="catalog.view_product"),
            Capability(_("Paso de cada cliente en el sendero de relación y su siguiente producto, en su ficha"),
                       CUSTOMERS),
            Capability(_("Segmentos de clientes"), "segments:list"),
            Capability(_("Categorías de clientes (niveles del programa, por ejemplo Oro) y los beneficios de cada una"),
                       "loyalty:home"),
            Capability(_("Felicitaciones de cumpleaños automáticas por el canal preferido"), AUTOMATIONS,
                       requires=_trigger("birthday")),
            Capability(_("Contactos periódicos: campañas programadas a un segmento"), "campaigns:list"),
            Capability(_("Llamadas, visitas, comidas y eventos registrados en la ficha, con su siguiente paso"),
                       CUSTOMERS),
            Capability(_("Seguimientos de cada persona del equipo, cada día («Mi día»)"), MY_DAY),
            Capability(_("Cadencias de contacto por nivel o segmento: llamadas y visitas periódicas"), CADENCES),
            Capability(_("Clientes perdiendo contacto, por días de retraso y por valor"), LOSING_TOUCH),
            Capability(_("Eventos (fin de año, visitas a la empresa, capacitaciones, «Día de…», VIP) con "
                         "invitación, respuesta, lista de espera y registro de asistencia"), EVENTS),
            Capability(_("Encuestas para saber por qué nos eligen"), SURVEYS),
        ],
    ),
    Move(
        slug="retencion",
        title=_("Retención"),
        summary=_(
            "Cada cliente es un flujo de ingresos en el tiempo: cuanto más dura la relación, más "
            "deja. Se trata de medir el abandono, fijar metas de retención y eliminar los motivos "
            "por los que los clientes se van."
        ),
        tools=[
            Capability(_("Historial de compras y devoluciones en cada ficha"), CUSTOMERS),
            Capability(_("Clientes con compras en los últimos 12 meses"), CUSTOMERS, query="bought=yes"),
            Capability(_("Importar el histórico de ventas"), "imports:list"),
            Capability(_("Panel de retención, abandono y su coste"), DASHBOARD),
            Capability(_("Probabilidad de que cada cliente siga activo (P(vivo)) y riesgo de abandono"), DASHBOARD),
            Capability(_("Programa de puntos, niveles y recompensas"), "loyalty:home"),
            Capability(_("Cupones para la siguiente compra"), "loyalty:coupons"),
            Capability(_("Aviso automático de puntos a punto de caducar"), AUTOMATIONS,
                       requires=_trigger("points_expiring")),
            Capability(_("Seguimientos ordenados por valor en riesgo (CLV previsto × riesgo de abandono)"), MY_DAY),
            Capability(_("Metas de retención y su seguimiento"), GOALS),
            Capability(_("Encuestas de satisfacción periódicas"), SURVEYS),
        ],
    ),
    Move(
        slug="rentabilizacion",
        title=_("Rentabilización"),
        summary=_(
            "Es más fácil rentabilizar a un cliente actual que captar uno nuevo: aumentar la compra "
            "promedio, los productos por cliente y el margen, con venta cruzada y de mayor valor."
        ),
        tools=[
            Capability(_("Total gastado, ticket medio y productos comprados en cada ficha"), CUSTOMERS),
            Capability(_("Catálogo con precio y coste unitario (margen)"), "admin:catalog_product_changelist",
                       staff_only=True, permission="catalog.view_product"),
            Capability(_("Valor de vida, ranking ABC por ventas y por margen, y compra promedio"), DASHBOARD),
            Capability(_("Valor de vida del cliente (CLV) por segmento"), "segments:compare"),
            Capability(_("Siguiente mejor producto de cada cliente (venta cruzada), en su ficha"), CUSTOMERS),
            Capability(_("Matriz de venta cruzada de toda la base de clientes"), "insights:cross_sell"),
        ],
    ),
    Move(
        slug="referenciacion",
        title=_("Referenciación"),
        summary=_(
            "Las recomendaciones personales son la principal fuente de clientes nuevos, y son "
            "gratis: hay que pedir referidos de forma sistemática y dar motivos para hablar de la "
            "empresa."
        ),
        tools=[
            Capability(_("Canal y coste de captación en cada ficha"), CUSTOMERS),
            Capability(_("Programa de recomendaciones con incentivos, y afiliados con comisión"),
                       "loyalty:referrals"),
            Capability(_("Agradecimiento automático a quien recomienda"), AUTOMATIONS,
                       requires=_trigger("referral_thanks")),
            Capability(_("Recogida de opiniones y testimonios de clientes satisfechos"), TESTIMONIALS),
            Capability(_("Encuestas NPS: los promotores reciben su código de recomendación y una "
                         "petición de testimonio"), SURVEYS),
        ],
    ),
    Move(
        slug="recuperacion",
        title=_("Recuperación"),
        summary=_(
            "Los clientes no se van por los errores, sino por la falta de respuesta después de "
            "ellos: hay que abrir canales para las quejas y preparar respuestas y gestos para los "
            "problemas frecuentes."
        ),
        tools=[
            Capability(_("Devoluciones y reembolsos en el historial de cada cliente"), CUSTOMERS),
            Capability(_("Consentimientos por canal para poder contactar"), CUSTOMERS),
            Capability(_("Plantillas de mensaje reutilizables para responder"), "campaigns:templates"),
            Capability(_("Cupones como gesto de disculpa"), "loyalty:coupons"),
            Capability(_("Libro de quejas digital con su seguimiento"), COMPLAINTS),
            Capability(_("Encuestas de satisfacción y NPS"), SURVEYS),
        ],
    ),
    Move(
        slug="reactivacion",
        title=_("Reactivación"),
        summary=_(
            "Reactivar a un cliente dormido es más fácil y barato que captar uno nuevo: listar a "
            "quienes no compran desde hace meses o años, priorizar por frecuencia y valor, y "
            "ofrecerles algo valioso para volver."
        ),
        tools=[
            Capability(_("Clientes sin compras en los últimos 12 meses"), CUSTOMERS, query="bought=no"),
            Capability(_("Clientes dormidos y ranking ABC año contra año"), DASHBOARD),
            Capability(_("Embudo de clientes por etapa"), "segments:funnel"),
            Capability(_("Recordatorio automático cuando un cliente tarda más de lo habitual en volver"),
                       AUTOMATIONS, requires=_trigger("inactivity")),
            Capability(_("Campañas de recuperación de clientes dormidos, con una oferta para volver"),
                       AUTOMATIONS, requires=_trigger("winback")),
            Capability(_("Campañas de reactivación a un segmento, con cupón personal"), "campaigns:list"),
        ],
    ),
]

MOVES_BY_SLUG = {m.slug: m for m in MOVES}


@dataclass(frozen=True)
class Stage:
    """A stage of seed 004's "pirámide invertida", covered when all its tools are in Fideliza."""

    label: Promise | str
    tools: tuple[Capability, ...]

    def ready(self) -> bool:
        return all(tool.available() for tool in self.tools)

    def url(self) -> str | None:
        return self.tools[0].url() if self.tools else None


PYRAMID: list[Stage] = [
    Stage(_("Registre"), (Capability(_("Fichas e importaciones"), "imports:list"),)),
    Stage(_("Identifique"), (Capability(_("Duplicados"), "dedup:queue"),)),
    Stage(_("Diferencie"), (Capability(_("Panel de análisis"), DASHBOARD),)),
    Stage(_("Interactúe"), (Capability(_("Mi día"), MY_DAY),
                            Capability(_("Comunicación"), "engagement:outbox"))),
    Stage(_("Segmente"), (Capability(_("Segmentos"), "segments:list"),)),
    Stage(_("Personalice"), (Capability(_("Campañas"), "campaigns:list"), Capability(_("Automatizaciones"), AUTOMATIONS))),
    Stage(_("Fidelice"), (Capability(_("Fidelización"), "loyalty:home"),)),
    Stage(_("Rentabilice"), (Capability(_("Valor de vida y venta cruzada"), DASHBOARD),)),
    Stage(_("Lealtad"), (Capability(_("Recomendaciones"), "loyalty:referrals"),
                         Capability(_("Encuestas y NPS"), SURVEYS))),
]
