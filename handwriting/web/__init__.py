"""The local web page and its JSON API (``handwriting serve``): see :mod:`handwriting.web.app`."""
