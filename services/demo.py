"""`parta demo seed`: a realistic demo school with accounts for every role.

Everything is built in Python and written with a few bulk INSERTs in one transaction, so a
school of a thousand students and a year of lessons is seeded in seconds. The content is
deterministic for a given `rng_seed` and `today`.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.base import Base, utcnow
from db.enums import (
    AttendanceStatus,
    GradeKind,
    LinkMethod,
    PeriodKind,
    SlotFrequency,
    StaffRole,
    SubmissionStatus,
    TrustScope,
)
from db.models import (
    AcademicYear,
    Account,
    Acknowledgement,
    Attendance,
    Comment,
    Enrollment,
    Grade,
    GradingScale,
    Guardian,
    Guardianship,
    Holiday,
    Homework,
    HomeworkSubmission,
    Lesson,
    Period,
    PeriodGrade,
    School,
    SchoolClass,
    Staff,
    StaffRoleGrant,
    Student,
    StudentGuardian,
    Subject,
    TeachingAssignment,
    TimetableSlot,
    TrustedAccess,
)
from services.core import enrolment, links
from services.core.schooltime import local_today
from services.grading import DEFAULT_SCALES, DEFAULT_WEIGHTS, ScaleSpec, parse_grade, period_value
from services.timetable import generate_lessons

DEMO_SCHOOL_NAME = "Школа № 42"
DEMO_TIMEZONE = "Europe/Moscow"
DEFAULT_STUDENTS = 75
CLASS_SIZE = 25
TEACHER_HOURS = 24

#: role → fixed Telegram user id of the demo account.
DEMO_TELEGRAM_IDS: dict[str, int] = {
    "admin": 700000001,
    "head_teacher": 700000002,
    "class_teacher": 700000003,
    "teacher": 700000004,
    "student": 700000005,
    "parent": 700000006,
    "trusted": 700000007,
}
FIXED_CLASSES = (("5A", 5), ("7B", 7), ("9C", 9))
DEMO_CLASS = "7B"
SIBLING_CLASS = "5A"
_LETTERS = "ABCDEFGHKLMNPRSTUVWXYZ"
_LEVELS = ((5, 6, 7, 8, 9, 10, 11), (1, 2, 3, 4))  # primary classes only for huge schools

_NAMES = {
    "admin": "Кузнецов Андрей Викторович",
    "head_teacher": "Морозова Елена Николаевна",
    "class_teacher": "Смирнова Ольга Александровна",
    "teacher": "Волков Дмитрий Сергеевич",
    "student": "Петров Артём Игоревич",
    "sibling": "Петрова София Игоревна",
    "mother": "Петрова Наталья Владимировна",
    "father": "Петров Игорь Николаевич",
    "trusted": "Петрова Галина Ивановна",
}
_PHONES = {
    "admin": "+79031110001",
    "head_teacher": "+79031110002",
    "class_teacher": "+79031110003",
    "teacher": "+79031110004",
    "mother": "+79161234567",
    "father": "+79167654321",
}
TRUSTED_LABEL = "Бабушка"

try:
    from zoneinfo import ZoneInfo

    _MSK: tzinfo = ZoneInfo(DEMO_TIMEZONE)
except Exception:  # no tz database: Moscow has been UTC+3 all year since 2014
    _MSK = timezone(timedelta(hours=3))

_BELLS = (
    (time(8, 30), time(9, 15)),
    (time(9, 25), time(10, 10)),
    (time(10, 30), time(11, 15)),
    (time(11, 35), time(12, 20)),
    (time(12, 30), time(13, 15)),
    (time(13, 25), time(14, 10)),
    (time(14, 20), time(15, 5)),
)


@dataclass(frozen=True)
class DemoAccount:
    """One demo Telegram account and who it is in the school."""

    role: str
    telegram_id: int
    name: str
    class_name: str | None
    student: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The row `parta demo seed --json` prints."""
        return {
            "role": self.role,
            "telegram_id": self.telegram_id,
            "name": self.name,
            "class": self.class_name,
            "student": self.student,
        }


@dataclass
class SeedResult:
    accounts: list[DemoAccount]
    created: bool
    counts: dict[str, int] = field(default_factory=dict)


# --- static content ---------------------------------------------------------------------

# name, short name, teacher group, first grade level
_SUBJECTS: tuple[tuple[str, str, str, int], ...] = (
    ("Математика", "Матем.", "math", 1),
    ("Русский язык", "Рус. яз.", "rus", 1),
    ("Литература", "Лит.", "rus", 1),
    ("Английский язык", "Англ. яз.", "eng", 2),
    ("История", "Ист.", "hist", 5),
    ("Обществознание", "Общ.", "hist", 5),
    ("География", "Геогр.", "geo", 5),
    ("Биология", "Биол.", "bio", 1),
    ("Химия", "Хим.", "bio", 8),
    ("Физика", "Физ.", "phys", 7),
    ("Информатика", "Информ.", "inf", 1),
    ("Физическая культура", "Физ-ра", "pe", 1),
)
MATH, RUS, LIT, ENG, HIST, SOC, GEO, BIO, CHEM, PHYS, INF, PE = (s[0] for s in _SUBJECTS)
# A shared slot: Информатика on odd weeks, Биология on even weeks.
_ALTERNATING = (INF, BIO)


def _curriculum(level: int) -> list[tuple[str, int]]:
    """Weekly hours per subject for a grade level (the alternating slot comes on top)."""
    if level <= 4:
        return [(MATH, 4), (RUS, 5), (LIT, 4), (ENG, 2), (BIO, 2), (PE, 3), (INF, 1)]
    if level <= 6:
        return [
            (MATH, 5), (RUS, 5), (LIT, 3), (ENG, 3), (HIST, 2), (SOC, 1), (GEO, 1), (BIO, 1),
            (PE, 3),
        ]  # fmt: skip
    if level <= 8:
        hours = [
            (MATH, 5), (RUS, 4), (LIT, 2), (ENG, 3), (HIST, 2), (SOC, 1), (GEO, 2), (BIO, 1),
            (PHYS, 2), (PE, 2),
        ]  # fmt: skip
        return [*hours, (CHEM, 2)] if level == 8 else hours
    return [
        (MATH, 5), (RUS, 3), (LIT, 3), (ENG, 3), (HIST, 2), (SOC, 1), (GEO, 1), (BIO, 1),
        (PHYS, 3), (CHEM, 2), (PE, 2), (INF, 1),
    ]  # fmt: skip


def _scale_code(subject: str, level: int) -> str:
    if subject == PE:
        return "pass_fail"
    if subject == INF and level == 9:
        return "hundred"
    return "five"


