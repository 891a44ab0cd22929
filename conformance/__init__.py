"""gateway-conformance: a conformance suite for Python WSGI and ASGI servers.

The package is a pytest plugin (see conformance.plugin). The pieces follow the split in
DESIGN.md: data (conformance/targets), instrument (wire, servers, proxy, probes), knowledge
(catalogue, oracle, checks), presentation (report).
"""

__version__ = "0.1.0"
