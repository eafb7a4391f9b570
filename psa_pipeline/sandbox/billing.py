"""The firm's billing: an invoice per project and month, then credit memos and payments.

On the 15th the ERP invoices the month before, one invoice per project, with the lines its
contract's billing model calls for: approved billable time at its rate (time and materials), the
month's share of the fee (fixed fee), the monthly fee (retainer), the milestones completed
(milestone), and approved billable expenses (every model). Billing defects are injected here and
recorded as truth: lines left off, time billed again, rates the time tool picked up late.

When an invoice goes out, what happens to it is decided at once (an occasional credit memo; a
payment after the client's usual delay, sometimes in two parts, sometimes never) and written to
the sandbox's schedule, which `settle` carries out on the day. The firm's own transactions are
numbered below the range clients write into, so nothing a client writes changes them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from psa_pipeline.money import money_text, quantity_text, to_cents
from psa_pipeline.sandbox.calendar import at, iso, months_before, next_month
from psa_pipeline.sandbox.plan import FirmConfig, FirmPlan, Project
from psa_pipeline.sandbox.store import CLIENT_LINE_KEYS, CLIENT_TRANSACTION_IDS, insert
from psa_pipeline.sandbox.truth import record_truth

INVOICE_DAY = 15  # invoices for month M are raised on the 15th of M+1
PAYMENT_TERMS = timedelta(days=30)
FIRST_FIRM_TRANSACTION = 10_000
PAID_TOGETHER = 0.3  # of invoices raised while the project's earlier ones are unpaid
MODEL_NAMES = {
    "time_and_materials": "time and materials",
    "fixed_fee": "fixed fee",
    "milestone": "milestones",
    "retainer": "retainer",
}


class FirmNumbers:
    """The next free transaction id and line key in the firm's own range."""

    def __init__(self, conn):
        self.transaction = conn.execute(
            "select coalesce(max(id), ?) + 1 from netsuite_transaction where id < ?",
            (FIRST_FIRM_TRANSACTION, CLIENT_TRANSACTION_IDS),
        ).fetchone()[0]
        self.line = conn.execute(
            "select coalesce(max(uniquekey), 0) + 1 from netsuite_transactionline "
            "where uniquekey < ?",
            (CLIENT_LINE_KEYS,),
        ).fetchone()[0]

    def next_transaction(self) -> int:
        self.transaction += 1
        return self.transaction - 1

    def next_line(self) -> int:
        self.line += 1
        return self.line - 1


def invoice_month(
    conn, rng: random.Random, plan: FirmPlan, config: FirmConfig, month: date, invoice_on: date
) -> None:
    """Invoice every project that ran in `month`, on `invoice_on`."""
    numbers = FirmNumbers(conn)
    time = _approved_billable(conn, "harvest_time_entries", month)
    expenses = _approved_billable(conn, "harvest_expenses", month)
    for project in plan.projects_running_in(month):
        invoice = _Invoice(project, month, invoice_on, numbers)
        if project.contract.billing_model == "time_and_materials":
            _bill_time(conn, rng, plan, config, invoice, time.get(project.code, []))
        if fee := project.contract.fees.get(month):
            name = "Retainer" if project.contract.billing_model == "retainer" else "Fixed fee"
            invoice.add(name, f"{project.contract.number} {month:%Y-%m}", 1, fee)
        _bill_milestones(conn, rng, config, invoice)
        _bill_expenses(conn, rng, config, invoice, expenses.get(project.code, []))
        if invoice.lines:
            invoice.write(conn)
            _decide_settlement(conn, rng, invoice)


def _approved_billable(conn, table: str, month: date) -> dict[str, list]:
    """The month's approved billable records of `table`, by project code, oldest id first."""
    rows = conn.execute(
        f"select * from {table} where billable = 1 and is_closed = 1 "
        "and spent_date >= ? and spent_date < ? order by id",
        (month.isoformat(), next_month(month).isoformat()),
    ).fetchall()
    by_code: dict[str, list] = defaultdict(list)
    for row in rows:
        by_code[row["project_code"]].append(row)
    return by_code


