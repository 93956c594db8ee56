# The one kind of error the CLI shows as a single line: bad input, a file that is not ours, a missing build.
# cli.main() prints `pyalloc: error: MESSAGE` and exits with the error's status (2 for usage).


class UsageError(Exception):
    """Bad input: printed as one line, exit status 2 unless told otherwise."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status
