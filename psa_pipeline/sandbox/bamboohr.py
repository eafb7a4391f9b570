"""BambooHR dialect: the employee directory, changes, the compensation table and time off.

BambooHR has no paging: each call returns everything it selects. Incremental reads go through
`employees/changed?since=` (ids with Inserted/Updated and lastChanged) and
`employees/changed/tables/compensation?since=`. Custom reports (`POST reports/custom`) return
any of the known fields for every employee, past ones included. Authentication is HTTP Basic
with the API key as the user name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from psa_pipeline.sandbox.auth import require_bamboohr_key
from psa_pipeline.sandbox.calendar import iso
from psa_pipeline.settings import SANDBOX_BAMBOOHR_COMPANY

COMPANY = SANDBOX_BAMBOOHR_COMPANY

router = APIRouter(
    prefix="/bamboohr/api/gateway.php/{company}/v1", dependencies=[Depends(require_bamboohr_key)]
)

# report field -> store column
FIELDS = {
    "id": "id",
    "firstName": "first_name",
    "lastName": "last_name",
    "jobTitle": "job_title",
    "department": "department",
    "division": "division",
    "location": "location",
    "workEmail": "work_email",
    "supervisorEId": "supervisor_id",
    "hireDate": "hire_date",
    "terminationDate": "termination_date",
    "status": "status",
    "fte": "fte",
    "lastChanged": "last_changed",
}
DIRECTORY_FIELDS = [
    "id",
    "displayName",
    "firstName",
    "lastName",
    "jobTitle",
    "department",
    "division",
    "location",
    "workEmail",
]


def company_path(company: Annotated[str, Path(max_length=100)]) -> str:
    if company != COMPANY:
        raise HTTPException(404, f"Unknown company {company!r}")
    return company


def _field(name: str, value):
    return str(value) if name in ("id", "supervisorEId") and value is not None else value


@router.get("/employees/directory")
def directory(request: Request, company: Annotated[str, Depends(company_path)]) -> dict:
    """Current employees only, all at once."""
    with request.app.state.store.snapshot() as conn:
        rows = conn.execute(
            "select * from bamboohr_employees where status = 'Active' order by id"
        ).fetchall()
    employees = [
        {
            "id": str(r["id"]),
            "displayName": f"{r['first_name']} {r['last_name']}",
            "firstName": r["first_name"],
            "lastName": r["last_name"],
            "jobTitle": r["job_title"],
            "department": r["department"],
            "division": r["division"],
            "location": r["location"],
            "workEmail": r["work_email"],
        }
        for r in rows
    ]
    fields = [{"id": f, "type": "text", "name": f} for f in DIRECTORY_FIELDS]
    return {"fields": fields, "employees": employees}


@router.get("/employees/changed")
def changed(
    request: Request,
    company: Annotated[str, Depends(company_path)],
    since: Annotated[datetime, Query()],
) -> dict:
    stamp = iso(since)
    with request.app.state.store.snapshot() as conn:
        rows = conn.execute(
            "select id, created, last_changed from bamboohr_employees where last_changed >= ? "
            "order by id",
            (stamp,),
        ).fetchall()
    return {
        "latest": max((r["last_changed"] for r in rows), default=stamp),
        "employees": {
            str(r["id"]): {
                "id": str(r["id"]),
                "action": "Inserted" if r["created"] >= stamp else "Updated",
                "lastChanged": r["last_changed"],
            }
            for r in rows
        },
    }


class ReportRequest(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    fields: list[str] = Field(min_length=1, max_length=len(FIELDS))


@router.post("/reports/custom")
def custom_report(
    request: Request,
    company: Annotated[str, Depends(company_path)],
    report: ReportRequest,
    format: Annotated[str, Query(pattern="^(JSON|json)$")] = "JSON",
) -> dict:
    unknown = sorted(set(report.fields) - set(FIELDS))
    if unknown:
        raise HTTPException(400, f"Unknown report fields: {unknown}; known: {sorted(FIELDS)}")
    columns = ", ".join(FIELDS[f] for f in report.fields)
    with request.app.state.store.snapshot() as conn:
        rows = conn.execute(f"select {columns} from bamboohr_employees order by id").fetchall()
    return {
        "title": report.title or "Custom report",
        "fields": [{"id": f, "type": "text", "name": f} for f in report.fields],
        "employees": [
            {name: _field(name, row[FIELDS[name]]) for name in report.fields} for row in rows
        ],
    }


@router.get("/employees/changed/tables/compensation")
def changed_compensation(
    request: Request,
    company: Annotated[str, Depends(company_path)],
    since: Annotated[datetime, Query()],
) -> dict:
    """Every compensation row of each employee whose table changed since `since`."""
    stamp = iso(since)
    with request.app.state.store.snapshot() as conn:
        rows = conn.execute(
            "select * from bamboohr_compensation where employee_id in (select employee_id from "
            "bamboohr_compensation where last_changed >= ?) order by employee_id, start_date, id",
            (stamp,),
        ).fetchall()
    employees: dict[str, dict] = {}
    for r in rows:
        entry = employees.setdefault(
            str(r["employee_id"]), {"lastChanged": r["last_changed"], "rows": []}
        )
        entry["lastChanged"] = max(entry["lastChanged"], r["last_changed"])
        entry["rows"].append(
            {
                "id": str(r["id"]),
                "employeeId": str(r["employee_id"]),
                "startDate": r["start_date"],
                "rate": {"value": r["rate"], "currency": r["currency"]},
                "type": r["pay_type"],
                "reason": r["reason"],
            }
        )
    return {"employees": employees}


@router.get("/time_off/requests")
def time_off(
    request: Request,
    company: Annotated[str, Depends(company_path)],
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
) -> list[dict]:
    """Requests overlapping [start, end]."""
    if end < start:
        raise HTTPException(400, "end must not be before start")
    with request.app.state.store.snapshot() as conn:
        rows = conn.execute(
            "select * from bamboohr_time_off where start_date <= ? and end_date >= ? order by id",
            (end.isoformat(), start.isoformat()),
        ).fetchall()
    return [
        {
            "id": str(r["id"]),
            "employeeId": str(r["employee_id"]),
            "status": {"status": r["status"], "lastChanged": r["last_changed"]},
            "start": r["start_date"],
            "end": r["end_date"],
            "created": r["created"],
            "type": {"id": "1", "name": r["type_name"]},
            "amount": {"unit": "days", "amount": str(r["amount_days"])},
        }
        for r in rows
    ]
