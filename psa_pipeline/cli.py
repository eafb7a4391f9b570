"""psa-pipeline: demo | check-sources | sync --dry-run | sync approvals | sync approve |
sync replay | sandbox serve | sandbox truth."""

from __future__ import annotations

import argparse
import json
import sys

from psa_pipeline.sandbox.plan import KNOB_LIMITS, SIZES, DefectRates, FirmConfig
from psa_pipeline.sandbox.suiteql import DATE_FORMATS, DEFAULT_DATE_FORMAT
from psa_pipeline.settings import SANDBOX_TOKEN, SYSTEMS, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="psa-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("demo", help="run the whole pipeline once against the sandbox firm")
    check = commands.add_parser(
        "check-sources",
        help="before a first run: try each configured source's endpoints and say what is wrong",
    )
    check.add_argument(
        "--system",
        action="append",
        choices=SYSTEMS,
        help="only this system (repeatable); default: all five",
    )

    sync = commands.add_parser(
        "sync",
        help="the ERP sync: --dry-run prints what it would send now and writes nothing "
        "(syncs themselves run as erp_sync_job, launched by billing_corrections_sensor)",
    )
    sync.add_argument(
        "--dry-run",
        action="store_true",
        help="plan the records, lines and totals per currency; write nothing anywhere",
    )
    sync_commands = sync.add_subparsers(dest="sync_command")
    sync_commands.add_parser(
        "approvals", help="list the corrections awaiting approval (PSA_SYNC_APPROVAL_THRESHOLD)"
    )
    approve = sync_commands.add_parser(
        "approve", help="approve corrections awaiting approval, so the next sync sends them"
    )
    approve.add_argument("correction_ids", nargs="+", metavar="ID")
    approve.add_argument("--by", required=True, help="who approves (recorded with the time)")
    approve.add_argument("--note", default="", help="why, for the record")
    replay = sync_commands.add_parser(
        "replay",
        help="send dead letters again once their cause is fixed (all, or these external or "
        "correction ids): the next sync plans and sends them afresh",
    )
    replay.add_argument("ids", nargs="*", metavar="ID")
    replay.add_argument("--by", required=True, help="who asks for the replay (recorded)")

    sandbox = commands.add_parser("sandbox", help="the simulated firm").add_subparsers(
        dest="sandbox_command", required=True
    )
    serve = sandbox.add_parser("serve", help="serve the firm's five systems over HTTP")
    truth = sandbox.add_parser("truth", help="print the defects injected into the firm (JSON)")
    for sub in (serve, truth):
        sub.add_argument("--seed", type=int, default=None, help="default: PSA_SANDBOX_SEED or 7")
        sub.add_argument(
            "--size", choices=sorted(SIZES), default=None, help="default: PSA_SANDBOX_SIZE or small"
        )
        for knob in KNOB_LIMITS:
            sub.add_argument(
                f"--{knob}", type=int, default=None, help=f"override the size's {knob}"
            )
        sub.add_argument(
            "--empty",
            default="",
            help="systems the firm has nothing in yet, comma-separated (e.g. netsuite,hubspot)",
        )
        sub.add_argument(
            "--defects",
            type=json.loads,
            default={},
            help='defect rates as JSON, e.g. \'{"unbilled_time": 0.05, "malformed_records": 5}\'',
        )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument(
        "--token",
        default=SANDBOX_TOKEN,
        help=f"credential every system accepts (default {SANDBOX_TOKEN})",
    )
    serve.add_argument(
        "--netsuite-date-format",
        choices=DATE_FORMATS,
        default=DEFAULT_DATE_FORMAT,
        help="the ERP account's date format preference, as SuiteQL shows dates "
        f"(default {DEFAULT_DATE_FORMAT}, NetSuite's)",
    )
    serve.add_argument(
        "--faults",
        type=json.loads,
        default={},
        help='fault plan as JSON, e.g. \'{"netsuite": {"http_503": 0.1}}\' (see README)',
    )
    serve.add_argument(
        "--kantata-time-zone",
        default=None,
        help="the Kantata account's time zone, an IANA name (default America/Los_Angeles)",
    )

    args = parser.parse_args(argv)
    settings = load_settings()
    if args.command == "demo":
        from psa_pipeline.automation.demo import DemoFailed, render, run_demo

        try:
            report = run_demo(settings)
        except DemoFailed as failure:
            print(failure, file=sys.stderr)
            return 1
        print(render(report))
        return 0 if report.ok else 1
    if args.command == "sync":
        if args.sync_command == "approvals":
            return list_approvals(settings)
        if args.sync_command == "approve":
            return approve_corrections(settings, args.correction_ids, args.by, args.note)
        if args.sync_command == "replay":
            return replay_dead_letters(settings, args.ids, args.by)
        return dry_run(settings) if args.dry_run else _sync_runs_in_dagster()
    if args.command == "check-sources":
        from psa_pipeline.sources.probes import check_sources
        from psa_pipeline.sources.probes import render as render_findings

        findings = check_sources(settings, tuple(args.system or SYSTEMS))
        print(render_findings(findings))
        return 0 if all(f.ok for f in findings) else 1

    from psa_pipeline.sandbox.server import open_firm
    from psa_pipeline.sandbox.server import serve as serve_firm

    try:
        firm = FirmConfig(
            seed=settings.sandbox_seed if args.seed is None else args.seed,
            size=args.size or settings.sandbox_size,
            defects=DefectRates(**args.defects),
            empty_systems=tuple(name.strip() for name in args.empty.split(",") if name.strip()),
            **{knob: getattr(args, knob) for knob in KNOB_LIMITS},
        )
    except (TypeError, ValueError) as error:
        parser.error(f"bad firm configuration: {error}")
    store = open_firm(firm, settings.sandbox_dir)
    if args.sandbox_command == "truth":
        json.dump({"firm": firm.key, "defects": store.truth()}, sys.stdout, indent=2)
        print()
        return 0
    print(
        f"sandbox firm {firm.key} on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True
    )
    serve_firm(
        store,
        args.host,
        args.port,
        args.token,
        args.faults,
        kantata_time_zone=args.kantata_time_zone,
        netsuite_date_format=args.netsuite_date_format,
    )
    return 0


