"""One module per `driftwarden` sub-command; each exposes `add_parser(subparsers)`."""
