"""The nginx deployment (client -> nginx -> server): one module per concern (PROXY-*)."""
