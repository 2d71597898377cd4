"""Fixtures of the interaction-log tests: the follow-ups' ones (the same clock, team and
customers), imported so pytest finds them here too."""

from tests.followups.conftest import NOW, TZ, clock, people, rep, rep2

__all__ = ["NOW", "TZ", "clock", "people", "rep", "rep2"]
