"""BambooHR dialect: the directory, changed employees, the changed compensation table, custom
reports and time off, as BambooHR's API reference documents them.

Sources: BambooHR's OpenAPI description (github.com/BambooHR/bhr-api-python `specs/public.yaml`)
and reference pages (documentation.bamboohr.com: api-details, get-changed-employee-ids,
get-changed-employee-table-data, request-custom-report, time-off-get-time-off-requests,
list-of-field-names); client fixtures from PyBambooHR (tests/), faros-ai/airbyte-connectors
(sources/bamboohr-source/test_files/users.json) and AutoIDM/autoidm-tap-bamboohr.

What the sandbox keeps from them, the inconvenient parts included:
- Every call is under `api/gateway.php/<company>/v1/`, with HTTP Basic: the API key is the user
  name, the password anything. A missing or wrong key is a 401, a company the key does not
  belong to a 404. Errors carry an empty body and say why in `X-BambooHR-Error-Message`.
- **XML unless the request sends `Accept: application/json`.** Custom reports answer in the
  `format` their query asks for (json in any case, xml, csv), or, without one, the exact
  `Accept` value (application/json, text/xml, text/csv); anything else is a 404.
- Values are strings (`"id": "2001"`, `"standardHoursPerWeek": "40"`); an empty date is
  `0000-00-00`, an empty reference null. `lastChanged` is `2026-03-22T08:00:00+00:00` in reports
  and in `employees/changed`, `2026-03-22T08:00:00Z` in the changed tables.
- `since` takes `YYYY-MM-DDThh:mm:ss` with `Z`, `±hh:mm` or `±hhmm`, nothing else (400).
- A custom report covers every employee, leavers included; unknown fields, and fields the key's
  user may not see, are left out silently (not an error); `filters.lastChanged` keeps the
  employees changed at or after a moment (`includeNull` yes by default); the body is JSON only
  with `Content-Type: application/json` exactly, XML (`<report>`) otherwise.
- The changed-table call works on the employee's last change: a change to ANY field of an
  employee returns ALL of that employee's rows, stamped with the employee's `lastChanged`.
  Compensation rows carry no row id and no employee id (the map key is the employee), and the
  rate is one string, amount and currency: `"69.13 USD"`.
- Time off: dates only (`created`, `status.lastChanged` in the company's time zone), amounts as
  strings, `dates` a map of day to amount (weekend days, amount 0, left out), statuses as
  BambooHR spells them (approved, denied, superceded, requested, canceled).
- A key whose user may not see compensation (`POST /_sandbox/permissions {"bamboohr":
  ["compensation"]}`) gets compensation fields left out, as BambooHR leaves out every field a
  user may not see: the report drops `payRate`, the changed table's rows lose their fields.
- The directory lists active employees only, and is a 404 when there are none.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from psa_pipeline.sandbox.auth import lacks
from psa_pipeline.sandbox.calendar import iso
from psa_pipeline.settings import SANDBOX_BAMBOOHR_COMPANY

COMPANY = SANDBOX_BAMBOOHR_COMPANY
ERROR_HEADER = "X-BambooHR-Error-Message"
XML_TYPE = "text/xml; charset=UTF-8"
NO_DATE = "0000-00-00"
MAX_REPORT_FIELDS = 400
STANDARD_WEEK_HOURS = 40  # the sandbox firm's full-time week, served as standardHoursPerWeek
APPROVER_USER_ID = "1"  # the HR admin who approves every holiday in the sandbox firm
TIME_OFF_STATUSES = ("approved", "denied", "superceded", "requested", "canceled")
# the five forms BambooHR's `since` (and a report's lastChanged filter) takes
SINCE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:?\d{2})$")


class BambooHRError(Exception):
    """An error as BambooHR answers it: a status, an empty body, the reason in a header."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> Response:
        return Response(status_code=self.status, headers={ERROR_HEADER: self.message})


