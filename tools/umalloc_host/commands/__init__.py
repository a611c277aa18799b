"""One module per `umalloc` subcommand.

Each module defines ``register(subparsers)``, which adds its parser and sets
``func`` (called with the parsed args, returns an exit code).  The CLI finds
the modules itself, so adding a command never touches a shared file.
"""
