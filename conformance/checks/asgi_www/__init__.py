"""asgi-www.rst (the HTTP and WebSocket ASGI message format): one module per section."""
