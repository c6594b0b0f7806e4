"""The project's one error class: what the CLI turns into a single line on stderr."""


class KerasFDAError(Exception):
    """A user-facing error: the message says what is wrong and what to do about it."""
