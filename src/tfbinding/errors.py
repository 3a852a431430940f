"""Errors that the CLI reports as one clear message instead of a traceback."""


class InputError(ValueError):
    """Bad user input: a malformed file, a mismatched name, an impossible config.

    The message names the file, the line and the value where known, and says what to do.
    """


def located(path: object, line: int | None, problem: str, advice: str = "") -> InputError:
    """Build an :class:`InputError` that names ``path`` (and ``line``, 1-based) first."""
    where = f"{path}, line {line}" if line is not None else f"{path}"
    message = f"{where}: {problem}"
    if advice:
        message += f". {advice}"
    return InputError(message)
