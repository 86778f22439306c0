"""The practice's day report: who was seen, how long they waited to be called, who did not
come, how patients checked in, what they thought of it, and how honest the wait estimates
shown to them were. Per provider and for the whole site (the ``total`` row).

:func:`day_report` reads one local calendar day of one site; the :class:`DayReport` it
returns prints as text (:meth:`DayReport.as_text`), writes one CSV
(:meth:`DayReport.write_csv`) and turns into plain JSON (:meth:`DayReport.as_json`).
It carries ticket codes and provider names only: never a patient's name, birth date or the
name reception typed for a walk-in (the queries do not even read them).

Definitions
-----------
* checked in: the day's visits (``Visit.service_date``), counted by their status as of the
  report: seen (done), in room, called (not yet in the room), waiting, and left (left
  without being seen).
* wait: from check-in to call (``Visit.checked_in_at`` to ``Visit.called_at``) in minutes,
  for the visits that were called; one taken straight into the room counts that as its
  call. Median and 90th percentile (P90) are ``numpy.percentile(..., method="linear")``:
  linear interpolation between closest ranks, the same as
  ``statistics.quantiles(method="inclusive")`` and spreadsheets' PERCENTILE.INC.
* within target: waits of at most ``target_wait_minutes``, as a share of the waits measured.
* no-show: an appointment starting within the local day, at any location of the site, still
  booked (or marked no-show) and never checked in, whose start has passed: an appointment
  later than the report's moment is not a no-show yet.
* estimates: the waits shown at check-in with a number (``WaitEstimateRecord.known``), for
  the day's visits, by the provider whose queue they were shown for; error and share within
  the bound count those whose patient has been called (``actual`` known). The summary comes
  from :func:`kiosk.services.waits.accuracy`, as ``kiosk eta-report``'s does.
* feedback: site-wide only, since answers are anonymous and linked to no visit or provider.
  The feedback table has no site column: it is every kiosk's answer on this database.

Rounding: minutes to 0.1, shares (fractions of 1, not percent) to 0.001, the feedback mean
to 0.01. ``None`` (empty in the CSV) means there was nothing to measure.

CSV format
----------
UTF-8, comma-separated, a header row ``section,provider,metric,value`` and then one figure
per row (tidy long format). ``provider`` is the provider's display name, ``total`` for the
whole site, or empty for the report's own details:

============  ==================  ==========================================================
section       provider            metric (value)
============  ==================  ==========================================================
report        (empty)             site_id, site_name, day, as_of (ISO 8601, local time),
                                  timezone, target_wait_minutes, percentile_method
visits        name, total         checked_in, seen, in_room, called, waiting, left, no_shows
waits         name, total         count, median_minutes, p90_minutes, within_target,
                                  share_within_target
method        name, total         qr, name_dob, staff, text (check-ins; every method, even at 0)
language      name, total         a language code such as en or zh_Hans (check-ins)
estimates     name, total         shown, with_actual, mean_absolute_error_minutes,
                                  within_upper, share_within_upper
longest_wait  the ticket's        the ticket code (minutes waited); up to five rows,
              provider            longest first
feedback      total               count, mean, score_1 ... score_5 (answers with that score)
segments      a segment, such as  day_ and last_30_days_ called, mean_absolute_error_minutes,
              walk_in 0-10 or     share_within_5, share_past_bound_by_5 (the estimates shown
              booked 40+          with a number, by walk-in or booked and predicted wait)
============  ==================  ==========================================================

Providers come in order of display name, each section's ``total`` after them.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any, Final

import numpy as np
from babel import Locale
from babel.dates import format_date
from sqlalchemy import select

from kiosk.base.clock import local_day_bounds
from kiosk.base.i18n import S_, is_right_to_left, staff_translate
from kiosk.services.waits import (
    Accuracy,
    SegmentFigures,
    accuracy,
    actual_minutes,
    segment_figures,
)
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    CheckinMethod,
    Feedback,
    Provider,
    Site,
    Visit,
    VisitStatus,
    WaitEstimateRecord,
)
from kiosk.store.site import SiteContext

TOTAL = "total"
LONGEST_WAITS = 5
PERCENTILE_METHOD: Final = "linear"  # numpy's name; "inclusive" in the statistics module
CSV_HEADER = ("section", "provider", "metric", "value")
# Appointments that would have become a visit had the patient come (not cancelled, not
# checked in upstream, not already seen).
NO_SHOW_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.NOSHOW)
SCORES = (1, 2, 3, 4, 5)
METHOD_LABELS = {CheckinMethod.QR: S_("QR code"), CheckinMethod.NAME_DOB: S_("name and birth date"),
                 CheckinMethod.STAFF: S_("reception"), CheckinMethod.TEXT: S_("text message")}


# -- the report's parts ----------------------------------------------------------------------

@dataclass(frozen=True)
class WaitFigures:
    """Waits from check-in to call, in minutes, of the visits that were called."""

    count: int
    median_minutes: float | None
    p90_minutes: float | None
    within_target: int

    @property
    def share_within_target(self) -> float | None:
        return _share(self.within_target, self.count)


@dataclass(frozen=True)
class EstimateFigures:
    """How close the waits shown at check-in came to the waits that followed."""

    shown: int          # estimates shown with a number
    with_actual: int    # of which the patient has been called
    mean_absolute_error_minutes: float | None   # |median shown - actual|
    within_upper: int   # actual wait at most the upper bound shown

    @property
    def share_within_upper(self) -> float | None:
        return _share(self.within_upper, self.with_actual)


@dataclass(frozen=True)
class Figures:
    """One provider's day, or the whole site's (``provider == TOTAL``)."""

    provider: str
    checked_in: int
    seen: int
    in_room: int
    called: int        # called, not yet in the room
    waiting: int
    left: int          # left without being seen
    no_shows: int
    waits: WaitFigures
    by_method: tuple[tuple[str, int], ...]    # (CheckinMethod value, check-ins), every method
    by_language: tuple[tuple[str, int], ...]  # (language code, check-ins), most first
    estimates: EstimateFigures


@dataclass(frozen=True)
class LongWait:
    ticket: str
    provider: str
    minutes: float


@dataclass(frozen=True)
class FeedbackFigures:
    count: int
    mean: float | None
    distribution: tuple[tuple[int, int], ...]  # (score, answers) for every score 1 to 5


@dataclass(frozen=True)
class DayReport:
    site_id: str
    site_name: str
    day: date
    as_of: datetime      # the report's moment, in the practice's time zone
    timezone: str
    target_wait_minutes: int
    providers: tuple[Figures, ...]   # in order of display name
    total: Figures
    longest_waits: tuple[LongWait, ...]
    feedback: FeedbackFigures
    # The estimates by segment (walk-in or booked, band of the predicted wait): this day
    # and the 30 days up to it, the site's whole record, as kiosk eta-report counts them.
    segments: tuple[SegmentFigures, ...] = ()

    def _details(self) -> list[tuple[str, str | int]]:
        """What the report covers and how it counts (the CSV's ``report`` rows)."""
        return [("site_id", self.site_id), ("site_name", self.site_name),
                ("day", self.day.isoformat()), ("as_of", self.as_of.isoformat()),
                ("timezone", self.timezone), ("target_wait_minutes", self.target_wait_minutes),
                ("percentile_method", PERCENTILE_METHOD)]

    # -- JSON --------------------------------------------------------------------------------

    def as_json(self) -> dict[str, Any]:
        return {
            **dict(self._details()),
            "providers": [_figures_json(figures) for figures in self.providers],
            "total": _figures_json(self.total),
            "longest_waits": [{"ticket": wait.ticket, "provider": wait.provider,
                               "minutes": wait.minutes} for wait in self.longest_waits],
            "feedback": {"count": self.feedback.count, "mean": self.feedback.mean,
                         # JSON keys are strings.
                         "distribution": {str(score): answers
                                          for score, answers in self.feedback.distribution}},
            "estimate_segments": [
                {"segment": part.segment,
                 **{when: dict(_segment_metrics(accuracy_of))
                    for when, accuracy_of in (("day", part.day),
                                              ("last_30_days", part.last_30_days))}}
                for part in self.segments],
        }

    # -- CSV ---------------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[str, str, str, Any]]:
        """(section, provider, metric, value): the CSV's rows, as the module describes."""
        for metric, detail in self._details():
            yield "report", "", metric, detail
        everyone = (*self.providers, self.total)
        for figures in everyone:
            for metric, value in _visit_metrics(figures):
                yield "visits", figures.provider, metric, value
        for figures in everyone:
            for metric, value in _wait_metrics(figures.waits):
                yield "waits", figures.provider, metric, value
        for figures in everyone:
            for method, count in figures.by_method:
                yield "method", figures.provider, method, count
        for figures in everyone:
            for language, count in figures.by_language:
                yield "language", figures.provider, language, count
        for figures in everyone:
            for metric, value in _estimate_metrics(figures.estimates):
                yield "estimates", figures.provider, metric, value
        for wait in self.longest_waits:
            yield "longest_wait", wait.provider, wait.ticket, wait.minutes
        yield "feedback", TOTAL, "count", self.feedback.count
        yield "feedback", TOTAL, "mean", self.feedback.mean
        for score, answers in self.feedback.distribution:
            yield "feedback", TOTAL, f"score_{score}", answers
        for part in self.segments:
            for when, accuracy_of in (("day", part.day), ("last_30_days", part.last_30_days)):
                for metric, value in _segment_metrics(accuracy_of):
                    yield "segments", part.segment, f"{when}_{metric}", value

    def write_csv(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_HEADER)
            for section, provider, metric, value in self.rows():
                writer.writerow((section, provider, metric, "" if value is None else value))

    # -- text and HTML ---------------------------------------------------------------------

    def tables(self, language: str = "en") -> list[ReportTable]:
        """The report as titled tables, in the staff ``language`` (the reception catalog)."""
        def t(message: str, **values: object) -> str:
            return staff_translate(message, language, **values)

        everyone = (*self.providers, self.total)
        target = self.target_wait_minutes

        def label(figures: Figures) -> str:
            return t(S_("Total")) if figures.provider == TOTAL else figures.provider

        methods = [CheckinMethod(method) for method, _ in self.total.by_method]
        feedback = self.feedback
        return [
            ReportTable(t(S_("Patients")), (
                "", t(S_("checked in")), t(S_("seen")), t(S_("in room")), t(S_("called")),
                t(S_("waiting")), t(S_("left*")), t(S_("no-shows"))),
                [(label(f), f.checked_in, f.seen, f.in_room, f.called, f.waiting, f.left,
                  f.no_shows) for f in everyone],
                [t(S_("* left without being seen"))]),
            ReportTable(t(S_("Wait from check-in to call, minutes (patients called)")), (
                "", t(S_("called")), t(S_("median")), t(S_("P90")),
                t(S_("within {minutes} min"), minutes=target)),
                [(label(f), f.waits.count, _number(f.waits.median_minutes),
                  _number(f.waits.p90_minutes),
                  _part(f.waits.within_target, f.waits.share_within_target))
                 for f in everyone],
                [t(S_("Median and P90 interpolate linearly between ranks (numpy 'linear', as "
                      "PERCENTILE.INC)."))]),
            ReportTable(t(S_("Longest waits")), (
                t(S_("ticket")), t(S_("minutes")), t(S_("provider"))),
                [(wait.ticket, f"{wait.minutes:.1f}", wait.provider)
                 for wait in self.longest_waits],
                [] if self.longest_waits else [t(S_("None: nobody was called."))]),
            ReportTable(t(S_("Check-ins by method")), (
                "", *(t(METHOD_LABELS[method]) for method in methods)),
                [(label(f), *(dict(f.by_method)[method] for method in methods))
                 for f in everyone], []),
            ReportTable(t(S_("Check-ins by language")), ("", t(S_("languages"))),
                        [(label(f), ", ".join(f"{code} {count}" for code, count
                                              in f.by_language) or "-") for f in everyone],
                        []),
            ReportTable(t(S_("Feedback (anonymous, whole site)")), (
                t(S_("answers")), t(S_("mean of 5")),
                *(t(S_("score {score}"), score=score) for score in SCORES)),
                [(feedback.count, _number(feedback.mean, digits=2),
                  *(answers for _score, answers in feedback.distribution))], []),
            ReportTable(t(S_("Wait estimates shown with a number, against the wait that "
                             "followed")), (
                "", t(S_("shown")), t(S_("called")), t(S_("mean error, min")),
                t(S_("within bound"))),
                [(label(f), f.estimates.shown, f.estimates.with_actual,
                  _number(f.estimates.mean_absolute_error_minutes),
                  _part(f.estimates.within_upper, f.estimates.share_within_upper))
                 for f in everyone], []),
            ReportTable(t(S_("Wait estimates by segment: this day, then the 30 days up to it")),
                        ("", t(S_("called")), t(S_("mean error, min")), t(S_("within 5 min")),
                         t(S_("past the bound by 5+ min")), t(S_("30 days: called")),
                         t(S_("mean error, min")), t(S_("within 5 min")),
                         t(S_("past the bound by 5+ min"))),
                        [(_segment_label(t, part.segment),
                          *_segment_cells(part.day), *_segment_cells(part.last_30_days))
                         for part in self.segments], []),
        ]

    def heading(self, language: str = "en") -> tuple[str, str]:
        """The report's title and the line under it (what, when, against which target)."""
        locale = Locale.parse(language)
        title = staff_translate(S_("Day report for {day}, {site} (site {site_id})"), language,
                                day=format_date(self.day, "full", locale=locale),
                                site=self.site_name, site_id=self.site_id)
        as_of = staff_translate(S_("As of {moment} ({timezone}). Target wait: {minutes} min."),
                                language, moment=f"{self.as_of:%Y-%m-%d %H:%M}",
                                timezone=self.timezone, minutes=self.target_wait_minutes)
        return title, as_of

    def as_text(self, language: str = "en") -> str:
        """Plain text for a terminal: columns padded by display width (CJK counts two)."""
        lines = [*self.heading(language)]
        for table in self.tables(language):
            lines += ["", table.title]
            cells = [[str(cell) for cell in row] for row in [table.columns, *table.rows]]
            columns = range(len(table.columns))
            widths = [max(_width(row[i]) for row in cells) for i in columns]
            # Figures line up on the right, words (names, tickets) on the left.
            words = [not all(_FIGURE.fullmatch(row[i]) for row in cells[1:]) for i in columns]
            for row in cells:
                lines.append("  ".join(_pad(cell, widths[i], left=words[i])
                                       for i, cell in enumerate(row)).rstrip())
            lines += [f"  {note}" for note in table.notes]
        return "\n".join(lines)  # no final newline: callers print() it

    def as_html(self, language: str = "en") -> str:
        """The same tables for a rich-text view (reception's panel), right to left where the
        language is."""
        direction = "rtl" if is_right_to_left(language) else "ltr"
        title, as_of = self.heading(language)
        parts = [f'<div dir="{direction}"><h2>{escape(title)}</h2><p>{escape(as_of)}</p>']
        for table in self.tables(language):
            parts.append(f"<h3>{escape(table.title)}</h3>")
            if table.rows:
                parts.append('<table cellspacing="0" cellpadding="4" border="1">')
                parts.append("<tr>" + "".join(f"<th>{escape(str(c))}</th>"
                                              for c in table.columns) + "</tr>")
                for row in table.rows:
                    parts.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row)
                                 + "</tr>")
                parts.append("</table>")
            parts += [f"<p><small>{escape(note)}</small></p>" for note in table.notes]
        return "".join(parts) + "</div>"


