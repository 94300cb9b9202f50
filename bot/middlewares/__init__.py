"""Per-update middlewares: database session, actor, locale, error reply."""

from bot.middlewares.actor import ActorMiddleware
from bot.middlewares.database import DbSessionMiddleware
from bot.middlewares.errors import ErrorReplyMiddleware
from bot.middlewares.locale import LocaleMiddleware
from bot.middlewares.refusals import RefusalMiddleware

__all__ = [
    "ActorMiddleware",
    "DbSessionMiddleware",
    "ErrorReplyMiddleware",
    "LocaleMiddleware",
    "RefusalMiddleware",
]