_TOPICS: dict[str, tuple[str, ...]] = {
    MATH: (
        "Натуральные числа и действия с ними",
        "Обыкновенные дроби",
        "Десятичные дроби",
        "Проценты",
        "Линейные уравнения",
        "Системы линейных уравнений",
        "Функции и их графики",
        "Степень с натуральным показателем",
        "Многочлены",
        "Формулы сокращённого умножения",
        "Квадратные уравнения",
        "Неравенства",
        "Решение текстовых задач",
        "Арифметическая прогрессия",
    ),
    RUS: (
        "Фонетика. Звуки и буквы",
        "Морфемика и словообразование",
        "Имя существительное",
        "Имя прилагательное",
        "Глагол",
        "Правописание -тся и -ться",
        "Причастный оборот",
        "Деепричастный оборот",
        "Наречие",
        "Знаки препинания при однородных членах",
        "Прямая речь",
        "Сложноподчинённое предложение",
    ),
    LIT: (
        "Устное народное творчество. Былины",
        "И. А. Крылов. Басни",
        "А. С. Пушкин. «Капитанская дочка»",
        "М. Ю. Лермонтов. «Мцыри»",
        "Н. В. Гоголь. «Ревизор»",
        "И. С. Тургенев. «Муму»",
        "Л. Н. Толстой. «Кавказский пленник»",
        "А. П. Чехов. Рассказы",
        "Н. А. Некрасов. «Железная дорога»",
        "М. Горький. «Детство»",
    ),
    ENG: (
        "Present Simple",
        "Present Continuous",
        "Past Simple",
        "Present Perfect",
        "Future Simple",
        "Модальные глаголы",
        "Степени сравнения прилагательных",
        "Тема «Моя семья»",
        "Тема «Путешествия»",
        "Тема «Школьная жизнь»",
        "Passive Voice",
    ),
    HIST: (
        "Древний Египет",
        "Древняя Греция",
        "Древний Рим",
        "Киевская Русь",
        "Монгольское нашествие",
        "Образование единого Российского государства",
        "Смутное время",
        "Реформы Петра I",
        "Эпоха дворцовых переворотов",
        "Отечественная война 1812 года",
        "Великие реформы Александра II",
    ),
    SOC: (
        "Человек и общество",
        "Семья и её роль в жизни человека",
        "Права и обязанности гражданина",
        "Экономика и её роль",
        "Конституция РФ",
        "Политическая система",
        "Социальные группы",
        "Культура и духовная жизнь",
    ),
    GEO: (
        "План и карта",
        "Литосфера",
        "Гидросфера",
        "Атмосфера и климат",
        "Природные зоны",
        "Население мира",
        "Материки и океаны",
        "Природные ресурсы России",
    ),
    BIO: (
        "Клетка — основа жизни",
        "Строение растений",
        "Фотосинтез",
        "Царство грибов",
        "Простейшие",
        "Членистоногие",
        "Рыбы",
        "Птицы",
        "Млекопитающие",
        "Кровеносная система человека",
        "Нервная система",
    ),
    CHEM: (
        "Атомы и молекулы",
        "Периодическая система Д. И. Менделеева",
        "Химическая связь",
        "Оксиды",
        "Кислоты",
        "Основания",
        "Соли",
        "Растворы",
        "Окислительно-восстановительные реакции",
    ),
    PHYS: (
        "Физические величины и их измерение",
        "Строение вещества",
        "Механическое движение",
        "Плотность вещества",
        "Сила тяжести",
        "Давление",
        "Архимедова сила",
        "Работа и мощность",
        "Законы Ньютона",
        "Электрический ток. Закон Ома",
    ),
    INF: (
        "Информация и информационные процессы",
        "Системы счисления",
        "Кодирование информации",
        "Алгоритмы и исполнители",
        "Ветвления в Python",
        "Циклы в Python",
        "Электронные таблицы",
        "Логические выражения",
        "Компьютерные сети",
    ),
    PE: (
        "Лёгкая атлетика. Бег на 60 м",
        "Прыжки в длину с места",
        "Баскетбол. Ведение мяча",
        "Волейбол. Передача мяча сверху",
        "Гимнастика. Акробатика",
        "Челночный бег",
        "Футбол. Удар по мячу",
        "Эстафеты",
    ),
}
_HOMEWORK: dict[str, tuple[str, ...]] = {
    MATH: ("№ {a}, {b}, {c}", "§ {p}, № {a}–{b}", "Повторить § {p}, решить № {a} и {c}"),
    RUS: ("Упр. {a}", "§ {p}, упр. {a}, выучить правило", "Упр. {a}, {b}"),
    LIT: (
        "Прочитать главы {s}–{e}",
        "Выучить наизусть отрывок (с. {a}–{b})",
        "Ответить на вопросы на с. {a}",
        "Сочинение-миниатюра «Мой любимый герой»",
    ),
    ENG: ("WB p. {a}, ex. {s}–{e}", "SB p. {a}, ex. {s}; выучить слова", "Выучить слова unit {s}"),
    PE: ("Комплекс утренней зарядки", "Отжимания: 3 подхода по 10 раз"),
    INF: ("§ {p}, задачи {s}–{e}", "Написать программу из § {p}", "§ {p}, тест в конце"),
}
_DEFAULT_HOMEWORK = ("§ {p}, вопросы после параграфа", "§ {p}, заполнить таблицу", "§ {p}–{q}")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_LOW_SCORE = {"five": 3.5, "ten": 6.0, "hundred": 60.0, "pass_fail": 0.5}
_GOOD_COMMENTS = ("Отличный ответ у доски", "Молодец!", "Хорошая самостоятельная работа")
_BAD_COMMENTS = (
    "Не выучено правило",
    "Ошибки в вычислениях",
    "Не сдана тетрадь",
    "Нужно повторить тему",
)