@dataclass(frozen=True)
class ReportTable:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[object, ...]]
    notes: list[str]


_FIGURE = re.compile(r"[-\d.,%() ]+")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int, *, left: bool) -> str:
    room = " " * (width - _width(text))
    return text + room if left else room + text


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _part(count: int, share: float | None) -> str:
    return "-" if share is None else f"{count} ({share:.0%})"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


# The metric names below are shared by the CSV and the JSON, so the two always agree.
_Metric = tuple[str, float | None]  # counts are ints, None: nothing to measure

def _visit_metrics(figures: Figures) -> list[_Metric]:
    return [("checked_in", figures.checked_in), ("seen", figures.seen),
            ("in_room", figures.in_room), ("called", figures.called),
            ("waiting", figures.waiting), ("left", figures.left),
            ("no_shows", figures.no_shows)]


def _wait_metrics(waits: WaitFigures) -> list[_Metric]:
    return [("count", waits.count), ("median_minutes", waits.median_minutes),
            ("p90_minutes", waits.p90_minutes), ("within_target", waits.within_target),
            ("share_within_target", waits.share_within_target)]


def _estimate_metrics(estimates: EstimateFigures) -> list[_Metric]:
    return [("shown", estimates.shown), ("with_actual", estimates.with_actual),
            ("mean_absolute_error_minutes", estimates.mean_absolute_error_minutes),
            ("within_upper", estimates.within_upper),
            ("share_within_upper", estimates.share_within_upper)]


