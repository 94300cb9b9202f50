"""The aiogram side of Parta: configuration, the dispatcher's assembly, middlewares, keyboards,
templates, runners and the command line."""

from bot.lean import defer_model_builds

# before anything imports aiogram (an import hook: see bot/lean.py)
defer_model_builds()