_SURNAMES = _words(
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов "
    "Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев "
    "Макаров Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв "
    "Сергеев Кузьмин Фролов Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков "
    "Сорокин Виноградов Ковалёв Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров "
    "Давыдов Беляев Герасимов Богданов Осипов Сидоров Матвеев Титов Марков Миронов Крылов "
    "Куликов Карпов Власов Мельников Денисов Гаврилов Тихонов Казаков Афанасьев Данилов "
    "Савельев Тимофеев Фомин Чернов Абрамов Мартынов Ефимов Федотов Щербаков Назаров Калинин "
    "Исаев Быков Маслов Родионов Коновалов Лазарев Воронин Климов Филатов Пономарёв Голубев "
    "Кудрявцев Прохоров Наумов Потапов Журавлёв Овчинников Трофимов Леонов Соболев Ермаков "
    "Колесников Гончаров Емельянов Никифоров Грачёв Котов Гришин Ефремов Архипов Громов "
    "Кириллов Малышев Панов Моисеев Румянцев Акимов Кондратьев Бирюков Горбунов Анисимов "
    "Тихомиров Галкин Лукьянов Скворцов Белоусов Нестеров Симонов Цветков Покровский "
    "Никольский Соколовский Вишневский Троицкий Успенский Белицкий"
)
_BOYS = _words(
    "Александр Максим Михаил Артём Иван Дмитрий Даниил Кирилл Андрей Егор Никита Илья Алексей "
    "Матвей Тимофей Роман Владимир Ярослав Фёдор Георгий Константин Лев Марк Арсений Сергей "
    "Павел Николай Степан Глеб Тимур Денис Евгений Владислав Богдан Семён Захар Платон"
)
_GIRLS = _words(
    "Анастасия Мария Анна Виктория Екатерина Софья Алиса Полина Дарья Ксения Варвара "
    "Елизавета Александра Вероника Арина Валерия Ева Милана Ульяна Василиса Кира Алёна "
    "Маргарита Таисия Злата Диана Ольга Юлия Ангелина"
)
_WOMEN = _words(
    "Елена Ольга Наталья Татьяна Ирина Светлана Екатерина Анна Марина Юлия Мария Анастасия "
    "Евгения Надежда Людмила Галина Оксана Виктория Ксения Вера Любовь Дарья Инна Лариса "
    "Валентина Нина Полина Кристина"
)
# father's name → (son's patronymic, daughter's patronymic)
_PATRONYMICS: dict[str, tuple[str, str]] = {
    "Александр": ("Александрович", "Александровна"),
    "Алексей": ("Алексеевич", "Алексеевна"),
    "Андрей": ("Андреевич", "Андреевна"),
    "Антон": ("Антонович", "Антоновна"),
    "Артём": ("Артёмович", "Артёмовна"),
    "Борис": ("Борисович", "Борисовна"),
    "Вадим": ("Вадимович", "Вадимовна"),
    "Валерий": ("Валерьевич", "Валерьевна"),
    "Василий": ("Васильевич", "Васильевна"),
    "Виктор": ("Викторович", "Викторовна"),
    "Владимир": ("Владимирович", "Владимировна"),
    "Вячеслав": ("Вячеславович", "Вячеславовна"),
    "Геннадий": ("Геннадьевич", "Геннадьевна"),
    "Григорий": ("Григорьевич", "Григорьевна"),
    "Денис": ("Денисович", "Денисовна"),
    "Дмитрий": ("Дмитриевич", "Дмитриевна"),
    "Евгений": ("Евгеньевич", "Евгеньевна"),
    "Иван": ("Иванович", "Ивановна"),
    "Игорь": ("Игоревич", "Игоревна"),
    "Илья": ("Ильич", "Ильинична"),
    "Кирилл": ("Кириллович", "Кирилловна"),
    "Константин": ("Константинович", "Константиновна"),
    "Максим": ("Максимович", "Максимовна"),
    "Михаил": ("Михайлович", "Михайловна"),
    "Никита": ("Никитич", "Никитична"),
    "Николай": ("Николаевич", "Николаевна"),
    "Олег": ("Олегович", "Олеговна"),
    "Павел": ("Павлович", "Павловна"),
    "Пётр": ("Петрович", "Петровна"),
    "Роман": ("Романович", "Романовна"),
    "Руслан": ("Русланович", "Руслановна"),
    "Сергей": ("Сергеевич", "Сергеевна"),
    "Станислав": ("Станиславович", "Станиславовна"),
    "Фёдор": ("Фёдорович", "Фёдоровна"),
    "Юрий": ("Юрьевич", "Юрьевна"),
}
_MEN = tuple(_PATRONYMICS)


def _female_surname(surname: str) -> str:
    if surname.endswith("ий"):
        return surname[:-2] + "ая"
    return surname + "а"


