"""Loyalty: programs, earning rules, the points ledger with lots, tiers, rewards, coupons,
referrals and affiliates.

The ledger (`LedgerEntry`) is append-only: every accrual, redemption, expiry, adjustment
and reversal is a new row linked to its cause, never updated or deleted. `Member.points_balance`
is a cache of the sum of the member's entries (checked by `selectors.ledger_check`), kept
in the same transaction as each entry under a row lock on the member. Points live in lots
(`PointLot`) with their own expiry; debits draw from lots through `LotAllocation` rows, so
a lot's remaining points always equal its initial points minus its allocations.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fideliza.catalog.models import Category, Product
from fideliza.core.money import MoneyField
from fideliza.customers.models import Customer
from fideliza.sales.models import Order, SalesChannel, Store


class Rounding(models.TextChoices):
    DOWN = "down", _("Hacia abajo")
    HALF_UP = "half_up", _("Al más cercano")
    UP = "up", _("Hacia arriba")


class TierBasis(models.TextChoices):
    POINTS = "points", _("Puntos ganados")
    AMOUNT = "amount", _("Importe gastado")


class TierWindow(models.TextChoices):
    ROLLING_12M = "rolling_12m", _("Últimos 12 meses")
    CALENDAR_YEAR = "calendar_year", _("Año natural")


class DowngradePolicy(models.TextChoices):
    NEVER = "never", _("Nunca se baja de nivel")
    PERIOD_END = "period_end", _("Al final del periodo, al nivel alcanzado")
    ONE_LEVEL = "one_level", _("Al final del periodo, un nivel cada vez")


class Program(models.Model):
    """A loyalty program: how points are earned, how long they live and what they are worth."""

    name = models.CharField(_("nombre"), max_length=120)
    is_active = models.BooleanField(_("activo"), default=True)
    auto_enroll = models.BooleanField(
        _("alta automática"), default=True,
        help_text=_("Los clientes con compras entran en el programa sin inscribirse."))
    point_value = models.DecimalField(
        _("valor de un punto"), max_digits=10, decimal_places=4, default=0.01,
        help_text=_("En la moneda del negocio; sirve para el pasivo y el coste de las reglas."))
    rounding = models.CharField(_("redondeo de puntos"), max_length=8, choices=Rounding.choices,
                                default=Rounding.DOWN)
    pending_days = models.PositiveIntegerField(
        _("días de espera"), default=0,
        help_text=_("Los puntos de una compra se pueden canjear pasado este plazo (devoluciones)."))
    expiry_days = models.PositiveIntegerField(
        _("caducidad de los puntos (días)"), null=True, blank=True,
        help_text=_("Vacío: los puntos no caducan."))
    expiry_notice_days = models.PositiveIntegerField(_("aviso de caducidad (días antes)"), default=30)
    max_points_per_order = models.PositiveIntegerField(_("tope de puntos por pedido"), null=True, blank=True)
    max_points_per_member_year = models.PositiveIntegerField(
        _("tope de puntos por socio y año"), null=True, blank=True)
    # Bonuses (points given once per cause).
    join_points = models.PositiveIntegerField(_("puntos de bienvenida"), default=0)
    birthday_points = models.PositiveIntegerField(_("puntos de cumpleaños"), default=0)
    survey_points = models.PositiveIntegerField(_("puntos por responder una encuesta"), default=0)
    review_points = models.PositiveIntegerField(_("puntos por escribir una reseña"), default=0)
    # Tiers.
    tier_basis = models.CharField(_("nivel según"), max_length=8, choices=TierBasis.choices,
                                  default=TierBasis.AMOUNT)
    tier_window = models.CharField(_("periodo de cálculo del nivel"), max_length=16,
                                   choices=TierWindow.choices, default=TierWindow.ROLLING_12M)
    downgrade_policy = models.CharField(_("bajada de nivel"), max_length=12,
                                        choices=DowngradePolicy.choices,
                                        default=DowngradePolicy.PERIOD_END)
    # Referrals.
    referrer_points = models.PositiveIntegerField(_("puntos para quien recomienda"), default=0)
    referred_points = models.PositiveIntegerField(_("puntos para el amigo recomendado"), default=0)
    referral_min_purchase = MoneyField(_("compra mínima del amigo"), default=0)
    referral_review_days = models.PositiveIntegerField(
        _("días de revisión antes de premiar"), default=14)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("programa de fidelización")
        verbose_name_plural = _("programas de fidelización")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(point_value__gte=0), name="loyalty_program_point_value_gte0"),
        ]

    def __str__(self) -> str:
        return self.name


class RuleKind(models.TextChoices):
    PER_AMOUNT = "per_amount", _("Por cada unidad de moneda gastada")
    PER_ORDER = "per_order", _("Por pedido")
    PER_UNIT = "per_unit", _("Por unidad comprada")


class EarningRule(models.Model):
    """How an order earns points.

    Per-amount rules compete per line: each line earns with the best matching per-amount
    rule (so "3x in Ferretería, 1x elsewhere" never double counts). Per-unit and per-order
    rules add to it. The member's tier multiplier applies to the order's total.
    """

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="rules",
                                verbose_name=_("programa"))
    name = models.CharField(_("nombre"), max_length=120)
    kind = models.CharField(_("tipo"), max_length=12, choices=RuleKind.choices, default=RuleKind.PER_AMOUNT)
    points = models.DecimalField(_("puntos"), max_digits=10, decimal_places=4, default=1,
                                 help_text=_("Por unidad de moneda, por pedido o por unidad, según el tipo."))
    multiplier = models.DecimalField(_("multiplicador"), max_digits=6, decimal_places=2, default=1)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("categoría"),
                                 help_text=_("Incluye sus subcategorías."))
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("producto"))
    channel = models.CharField(_("canal"), max_length=16, choices=SalesChannel.choices, blank=True)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("tienda"))
    segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("segmento"),
                                help_text=_("Solo para los clientes de este segmento."))
    min_purchase = MoneyField(_("compra mínima"), null=True, blank=True)
    starts_on = models.DateField(_("desde"), null=True, blank=True)
    ends_on = models.DateField(_("hasta"), null=True, blank=True)
    is_active = models.BooleanField(_("activa"), default=True)

    class Meta:
        verbose_name = _("regla de acumulación")
        verbose_name_plural = _("reglas de acumulación")
        ordering = ["program", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(points__gte=0), name="loyalty_rule_points_gte0"),
            models.CheckConstraint(condition=models.Q(multiplier__gt=0), name="loyalty_rule_multiplier_gt0"),
            models.CheckConstraint(
                condition=models.Q(starts_on__isnull=True) | models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="loyalty_rule_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class Tier(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="tiers",
                                verbose_name=_("programa"))
    name = models.CharField(_("nombre"), max_length=60)
    rank = models.PositiveSmallIntegerField(_("orden"), help_text=_("0 = nivel de entrada"))
    threshold = models.DecimalField(_("umbral"), max_digits=14, decimal_places=2, default=0,
                                    help_text=_("Puntos o importe del periodo para alcanzarlo."))
    earn_multiplier = models.DecimalField(_("multiplicador de puntos"), max_digits=6,
                                          decimal_places=2, default=1)
    free_shipping = models.BooleanField(_("envío gratis"), default=False)
    benefits = models.TextField(_("ventajas"), blank=True)

    class Meta:
        verbose_name = _("nivel")
        verbose_name_plural = _("niveles")
        ordering = ["program", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["program", "rank"], name="loyalty_tier_rank_unique"),
            models.CheckConstraint(condition=models.Q(earn_multiplier__gt=0), name="loyalty_tier_multiplier_gt0"),
            models.CheckConstraint(condition=models.Q(threshold__gte=0), name="loyalty_tier_threshold_gte0"),
        ]

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    """A customer's membership of a program. Lock this row before writing its ledger."""

    # Two cards of one person, both members of a program: their ledgers are combined
    # (`merging.members_merge`, registered in LoyaltyConfig.ready).

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="members",
                                verbose_name=_("programa"))
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="loyalty_memberships",
                                 verbose_name=_("cliente"))
    joined_at = models.DateTimeField(_("alta"))
    points_balance = models.BigIntegerField(_("saldo de puntos"), default=0)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="members", verbose_name=_("nivel"))
    tier_since = models.DateTimeField(_("en el nivel desde"), null=True, blank=True)
    referral_code = models.CharField(_("código de recomendación"), max_length=16, unique=True)

    class Meta:
        verbose_name = _("socio")
        verbose_name_plural = _("socios")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "customer"], name="loyalty_member_unique"),
            models.CheckConstraint(condition=models.Q(points_balance__gte=0),
                                   name="loyalty_member_balance_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} · {self.program}"


class EntryKind(models.TextChoices):
    EARN = "earn", _("Acumulación")
    BONUS = "bonus", _("Bonificación")
    REDEEM = "redeem", _("Canje")
    EXPIRE = "expire", _("Caducidad")
    ADJUST = "adjust", _("Ajuste")
    REVERSE = "reverse", _("Anulación por devolución")
    # Two cards of one person merged (or the merge undone): points and tier qualification
    # leave one membership and enter the other, entry by entry (see merging.py).
    MOVE_IN = "move_in", _("Traspaso recibido")
    MOVE_OUT = "move_out", _("Traspaso enviado")


class CauseType(models.TextChoices):
    ORDER = "order", _("Pedido")
    RETURN = "return", _("Devolución")
    REWARD = "reward", _("Recompensa")
    REDEMPTION = "redemption", _("Canje directo")
    EXPIRY = "expiry", _("Caducidad")
    USER = "user", pgettext_lazy("causa de un movimiento de puntos", "Usuario")
    JOIN = "join", _("Bienvenida")
    BIRTHDAY = "birthday", _("Cumpleaños")
    SURVEY = "survey", _("Encuesta")
    REVIEW = "review", _("Reseña")
    REFERRAL = "referral", _("Recomendación")
    MERGE = "merge", _("Fusión de fichas")
    UNMERGE = "unmerge", _("Fusión deshecha")


class LedgerEntry(models.Model):
    """One movement of points. Append-only: never updated, never deleted.

    A transfer (`move_in`/`move_out`, written when two cards merge or a merge is undone)
    carries what one earlier entry, its `origin`, still holds: the points left in its lot
    (with the lot's dates) and its tier qualification, dated when the origin occurred.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="entries",
                               verbose_name=_("socio"))
    kind = models.CharField(_("tipo"), max_length=8, choices=EntryKind.choices)
    points = models.BigIntegerField(_("puntos"))
    balance_after = models.BigIntegerField(_("saldo después"))
    cause_type = models.CharField(_("causa"), max_length=12, choices=CauseType.choices)
    cause_id = models.CharField(_("id de la causa"), max_length=64)
    # Tier qualification, kept apart from spendable points: the amount an order added
    # (negative on a return) and whether the points count as tier points.
    qualifying_amount = MoneyField(_("importe computable para el nivel"), default=0)
    qualifying_points = models.BigIntegerField(_("puntos computables para el nivel"), default=0)
    rule = models.ForeignKey(EarningRule, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("regla"))
    note = models.CharField(_("nota"), max_length=250, blank=True)
    shortfall = models.BigIntegerField(
        _("puntos no recuperados"), default=0,
        help_text=_("En una anulación: puntos que ya se habían gastado y no se pudieron retirar."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # Indexed only where set (transfers): order accrual inserts NULL here on its hot path.
    origin = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               db_index=False, verbose_name=_("movimiento de origen"),
                               help_text=_("En un traspaso: el movimiento cuyos puntos y nivel traspasa."))
    occurred_at = models.DateTimeField(_("fecha"))
    created_at = models.DateTimeField(_("registrado"), auto_now_add=True)

    class Meta:
        verbose_name = _("movimiento de puntos")
        verbose_name_plural = _("movimientos de puntos")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # A replayed event (the same order twice, the same redemption key) adds nothing.
            models.UniqueConstraint(fields=["member", "cause_type", "cause_id", "kind"],
                                    name="loyalty_entry_once_per_cause"),
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="loyalty_entry_balance_gte0"),
            models.CheckConstraint(
                condition=(models.Q(kind__in=["earn", "bonus", "move_in"], points__gte=0)
                           | models.Q(kind__in=["redeem", "expire", "reverse", "move_out"], points__lte=0)
                           | models.Q(kind="adjust")),
                name="loyalty_entry_sign_by_kind"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["move_in", "move_out"], origin__isnull=False)
                | (~models.Q(kind__in=["move_in", "move_out"]) & models.Q(origin__isnull=True)),
                name="loyalty_entry_origin_iff_transfer"),
        ]
        indexes = [models.Index(fields=["member", "occurred_at"]),
                   models.Index(fields=["cause_type", "cause_id"]),
                   models.Index(fields=["origin"], condition=models.Q(origin__isnull=False),
                                name="loyalty_entry_origin")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}"


class PointLot(models.Model):
    """Points earned together, spendable from `available_at` until `expires_at`."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="lots",
                               verbose_name=_("socio"))
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot",
                                 verbose_name=_("movimiento"))
    points_initial = models.BigIntegerField(_("puntos"))
    points_remaining = models.BigIntegerField(_("puntos restantes"))
    available_at = models.DateTimeField(_("disponibles desde"))
    expires_at = models.DateTimeField(_("caducan"), null=True, blank=True)

    class Meta:
        verbose_name = _("lote de puntos")
        verbose_name_plural = _("lotes de puntos")
        ordering = ["expires_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(points_remaining__gte=0)
                                   & models.Q(points_remaining__lte=models.F("points_initial")),
                                   name="loyalty_lot_remaining_in_range"),
        ]
        indexes = [models.Index(fields=["member", "expires_at"]),
                   models.Index(fields=["expires_at"], condition=models.Q(points_remaining__gt=0),
                                name="loyalty_lot_open_expiry")]

    def __str__(self) -> str:
        return f"{self.points_remaining}/{self.points_initial}"


