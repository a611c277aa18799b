"""The one exception the CLI turns into a one-line message and exit code 2."""


class UserError(Exception):
    """Something the user can fix: the message says what to do."""
