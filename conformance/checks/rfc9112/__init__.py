"""RFC 9112 (HTTP/1.1 message syntax): one module per section, named by its number."""
