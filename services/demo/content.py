"""What the demo school is made of: pure data and deterministic choices, no database.

Names, subjects and curricula, bells, holidays, lesson topics, homework texts, how grades are
distributed, and the demo family's story (its comment thread and homework submissions).
Everything random draws from the `random.Random` it is given, so the builder
(`services.demo.builder`) gets the same school for the same seed and day.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

import phonenumbers

from db.enums import AttendanceStatus, GradeKind, SubmissionStatus
from services.core.grading import DEFAULT_WEIGHTS
from services.core.schooltime import local_today

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

NAMES = {
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
PHONES = {
    "admin": "+79031110001",
    "head_teacher": "+79031110002",
    "class_teacher": "+79031110003",
    "teacher": "+79031110004",
    "mother": "+79161234567",
    "father": "+79167654321",
}
TRUSTED_LABEL = "Бабушка"
MOTHER, FATHER = "мать", "отец"  # relations on file
SICK = "Болезнь"  # the reason of an excused absence
GYM = "Спортзал"  # the physical education teachers' room

try:
    from zoneinfo import ZoneInfo

    MSK: tzinfo = ZoneInfo(DEMO_TIMEZONE)
except Exception:  # no tz database: Moscow has been UTC+3 all year since 2014
    MSK = timezone(timedelta(hours=3))

BELLS = (
    (time(8, 30), time(9, 15)),
    (time(9, 25), time(10, 10)),
    (time(10, 30), time(11, 15)),
    (time(11, 35), time(12, 20)),
    (time(12, 30), time(13, 15)),
    (time(13, 25), time(14, 10)),
    (time(14, 20), time(15, 5)),
)


# --- static content ---------------------------------------------------------------------

# name, short name, teacher group, first grade level
SUBJECTS: tuple[tuple[str, str, str, int], ...] = (
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
MATH, RUS, LIT, ENG, HIST, SOC, GEO, BIO, CHEM, PHYS, INF, PE = (s[0] for s in SUBJECTS)
# A shared slot: Информатика on odd weeks, Биология on even weeks.
ALTERNATING = (INF, BIO)


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


def scale_code(subject: str, level: int) -> str:
    if subject == PE:
        return "pass_fail"
    if subject == INF and level == 9:
        return "hundred"
    return "five"


TOPICS: dict[str, tuple[str, ...]] = {
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


class Names:
    """Deterministic Russian names and +7 mobile numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.phones: set[str] = set(PHONES.values())

    def person(
        self,
        *,
        female: bool,
        surname: str | None = None,
        father: str | None = None,
        first: str | None = None,
    ) -> str:
        """A full name "surname first patronymic". What is not given is drawn: the surname,
        the father's first name (for the patronymic) and an adult's first name."""
        rng = self.rng
        base = surname or rng.choice(_SURNAMES)
        patronymic = _PATRONYMICS[father or rng.choice(_MEN)][1 if female else 0]
        given = first or rng.choice(_WOMEN if female else _MEN)
        return f"{_female_surname(base) if female else base} {given} {patronymic}"

    def student(self) -> tuple[str, str, str]:
        """A child's full name, the family's surname and the father's first name."""
        rng = self.rng
        female = rng.random() < 0.5
        surname, father = rng.choice(_SURNAMES), rng.choice(_MEN)
        first = rng.choice(_GIRLS if female else _BOYS)
        full = self.person(female=female, surname=surname, father=father, first=first)
        return full, surname, father

    def family(self, surname: str, father: str) -> list[tuple[str, str, str]]:
        """A student's guardians on file, (name, phone, relation): mostly a mother, often a
        father, always at least one."""
        rng = self.rng
        family: list[tuple[str, str, str]] = []
        if rng.random() < 0.9:
            family.append((self.person(female=True, surname=surname), self.phone(), MOTHER))
        if not family or rng.random() < 0.5:
            dad = self.person(female=False, surname=surname, first=father)
            family.append((dad, self.phone(), FATHER))
        return family

    def phone(self) -> str:
        """A new mobile number that `phonenumbers` (the importer's check) finds valid."""
        while True:
            number = f"+79{self.rng.randrange(10**9):09d}"
            if number not in self.phones and phonenumbers.is_valid_number(
                phonenumbers.parse(number)
            ):
                self.phones.add(number)
                return number


