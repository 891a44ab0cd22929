"""asgi.rst (the ASGI core specification): one module per section."""