class _Invoice:
    def __init__(self, project: Project, month: date, invoice_on: date, numbers: FirmNumbers):
        self.project = project
        self.month = month
        self.invoice_on = invoice_on
        self.numbers = numbers
        self.id = numbers.transaction  # taken for good only if the invoice is written
        self.stamp = iso(at(invoice_on, 12))
        self.lines: list[dict] = []

    @property
    def currency(self) -> str:
        return self.project.client.currency

    @property
    def total(self) -> Decimal:
        return sum((Decimal(line["foreignamount"]) for line in self.lines), Decimal(0))

    def add(self, item: str, memo: str, quantity, rate: Decimal, **references) -> int:
        """Add a line of `quantity` x `rate`; returns its line key."""
        key = self.numbers.next_line()
        self.lines.append(
            {
                "uniquekey": key,
                "transaction": self.id,
                "linesequencenumber": len(self.lines) + 1,
                "item": item,
                "memo": memo,
                "quantity": quantity_text(Decimal(str(quantity))),
                "rate": money_text(rate),
                "foreignamount": money_text(to_cents(Decimal(str(quantity)) * rate)),
                "custcol_time_entry_id": references.get("time_entry"),
                "custcol_expense_id": references.get("expense"),
                "custcol_milestone_id": references.get("milestone"),
                "linelastmodifieddate": self.stamp,
            }
        )
        return key

    def write(self, conn) -> None:
        self.numbers.next_transaction()
        model = MODEL_NAMES[self.project.contract.billing_model]
        insert(
            conn,
            "netsuite_transaction",
            [
                {
                    "id": self.id,
                    "tranid": f"INV{self.id - FIRST_FIRM_TRANSACTION:05d}",
                    "type": "CustInvc",
                    "entity": self.project.erp_customer_id,
                    "trandate": self.invoice_on.isoformat(),
                    "duedate": (self.invoice_on + PAYMENT_TERMS).isoformat(),
                    "currency": self.currency,
                    "status": "open",
                    "memo": f"{self.project.code} {model} {self.month:%Y-%m}",
                    "custbody_project_code": self.project.code,
                    "foreigntotal": money_text(self.total),
                    "createddate": self.stamp,
                    "lastmodifieddate": self.stamp,
                }
            ],
        )
        insert(conn, "netsuite_transactionline", self.lines)


def _bill_time(conn, rng, plan: FirmPlan, config: FirmConfig, invoice: _Invoice, entries) -> None:
    """Approved billable time at the rate on the entry; some left off, some billed twice.

    An entry the time tool stamped with a superseded rate is billed at that rate: the truth
    records what the contract's rate would have added. Such entries are never also drawn as
    left off or billed twice, so each entry tells one story.
    """
    project, contract = invoice.project, invoice.project.contract
    if not entries:
        return

    def contract_rate(entry) -> Decimal:
        role = plan.consultants_by_time_tool_id[entry["user_id"]].role
        return contract.rate_on(role, date.fromisoformat(entry["spent_date"]))

    def stale(entry) -> bool:
        return Decimal(str(entry["billable_rate"])) != contract_rate(entry)

    skipped = [e for e in entries if not stale(e) and rng.random() < config.defects.unbilled_time]
    if len(skipped) == len(entries):  # a month is never wholly forgotten: keep the first
        skipped = skipped[1:]
    for entry in skipped:
        record_truth(
            conn,
            "unbilled_time",
            "harvest",
            entry["id"],
            _amount(entry),
            invoice.currency,
            f"approved billable time on {project.code} left off the {invoice.month:%Y-%m} invoice",
            {"harvest/time_entries": [entry["id"]]},
        )
    skipped_ids = {e["id"] for e in skipped}
    billed = [(e, None) for e in entries if e["id"] not in skipped_ids]
    for entry in _billed_last_month(conn, project.code, invoice.month):
        if not stale(entry) and rng.random() < config.defects.time_billed_twice:
            billed.append((entry, entry["line"]))
    for entry, first_line in billed:
        rate = Decimal(str(entry["billable_rate"]))
        line = invoice.add(
            "Professional Services",
            f"{entry['user_name']} {entry['spent_date']}",
            entry["hours"],
            rate,
            time_entry=entry["id"],
        )
        if first_line is not None:
            record_truth(
                conn,
                "time_billed_twice",
                "netsuite",
                entry["id"],
                _amount(entry),
                invoice.currency,
                f"time entry {entry['id']} billed again on the {invoice.month:%Y-%m} invoice "
                f"of {project.code}",
                {
                    "harvest/time_entries": [entry["id"]],
                    "netsuite/transactionline": [first_line, line],
                },
            )
        elif stale(entry):
            spent_on = date.fromisoformat(entry["spent_date"])
            version = contract.version_on(spent_on)
            hours = Decimal(str(entry["hours"]))
            record_truth(
                conn,
                "superseded_rate",
                "netsuite",
                line,
                to_cents(hours * contract_rate(entry)) - to_cents(hours * rate),
                invoice.currency,
                f"time entry {entry['id']} billed at {rate}, superseded on "
                f"{version.effective_on} by {contract.number} v{version.number} at "
                f"{contract_rate(entry)}",
                {
                    "harvest/time_entries": [entry["id"]],
                    "netsuite/transactionline": [line],
                    "hubspot/p_contracts": [version.id],
                },
            )


