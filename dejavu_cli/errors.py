"""User-facing errors.

Anything a user can cause (bad file, missing model, no face, wrong option) raises :class:`DejavuError`
with a message that fits on one line. The CLI prints ``error: <message>`` and exits with ``exit_code``;
no traceback is shown. Programming errors are not wrapped and keep their traceback.
"""

from __future__ import annotations


class DejavuError(Exception):
    """An error caused by user input or the environment, reported as one line."""

    exit_code: int = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(" ".join(str(message).split()))
        if exit_code is not None:
            self.exit_code = exit_code


class NotImplementedYet(DejavuError):
    """A registered command whose implementation has not landed."""

    exit_code = 3
