# Temporary files for the CLI tests: a table or preset written from text, removed when the test ends.
# Shared so each test file does not carry its own copy.
import os
import tempfile


def temp_file(test, text, suffix):
    """Writes text to a new temporary file that test removes at its end; returns the path."""
    fd, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    test.addCleanup(os.remove, path)
    return path