class LotAllocation(models.Model):
    """Which lots a debit (redemption, expiry, reversal, negative adjustment) drew from."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="allocations")
    lot = models.ForeignKey(PointLot, on_delete=models.PROTECT, related_name="allocations")
    points = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(points__gt=0), name="loyalty_alloc_points_gt0"),
        ]


class ExpiryRun(models.Model):
    """One run of the expiry job; its id is the cause of the entries it wrote."""

    cutoff = models.DateTimeField(_("hasta"))
    started_at = models.DateTimeField(_("inicio"), auto_now_add=True)
    lots_expired = models.PositiveIntegerField(_("lotes caducados"), default=0)
    members_affected = models.PositiveIntegerField(_("socios afectados"), default=0)
    points_expired = models.BigIntegerField(_("puntos caducados"), default=0)

    class Meta:
        verbose_name = _("ejecución de caducidad")
        verbose_name_plural = _("ejecuciones de caducidad")
        ordering = ["-id"]


class ExpiryNotice(models.Model):
    """A member told that points expire soon: once per member and expiry date.

    Automations with the «Puntos a punto de caducar» trigger write the message
    (`automations.triggers.points_expiring_hits`).
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="expiry_notices")
    expires_on = models.DateField(_("caducan el"))
    points = models.BigIntegerField(_("puntos"))
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "expires_on"], name="loyalty_notice_once")]


