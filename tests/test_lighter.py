"""A light bot process: matplotlib, reportlab and openpyxl are not imported to serve updates;
PDF letters and charts are rendered in the worker process, with a chat action meanwhile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import workers
from services.notify.digests import SubjectAverage, SummaryChild, weekly_chart
from tests import factories as f
from tests.harness import App

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "reportlab", "openpyxl", "numpy", "PIL")


def last_json_line(code: str) -> Any:
    """Run `code` in a fresh interpreter of the bot's; the JSON of its last printed line."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_bot_imports_no_heavy_library() -> None:
    code = (
        "import json, sys\n"
        "import bot.cli, bot.factory, bot.runners, bot.health, handlers\n"
        "from handlers import create_routers\n"
        "create_routers()\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    assert last_json_line(code) == []


def test_aiogram_models_are_built_on_first_use() -> None:
    """bot/lean.py: the bot's start-up builds none of aiogram's ~300 models; the ones it uses
    build on first use and parse and serialise as before (forward references included)."""
    code = (
        "import json, sys\n"
        "import bot.cli, bot.factory, bot.runners, handlers\n"
        "from handlers import create_routers\n"
        "create_routers()\n"
        "from aiogram import types, methods\n"
        "built = sorted(n for n in types.__all__\n"
        "    if getattr(getattr(types, n), '__pydantic_complete__', False))\n"
        "update = types.Update.model_validate({'update_id': 1, 'callback_query': {\n"
        "    'id': 'q', 'chat_instance': 'c', 'data': 'd',\n"
        "    'from': {'id': 5, 'is_bot': False, 'first_name': 'A'},\n"
        "    'message': {'message_id': 2, 'date': 1700000000, 'text': 'hi',\n"
        "        'chat': {'id': 5, 'type': 'private'},\n"
        "        'reply_markup': {'inline_keyboard': [[{'text': 'b', 'callback_data': 'd'}]]}}}})\n"
        "keyboard = types.InlineKeyboardMarkup(\n"
        "    inline_keyboard=[[types.InlineKeyboardButton(text='b', callback_data='d')]])\n"
        "sent = methods.SendMessage(chat_id=5, text='x', reply_markup=keyboard).model_dump()\n"
        "print(json.dumps([built, update.callback_query.message.reply_markup\n"
        "    .inline_keyboard[0][0].callback_data, sent['reply_markup']['inline_keyboard']]))\n"
    )
    built, data, buttons = last_json_line(code)
    assert data == "d"
    assert (buttons[0][0]["text"], buttons[0][0]["callback_data"]) == ("b", "d")
    assert "Sticker" not in built, "unused models stay unbuilt"
    assert len(built) < 40, f"{len(built)} models built at start-up: {built}"


def test_the_hooked_package_keeps_its_loader() -> None:
    """aiogram imported through bot/lean.py still answers what a loader is asked: its source
    (for tracebacks), as the path loader would."""
    import aiogram

    assert aiogram.__spec__ is not None
    source = aiogram.__spec__.loader.get_source("aiogram")  # type: ignore[union-attr]
    assert "Dispatcher" in source


@pytest.fixture
async def school(session_factory: async_sessionmaker[AsyncSession]) -> f.SmallSchool:
    return await f.make_small_school(session_factory)


async def test_letters_are_rendered_in_the_worker_with_a_chat_action(
    app: App, school: f.SmallSchool
) -> None:
    admin = app.user(f.ADMIN, language_code="en")
    await admin.send("/codes")
    await admin.press(text="7B")
    app.fake.reset_records()
    await admin.press(text="👨‍👩‍👧 Parents' letters")
    methods = [call.method for call in app.fake.calls]
    assert "sendChatAction" in methods
    assert methods.index("sendChatAction") < methods.index("sendDocument")
    actions = {call["action"] for call in app.fake.calls_to("sendChatAction")}
    assert actions == {"upload_document"}
    assert methods.index("answerCallbackQuery") < methods.index("sendChatAction")
    documents = [m for m in admin.messages if m.document]
    assert [d.document["file_name"].rsplit(".", 1)[1] for d in documents] == ["pdf", "csv"]
    pdf = app.fake.files[documents[0].document["file_id"]].content
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "Мария" in text
    assert "Parent" in text  # the English half of every letter: the catalogs loaded in the worker
    assert await workers.run(os.getpid) != os.getpid()  # the same worker, another process
    assert app.fake.errors == []


async def test_the_notifier_draws_charts_in_the_worker(app: App) -> None:
    assert app.notifier.dispatcher.render_photo is workers.run_thunk
    children = [SummaryChild("Пётр", "7B", [SubjectAverage("Алгебра", ["5"], "5.00", 1.0)])]
    png = await workers.run_thunk(
        partial(weekly_chart, children, date(2026, 3, 9), date(2026, 3, 15))
    )
    assert png.startswith(b"\x89PNG")
