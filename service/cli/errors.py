class CommandError(Exception):
    """A command cannot go on; `python -m service` prints the message as one `error:` line."""