class OfferKind(models.TextChoices):
    """The offer a campaign or an automation step makes: a coupon of an amount or a
    percentage, issued by `coupons` to each recipient."""

    NONE = "", _("Sin oferta")
    AMOUNT = "amount", _("Descuento de importe")
    PERCENT = "percent", _("Descuento porcentual")


class RewardKind(models.TextChoices):
    AMOUNT = "amount", _("Descuento de importe")
    PERCENT = "percent", _("Descuento porcentual")
    FREE_PRODUCT = "free_product", _("Producto gratis")
    GIFT = "gift", _("Regalo")


class Reward(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="rewards",
                                verbose_name=_("programa"))
    name = models.CharField(_("nombre"), max_length=120)
    description = models.TextField(_("descripción"), blank=True)
    kind = models.CharField(_("tipo"), max_length=12, choices=RewardKind.choices, default=RewardKind.AMOUNT)
    points_cost = models.PositiveIntegerField(_("coste en puntos"))
    value = models.DecimalField(_("valor"), max_digits=12, decimal_places=2, default=0,
                                help_text=_("Importe o porcentaje del descuento."))
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("producto"))
    min_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("nivel mínimo"),
                                 help_text=_("Recompensa exclusiva desde este nivel."))
    coupon_valid_days = models.PositiveIntegerField(_("validez del cupón (días)"), default=90)
    min_purchase = MoneyField(_("compra mínima para usar el cupón"), default=0)
    is_active = models.BooleanField(_("activa"), default=True)

    class Meta:
        verbose_name = _("recompensa")
        verbose_name_plural = _("recompensas")
        ordering = ["program", "points_cost"]
        constraints = [
            models.CheckConstraint(condition=models.Q(points_cost__gt=0), name="loyalty_reward_cost_gt0"),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="loyalty_reward_value_gte0"),
        ]

    def __str__(self) -> str:
        return self.name


