"""psa-pipeline: demo | check-sources | sandbox serve | sandbox truth."""

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


if __name__ == "__main__":
    sys.exit(main())
