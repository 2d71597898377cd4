"""Test factories per domain, through the services the product itself uses.

An order made here goes through `sales.services.order_record`: it gets lines, totals
computed in Decimal cents, an audit row and the order-recorded reactions (loyalty accrual,
the stale analytics flag), exactly as an order from the till or an import. A customer goes
through `customer_create`, a member through `member_enroll`, and so on. A test that wants
a bare row on purpose (a selector checked in isolation, a situation the services refuse
to produce) calls a factory whose name says so (`order_row_without_hooks`).

No factory reads the clock: every date is the caller's, so the test module that picks it
is the one that pins time (tests/test_clock_pins.py checks that).
"""
