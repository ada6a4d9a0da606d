"""Errors that reach a user as one clear line."""


class VlmqError(Exception):
    """A user-facing problem: bad input, a missing file, an unknown name.

    The message is one line that says what was wrong and what to do.
    """


class UnavailableError(VlmqError):
    """Something valid that cannot run here (a variant on this device, a missing package).

    The pytest layer turns it into a skip with the message as the reason.
    """


class SampleError(VlmqError):
    """One sample could not be used (corrupt image, missing field); the run goes on."""