def _billed_last_month(conn, code: str, month: date) -> list:
    """Time of `code` from the month before that the firm's own invoices billed."""
    previous = months_before(month, 1)
    return conn.execute(
        "select e.*, l.uniquekey as line from harvest_time_entries e "
        "join netsuite_transactionline l on l.custcol_time_entry_id = e.id "
        'where e.project_code = ? and e.spent_date >= ? and e.spent_date < ? and l."transaction" < ? '
        "order by e.id",
        (code, previous.isoformat(), month.isoformat(), CLIENT_TRANSACTION_IDS),
    ).fetchall()


def _bill_milestones(conn, rng, config: FirmConfig, invoice: _Invoice) -> None:
    """Milestones of a milestone contract completed in the month, at their amounts."""
    project = invoice.project
    for story in project.stories:
        if story.amount is None or not (invoice.month <= story.due_on < next_month(invoice.month)):
            continue
        if rng.random() < config.defects.milestone_not_invoiced:
            record_truth(
                conn,
                "milestone_not_invoiced",
                "kantata",
                story.id,
                story.amount,
                invoice.currency,
                f"{story.title} of {project.code} completed on {story.due_on}, never invoiced",
                {
                    "kantata/stories": [story.id],
                    "hubspot/p_contracts": [project.contract.versions[0].id],
                },
            )
            continue
        invoice.add(
            "Milestone", f"{project.code} {story.title}", 1, story.amount, milestone=story.id
        )


def _bill_expenses(conn, rng, config: FirmConfig, invoice: _Invoice, expenses) -> None:
    """Approved billable expenses, re-billed at cost; some are left off."""
    for expense in expenses:
        amount = Decimal(str(expense["total_cost"]))
        if rng.random() < config.defects.expense_not_invoiced:
            record_truth(
                conn,
                "expense_not_invoiced",
                "harvest",
                expense["id"],
                amount,
                invoice.currency,
                f"approved billable expense {expense['id']} on {invoice.project.code} left off "
                f"the {invoice.month:%Y-%m} invoice",
                {"harvest/expenses": [expense["id"]]},
            )
            continue
        invoice.add(
            "Expenses",
            f"{expense['expense_category_name']} {expense['user_name']} {expense['spent_date']}",
            1,
            amount,
            expense=expense["id"],
        )


def _amount(entry) -> Decimal:
    return to_cents(Decimal(str(entry["hours"])) * Decimal(str(entry["billable_rate"])))


# ---------------------------------------------------------------------------------- settlement


def _decide_settlement(conn, rng, invoice: _Invoice) -> None:
    """What will happen to the invoice: a credit memo now and then, and how it gets paid.

    Clients pay after their usual delay past the due date, give or take; 6% pay in two parts
    and 3% never pay. A credit memo always comes before the payment it reduces.
    """
    schedule = []
    pay_on = invoice.invoice_on + PAYMENT_TERMS
    pay_on += timedelta(
        days=max(-25, invoice.project.client.pays_after_days + rng.randint(-10, 15))
    )
    if rng.random() < 0.02:
        credit_on = invoice.invoice_on + timedelta(days=rng.randint(10, 40))
        credit = to_cents(invoice.total * Decimal(str(rng.uniform(0.05, 0.15))))
        schedule.append((credit_on, "credit_memo", money_text(credit)))
        pay_on = max(pay_on, credit_on + timedelta(days=1))
    outcome = rng.random()
    if outcome >= 0.03:
        if outcome < 0.09:
            part = to_cents(invoice.total * Decimal(str(rng.uniform(0.4, 0.8))))
            schedule.append((pay_on, "payment", money_text(part)))
            pay_on += timedelta(days=rng.randint(20, 60))
        schedule.append((pay_on, "payment", "balance"))
        _pay_the_last_one_too(conn, invoice, pay_on)
    insert(
        conn,
        "sandbox_schedule",
        [
            {"due_on": day.isoformat(), "kind": kind, "invoice_id": invoice.id, "amount": amount}
            for day, kind, amount in schedule
        ],
    )


