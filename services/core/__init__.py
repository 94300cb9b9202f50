"""The core every domain area builds on (and which builds on no other area; tests/test_layers.py):

- `actors`: who is acting (an `Actor`: roles, linked children), loaded once per update;
- `access`: the one access policy (`can`, `require`, `denied`) for every read and write;
- `errors`: the one `DomainError` (a key, details and how it is shown);
- `schooltime`: the school's zone, its local day and the day's bounds as UTC instants;
- `enrolment`: a student's class on a day and their current class;
- `links`: active guardianship and the states of a trusted grant;
- `visibility`: the grade a family may see, and when a held grade is released;
- `grading`: scales, parsing grades, weighted averages and period grades;
- `timetable`: the weekly timetable, odd/even weeks and the lessons it generates;
- `files`: what is kept of a file someone sends; `audit`: the audit trail and its actions;
- `redaction`: what logs may keep of personal data.
"""
