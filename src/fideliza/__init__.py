"""Fideliza: an open-source customer-retention CRM for small and mid-size businesses."""

__version__ = "0.1.0"