class BambooHRRoute(APIRoute):
    """Routes that answer failures (credentials, validation) in BambooHR's shape, not FastAPI's."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except BambooHRError as error:
                return error.response()
            except RequestValidationError as error:
                first = error.errors()[0] if error.errors() else {}
                where = ".".join(str(part) for part in first.get("loc", ())[1:])
                return BambooHRError(400, f"Invalid {where}: {first.get('msg', '')}").response()

        return answer


def require_key(request: Request) -> None:
    """HTTP Basic, the API key as the user name and any password; missing or wrong is a 401."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise BambooHRError(401, "Missing API key")
    try:
        user = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        raise BambooHRError(401, "Malformed Basic credentials") from None
    if not secrets.compare_digest(user.encode(), request.app.state.token.encode()):
        raise BambooHRError(401, "Invalid API key")


def company_path(company: Annotated[str, Path(max_length=100)]) -> str:
    if company != COMPANY:
        raise BambooHRError(404, f"Unknown company {company!r}")
    return company


router = APIRouter(
    prefix="/bamboohr/api/gateway.php/{company}/v1",
    dependencies=[Depends(require_key), Depends(company_path)],
    route_class=BambooHRRoute,
)


def route(path: str, method: str = "GET"):
    """Registers a route with and without the trailing slash BambooHR's clients send
    (PyBambooHR asks for `reports/custom/` and `employees/changed/`)."""

    def register(function):
        router.add_api_route(path, function, methods=[method])
        router.add_api_route(path + "/", function, methods=[method], include_in_schema=False)
        return function

    return register


# ---------------------------------------------------------------------------------- formats


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def json_response(payload: Any) -> Response:
    return Response(json.dumps(payload), media_type="application/json")


def xml_response(root: ET.Element) -> Response:
    body = '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode")
    return Response(body, media_type=XML_TYPE)


def negotiated(request: Request, payload: Any, as_xml: Callable[[], ET.Element]) -> Response:
    """JSON when the request's Accept asks for it, XML otherwise, as BambooHR answers."""
    return json_response(payload) if wants_json(request) else xml_response(as_xml())


def element(tag: str, text: Any = None, **attributes: Any) -> ET.Element:
    node = ET.Element(tag, {k: str(v) for k, v in attributes.items() if v is not None})
    if text is not None:
        node.text = str(text)
    return node


def field_elements(parent: ET.Element, values: Mapping[str, Any]) -> ET.Element:
    for name, value in values.items():
        parent.append(element("field", value, id=name))
    return parent


def employees_element(records: list[dict]) -> ET.Element:
    """`<employees>` of `<employee id>` elements, each of its fields but the id."""
    listing = element("employees")
    for record in records:
        values = {k: v for k, v in record.items() if k != "id"}
        listing.append(field_elements(element("employee", id=record["id"]), values))
    return listing


def parse_since(value: str | None, name: str = "since") -> datetime:
    """A moment in one of the forms BambooHR documents, or a 400 naming them."""
    if value is None or not SINCE.match(value):
        raise BambooHRError(
            400,
            f"The {name} parameter must be an ISO 8601 date-time like 2011-07-04T13:05:00Z, "
            "2011-07-04T13:05:00-07:00 or 2011-07-04T13:05:00-0700",
        )
    return datetime.fromisoformat(value)


def with_offset(stamp: str) -> str:
    """The store's `…Z` stamp as BambooHR writes it in reports and change lists (`+00:00`)."""
    return stamp.removesuffix("Z") + "+00:00"


# ---------------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class Field:
    """A field a report can ask for: its type and label in BambooHR's field list, its value
    (always text, or null) from an employee row, the permission a user needs to see it."""

    type: str
    name: str
    value: Callable[[Mapping], str | None]
    permission: str | None = None


def _text(column: str) -> Callable[[Mapping], str | None]:
    return lambda row: None if row[column] is None else str(row[column])


def _date(column: str) -> Callable[[Mapping], str]:
    return lambda row: row[column] or NO_DATE


