"""The core every domain area builds on: who is acting, the access policy, the one domain error,
school time, enrolment (a student's current class), links (guardianship and trusted access) and
the visibility of grades. A rule lives here once; the other areas import it."""
