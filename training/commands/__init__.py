"""One module per CLI command; each exposes `add_command(subparsers)` and is listed in `training.cli`."""