FIELDS = {
    "id": Field("integer", "Employee ID", _text("id")),
    "firstName": Field("text", "First Name", _text("first_name")),
    "lastName": Field("text", "Last Name", _text("last_name")),
    "displayName": Field("text", "Display Name", lambda r: f"{r['first_name']} {r['last_name']}"),
    "jobTitle": Field("list", "Job Title", _text("job_title")),
    "department": Field("list", "Department", _text("department")),
    "division": Field("list", "Division", _text("division")),
    "location": Field("list", "Location", _text("location")),
    "workEmail": Field("email", "Work Email", _text("work_email")),
    "supervisorEId": Field("integer", "Supervisor EID", _text("supervisor_id")),
    "hireDate": Field("date", "Hire Date", _date("hire_date")),
    "terminationDate": Field("date", "Termination Date", _date("termination_date")),
    "status": Field("status", "Status", _text("status")),
    "standardHoursPerWeek": Field(
        "integer", "Standard Hours Per Week", lambda r: str(round(r["fte"] * STANDARD_WEEK_HOURS))
    ),
    "lastChanged": Field("timestamp", "Last Changed", lambda r: with_offset(r["last_changed"])),
    "payRate": Field("currency", "Pay Rate", lambda r: r["pay_rate"], "compensation"),
    "payType": Field("pay_type", "Pay Type", lambda r: r["pay_type"], "compensation"),
}
DIRECTORY_FIELDS = (
    "displayName",
    "firstName",
    "lastName",
    "jobTitle",
    "workEmail",
    "department",
    "location",
    "division",
)
# each employee with the newest row of their compensation table (payRate, payType)
EMPLOYEES = """
    select e.*, c.rate || ' ' || c.currency as pay_rate, c.pay_type
    from bamboohr_employees e
    left join bamboohr_compensation c on c.id = (
        select id from bamboohr_compensation where employee_id = e.id
        order by start_date desc, id desc limit 1
    )
"""


def visible(request: Request, names: Iterable[str]) -> list[str]:
    """The known fields among `names` the key's user may see, in the order asked, once each."""
    return [
        name
        for name in dict.fromkeys(names)
        if name in FIELDS
        and not (FIELDS[name].permission and lacks(request, "bamboohr", FIELDS[name].permission))
    ]


def field_list(names: Iterable[str]) -> list[dict]:
    return [{"id": name, "type": FIELDS[name].type, "name": FIELDS[name].name} for name in names]


def employees(request: Request, where: str = "", args: tuple = ()) -> list[Mapping]:
    with request.app.state.store.snapshot() as conn:
        return conn.execute(f"{EMPLOYEES} {where} order by e.id", args).fetchall()


# ---------------------------------------------------------------------------------- directory


@route("/employees/directory")
def directory(request: Request) -> Response:
    """Active employees only, all at once; an empty directory is a 404."""
    rows = employees(request, "where e.status = 'Active'")
    if not rows:
        raise BambooHRError(404, "The directory is empty")
    records = [
        {"id": str(row["id"])} | {name: FIELDS[name].value(row) for name in DIRECTORY_FIELDS}
        for row in rows
    ]

    def as_xml() -> ET.Element:
        root = element("directory")
        fieldset = root.makeelement("fieldset", {})
        for name in DIRECTORY_FIELDS:
            fieldset.append(element("field", FIELDS[name].name, id=name))
        root.extend([fieldset, employees_element(records)])
        return root

    return negotiated(
        request, {"fields": field_list(DIRECTORY_FIELDS), "employees": records}, as_xml
    )


# ---------------------------------------------------------------------------------- changes