def demo_family() -> list[tuple[str, str, str]]:
    """The demo parents on file, (name, phone, relation), shared by the two demo children."""
    return [
        (NAMES["mother"], PHONES["mother"], MOTHER),
        (NAMES["father"], PHONES["father"], FATHER),
    ]


# --- school time ----------------------------------------------------------------------------


def moscow_today() -> date:
    return local_today(MSK)


def school_day(today: date, weeks: int) -> date:
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


def utc(day: date, at: time) -> datetime:
    """A Moscow wall-clock moment in UTC."""
    return datetime.combine(day, at, tzinfo=MSK).astimezone(UTC)


def _week_of(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


#: the source ids of `Calendar.holidays`, in their order
HOLIDAY_KEYS = ("autumn", "winter", "feb23", "mar8", "spring", "may1", "may9")


@dataclass(frozen=True)
class Calendar:
    """The academic year starting in September of `first`: its holidays and four quarters."""

    first: int

    @property
    def starts_on(self) -> date:
        return date(self.first, 9, 1)

    @property
    def ends_on(self) -> date:
        return date(self.first + 1, 5, 31)

    @property
    def name(self) -> str:
        return f"{self.first}/{self.first + 1}"

    def _breaks(self) -> tuple[tuple[date, date], tuple[date, date], tuple[date, date]]:
        first = self.first
        autumn = _week_of(date(first, 11, 4))
        winter = (date(first, 12, 30), date(first + 1, 1, 8))
        spring = _week_of(date(first + 1, 3, 25))
        return autumn, winter, spring

    def holidays(self) -> list[tuple[str, date, date]]:  # keys: `HOLIDAY_KEYS`
        """(name, first day, last day) of the school holidays and public holidays."""
        nxt = self.first + 1
        autumn, winter, spring = self._breaks()
        return [
            ("Осенние каникулы", *autumn),
            ("Зимние каникулы", *winter),
            ("День защитника Отечества", date(nxt, 2, 23), date(nxt, 2, 23)),
            ("Международный женский день", date(nxt, 3, 8), date(nxt, 3, 8)),
            ("Весенние каникулы", *spring),
            ("Праздник Весны и Труда", date(nxt, 5, 1), date(nxt, 5, 1)),
            ("День Победы", date(nxt, 5, 9), date(nxt, 5, 9)),
        ]

    def quarters(self) -> list[tuple[date, date]]:
        """The four quarters, between the holidays."""
        one = timedelta(days=1)
        autumn, winter, spring = self._breaks()
        return [
            (self.starts_on, autumn[0] - one),
            (autumn[1] + one, winter[0] - one),
            (winter[1] + one, spring[0] - one),
            (spring[1] + one, self.ends_on),
        ]


def calendar_of(day: date) -> Calendar:
    """The academic year `day` falls in (September to August)."""
    return Calendar(day.year if day.month >= 9 else day.year - 1)


# --- classes and their week -----------------------------------------------------------------


def class_layout(total: int) -> list[tuple[str, int, int]]:
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


@dataclass
class Item:
    """One weekly timetable position: one subject, or two alternating by week parity."""

    subjects: tuple[str, ...]
    hours: int


def week_plan(level: int) -> list[Item]:
    """A class's weekly positions: its curriculum and the alternating slot."""
    return [
        *(Item((subject,), hours) for subject, hours in _curriculum(level)),
        Item(ALTERNATING, 1),
    ]


# --- the journal's content ------------------------------------------------------------------


def lesson_kind(subject: str, level: int, index: int) -> GradeKind | None:
    """What the `index`-th past lesson of a subject is graded as: a test every twelfth lesson
    (not in physical education), a mock exam every 24th in mathematics and Russian from grade
    9 on; None for an ordinary lesson."""
    special: GradeKind | None = None
    if index % 12 == 11 and subject != PE:
        special = GradeKind.TEST
    if level >= 9 and subject in (MATH, RUS) and index % 24 == 23:
        special = GradeKind.EXAM
    return special


def lesson_topic(subject: str, index: int, special: GradeKind | None, level: int) -> str:
    """The topic of the `index`-th past lesson of a subject (a test or a mock exam named so)."""
    pool = TOPICS[subject]
    topic = pool[(index // 2) % len(pool)]
    if special is GradeKind.TEST:
        return f"Контрольная работа: {topic}"
    if special is GradeKind.EXAM:
        return "Пробный ОГЭ" if level == 9 else "Пробный экзамен"
    return topic


def homework_text(rng: random.Random, subject: str) -> str:
    a = rng.randint(10, 400)
    s = rng.randint(1, 9)
    p = rng.randint(1, 40)
    template = rng.choice(_HOMEWORK.get(subject, _DEFAULT_HOMEWORK))
    return template.format(
        a=a, b=a + rng.randint(1, 4), c=a + rng.randint(5, 9), s=s, e=s + rng.randint(1, 3),
        p=p, q=p + 1,
    )  # fmt: skip


def attendance_mark(
    rng: random.Random, *, sick: bool
) -> tuple[AttendanceStatus, int | None, str | None] | None:
    """(status, minutes late, reason) of a student in one lesson, None when present: excused
    all day when sick, otherwise about 1.2% late by 2–15 minutes and 0.4% absent."""
    if sick:
        return AttendanceStatus.EXCUSED, None, SICK
    roll = rng.random()
    if roll < 0.012:
        return AttendanceStatus.LATE, rng.randint(2, 15), None
    if roll < 0.016:
        return AttendanceStatus.ABSENT, None, None
    return None


def grade_kind(rng: random.Random, special: GradeKind | None) -> tuple[GradeKind, float]:
    """The kind and weight of a grade: `special` (a test or exam) or oral, classwork and
    homework 4:4:2, with some classwork weighted 1.5 (an independent piece of work)."""
    kind = (
        special
        or rng.choices((GradeKind.ORAL, GradeKind.CLASSWORK, GradeKind.HOMEWORK), (4, 4, 2))[0]
    )
    weight = DEFAULT_WEIGHTS[kind]
    if kind is GradeKind.CLASSWORK and rng.random() < 0.15:
        weight = 1.5  # самостоятельная работа
    return kind, weight


def grade_value(rng: random.Random, code: str, ability: float, hard: bool) -> str:
    """A grade on scale `code` for a student of `ability` (on the five-point scale), a little
    lower on a test or an exam (`hard`); about one in eight five-point grades with + or −."""
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


def grade_comment(rng: random.Random, code: str, score: float) -> str:
    """A teacher's comment that fits the grade: praise, or what went wrong."""
    low = score < _LOW_SCORE[code]
    return rng.choice(_BAD_COMMENTS if low else _GOOD_COMMENTS)


# --- the demo family's story ----------------------------------------------------------------

#: The demo student's "3" in Математика, the grade the comment thread is about.
THREAD_GRADE = ("3", "Ошибки в вычислениях")
#: (author, text) of the thread under it: the parent asks, the teacher answers.
THREAD: tuple[tuple[str, str], ...] = (
    ("parent", "Добрый день! Подскажите, пожалуйста, какие темы стоит повторить?"),
    (
        "teacher",
        "Здравствуйте! Решение линейных уравнений, § 12. "
        "На следующей неделе Артём сможет переписать работу.",
    ),
    ("parent", "Спасибо, позанимаемся!"),
)
#: The demo student's submissions of the class's latest homework, newest first:
#: (status, the student's comment, the teacher's answer).
SUBMISSIONS: tuple[tuple[SubmissionStatus, str, str | None], ...] = (
    (SubmissionStatus.SUBMITTED, "Сделал всё, кроме последней задачи", None),
    (SubmissionStatus.ACCEPTED, "Готово", "Хорошо, без ошибок"),
    (SubmissionStatus.RETURNED, "Сделал", "Исправь упражнение 3 и пришли снова"),
)
