"""Per-update middlewares: database session, actor, locale, error reply, domain errors."""

from bot.middlewares.actor import ActorMiddleware
from bot.middlewares.database import DbSessionMiddleware
from bot.middlewares.domain_errors import DomainErrorMiddleware
from bot.middlewares.errors import ErrorReplyMiddleware
from bot.middlewares.locale import LocaleMiddleware

__all__ = [
    "ActorMiddleware",
    "DbSessionMiddleware",
    "DomainErrorMiddleware",
    "ErrorReplyMiddleware",
    "LocaleMiddleware",
]
