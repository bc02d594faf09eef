"""How much memory the trusted side may spend decoding a submission's results.

A result file is small, but what it decodes to need not be: a dictionary column, an
array of zero-size items, deeply nested JSON. Every decoder states the size a file will
take once decoded BEFORE decoding it, and charges it here: no single result may decode
to more than ``per_result`` bytes, and all results of one grading run (one submission)
to more than ``per_submission`` together. Once the submission's budget is spent, every
later call fails at once with the same message: a student who returns huge results
loses the checks that remain, never a classmate's grading.
"""

from __future__ import annotations

from .errors import ResultRejected


class TooLarge(ResultRejected):
    """A result would decode to more than the budget allows (refused before decoding)."""

    def __init__(self, why: str):
        super().__init__(f"your result is too large to grade: {why}")


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 10**15 else f"{n:.3g} bytes"


class DecodeBudget:
    """The decoding budget of one submission (all results of one grading run)."""

    def __init__(self, per_result: int, per_submission: int):
        self.per_result, self.per_submission = int(per_result), int(per_submission)
        self.spent = 0
        self.exhausted: str | None = None  # the message every later call fails with

    def check(self) -> None:
        """Raise if the submission's budget is already spent."""
        if self.exhausted:
            raise TooLarge(self.exhausted)

    def charge(self, nbytes: int, what: str) -> None:
        """Count ``nbytes`` (the decoded size of ``what``) or refuse it."""
        self.check()
        if nbytes > self.per_result:
            raise TooLarge(f"{what} would take {mb(nbytes)} once decoded; the limit for one "
                           f"result is {mb(self.per_result)}")
        if self.spent + nbytes > self.per_submission:
            self.exhausted = (f"your functions' results together would take more than "
                              f"{mb(self.per_submission)} once decoded (the limit for one "
                              f"submission); the checks after that point could not be done")
            raise TooLarge(self.exhausted)
        self.spent += nbytes


class ResultBudget:
    """One result's share: at most ``per_result`` bytes in all its parts, also charged
    to the submission's budget."""

    def __init__(self, submission: DecodeBudget):
        self.submission, self.spent = submission, 0

    @property
    def left(self) -> int:
        return self.submission.per_result - self.spent

    def charge(self, nbytes: int, what: str) -> None:
        if nbytes > self.left:
            raise TooLarge(f"{what} would take {mb(nbytes)} once decoded; the limit for one "
                           f"result is {mb(self.submission.per_result)}"
                           + (" in all its parts" if self.spent else ""))
        self.submission.charge(nbytes, what)
        self.spent += nbytes
