"""Domain errors raised by data functions; `service.http_errors` maps them to HTTP."""


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


class AuthenticationFailed(DomainError):
    pass


class DatabaseUnavailable(DomainError):
    pass


class PreconditionFailed(DomainError):
    pass


class TooManyAttempts(DomainError):
    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HashingBusy(DomainError):
    """Every password-hashing slot stayed busy for the whole allowed wait."""
