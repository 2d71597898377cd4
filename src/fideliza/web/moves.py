"""The six moves of customer management (seed 002: "Gestión estratégica de clientes actuales").

Each move has a section page that says what it is, links to what Fideliza already does
for it, and names plainly what comes later. Later issues replace the "later" lists with
their tools; nothing here shows a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Link:
    url_name: str
    label: Promise | str
    query: str = ""
    staff_only: bool = False


@dataclass(frozen=True)
class Later:
    """A tool that does not exist yet; once the page `done_by` exists, it is no longer "later"."""

    label: Promise | str
    done_by: str = ""


@dataclass(frozen=True)
class Move:
    slug: str
    title: Promise | str
    summary: Promise | str
    now: list[Link] = field(default_factory=list)
    later: list[Later] = field(default_factory=list)


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
        now=[
            Link("customers:list", _("Fichas de clientes: intereses, canal y horario preferidos, consentimientos")),
            Link("customers:create", _("Dar de alta un cliente")),
            Link("admin:catalog_product_changelist", _("Catálogo con el nivel de cada producto en el sendero de relación"), staff_only=True),
            Link("segments:list", _("Segmentos de clientes")),
            Link("loyalty:home", _("Programa de fidelización: niveles y ventajas")),
        ],
        later=[
            Later(_("Categorías de clientes (por ejemplo VIP) y los beneficios de cada una"), done_by="loyalty:home"),
            Later(_("Senderos de relación por segmento"), done_by="segments:list"),
            Later(_("Felicitaciones de cumpleaños y contactos periódicos por el canal preferido")),
            Later(_("Encuestas para saber por qué nos eligen")),
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
        now=[
            Link("customers:list", _("Historial de compras y devoluciones en cada ficha")),
            Link("customers:list", _("Clientes con compras en los últimos 12 meses"), query="bought=yes"),
            Link("imports:list", _("Importar el histórico de ventas")),
            Link("insights:dashboard", _("Panel de retención, abandono y riesgo de abandono")),
            Link("loyalty:home", _("Programa de puntos, niveles y recompensas")),
            Link("loyalty:coupons", _("Cupones")),
        ],
        later=[
            Later(_("Índice de abandono y su coste, con metas de retención"), done_by="insights:dashboard"),
            Later(_("Probabilidad de que cada cliente siga activo (P(vivo)) y predicción de abandono"), done_by="insights:dashboard"),
            Later(_("Programa de puntos, premios y cupones para la siguiente compra"), done_by="loyalty:home"),
            Later(_("Encuestas de satisfacción periódicas")),
        ],
    ),
    Move(
        slug="rentabilizacion",
        title=_("Rentabilización"),
        summary=_(
            "Es más fácil rentabilizar a un cliente actual que captar uno nuevo: aumentar la compra "
            "promedio, los productos por cliente y el margen, con venta cruzada y de mayor valor."
        ),
        now=[
            Link("customers:list", _("Total gastado, ticket medio y productos comprados en cada ficha")),
            Link("admin:catalog_product_changelist", _("Catálogo con precio y coste unitario (margen)"), staff_only=True),
            Link("insights:dashboard", _("Valor de vida, ranking ABC y compra promedio")),
        ],
        later=[
            Later(_("Valor de vida del cliente (VVC) por segmento"), done_by="insights:dashboard"),
            Later(_("Ranking ABC de clientes por margen"), done_by="insights:dashboard"),
            Later(_("Matriz de venta cruzada: qué compra y qué le falta a cada cliente"), done_by="insights:dashboard"),
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
        now=[
            Link("customers:list", _("Canal y coste de captación en cada ficha")),
            Link("loyalty:referrals", _("Recomendaciones y afiliados")),
        ],
        later=[
            Later(_("Programa de referidos con incentivos"), done_by="loyalty:referrals"),
            Later(_("Programa de afiliados"), done_by="loyalty:referrals"),
            Later(_("Recogida de opiniones y testimonios de clientes satisfechos")),
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
        now=[
            Link("customers:list", _("Devoluciones y reembolsos en el historial de cada cliente")),
            Link("customers:list", _("Consentimientos por canal para poder contactar")),
        ],
        later=[
            Later(_("Libro de quejas digital con su seguimiento")),
            Later(_("Encuestas de satisfacción y NPS")),
            Later(_("Respuestas preparadas y gestos de recuperación")),
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
        now=[
            Link("customers:list", _("Clientes sin compras en los últimos 12 meses"), query="bought=no"),
            Link("insights:dashboard", _("Clientes dormidos y ranking ABC año contra año")),
            Link("segments:funnel", _("Embudo de clientes por etapa")),
        ],
        later=[
            Later(_("Clientes dormidos por tiempo sin comprar y por valor"), done_by="insights:dashboard"),
            Later(_("Comparación del ranking ABC con el del año anterior"), done_by="insights:dashboard"),
            Later(_("Campañas de reactivación personalizadas")),
        ],
    ),
]

MOVES_BY_SLUG = {m.slug: m for m in MOVES}

# Seed 004's "pirámide invertida": the stages a customer base passes through. The first
# two are what the foundation provides (one consolidated base, one card per customer).
PYRAMID: list[tuple[Promise | str, bool]] = [
    (_("Registre"), True),
    (_("Identifique"), True),
    (_("Diferencie"), False),
    (_("Interactúe"), False),
    (_("Segmente"), False),
    (_("Personalice"), False),
    (_("Fidelice"), False),
    (_("Rentabilice"), False),
    (_("Lealtad"), False),
]