class CouponSource(models.TextChoices):
    REWARD = "reward", _("Canje de recompensa")
    CAMPAIGN = "campaign", _("Campaña")
    RECOVERY = "recovery", _("Recuperación")
    WELCOME = "welcome", _("Bienvenida")
    REFERRAL = "referral", _("Recomendación")


class Coupon(models.Model):
    code = models.CharField(_("código"), max_length=32, unique=True)
    name = models.CharField(_("nombre"), max_length=120)
    source = models.CharField(_("origen"), max_length=10, choices=CouponSource.choices,
                              default=CouponSource.CAMPAIGN)
    kind = models.CharField(_("tipo"), max_length=12, choices=RewardKind.choices, default=RewardKind.AMOUNT)
    value = models.DecimalField(_("valor"), max_digits=12, decimal_places=2, default=0)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("producto"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("categoría"))
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="coupons", verbose_name=_("solo para el cliente"))
    segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("solo para el segmento"))
    max_uses = models.PositiveIntegerField(_("usos totales máximos"), null=True, blank=True)
    max_uses_per_customer = models.PositiveIntegerField(_("usos máximos por cliente"), null=True, blank=True)
    uses_count = models.PositiveIntegerField(_("usos"), default=0)
    valid_from = models.DateTimeField(_("válido desde"), null=True, blank=True)
    valid_until = models.DateTimeField(_("válido hasta"), null=True, blank=True)
    min_purchase = MoneyField(_("compra mínima"), default=0)
    stackable = models.BooleanField(_("acumulable con otros cupones"), default=False)
    is_active = models.BooleanField(_("activo"), default=True)
    reward = models.ForeignKey(Reward, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="coupons", verbose_name=_("recompensa"))
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("cupón")
        verbose_name_plural = _("cupones")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(max_uses__isnull=True)
                                   | models.Q(uses_count__lte=models.F("max_uses")),
                                   name="loyalty_coupon_uses_within_limit"),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="loyalty_coupon_value_gte0"),
        ]

    def __str__(self) -> str:
        return self.code


