"""The HTTP side of the kernel: the app factory, the REST API and the web UI."""
