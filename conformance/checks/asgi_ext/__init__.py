"""asgi-extensions.rst and asgi-tls.rst (the ASGI extensions): one module per extension."""