class CouponRedemption(models.Model):
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions",
                               verbose_name=_("cupón"))
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("cliente"))
    order_reference = models.CharField(_("referencia del pedido"), max_length=128, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    discount = MoneyField(_("descuento aplicado"))
    redeemed_at = models.DateTimeField(_("fecha"))

    class Meta:
        verbose_name = _("uso de cupón")
        verbose_name_plural = _("usos de cupones")
        ordering = ["-redeemed_at", "-id"]
        indexes = [models.Index(fields=["coupon", "customer"])]


class RewardRedemption(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="reward_redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField(_("puntos"))
    coupon = models.OneToOneField(Coupon, on_delete=models.PROTECT, related_name="reward_redemption")
    entry = models.OneToOneField(LedgerEntry, null=True, on_delete=models.PROTECT, related_name="reward_redemption",
                                 help_text=_("el cargo de puntos que lo pagó"))
    created_at = models.DateTimeField(_("fecha"), auto_now_add=True)

    class Meta:
        verbose_name = _("canje de recompensa")
        verbose_name_plural = _("canjes de recompensas")
        ordering = ["-id"]


class CommissionKind(models.TextChoices):
    FIXED = "fixed", _("Importe fijo por pedido")
    PERCENT = "percent", _("Porcentaje de la venta")


class Affiliate(models.Model):
    """A partner (or a customer) paid a commission on the revenue of the customers they bring."""

    name = models.CharField(_("nombre"), max_length=120)
    email = models.EmailField(_("e-mail"), blank=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("cliente"))
    code = models.CharField(_("código"), max_length=16, unique=True)
    commission_kind = models.CharField(_("comisión"), max_length=8, choices=CommissionKind.choices,
                                       default=CommissionKind.PERCENT)
    commission_value = models.DecimalField(_("valor de la comisión"), max_digits=10, decimal_places=2)
    window_days = models.PositiveIntegerField(
        _("ventana (días)"), default=365,
        help_text=_("Las compras del cliente durante estos días desde su primer contacto generan comisión."))
    is_active = models.BooleanField(_("activo"), default=True)

    class Meta:
        verbose_name = _("afiliado")
        verbose_name_plural = _("afiliados")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Pendiente de compra")
    QUALIFIED = "qualified", _("En revisión")
    REWARDED = "rewarded", _("Premiada")
    REJECTED = "rejected", _("Rechazada")


class Referral(models.Model):
    """A new customer brought by a member (or by an affiliate), tracked from first contact."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="referrals")
    referrer = models.ForeignKey(Member, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="referrals_made", verbose_name=_("recomienda"))
    affiliate = models.ForeignKey(Affiliate, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="referrals", verbose_name=_("afiliado"))
    referred = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="referrals_received",
                                 verbose_name=_("cliente recomendado"))
    status = models.CharField(_("estado"), max_length=10, choices=ReferralStatus.choices,
                              default=ReferralStatus.PENDING)
    reason = models.CharField(_("motivo"), max_length=200, blank=True)
    first_contact_at = models.DateTimeField(_("primer contacto"))
    qualifying_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="+", verbose_name=_("compra que cualifica"))
    release_at = models.DateTimeField(_("se premia el"), null=True, blank=True)
    rewarded_at = models.DateTimeField(_("premiada el"), null=True, blank=True)

    class Meta:
        verbose_name = _("recomendación")
        verbose_name_plural = _("recomendaciones")
        ordering = ["-first_contact_at", "-id"]
        constraints = [
            # A customer can be referred once per program (no referral farming).
            models.UniqueConstraint(fields=["program", "referred"], name="loyalty_referral_once"),
            models.CheckConstraint(condition=models.Q(referrer__isnull=False) | models.Q(affiliate__isnull=False),
                                   name="loyalty_referral_has_source"),
        ]


class AffiliatePayout(models.Model):
    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="payouts")
    amount = MoneyField(_("importe"))
    period_end = models.DateField(_("hasta"))
    created_at = models.DateTimeField(_("fecha"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("pago a afiliado")
        verbose_name_plural = _("pagos a afiliados")
        ordering = ["-id"]


class AffiliateCommission(models.Model):
    """Append-only: a commission on an order, or its reversal on a return (negative)."""

    affiliate = models.ForeignKey(Affiliate, on_delete=models.PROTECT, related_name="commissions")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    cause = models.CharField(_("causa"), max_length=32, help_text=_("order:<id> o return:<id>"))
    revenue = MoneyField(_("venta"))
    amount = MoneyField(_("comisión"))
    payout = models.ForeignKey(AffiliatePayout, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="commissions")
    created_at = models.DateTimeField(_("fecha"))

    class Meta:
        verbose_name = _("comisión de afiliado")
        verbose_name_plural = _("comisiones de afiliados")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["affiliate", "cause"], name="loyalty_commission_once")]