def _pay_the_last_one_too(conn, invoice: _Invoice, pay_on: date) -> None:
    """Now and then a client still owing the project's earlier invoices pays them with this one:
    one payment applied to several invoices, which NetSuite records as one link row per invoice.
    Drawn from the invoice's own seed, so the billing stream's draws stay as they were."""
    if random.Random(f"{invoice.id}:paid-together").random() >= PAID_TOGETHER:
        return
    conn.execute(
        "update sandbox_schedule set due_on = ? where kind = 'payment' and amount = 'balance' "
        "and due_on > ? and due_on < ? and invoice_id in (select id from netsuite_transaction "
        "where type = 'CustInvc' and custbody_project_code = ? and id < ?)",
        (
            pay_on.isoformat(),
            invoice.invoice_on.isoformat(),
            pay_on.isoformat(),
            invoice.project.code,
            invoice.id,
        ),
    )


def settle(conn, day: date) -> None:
    """Carry out the credit memos and payments due today, each applied to its invoice; a
    client's payments of one project due the same day are one payment applied to each."""
    due = conn.execute(
        "select s.*, t.entity, t.currency, t.custbody_project_code from sandbox_schedule s "
        "join netsuite_transaction t on t.id = s.invoice_id where s.due_on = ? "
        "order by s.invoice_id, s.kind",
        (day.isoformat(),),
    ).fetchall()
    if not due:  # most days
        return
    numbers = FirmNumbers(conn)
    stamp = iso(at(day, 14))
    for item in due:
        if item["kind"] == "credit_memo":
            _apply(conn, numbers, day, stamp, [item])
    payments: dict[tuple, list] = defaultdict(list)
    for item in due:
        if item["kind"] == "payment":
            payer = (item["entity"], item["currency"], item["custbody_project_code"])
            payments[payer].append(item)
    for items in payments.values():
        _apply(conn, numbers, day, stamp, items)


def _apply(conn, numbers: FirmNumbers, day: date, stamp: str, items: list) -> None:
    """One credit memo or payment applied to the invoices of `items`, each up to its balance."""
    applied = []
    for item in items:
        invoice = conn.execute(
            "select * from netsuite_transaction where id = ?", (item["invoice_id"],)
        ).fetchone()
        paid = conn.execute(
            "select foreignamount from netsuite_previoustransactionlink where previousdoc = ?",
            (invoice["id"],),
        ).fetchall()
        balance = Decimal(invoice["foreigntotal"]) - sum(
            (Decimal(row[0]) for row in paid), Decimal(0)
        )
        amount = balance if item["amount"] == "balance" else min(Decimal(item["amount"]), balance)
        if amount > 0:
            applied.append((invoice, amount, balance))
    if not applied:
        return
    document = numbers.next_transaction()
    credit = items[0]["kind"] == "credit_memo"
    first = applied[0][0]
    total = sum((amount for _, amount, _ in applied), Decimal(0))
    insert(
        conn,
        "netsuite_transaction",
        [
            {
                "id": document,
                "tranid": f"{'CM' if credit else 'PYMT'}{document - FIRST_FIRM_TRANSACTION:05d}",
                "type": "CustCred" if credit else "CustPymt",
                "entity": first["entity"],
                "trandate": day.isoformat(),
                "currency": first["currency"],
                "status": "applied" if credit else "deposited",
                "memo": f"{'Service credit on' if credit else 'Payment of'} "
                + ", ".join(invoice["tranid"] for invoice, _, _ in applied),
                "custbody_project_code": first["custbody_project_code"],
                "createdfrom": first["id"] if credit else None,
                "foreigntotal": money_text(total),
                "createddate": stamp,
                "lastmodifieddate": stamp,
            }
        ],
    )
    if credit:
        insert(
            conn,
            "netsuite_transactionline",
            [
                {
                    "uniquekey": numbers.next_line(),
                    "transaction": document,
                    "linesequencenumber": 1,
                    "item": "Service credit",
                    "memo": f"Credit on {first['tranid']}",
                    "quantity": "1",
                    "rate": money_text(total),
                    "foreignamount": money_text(total),
                    "linelastmodifieddate": stamp,
                }
            ],
        )
    for invoice, amount, balance in applied:
        insert(
            conn,
            "netsuite_previoustransactionlink",
            [
                {
                    "nextdoc": document,
                    "previousdoc": invoice["id"],
                    "linktype": "Credit Memo" if credit else "Payment",
                    "foreignamount": money_text(amount),
                    "linkdate": day.isoformat(),
                    "lastmodifieddate": stamp,
                }
            ],
        )
        conn.execute(
            "update netsuite_transaction set status = ?, lastmodifieddate = ? where id = ?",
            ("paidInFull" if amount == balance else "open", stamp, invoice["id"]),
        )
