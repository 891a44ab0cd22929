"""RFC 6455 (The WebSocket Protocol): what only the protocol server can do for an ASGI app,
one module per section."""