@route("/employees/changed")
def changed(
    request: Request,
    since: Annotated[str | None, Query(max_length=40)] = None,
    type: Annotated[str, Query(max_length=20)] = "all",  # noqa: A002 - BambooHR's name
) -> Response:
    """Employees changed at or after `since`: id, Inserted or Updated, and when."""
    stamp = iso(parse_since(since))
    if type.lower() not in ("inserted", "updated", "deleted", "all"):
        raise BambooHRError(400, "type must be inserted, updated, deleted or all")
    with request.app.state.store.snapshot() as conn:
        rows = conn.execute(
            "select id, created, last_changed from bamboohr_employees where last_changed >= ? "
            "order by id",
            (stamp,),
        ).fetchall()
    changes = [
        {
            "id": str(row["id"]),
            "action": "Inserted" if row["created"] >= stamp else "Updated",
            "lastChanged": with_offset(row["last_changed"]),
        }
        for row in rows
    ]
    changes = [c for c in changes if type.lower() in ("all", c["action"].lower())]
    latest = max((c["lastChanged"] for c in changes), default=with_offset(stamp))

    def as_xml() -> ET.Element:
        root = element("changeList", latest=latest)
        root.extend(element("employee", **change) for change in changes)
        return root

    payload = {"latest": latest, "employees": {c["id"]: c for c in changes}}
    return negotiated(request, payload, as_xml)


COMPENSATION_FIELDS = (
    "startDate",
    "endDate",
    "rate",
    "type",
    "exempt",
    "reason",
    "comment",
    "paidPer",
    "paySchedule",
    "overtimeRate",
)


def compensation_rows(rows: list[Mapping]) -> list[dict]:
    """One employee's table, oldest first: each row ends the day before the next one starts."""
    table = []
    for row, following in zip(rows, [*rows[1:], None], strict=True):
        ends = None
        if following is not None:
            ends = (date.fromisoformat(following["start_date"]) - timedelta(days=1)).isoformat()
        table.append(
            {
                "startDate": row["start_date"],
                "endDate": ends,
                "rate": f"{row['rate']} {row['currency']}",
                "type": row["pay_type"],
                "exempt": "Non-exempt",
                "reason": row["reason"],
                "comment": "",
                "paidPer": "Hour",
                "paySchedule": None,
                "overtimeRate": None,
            }
        )
    return table


