"""asgi-lifespan.rst (the Lifespan protocol): one module per section."""
