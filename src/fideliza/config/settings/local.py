"""Local/demo settings: what `make run` uses. Safe on a laptop, not for the internet."""

from fideliza.config.env import env_bool

from .base import *  # noqa: F403

DEBUG = env_bool("DEBUG", False)
