"""Fixtures: one real demo service process per test module (see _service.py)."""

from ._service import service

__all__ = ["service"]
