"""Build helpers for the documentation site (``mkdocs.yml`` loads :mod:`docsbuild.hooks`).

Not part of the installed package: the site is built from a checkout."""
