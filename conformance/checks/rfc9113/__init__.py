"""RFC 9113 (HTTP/2) and the ASGI rules for HTTP/2: what a server that speaks HTTP/2 itself
must do (H2-01..H2-06), one module per section. These checks need a configuration that offers
HTTP/2 (prior knowledge on plain TCP, or TLS with ALPN h2)."""
