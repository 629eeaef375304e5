"""Every exception botengine raises on purpose, in one tree.

    BotengineError
    ├── ConfigError            bad flag, environment variable or config file
    ├── StorageError           the store cannot be reached or refused a write
    │   └── QueueFullError     the queue is past its configured depth (the receiver answers 503)
    ├── RecordError            a stored job or dead letter cannot be read (damaged, or newer)
    ├── RulesError             a rules set did not load; carries every Problem found
    ├── FileRefusedError       a file the rules name is outside their folder, or not a plain file
    ├── EditError              the dashboard's editor cannot open, save or delete a rules file
    │   └── ConflictError      the file changed on disk since it was opened: nothing was written
    ├── TemplateError          a template failed to render at run time
    ├── ExpressionError        an expression failed to evaluate at run time
    ├── BudgetExceededError    a template, expression or regex needed more work than allowed
    └── ActionError            an action failed
        ├── RetryableError     worth trying again later (network, 5xx, 429, upstream error)
        │   └── UncertainError the request left and no answer came: it may have taken effect
        └── PermanentError     a retry cannot fix it (4xx, refused by a precondition)

Library code raises these; only `cli.py` turns them into exit codes. Errors of the libraries we
use (httpx, redis, sqlite3, diskcache) are translated at the boundary with `raise … from exc`.
"""

from __future__ import annotations


class BotengineError(Exception):
    """Base of every error botengine raises on purpose."""


class ConfigError(BotengineError):
    """A configuration value is missing or invalid."""


class StorageError(BotengineError):
    """The store could not do what was asked."""


class QueueFullError(StorageError):
    """The queue holds more events than the configured maximum depth."""


class RecordError(BotengineError):
    """A stored record (job, dead letter) is not one this version can read."""


class RulesError(BotengineError):
    """A rules set failed to load; `problems` lists every problem with its location."""

    def __init__(self, problems: list[object]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FileRefusedError(BotengineError):
    """A file the rules name (a list, a code pool, a test event) cannot be read from their folder."""


class EditError(BotengineError):
    """A rules file cannot be opened, saved or deleted as asked (a bad name, a link, a disk error)."""


class ConflictError(EditError):
    """The file changed on disk since it was opened; `current` is what it holds now."""

    def __init__(self, message: str, current: str) -> None:
        super().__init__(message)
        self.current = current


class TemplateError(BotengineError):
    """A template could not be rendered."""


class ExpressionError(BotengineError):
    """An expression could not be evaluated."""


class BudgetExceededError(BotengineError):
    """A template, expression or regex needed more work than its budget (botengine.budget).

    Not an ExpressionError or TemplateError on purpose: those fail one rule for one event, this
    one stops the event, which goes to the dead-letter queue with the reason.
    """


class ActionError(BotengineError):
    """An action failed."""


class RetryableError(ActionError):
    """An action failed in a way a later attempt may fix; `retry_after` is the server's hint."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UncertainError(RetryableError):
    """An action whose request left but whose answer never came (a timeout, a dropped connection):
    it may or may not have taken effect, so its `uncertain:` policy decides what happens next."""


class PermanentError(ActionError):
    """An action failed in a way no retry can fix."""