def _segment_metrics(found: Accuracy | None) -> list[_Metric]:
    if found is None:
        return [("called", 0), ("mean_absolute_error_minutes", None), ("share_within_5", None),
                ("share_past_bound_by_5", None)]
    return [("called", found.records),
            ("mean_absolute_error_minutes", found.mean_absolute_error),
            ("share_within_5", found.within_5), ("share_past_bound_by_5", found.over_upper_by_5)]


def _segment_cells(found: Accuracy | None) -> tuple[object, ...]:
    if found is None:
        return (0, "-", "-", "-")
    return (found.records, _number(found.mean_absolute_error), f"{found.within_5:.0%}",
            f"{found.over_upper_by_5:.0%}")


def _segment_label(t: Any, segment: str) -> str:
    # Words, not "0-10": a range of digits reads backwards in a right-to-left language.
    kind, band = segment.split()
    if band.endswith("+"):
        low = band.rstrip("+")
        return str(t(S_("Walk-ins, predicted {low} min or more"), low=low) if kind == "walk_in"
                   else t(S_("Booked, predicted {low} min or more"), low=low))
    low, high = band.split("-")
    return str(t(S_("Walk-ins, predicted {low} to {high} min"), low=low, high=high)
               if kind == "walk_in"
               else t(S_("Booked, predicted {low} to {high} min"), low=low, high=high))


