"""Domain errors raised by data functions; `service.api.error_handlers` maps them to HTTP once,
and each API renders them in its own shape."""


class DomainError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    pass


class Conflict(DomainError):
    pass


class InvalidCursor(DomainError):
    pass


class InvalidValue(DomainError):
    """A well-formed value the operation refuses (following yourself): a 422 naming `field`,
    in the shape of every other 422."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class AuthenticationFailed(DomainError):
    pass


class DatabaseUnavailable(DomainError):
    """`reason`: pool_exhausted, statement_timeout, connection_lost, read_only (a server that
    no longer takes writes), deadlock (the transaction was cancelled, and rolled back, to end a
    lock cycle) or database_down. `during_failover`: the database's server was lost
    and no connection to a new one has been made yet."""

    def __init__(
        self, message: str, *, reason: str = "database_down", during_failover: bool = False
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.during_failover = during_failover


class PreconditionFailed(DomainError):
    pass


class TooManyAttempts(DomainError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HashingBusy(DomainError):
    """Every password-hashing slot stayed busy for the whole allowed wait."""
