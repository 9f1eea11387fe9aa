"""govcat's HTTP API: an ASGI app over a govcat home (``create_app``), served by ``govcat serve``."""

from catalog.api.app import create_app

__all__ = ["create_app"]
