"""HTTP API of the trackside service (FastAPI): `create_app(runtime)`; routes in docs/api.md."""

from .app import create_app

__all__ = ["create_app"]
