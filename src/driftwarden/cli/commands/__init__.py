"""One module per verb; each has ``add_parser(subparsers)`` and sets ``run`` on its namespace."""