class _Names:
    """Deterministic Russian names and +7 mobile numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.phones: set[str] = set(_PHONES.values())

    def person(self, *, female: bool, surname: str | None = None, father: str | None = None) -> str:
        rng = self.rng
        base = surname or rng.choice(_SURNAMES)
        patronymic = _PATRONYMICS[father or rng.choice(_MEN)][1 if female else 0]
        if female:
            return f"{_female_surname(base)} {rng.choice(_WOMEN)} {patronymic}"
        return f"{base} {rng.choice(_MEN)} {patronymic}"

    def phone(self) -> str:
        while True:
            number = f"+79{self.rng.randrange(10**9):09d}"
            if number not in self.phones:
                self.phones.add(number)
                return number


# --- the seed ---------------------------------------------------------------------------


def _moscow_today() -> date:
    return local_today(_MSK)


def _school_day(today: date, weeks: int) -> date:
    """The day the demo journal runs up to: `today` during the school year, but the last day of
    the year that has just ended in the summer holidays and in a September too young for
    `weeks` weeks of history, so a demo seeded on 15 July or on 1 September still has weeks
    of lessons, grades and homework to show."""
    year_end = date(today.year, 5, 31)
    if 6 <= today.month <= 8:
        return year_end
    if today.month == 9 and today - timedelta(weeks=weeks) < date(today.year, 9, 1):
        return year_end
    return today


def _utc(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=_MSK).astimezone(UTC)


def _week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def _class_layout(total: int) -> list[tuple[str, int, int]]:
    """(name, grade level, size) of every class, the fixed demo classes first."""
    slots = [
        (f"{level}{letter}", level) for levels in _LEVELS for letter in _LETTERS for level in levels
    ]
    fixed = {name for name, _ in FIXED_CLASSES}
    count = max(len(FIXED_CLASSES), math.ceil(total / CLASS_SIZE))
    count = min(count, len(slots))
    names = list(FIXED_CLASSES) + [s for s in slots if s[0] not in fixed]
    names = names[:count]
    base, extra = divmod(max(total, count), count)
    return [(name, level, base + (1 if i < extra else 0)) for i, (name, level) in enumerate(names)]


async def seed_demo(
    session_factory: async_sessionmaker[AsyncSession],
    *,
    students: int | None = None,
    weeks: int = 4,
    today: date | None = None,
    rng_seed: int = 20261128,
) -> SeedResult:
    """Create the demo school in one transaction, or return its accounts if it exists.

    `students` (default 75) are spread over classes of ~25; lessons cover `weeks` weeks before
    `today` (default: today in Moscow; in the summer holidays and early September the last day
    of the school year that ended) and two weeks after it.
    """
    if weeks < 0:
        raise ValueError("weeks must not be negative")
    total = DEFAULT_STUDENTS if students is None else students
    if total < 1:
        raise ValueError("students must be positive")
    day = _school_day(today or _moscow_today(), weeks)
    async with session_factory() as session, session.begin():
        school_id = await session.scalar(select(School.id).where(School.name == DEMO_SCHOOL_NAME))
        if school_id is not None:
            return SeedResult(await demo_accounts(session, day), created=False, counts={})
        builder = _Builder(session, random.Random(rng_seed), day, total, weeks)
        await builder.build()
        return SeedResult(await demo_accounts(session, day), created=True, counts=builder.counts)


@dataclass
class _Teacher:
    index: int
    group: str
    name: str
    phone: str
    role_key: str | None = None  # "teacher"/"class_teacher" for the demo accounts
    load: int = 0
    classes: list[int] = field(default_factory=list)
    room: str = ""
    id: int = 0


@dataclass
class _Item:
    """One weekly timetable position: one subject, or two alternating by week parity."""

    subjects: tuple[str, ...]
    hours: int


class _Builder:
    def __init__(
        self, session: AsyncSession, rng: random.Random, today: date, students: int, weeks: int
    ) -> None:
        self.session = session
        self.rng = rng
        self.names = _Names(rng)
        self.today = today
        self.weeks = weeks
        self.layout = _class_layout(students)
        self.counts: dict[str, int] = {}
        self.now = utcnow()
        self.scale_specs = {code: ScaleSpec(**kw) for code, kw in DEFAULT_SCALES.items()}
        self.score_cache: dict[tuple[str, str], float] = {}
        self.group_of = {s[0]: s[2] for s in _SUBJECTS}

    # -- helpers --------------------------------------------------------------------------

    async def _insert(
        self, model: type[Base], rows: Sequence[dict[str, Any]], *, ids: bool = False
    ) -> list[int]:
        name = model.__tablename__
        self.counts[name] = self.counts.get(name, 0) + len(rows)
        if not rows:
            return []
        if ids:
            column = model.__table__.c.id
            stmt = insert(model).returning(column, sort_by_parameter_order=True)
            return list((await self.session.scalars(stmt, rows)).all())
        await self.session.execute(insert(model), rows)
        return []

    def _score(self, code: str, value: str) -> float:
        key = (code, value)
        if key not in self.score_cache:
            self.score_cache[key] = parse_grade(self.scale_specs[code], value).score
        return self.score_cache[key]

    # -- build ----------------------------------------------------------------------------

    async def build(self) -> None:
        await self._school()
        await self._accounts()
        await self._staff()
        await self._classes()
        await self._people()
        await self._timetable()
        start = self.today - timedelta(weeks=self.weeks)
        self.counts["lessons"] = await generate_lessons(
            self.session,
            class_ids=list(self.class_ids),
            start=max(start, self.year_start),
            end=self.today + timedelta(days=14),
        )
        self.lessons_from = max(start, self.year_start)
        await self._journal()
        await self._family_activity()

    async def _school(self) -> None:
        today = self.today
        first = today.year if today.month >= 9 else today.year - 1
        self.year_start, self.year_end = date(first, 9, 1), date(first + 1, 5, 31)
        (self.school_id,) = await self._insert(
            School, [{"name": DEMO_SCHOOL_NAME, "timezone": DEMO_TIMEZONE}], ids=True
        )
        (self.year_id,) = await self._insert(
            AcademicYear,
            [
                {
                    "school_id": self.school_id,
                    "name": f"{first}/{first + 1}",
                    "starts_on": self.year_start,
                    "ends_on": self.year_end,
                    "is_current": True,
                }
            ],
            ids=True,
        )
        autumn = _week_of(date(first, 11, 4))
        spring = _week_of(date(first + 1, 3, 25))
        winter = (date(first, 12, 30), date(first + 1, 1, 8))
        holidays = [
            ("Осенние каникулы", *autumn),
            ("Зимние каникулы", *winter),
            ("День защитника Отечества", date(first + 1, 2, 23), date(first + 1, 2, 23)),
            ("Международный женский день", date(first + 1, 3, 8), date(first + 1, 3, 8)),
            ("Весенние каникулы", *spring),
            ("Праздник Весны и Труда", date(first + 1, 5, 1), date(first + 1, 5, 1)),
            ("День Победы", date(first + 1, 5, 9), date(first + 1, 5, 9)),
        ]
        await self._insert(
            Holiday,
            [
                {"school_id": self.school_id, "name": n, "starts_on": s, "ends_on": e}
                for n, s, e in holidays
            ],
        )
        one = timedelta(days=1)
        self.quarters = [
            (self.year_start, autumn[0] - one),
            (autumn[1] + one, winter[0] - one),
            (winter[1] + one, spring[0] - one),
            (spring[1] + one, self.year_end),
        ]
        periods = [
            {"year_id": self.year_id, "kind": PeriodKind.QUARTER, "number": n, "starts_on": s,
             "ends_on": e}
            for n, (s, e) in enumerate(self.quarters, 1)
        ]  # fmt: skip
        periods.append(
            {"year_id": self.year_id, "kind": PeriodKind.YEAR, "number": 1,
             "starts_on": self.year_start, "ends_on": self.year_end}
        )  # fmt: skip
        self.period_ids = await self._insert(Period, periods, ids=True)
        codes = list(DEFAULT_SCALES)
        scale_ids = await self._insert(
            GradingScale,
            [{"school_id": self.school_id, "code": c, **DEFAULT_SCALES[c]} for c in codes],
            ids=True,
        )
        self.scale_ids = dict(zip(codes, scale_ids, strict=True))
        subject_ids = await self._insert(
            Subject,
            [{"school_id": self.school_id, "name": n, "short_name": s} for n, s, _, _ in _SUBJECTS],
            ids=True,
        )
        self.subject_ids = dict(zip((s[0] for s in _SUBJECTS), subject_ids, strict=True))

    async def _accounts(self) -> None:
        """The seven demo accounts (an account already holding a demo id is reused)."""
        names = {**_NAMES, "parent": _NAMES["mother"]}
        phones = {**_PHONES, "parent": _PHONES["mother"]}
        result = await self.session.execute(
            select(Account.telegram_id, Account.id).where(
                Account.telegram_id.in_(DEMO_TELEGRAM_IDS.values())
            )
        )
        existing: dict[int, int] = dict(result.all())
        missing = [role for role, tid in DEMO_TELEGRAM_IDS.items() if tid not in existing]
        rows: list[dict[str, Any]] = [
            {
                "telegram_id": DEMO_TELEGRAM_IDS[role],
                "full_name": names[role],
                "phone": phones.get(role),
                "locale": None,
            }
            for role in missing
        ]
        new_ids = await self._insert(Account, rows, ids=True)
        by_tid = {**existing, **{r["telegram_id"]: i for r, i in zip(rows, new_ids, strict=True)}}
        self.account_ids = {role: by_tid[tid] for role, tid in DEMO_TELEGRAM_IDS.items()}

    async def _staff(self) -> None:
        """Teachers by subject group (about 24 lessons a week each), head teacher, admin."""
        rng, names, group_of = self.rng, self.names, self.group_of
        self.plans: list[list[_Item]] = []
        group_load: list[dict[str, int]] = []
        for _, level, _size in self.layout:
            items = [_Item((subject,), hours) for subject, hours in _curriculum(level)]
            items.append(_Item(_ALTERNATING, 1))
            self.plans.append(items)
            load: dict[str, int] = defaultdict(int)
            for item in items:
                for subject in item.subjects:
                    load[group_of[subject]] += item.hours
            group_load.append(load)

        self.teachers: list[_Teacher] = []
        self.teacher_of: dict[tuple[int, str], _Teacher] = {}  # (class index, group) → teacher
        fixed = {
            "math": ("teacher", _NAMES["teacher"]),
            "rus": ("class_teacher", _NAMES["class_teacher"]),
        }
        current: dict[str, _Teacher] = {}
        for ci, load in enumerate(group_load):
            for group, hours in load.items():
                teacher = current.get(group)
                if teacher is None or teacher.load + hours > TEACHER_HOURS:
                    role_key, name = fixed.pop(group, (None, ""))
                    teacher = _Teacher(
                        index=len(self.teachers),
                        group=group,
                        name=name or names.person(female=rng.random() < 0.8),
                        phone=_PHONES[role_key] if role_key else names.phone(),
                        role_key=role_key,
                    )
                    self.teachers.append(teacher)
                    current[group] = teacher
                teacher.load += hours
                teacher.classes.append(ci)
                self.teacher_of[ci, group] = teacher
        room_no = 0
        for teacher in self.teachers:
            if teacher.group == "pe":
                teacher.room = "Спортзал"
            else:
                room_no += 1
                teacher.room = f"{1 + (room_no - 1) // 15}{(room_no - 1) % 15 + 1:02d}"

        rows = [
            {
                "school_id": self.school_id,
                "account_id": self.account_ids[t.role_key] if t.role_key else None,
                "full_name": t.name,
                "phone": t.phone,
                "email": None,
            }
            for t in self.teachers
        ]
        rows += [
            {
                "school_id": self.school_id,
                "account_id": self.account_ids[role],
                "full_name": _NAMES[role],
                "phone": _PHONES[role],
                "email": None,
            }
            for role in ("head_teacher", "admin")
        ]
        ids = await self._insert(Staff, rows, ids=True)
        for teacher, staff_id in zip(self.teachers, ids, strict=False):
            teacher.id = staff_id
        head_id, admin_id = ids[-2:]
        grants = [{"staff_id": t.id, "role": StaffRole.TEACHER} for t in self.teachers]
        grants += [
            {"staff_id": head_id, "role": StaffRole.HEAD_TEACHER},
            {"staff_id": admin_id, "role": StaffRole.ADMIN},
        ]
        await self._insert(StaffRoleGrant, grants)

    async def _classes(self) -> None:
        """Classes with their class teachers, and the teaching assignments."""
        used: set[int] = set()
        heads: list[_Teacher] = []
        for ci, (name, _level, _size) in enumerate(self.layout):
            teacher: _Teacher | None = None
            if name == DEMO_CLASS:
                teacher = next(t for t in self.teachers if t.role_key == "class_teacher")
            else:
                eligible = [
                    t
                    for t in self.teachers
                    if t.index not in used and t.role_key is None and t.group != "pe"
                ]
                teacher = next((t for t in eligible if ci in t.classes), None) or next(
                    iter(eligible), None
                )
            if teacher is None:  # more classes than teachers: share
                teacher = self.teachers[ci % len(self.teachers)]
            used.add(teacher.index)
            heads.append(teacher)
        rows = [
            {
                "school_id": self.school_id,
                "year_id": self.year_id,
                "name": name,
                "grade_level": level,
                "class_teacher_id": heads[ci].id,
            }
            for ci, (name, level, _size) in enumerate(self.layout)
        ]
        self.class_ids = await self._insert(SchoolClass, rows, ids=True)
        self.class_index = {name: ci for ci, (name, _, _) in enumerate(self.layout)}

        group_of = self.group_of
        keys: list[tuple[int, str]] = []
        rows = []
        for ci, items in enumerate(self.plans):
            level = self.layout[ci][1]
            subjects = dict.fromkeys(s for item in items for s in item.subjects)
            for subject in subjects:
                keys.append((ci, subject))
                rows.append(
                    {
                        "teacher_id": self.teacher_of[ci, group_of[subject]].id,
                        "class_id": self.class_ids[ci],
                        "subject_id": self.subject_ids[subject],
                        "scale_id": self.scale_ids[_scale_code(subject, level)],
                    }
                )
        ids = await self._insert(TeachingAssignment, rows, ids=True)
        self.assignment_of = dict(zip(keys, ids, strict=True))
        self.assignment_info: dict[int, tuple[int, str, _Teacher, str]] = {
            aid: (
                ci,
                subject,
                self.teacher_of[ci, group_of[subject]],
                _scale_code(subject, self.layout[ci][1]),
            )
            for (ci, subject), aid in self.assignment_of.items()
        }

    async def _people(self) -> None:
        """Students, guardians on file and the demo family's links."""
        rng, names = self.rng, self.names
        students: list[dict[str, Any]] = []
        self.student_class: list[int] = []
        self.ability: list[float] = []
        families: list[list[tuple[str, str, str]]] = []  # per student: (name, phone, relation)
        demo_student = demo_sibling = -1
        for ci, (name, level, size) in enumerate(self.layout):
            born = self.year_start.year - level - 7
            for k in range(size):
                birth = date(born, 9, 1) + timedelta(days=rng.randrange(365))
                ability = min(4.9, max(2.9, rng.gauss(4.1, 0.5)))
                if name == DEMO_CLASS and k == 0:
                    demo_student = len(students)
                    full, family = _NAMES["student"], self._demo_family()
                    ability = 4.2
                elif name == SIBLING_CLASS and k == 0:
                    demo_sibling = len(students)
                    full, family = _NAMES["sibling"], self._demo_family()
                    ability = 4.5
                else:
                    female = rng.random() < 0.5
                    surname, father = rng.choice(_SURNAMES), rng.choice(_MEN)
                    first = rng.choice(_GIRLS if female else _BOYS)
                    patronymic = _PATRONYMICS[father][1 if female else 0]
                    shown = _female_surname(surname) if female else surname
                    full = f"{shown} {first} {patronymic}"
                    family = []
                    if rng.random() < 0.9:
                        mother = names.person(female=True, surname=surname)
                        family.append((mother, names.phone(), "мать"))
                    if not family or rng.random() < 0.5:
                        dad_patronymic = _PATRONYMICS[rng.choice(_MEN)][0]
                        dad = f"{surname} {father} {dad_patronymic}"
                        family.append((dad, names.phone(), "отец"))
                students.append(
                    {
                        "school_id": self.school_id,
                        "account_id": None,
                        "full_name": full,
                        "birth_date": birth,
                    }
                )
                self.student_class.append(ci)
                self.ability.append(ability)
                families.append(family)
        students[demo_student]["account_id"] = self.account_ids["student"]
        self.student_ids = await self._insert(Student, students, ids=True)
        self.class_students: dict[int, list[int]] = defaultdict(list)
        for si, ci in enumerate(self.student_class):
            self.class_students[ci].append(si)
        await self._insert(
            Enrollment,
            [
                {
                    "student_id": self.student_ids[si],
                    "class_id": self.class_ids[ci],
                    "enrolled_on": self.year_start,
                }
                for si, ci in enumerate(self.student_class)
            ],
        )

        guardian_rows: list[dict[str, Any]] = []
        guardian_index: dict[str, int] = {}  # phone → row index (the demo parents are shared)
        links: list[tuple[int, int, str]] = []
        for si, family in enumerate(families):
            for full, phone, relation in family:
                if phone not in guardian_index:
                    guardian_index[phone] = len(guardian_rows)
                    guardian_rows.append(
                        {
                            "school_id": self.school_id,
                            "full_name": full,
                            "phone": phone,
                            "email": None,
                        }
                    )
                links.append((si, guardian_index[phone], relation))
        guardian_ids = await self._insert(Guardian, guardian_rows, ids=True)
        await self._insert(
            StudentGuardian,
            [
                {"student_id": self.student_ids[si], "guardian_id": guardian_ids[gi], "relation": r}
                for si, gi, r in links
            ],
        )

        self.demo_student = demo_student
        self.demo_sibling = demo_sibling
        mother_id = guardian_ids[guardian_index[_PHONES["mother"]]]
        parent = self.account_ids["parent"]
        await self._insert(
            Guardianship,
            [
                {
                    "student_id": self.student_ids[si],
                    "account_id": parent,
                    "guardian_id": mother_id,
                    "method": LinkMethod.DEMO,
                    "confirmed_at": self.now,
                    "confirmed_by_id": None,
                }
                for si in (demo_student, demo_sibling)
            ],
        )
        await self._insert(
            TrustedAccess,
            [
                {
                    "student_id": self.student_ids[demo_student],
                    "granted_by_id": parent,
                    "account_id": self.account_ids["trusted"],
                    "invite_hash": None,
                    "label": TRUSTED_LABEL,
                    "scopes": int(TrustScope.GRADES | TrustScope.HOMEWORK),
                    "expires_at": _utc(self.year_end, time(23, 59, 59)),
                    "created_at": self.now,
                    "accepted_at": self.now,
                }
            ],
        )

    def _demo_family(self) -> list[tuple[str, str, str]]:
        return [
            (_NAMES["mother"], _PHONES["mother"], "мать"),
            (_NAMES["father"], _PHONES["father"], "отец"),
        ]

    async def _timetable(self) -> None:
        """Mon–Fri, 5–6 lessons a day, no teacher in two rooms at once when it can be helped."""
        busy: set[tuple[int, int, int]] = set()  # (teacher index, weekday, lesson number)
        rows: list[dict[str, Any]] = []
        self.clashes = 0
        for ci, items in enumerate(self.plans):
            for (weekday, number), item in sorted(self._place(ci, items, busy).items()):
                freqs = (
                    (SlotFrequency.WEEKLY,)
                    if len(item.subjects) == 1
                    else (SlotFrequency.ODD, SlotFrequency.EVEN)
                )
                starts, ends = _BELLS[number - 1]
                for subject, freq in zip(item.subjects, freqs, strict=True):
                    rows.append(
                        {
                            "assignment_id": self.assignment_of[ci, subject],
                            "weekday": weekday,
                            "lesson_number": number,
                            "starts_at": starts,
                            "ends_at": ends,
                            "room": self.teacher_of[ci, self.group_of[subject]].room,
                            "frequency": freq,
                            "valid_from": self.year_start,
                            "valid_to": self.year_end,
                        }
                    )
        await self._insert(TimetableSlot, rows)

    def _place(
        self, ci: int, items: list[_Item], busy: set[tuple[int, int, int]]
    ) -> dict[tuple[int, int], _Item]:
        """Greedy placement of one class's week; a clash is first solved by one swap."""
        rng = self.rng
        total = sum(item.hours for item in items)
        base, extra = divmod(total, 5)
        long_days = {(ci + k) % 5 + 1 for k in range(extra)}
        free = [(wd, n) for wd in range(1, 6) for n in range(1, base + (wd in long_days) + 1)]
        placed: dict[tuple[int, int], _Item] = {}
        on_day: dict[tuple[int, str], int] = defaultdict(int)

        def staff(item: _Item) -> set[int]:
            return {self.teacher_of[ci, self.group_of[s]].index for s in item.subjects}

        def can(item: _Item, pos: tuple[int, int], leaving: set[int] = set()) -> bool:  # noqa: B006
            return all(t in leaving or (t, *pos) not in busy for t in staff(item))

        def put(item: _Item, pos: tuple[int, int], sign: int = 1) -> None:
            for t in staff(item):
                if sign > 0:
                    busy.add((t, *pos))
                else:
                    busy.discard((t, *pos))
            for subject in item.subjects:
                on_day[pos[0], subject] += sign
            if sign > 0:
                placed[pos] = item

        for item in sorted(items, key=lambda it: (-len(it.subjects), -it.hours)):
            for _ in range(item.hours):
                costs = [
                    (
                        100 * (not can(item, pos))
                        + 10 * sum(on_day[pos[0], s] for s in item.subjects),
                        rng.random(),
                        pos,
                    )
                    for pos in free
                ]
                pos = min(costs)[2]
                if not can(item, pos):
                    swap = next(
                        (
                            (q, p)
                            for q, other in placed.items()
                            if can(item, q, staff(other))
                            for p in free
                            if can(other, p)
                        ),
                        None,
                    )
                    if swap is None:
                        self.clashes += 1
                    else:
                        q, p = swap
                        other = placed[q]
                        put(other, q, -1)
                        put(other, p)
                        free[free.index(p)] = q
                        pos = q
                free.remove(pos)
                put(item, pos)
        return placed

    # -- the journal ----------------------------------------------------------------------

    async def _journal(self) -> None:
        """Topics, homework, attendance exceptions and grades for the past lessons."""
        rng = self.rng
        result = await self.session.execute(
            select(
                Lesson.id,
                Lesson.assignment_id,
                Lesson.class_id,
                Lesson.date,
                Lesson.lesson_number,
                Lesson.starts_at,
                Lesson.ends_at,
            )
            .where(Lesson.class_id.in_(self.class_ids))
            .order_by(Lesson.date, Lesson.lesson_number, Lesson.id)
        )
        lessons = result.all()
        by_assignment: dict[int, list[Any]] = defaultdict(list)
        for lesson in lessons:
            by_assignment[lesson.assignment_id].append(lesson)
        past_by_class_day: dict[tuple[int, date], list[Any]] = defaultdict(list)
        for lesson in lessons:
            if lesson.date < self.today:
                past_by_class_day[lesson.class_id, lesson.date].append(lesson)

        forced = self._forced_grade(by_assignment)
        attendance, absent = self._attendance(past_by_class_day, set(forced.items()))

        topics: list[dict[str, Any]] = []
        homework: list[dict[str, Any]] = []
        grades: list[dict[str, Any]] = []
        class_index = {cid: ci for ci, cid in enumerate(self.class_ids)}
        for aid, items in by_assignment.items():
            ci, subject, teacher, code = self.assignment_info[aid]
            level = self.layout[ci][1]
            pool = _TOPICS[subject]
            past = [lesson for lesson in items if lesson.date < self.today]
            for i, lesson in enumerate(past):
                special: GradeKind | None = None
                if i % 12 == 11 and subject != PE:
                    special = GradeKind.TEST
                if level >= 9 and subject in (MATH, RUS) and i % 24 == 23:
                    special = GradeKind.EXAM
                topic = pool[(i // 2) % len(pool)]
                if special is GradeKind.TEST:
                    topic = f"Контрольная работа: {topic}"
                elif special is GradeKind.EXAM:
                    topic = "Пробный ОГЭ" if level == 9 else "Пробный экзамен"
                topics.append({"id": lesson.id, "topic": topic})
                ended = _utc(lesson.date, lesson.ends_at)
                if rng.random() < 0.5 and special is None:
                    due = next(
                        (x.date for x in items[i + 1 :] if x.date > lesson.date),
                        lesson.date + timedelta(days=7),
                    )
                    homework.append(
                        {
                            "lesson_id": lesson.id,
                            "class_id": lesson.class_id,
                            "subject_id": self.subject_ids[subject],
                            "due_date": due,
                            "text": self._homework_text(subject),
                            "created_by_id": teacher.id,
                            "created_at": ended,
                        }
                    )
                present = [
                    si
                    for si in self.class_students[class_index[lesson.class_id]]
                    if (lesson.id, si) not in absent
                ]
                if special is None:
                    chosen = rng.sample(present, min(len(present), rng.randint(3, 5)))
                else:
                    chosen = present
                must = forced.get(lesson.id)
                if must is not None and must not in chosen:
                    chosen = [*chosen, must]
                grades.extend(
                    self._grade(si, lesson, aid, teacher, code, special, ended, force=si == must)
                    for si in chosen
                )
        if topics:
            await self.session.execute(update(Lesson), topics)
        await self._insert(Homework, homework)
        await self._insert(Attendance, attendance)
        await self._insert(Grade, grades)
        await self._period_grades(grades)

    def _forced_grade(self, by_assignment: dict[int, list[Any]]) -> dict[int, int]:
        """The demo student's "3" in Математика a few days ago, the one with a comment thread."""
        aid = self.assignment_of.get((self.class_index[DEMO_CLASS], MATH))
        past = [x for x in by_assignment.get(aid or -1, []) if x.date < self.today]
        self.thread_lesson: int | None = None
        if not past:
            return {}
        lesson = past[-3] if len(past) >= 3 else past[0]
        self.thread_lesson = lesson.id
        return {lesson.id: self.demo_student}

    def _attendance(
        self, by_class_day: dict[tuple[int, date], list[Any]], keep: set[tuple[int, int]]
    ) -> tuple[list[dict[str, Any]], set[tuple[int, int]]]:
        """About 4% exceptions: sick days (excused), some lateness, a few absences.

        Returns the attendance rows and the (lesson id, student index) pairs of students who
        were not there; the pairs in `keep` stay present.
        """
        rng = self.rng
        rows: list[dict[str, Any]] = []
        away: set[tuple[int, int]] = set()
        days_of: dict[int, list[date]] = defaultdict(list)
        for cid, day in sorted(by_class_day):
            days_of[cid].append(day)
        for ci, cid in enumerate(self.class_ids):
            sick_left = dict.fromkeys(self.class_students[ci], 0)
            for day in days_of.get(cid, []):
                day_lessons = by_class_day[cid, day]
                for si in self.class_students[ci]:
                    if sick_left[si] == 0 and rng.random() < 0.01:
                        sick_left[si] = rng.randint(1, 4)
                    sick = sick_left[si] > 0
                    if sick:
                        sick_left[si] -= 1
                    for lesson in day_lessons:
                        if (lesson.id, si) in keep:
                            continue
                        status: AttendanceStatus | None = None
                        minutes = reason = None
                        if sick:
                            status, reason = AttendanceStatus.EXCUSED, "Болезнь"
                        else:
                            roll = rng.random()
                            if roll < 0.012:
                                status, minutes = AttendanceStatus.LATE, rng.randint(2, 15)
                            elif roll < 0.016:
                                status = AttendanceStatus.ABSENT
                        if status is None:
                            continue
                        if status is not AttendanceStatus.LATE:
                            away.add((lesson.id, si))
                        rows.append(
                            {
                                "lesson_id": lesson.id,
                                "student_id": self.student_ids[si],
                                "status": status,
                                "minutes_late": minutes,
                                "reason": reason,
                                "marked_by_id": self.assignment_info[lesson.assignment_id][2].id,
                                "marked_at": _utc(day, lesson.starts_at) + timedelta(minutes=5),
                            }
                        )
        return rows, away

    def _homework_text(self, subject: str) -> str:
        rng = self.rng
        a = rng.randint(10, 400)
        s = rng.randint(1, 9)
        p = rng.randint(1, 40)
        template = rng.choice(_HOMEWORK.get(subject, _DEFAULT_HOMEWORK))
        return template.format(
            a=a, b=a + rng.randint(1, 4), c=a + rng.randint(5, 9), s=s, e=s + rng.randint(1, 3),
            p=p, q=p + 1,
        )  # fmt: skip

    def _value(self, code: str, ability: float, hard: bool) -> str:
        rng = self.rng
        if code == "pass_fail":
            return "pass" if rng.random() < 0.95 else "fail"
        x = ability + rng.gauss(0, 0.7) - (0.2 if hard else 0.0)
        if code == "hundred":
            return str(int(min(100, max(0, round(x * 20 - 5)))))
        if code == "ten":
            return str(int(min(10, max(1, round(x * 2)))))
        base = int(min(5, max(2, round(x))))
        if rng.random() < 0.12:
            sign = "+" if x > base else "-"
            if not (base == 5 and sign == "+"):
                return f"{base}{sign}"
        return str(base)

    def _grade(
        self,
        si: int,
        lesson: Any,
        aid: int,
        teacher: _Teacher,
        code: str,
        special: GradeKind | None,
        ended: datetime,
        *,
        force: bool = False,
    ) -> dict[str, Any]:
        rng = self.rng
        kind = (
            special
            or rng.choices((GradeKind.ORAL, GradeKind.CLASSWORK, GradeKind.HOMEWORK), (4, 4, 2))[0]
        )
        weight = DEFAULT_WEIGHTS[kind]
        if kind is GradeKind.CLASSWORK and rng.random() < 0.15:
            weight = 1.5  # самостоятельная работа
        value = self._value(code, self.ability[si], special is not None)
        comment: str | None = None
        if force:
            kind, weight, value, comment = GradeKind.CLASSWORK, 1.0, "3", "Ошибки в вычислениях"
        score = self._score(code, value)
        if not force and rng.random() < 0.04:
            low = score < _LOW_SCORE[code]
            comment = rng.choice(_BAD_COMMENTS if low else _GOOD_COMMENTS)
        return {
            "student_id": self.student_ids[si],
            "lesson_id": lesson.id,
            "assignment_id": aid,
            "subject_id": self.subject_ids[self.assignment_info[aid][1]],
            "date": lesson.date,
            "value": value,
            "score": score,
            "weight": weight,
            "kind": kind,
            "comment": comment,
            "author_id": teacher.id,
            "created_at": ended + timedelta(minutes=rng.randint(0, 180)),
        }

    async def _period_grades(self, grades: list[dict[str, Any]]) -> None:
        """Quarter grades (and closed quarters) for quarters entirely in the past and covered."""
        done = [
            (pid, s, e)
            for pid, (s, e) in zip(self.period_ids, self.quarters, strict=False)
            if e < self.today and s >= self.lessons_from
        ]
        if not done:
            return
        pairs: dict[tuple[int, int, int], list[tuple[float, float]]] = defaultdict(list)
        for g in grades:
            for pid, s, e in done:
                if s <= g["date"] <= e:
                    key = (g["student_id"], g["assignment_id"], pid)
                    pairs[key].append((g["score"], g["weight"]))
        ends = {pid: e for pid, _, e in done}
        rows = []
        for (student_id, aid, pid), items in pairs.items():
            _ci, _subject, teacher, code = self.assignment_info[aid]
            total = sum(s * w for s, w in items) / sum(w for _, w in items)
            value = period_value(self.scale_specs[code], total)
            rows.append(
                {
                    "student_id": student_id,
                    "assignment_id": aid,
                    "period_id": pid,
                    "proposed_value": value,
                    "value": value,
                    "set_by_id": teacher.id,
                    "set_at": _utc(ends[pid], time(18, 0)),
                }
            )
        await self._insert(PeriodGrade, rows)
        for pid, _s, e in done:
            await self.session.execute(
                update(Period)
                .where(Period.id == pid)
                .values(
                    closed_at=_utc(e + timedelta(days=3), time(12, 0)),
                    closed_by_id=self.account_ids["admin"],
                )
            )

    async def _family_activity(self) -> None:
        """The demo parent's "Seen" marks, a comment thread, and a few homework submissions."""
        rng = self.rng
        parent = self.account_ids["parent"]
        children = [self.student_ids[self.demo_student], self.student_ids[self.demo_sibling]]
        rows = await self.session.execute(
            select(Grade.id, Grade.lesson_id, Grade.student_id, Grade.date, Grade.created_at)
            .where(Grade.student_id.in_(children))
            .order_by(Grade.date, Grade.id)
        )
        acks = []
        thread_grade: Any = None
        for grade in rows:
            if grade.lesson_id == self.thread_lesson and grade.student_id == children[0]:
                thread_grade = grade
            if grade.date <= self.today - timedelta(days=3) and rng.random() < 0.8:
                acks.append(
                    {
                        "grade_id": grade.id,
                        "account_id": parent,
                        "seen_at": min(grade.created_at + timedelta(hours=4), self.now),
                    }
                )
        await self._insert(Acknowledgement, acks)

        if thread_grade is not None:
            at = min(thread_grade.created_at + timedelta(hours=3), self.now)
            thread = (
                (parent, "Добрый день! Подскажите, пожалуйста, какие темы стоит повторить?"),
                (
                    self.account_ids["teacher"],
                    "Здравствуйте! Решение линейных уравнений, § 12. "
                    "На следующей неделе Артём сможет переписать работу.",
                ),
                (parent, "Спасибо, позанимаемся!"),
            )
            reply_to: int | None = None
            for step, (author, text) in enumerate(thread):
                (reply_to,) = await self._insert(
                    Comment,
                    [
                        {
                            "grade_id": thread_grade.id,
                            "author_id": author,
                            "reply_to_id": reply_to,
                            "text": text,
                            "created_at": min(at + timedelta(hours=2 * step), self.now),
                        }
                    ],
                    ids=True,
                )

        demo_class = self.class_ids[self.class_index[DEMO_CLASS]]
        recent = (
            await self.session.execute(
                select(Homework.id, Homework.created_at, Homework.created_by_id)
                .where(Homework.class_id == demo_class)
                .order_by(Homework.created_at.desc(), Homework.id.desc())
                .limit(3)
            )
        ).all()
        subs = []
        plan = (
            (SubmissionStatus.SUBMITTED, "Сделал всё, кроме последней задачи", None),
            (SubmissionStatus.ACCEPTED, "Готово", "Хорошо, без ошибок"),
            (SubmissionStatus.RETURNED, "Сделал", "Исправь упражнение 3 и пришли снова"),
        )
        demo_id = children[0]
        for hw, (status, comment, answer) in zip(recent, plan, strict=False):
            submitted = min(hw.created_at + timedelta(hours=6), self.now)
            subs.append(
                {
                    "homework_id": hw.id,
                    "student_id": demo_id,
                    "status": status,
                    "comment": comment,
                    "teacher_comment": answer,
                    "submitted_at": submitted,
                    "reviewed_at": submitted + timedelta(hours=12) if answer else None,
                    "reviewed_by_id": hw.created_by_id if answer else None,
                }
            )
        if recent:
            classmates = self.class_students[self.class_index[DEMO_CLASS]][1:4]
            for si in classmates:
                subs.append(
                    {
                        "homework_id": recent[0].id,
                        "student_id": self.student_ids[si],
                        "status": SubmissionStatus.SUBMITTED,
                        "comment": None,
                        "teacher_comment": None,
                        "submitted_at": min(recent[0].created_at + timedelta(hours=5), self.now),
                        "reviewed_at": None,
                        "reviewed_by_id": None,
                    }
                )
        await self._insert(HomeworkSubmission, subs)


# --- reading the demo accounts back -----------------------------------------------------


async def demo_accounts(session: AsyncSession, today: date | None = None) -> list[DemoAccount]:
    """The demo accounts as they are in the database, in the order of `DEMO_TELEGRAM_IDS`,
    with the children's classes on `today` (default: today in Moscow)."""
    accounts = {
        a.telegram_id: a
        for a in await session.scalars(
            select(Account).where(Account.telegram_id.in_(DEMO_TELEGRAM_IDS.values()))
        )
    }
    by_id = {a.id: a for a in accounts.values()}
    current_class = (
        select(Enrollment.student_id, SchoolClass.name)
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .where(enrolment.current(today or _moscow_today()))
        .subquery()
    )
    ids = list(by_id)

    def with_class(account_column: Any) -> Any:
        return (
            select(account_column, Student.full_name, current_class.c.name)
            .select_from(Student)
            .outerjoin(current_class, current_class.c.student_id == Student.id)
        )

    own = {
        account_id: (name, cls)
        for account_id, name, cls in await session.execute(
            with_class(Student.account_id).where(Student.account_id.in_(ids))
        )
    }
    guarded: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for account_id, name, cls in await session.execute(
        with_class(Guardianship.account_id)
        .join(Guardianship, Guardianship.student_id == Student.id)
        .where(Guardianship.account_id.in_(ids), links.guardianship_active())
        .order_by(Student.full_name)
    ):
        guarded[account_id].append((name, cls))
    trusted: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for account_id, name, cls in await session.execute(
        with_class(TrustedAccess.account_id)
        .join(TrustedAccess, TrustedAccess.student_id == Student.id)
        .where(TrustedAccess.account_id.in_(ids), links.trust_standing())
        .order_by(TrustedAccess.id)
    ):
        trusted[account_id].append((name, cls))
    homerooms = await session.execute(
        select(Staff.account_id, SchoolClass.name)
        .join(SchoolClass, SchoolClass.class_teacher_id == Staff.id)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(Staff.account_id.in_(ids), AcademicYear.is_current)
        .order_by(SchoolClass.name.desc())
    )
    homeroom: dict[int | None, str] = dict(homerooms.all())

    def pick(children: Iterable[tuple[str, str | None]]) -> tuple[str | None, str | None]:
        items = list(children)
        if not items:
            return None, None
        preferred = [c for c in items if c[1] == DEMO_CLASS]
        return (preferred or items)[0]

    result: list[DemoAccount] = []
    for role, telegram_id in DEMO_TELEGRAM_IDS.items():
        account = accounts.get(telegram_id)
        if account is None:
            continue
        student: str | None = None
        class_name: str | None = None
        if role == "class_teacher":
            class_name = homeroom.get(account.id)
        elif role == "student":
            student, class_name = own.get(account.id, (None, None))
        elif role == "parent":
            student, class_name = pick(guarded.get(account.id, []))
        elif role == "trusted":
            student, class_name = pick(trusted.get(account.id, []))
        result.append(DemoAccount(role, telegram_id, account.full_name, class_name, student))
    return result