def dry_run(settings) -> int:
    from psa_pipeline.reverse_sync.approval import describe_awaiting
    from psa_pipeline.reverse_sync.assets import describe_plan, dry_run_plan, plan_summary
    from psa_pipeline.warehouse import Warehouse

    threshold = settings.sync_approval_threshold
    records, awaiting = dry_run_plan(Warehouse.from_settings(settings), threshold)
    print("Dry run: nothing was written, to the ERP or to the ledger.")
    print(describe_plan(records))
    if threshold is not None:
        print(describe_awaiting(awaiting, threshold))
    for record_type, kind in plan_summary(records).items():
        totals = ", ".join(
            f"{currency} {total}" for currency, total in sorted(kind["totals"].items())
        )
        print(f"{record_type}: {kind['records']} record(s), {kind['lines']} line(s); {totals}")
    return 0


def _awaiting(settings, conn) -> list:
    from psa_pipeline.reverse_sync.approval import split_for_approval
    from psa_pipeline.reverse_sync.corrections import new_corrections

    return split_for_approval(
        conn, new_corrections(conn), settings.sync_approval_threshold
    ).awaiting


def list_approvals(settings) -> int:
    from psa_pipeline.reverse_sync.approval import describe_awaiting
    from psa_pipeline.warehouse import Warehouse

    if settings.sync_approval_threshold is None:
        print("No approval threshold is set (PSA_SYNC_APPROVAL_THRESHOLD): nothing waits.")
        return 0
    with Warehouse.from_settings(settings).read_only() as conn:
        print(describe_awaiting(_awaiting(settings, conn), settings.sync_approval_threshold))
    return 0


def approve_corrections(settings, ids: list[str], approved_by: str, note: str) -> int:
    from psa_pipeline.reverse_sync.approval import approve
    from psa_pipeline.warehouse import Warehouse

    with Warehouse.from_settings(settings).get_connection() as conn:
        try:
            chosen = approve(conn, _awaiting(settings, conn), ids, approved_by, note)
        except ValueError as refused:
            print(refused, file=sys.stderr)
            return 1
    print(f"Approved by {approved_by.strip()}: {', '.join(c.correction_id for c in chosen)}")
    return 0


def replay_dead_letters(settings, ids: list[str], requested_by: str) -> int:
    from psa_pipeline.reverse_sync import ledger
    from psa_pipeline.warehouse import Warehouse

    with Warehouse.from_settings(settings).get_connection() as conn:
        try:
            released = ledger.replay(conn, ids, requested_by)
        except ValueError as refused:
            print(refused, file=sys.stderr)
            return 1
    if not released:
        print("No dead letters to replay.")
        return 0
    print(
        f"Released {len(released)} dead letter(s) for the next sync (erp_sync_job) to send "
        f"afresh: {', '.join(released)}"
    )
    return 0


def _sync_runs_in_dagster() -> int:
    print(
        "A sync writes to the ERP only from Dagster (erp_sync_job, which billing_corrections_sensor "
        "launches after a green refresh), where its checks gate it. `psa-pipeline sync --dry-run` "
        "shows what it would send.",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())
