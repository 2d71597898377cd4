"""Erasure handler of the automations app (registered in `AutomationsConfig.ready`)."""

from __future__ import annotations

from fideliza.customers.privacy import ERASED, scrub_json

from .models import Enrollment, EnrollmentState


def enrollments_erase(customer_ids: list[int], values: set[str]) -> int:
    """The erased customers' journeys stop (their step history and the uplift figures
    stay) and their trigger data loses any personal value; the thanks sent to whoever
    referred them lose the friend's name."""
    from fideliza.loyalty.selectors import referral_ids_of_referred

    count = Enrollment.objects.filter(customer_id__in=customer_ids, state=EnrollmentState.ACTIVE).update(
        state=EnrollmentState.STOPPED, stop_reason="erased", next_step=None, next_due_at=None)
    for pk, context in (Enrollment.objects.filter(customer_id__in=customer_ids).exclude(context={})
                        .values_list("pk", "context")):
        scrubbed = scrub_json(context, values)
        if scrubbed != context:
            Enrollment.objects.filter(pk=pk).update(context=scrubbed)
            count += 1
    keys = [f"referral:{pk}" for pk in referral_ids_of_referred(customer_ids)]
    for pk, context in Enrollment.objects.filter(trigger_key__in=keys).values_list("pk", "context"):
        if context.get("friend"):
            Enrollment.objects.filter(pk=pk).update(context={**context, "friend": ERASED})
            count += 1
    return count
