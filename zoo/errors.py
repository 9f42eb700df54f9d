"""The one error type the zoo raises for bad user input."""


class ZooError(ValueError):
    """A user-facing error whose message is one line: what is wrong, what to do.

    The command line prints it as `zoo: error: <message>` and exits with status 2,
    without a traceback. It subclasses `ValueError`, so Python callers can catch
    either.

    Example:

    >>> raise ZooError("Unknown variant 'dcgn'. Did you mean 'dcgan'?")
    Traceback (most recent call last):
    ...
    zoo.errors.ZooError: Unknown variant 'dcgn'. Did you mean 'dcgan'?
    """


def did_you_mean(name, choices):
    """Returns " Did you mean 'x'?" for the closest of `choices`, or ""."""
    import difflib

    close = difflib.get_close_matches(str(name), sorted(choices), n=1)
    return f" Did you mean '{close[0]}'?" if close else ""


def unknown_name_error(kind, name, choices, extra=""):
    """Builds the standard error for an unknown `kind` name.

    Example:

    >>> str(unknown_name_error("variant", "dcgn", ["dcgan", "cgan"]))
    "Unknown variant 'dcgn'. Received: name='dcgn'. Available: cgan, dcgan. Did you mean 'dcgan'?"
    """
    available = ", ".join(sorted(choices))
    return ZooError(
        f"Unknown {kind} '{name}'. Received: name={name!r}. "
        f"Available: {available}{extra}.{did_you_mean(name, choices)}"
    )