@route("/employees/changed/tables/{table}")
def changed_table(
    request: Request,
    table: Annotated[str, Path(max_length=100)],
    since: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """Every row of the table of each employee changed at or after `since`, by employee."""
    stamp = iso(parse_since(since))
    if table != "compensation":
        raise BambooHRError(404, f"The table {table!r} does not exist in the sandbox firm")
    with request.app.state.store.snapshot() as conn:
        people = conn.execute(
            "select id, last_changed from bamboohr_employees where last_changed >= ? order by id",
            (stamp,),
        ).fetchall()
        rows = conn.execute(
            "select c.* from bamboohr_compensation c join bamboohr_employees e "
            "on e.id = c.employee_id where e.last_changed >= ? order by c.start_date, c.id",
            (stamp,),
        ).fetchall()
    by_employee: dict[int, list[Mapping]] = {}
    for row in rows:
        by_employee.setdefault(row["employee_id"], []).append(row)
    hidden = lacks(request, "bamboohr", "compensation")
    tables = {
        str(person["id"]): {
            "lastChanged": person["last_changed"],
            "rows": [
                {} if hidden else values
                for values in compensation_rows(by_employee.get(person["id"], []))
            ],
        }
        for person in people
    }

    def as_xml() -> ET.Element:
        root = element("table", id=table)
        for employee_id, entry in tables.items():
            node = element("employee", id=employee_id, lastChanged=entry["lastChanged"])
            node.extend(field_elements(element("row"), values) for values in entry["rows"])
            root.append(node)
        return root

    return negotiated(request, {"table": table, "employees": tables}, as_xml)


# ---------------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class ReportRequest:
    title: str
    fields: list[str]
    changed_since: datetime | None = None
    include_null: bool = True
    employee_ids: tuple[int, ...] | None = None


def report_request(body: bytes, content_type: str) -> ReportRequest:
    """The report a body asks for: JSON only when sent as exactly `application/json`, as
    BambooHR reads it; a `<report>` document otherwise."""
    try:
        if content_type == "application/json":
            described = _json_report(json.loads(body))
        else:
            described = _xml_report(ET.fromstring(body))
    except (ValueError, TypeError, AttributeError, ET.ParseError):
        kind = "JSON" if content_type == "application/json" else "XML"
        raise BambooHRError(400, f"Malformed {kind}") from None
    if len(described.fields) > MAX_REPORT_FIELDS:
        raise BambooHRError(400, f"A report takes at most {MAX_REPORT_FIELDS} fields")
    return described


def _json_report(body: dict) -> ReportRequest:
    filters = body.get("filters") or {}
    last_changed = filters.get("lastChanged") or {}
    ids = filters.get("employeeIds")
    return ReportRequest(
        title=str(body.get("title") or ""),
        fields=[str(name) for name in body.get("fields") or []],
        changed_since=_filter_moment(last_changed.get("value")),
        include_null=str(last_changed.get("includeNull", "yes")).lower() != "no",
        employee_ids=None if ids is None else tuple(int(i) for i in ids),
    )


def _xml_report(root: ET.Element) -> ReportRequest:
    if root.tag != "report":
        raise ValueError("not a report")
    last_changed = root.find("filters/lastChanged")
    ids = root.find("filters/employeeIds")
    return ReportRequest(
        title=root.findtext("title") or "",
        fields=[node.get("id", "") for node in root.iterfind("fields/field")],
        changed_since=None if last_changed is None else _filter_moment(last_changed.text),
        include_null=last_changed is None or last_changed.get("includeNull", "yes") != "no",
        employee_ids=None
        if ids is None
        else tuple(int(node.text or "") for node in ids.iterfind("employeeId")),
    )


def _filter_moment(value: Any) -> datetime | None:
    return None if value in (None, "") else parse_since(str(value).strip(), "lastChanged filter")


REPORT_FORMATS = {"json": "application/json", "xml": "text/xml", "csv": "text/csv"}


def report_format(request: Request, format_: str | None) -> str:
    """json, xml or csv, from `format` (any case) or else the exact Accept value; 404 if none."""
    if format_ is not None:
        chosen = format_.lower()
    else:
        accepted = {kind: name for name, kind in REPORT_FORMATS.items()}
        chosen = accepted.get(request.headers.get("accept", ""), "")
    if chosen not in REPORT_FORMATS:
        raise BambooHRError(404, "Report format not found")
    return chosen


@route("/reports/custom", method="POST")
async def custom_report(
    request: Request,
    format: Annotated[str | None, Query(max_length=10)] = None,  # noqa: A002 - BambooHR's name
    onlyCurrent: Annotated[bool, Query()] = True,  # noqa: N803 - BambooHR's name; no future data here
) -> Response:
    """Every employee, leavers included, with the fields asked for that exist and may be seen."""
    chosen = report_format(request, format)
    asked = report_request(await request.body(), request.headers.get("content-type", ""))
    names = visible(request, asked.fields)
    rows = [row for row in employees(request) if _selected(row, asked)]
    records = [{"id": str(row["id"])} | {n: FIELDS[n].value(row) for n in names} for row in rows]
    title = asked.title or "Custom Report"
    if chosen == "csv":
        return _csv_report(names, records)
    if chosen == "xml":
        return xml_response(_xml_report_answer(title, names, records))
    return json_response({"title": title, "fields": field_list(names), "employees": records})


def _selected(row: Mapping, asked: ReportRequest) -> bool:
    if asked.employee_ids is not None and row["id"] not in asked.employee_ids:
        return False
    if asked.changed_since is None:
        return True
    if row["last_changed"] is None:
        return asked.include_null
    return row["last_changed"] >= iso(asked.changed_since)


def _xml_report_answer(title: str, names: list[str], records: list[dict]) -> ET.Element:
    root = element("report")
    root.append(element("title", title))
    fields = element("fields")
    fields.extend(element("field", FIELDS[n].name, id=n, type=FIELDS[n].type) for n in names)
    root.extend([fields, employees_element(records)])
    return root


def _csv_report(names: list[str], records: list[dict]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([FIELDS[n].name for n in names])
    writer.writerows([[record.get(n) or "" for n in names] for record in records])
    return Response(out.getvalue(), media_type="text/csv")


# ---------------------------------------------------------------------------------- time off

TIME_OFF_TYPES = {"Vacation": ("78", "palm-trees")}


def day_amounts(starts: str, ends: str) -> dict[str, str]:
    """A request's days and what each takes: a day of leave per weekday; weekends take none
    and BambooHR leaves days of amount 0 out."""
    first, last = date.fromisoformat(starts), date.fromisoformat(ends)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return {day.isoformat(): "1" for day in days if day.weekday() < 5}


def time_off_record(row: Mapping) -> dict:
    dates = day_amounts(row["start_date"], row["end_date"])
    type_id, icon = TIME_OFF_TYPES.get(row["type_name"], ("1", "time-off-calendar"))
    return {
        "id": str(row["id"]),
        "employeeId": str(row["employee_id"]),
        "name": f"{row['first_name']} {row['last_name']}",
        "status": {
            "lastChanged": row["last_changed"][:10],
            "lastChangedByUserId": APPROVER_USER_ID,
            "status": row["status"],
        },
        "start": row["start_date"],
        "end": row["end_date"],
        "created": row["created"][:10],
        "type": {"id": type_id, "name": row["type_name"], "icon": icon},
        "amount": {"unit": "days", "amount": str(len(dates))},
        "actions": {
            "view": True,
            "edit": True,
            "cancel": False,
            "approve": True,
            "deny": True,
            "bypass": True,
        },
        "dates": dates,
        "notes": {},
    }


def time_off_xml(records: list[dict]) -> ET.Element:
    root = element("requests")
    for record in records:
        node = element("request", id=record["id"])
        status = record["status"]
        node.extend(
            [
                element("employee", record["name"], id=record["employeeId"]),
                element(
                    "status",
                    status["status"],
                    lastChanged=status["lastChanged"],
                    lastChangedByUserId=status["lastChangedByUserId"],
                ),
                element("start", record["start"]),
                element("end", record["end"]),
                element("created", record["created"]),
                element("type", record["type"]["name"], id=record["type"]["id"]),
                element("amount", record["amount"]["amount"], unit=record["amount"]["unit"]),
                element("notes"),
            ]
        )
        days = element("dates")
        days.extend(element("date", ymd=d, amount=a) for d, a in record["dates"].items())
        node.append(days)
        root.append(node)
    return root


@route("/time_off/requests")
def time_off(
    request: Request,
    start: Annotated[date | None, Query()] = None,
    end: Annotated[date | None, Query()] = None,
    status: Annotated[str | None, Query(max_length=100)] = None,
    employeeId: Annotated[int | None, Query(ge=0, le=2**62)] = None,  # noqa: N803 - BambooHR's name
) -> Response:
    """Requests overlapping [start, end], both required; optionally of some statuses or one
    employee."""
    if start is None or end is None:
        raise BambooHRError(400, "Invalid or missing start/end date")
    wanted = TIME_OFF_STATUSES if status is None else tuple(status.split(","))
    with request.app.state.store.snapshot() as conn:
        rows = conn.execute(
            "select o.*, e.first_name, e.last_name from bamboohr_time_off o "
            "join bamboohr_employees e on e.id = o.employee_id "
            "where o.start_date <= ? and o.end_date >= ? order by o.id",
            (end.isoformat(), start.isoformat()),
        ).fetchall()
    records = [
        time_off_record(row)
        for row in rows
        if row["status"] in wanted and employeeId in (None, row["employee_id"])
    ]
    return negotiated(request, records, lambda: time_off_xml(records))
