"""One module per `groundswell` subcommand, each with a `register(subparsers)`."""
