"""RFC 9110 (HTTP semantics): one module per section, named by its number."""