def _figures_json(figures: Figures) -> dict[str, Any]:
    return {
        "provider": figures.provider,
        "visits": dict(_visit_metrics(figures)),
        "waits": dict(_wait_metrics(figures.waits)),
        "by_method": dict(figures.by_method),
        "by_language": dict(figures.by_language),
        "estimates": dict(_estimate_metrics(figures.estimates)),
    }


# -- building it -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _VisitFacts:
    provider_id: int
    ticket: str
    ticket_number: int
    method: CheckinMethod
    language: str
    status: VisitStatus
    wait_minutes: float | None   # check-in to call; None if never called


@dataclass(frozen=True)
class _Estimate:
    provider_id: int
    median: float
    upper: float
    actual: float | None


def day_report(ctx: SiteContext, day: date) -> DayReport:
    """The report of the local calendar ``day`` of ``ctx``'s site, as of ``ctx.now()``."""
    site_id = ctx.settings.site_id
    day_start, day_end = local_day_bounds(day, ctx.tz)
    now = ctx.now()
    with ctx.db.read() as session:
        # Only codes, times and ids are read: no patient or walk-in names.
        visits = [
            _VisitFacts(row.provider_id, row.ticket_code, row.ticket_number, row.method,
                        row.language, row.status,
                        None if row.called_at is None else _minutes(row.checked_in_at,
                                                                    row.called_at))
            for row in session.execute(
                select(Visit.provider_id, Visit.ticket_code, Visit.ticket_number, Visit.method,
                       Visit.language, Visit.status, Visit.checked_in_at, Visit.called_at)
                .where(Visit.site_id == site_id, Visit.service_date == day))]
        appointments = session.execute(
            select(Appointment.provider_id, Appointment.start, Appointment.status,
                   Visit.id.label("visit_id"))
            .outerjoin(Visit, Visit.appointment_id == Appointment.id)
            .where(Appointment.site_id == site_id, Appointment.start >= day_start,
                   Appointment.start < day_end)).all()
        estimates = [
            _Estimate(row.provider_id, float(row.median), float(row.upper),
                      actual_minutes(row.shown_at, row.called_at))
            for row in session.execute(
                select(WaitEstimateRecord.provider_id, WaitEstimateRecord.median,
                       WaitEstimateRecord.upper, WaitEstimateRecord.shown_at, Visit.called_at)
                .join(Visit, Visit.id == WaitEstimateRecord.visit_id)
                .where(Visit.site_id == site_id, Visit.service_date == day,
                       WaitEstimateRecord.known.is_(True)))]
        segments = segment_figures(session, ctx, day)
        # Feedback keeps only the start of its local day (kiosk.services.lobby.record_feedback).
        scores = list(session.scalars(select(Feedback.score).where(
            Feedback.at >= day_start, Feedback.at < day_end)))
        no_shows = Counter(
            row.provider_id for row in appointments
            if row.visit_id is None and row.status in NO_SHOW_STATUSES and row.start < now)
        provider_ids = ({visit.provider_id for visit in visits}
                        | {estimate.provider_id for estimate in estimates}
                        | {row.provider_id for row in appointments
                           if row.status != AppointmentStatus.CANCELLED})
        names: dict[int, str] = {
            provider_id: name for provider_id, name in session.execute(
                select(Provider.id, Provider.display_name)
                .where(Provider.id.in_(provider_ids)))}
        site = session.get(Site, site_id)
        site_name = site.name if site is not None else ctx.settings.site_name

    target = ctx.settings.target_wait_minutes
    ordered = sorted(provider_ids, key=lambda provider_id: (names[provider_id], provider_id))
    providers = tuple(
        _figures(names[provider_id], target,
                 [visit for visit in visits if visit.provider_id == provider_id],
                 no_shows[provider_id],
                 [estimate for estimate in estimates if estimate.provider_id == provider_id])
        for provider_id in ordered)
    total = _figures(TOTAL, target, visits, sum(no_shows.values()), estimates)
    called = [visit for visit in visits if visit.wait_minutes is not None]
    # Longest first; equal waits in ticket order, so the list is the same on every run.
    called.sort(key=lambda visit: (-(visit.wait_minutes or 0.0), visit.ticket_number))
    longest = tuple(LongWait(visit.ticket, names[visit.provider_id],
                             round(visit.wait_minutes or 0.0, 1))
                    for visit in called[:LONGEST_WAITS])
    return DayReport(site_id=site_id, site_name=site_name, day=day, as_of=ctx.local(now),
                     timezone=ctx.settings.timezone, target_wait_minutes=target,
                     providers=providers, total=total, longest_waits=longest,
                     feedback=_feedback(scores), segments=tuple(segments))


