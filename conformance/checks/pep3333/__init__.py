"""PEP 3333 (WSGI): one module per section of the PEP."""