def _minutes(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 60)


def _figures(provider: str, target_minutes: int, visits: Sequence[_VisitFacts], no_shows: int,
             estimates: Sequence[_Estimate]) -> Figures:
    statuses = Counter(visit.status for visit in visits)
    methods = Counter(visit.method for visit in visits)
    languages = Counter(visit.language for visit in visits)
    return Figures(
        provider=provider,
        checked_in=len(visits),
        seen=statuses[VisitStatus.DONE],
        in_room=statuses[VisitStatus.IN_ROOM],
        called=statuses[VisitStatus.CALLED],
        waiting=statuses[VisitStatus.WAITING],
        left=statuses[VisitStatus.LEFT],
        no_shows=no_shows,
        waits=_waits([visit.wait_minutes for visit in visits if visit.wait_minutes is not None],
                     target_minutes),
        by_method=tuple((method.value, methods[method]) for method in CheckinMethod),
        by_language=tuple(sorted(languages.items(), key=lambda item: (-item[1], item[0]))),
        estimates=_estimates(estimates),
    )


def _waits(minutes: Sequence[float], target_minutes: int) -> WaitFigures:
    if not minutes:
        return WaitFigures(0, None, None, 0)
    median, p90 = np.percentile(minutes, [50, 90], method=PERCENTILE_METHOD)
    return WaitFigures(count=len(minutes), median_minutes=round(float(median), 1),
                       p90_minutes=round(float(p90), 1),
                       within_target=sum(wait <= target_minutes for wait in minutes))


def _estimates(estimates: Sequence[_Estimate]) -> EstimateFigures:
    triples = [(estimate.median, estimate.upper, estimate.actual) for estimate in estimates
               if estimate.actual is not None]
    summary = accuracy(triples)  # eta-report's summary (its error is rounded to 0.1 min)
    return EstimateFigures(
        shown=len(estimates),
        with_actual=len(triples),
        mean_absolute_error_minutes=summary.mean_absolute_error if summary else None,
        within_upper=sum(actual <= upper for _, upper, actual in triples))


def _feedback(scores: Sequence[int]) -> FeedbackFigures:
    counts = Counter(scores)
    mean = round(sum(scores) / len(scores), 2) if scores else None
    return FeedbackFigures(len(scores), mean, tuple((score, counts[score]) for score in SCORES))
