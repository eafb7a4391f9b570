"""The ERP misbehaves; every correction still reaches it exactly once.

One story, in order: the ERP is down (every call 503), then a write commits but its answer never
comes back in time, then the ERP is healthy again.
"""

from dataclasses import replace
from decimal import Decimal

import dagster as dg
import duckdb
import pytest
import requests

from psa_pipeline import cli
from psa_pipeline.definitions import build_definitions
from psa_pipeline.reverse_sync.assets import erp_sync_invoices
from tests.helpers import settings_for, start_sandbox, truth

pytestmark = pytest.mark.slow

FAST_GIVE_UP = {"retries": 1, "backoff_seconds": 0.0, "timeout_seconds": 1.0}


def sync(defs, instance, **config) -> dg.ExecuteInProcessResult:
    """The sync asset alone, without the job's step retries (they wait 30 s)."""
    return dg.materialize(
        [erp_sync_invoices],
        resources=defs.resources,
        instance=instance,
        raise_on_error=False,
        run_config={"ops": {"erp_sync_invoices": {"config": {**FAST_GIVE_UP, **config}}}},
    )


def failure_of(result: dg.ExecuteInProcessResult) -> str:
    return result.get_step_failure_events()[0].step_failure_data.error.message


def drafted(server) -> list[int]:
    """Time entries billed on the ERP's draft invoices, read from its store (the API may be
    faulty); expense and rate adjustment lines name none, credit memos are not invoices."""
    with server.store.connect() as conn:
        rows = conn.execute(
            "select line.custcol_time_entry_id from netsuite_transactionline line "
            'join netsuite_transaction inv on inv.id = line."transaction" '
            "where inv.status = 'pendingApproval' and inv.type = 'CustInvc' "
            "and line.custcol_time_entry_id is not null order by 1"
        ).fetchall()
    return [row[0] for row in rows]


def warehouse_rows(settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def count_corrections(settings) -> int:
    return warehouse_rows(settings, "select count(*) from marts.billing_corrections")[0][0]


def has_ledger(settings) -> bool:
    found = warehouse_rows(
        settings,
        "select count(*) from information_schema.tables where table_schema = 'reverse_sync'",
    )
    return found[0][0] > 0


def written(server) -> list[str]:
    """External ids of the records the sync wrote, read from the ERP's store."""
    with server.store.connect() as conn:
        rows = conn.execute(
            "select externalid from netsuite_transaction where externalid like 'PSA-%'"
        ).fetchall()
    return [row[0] for row in rows]


def outbox_ids(settings) -> list[tuple[str]]:
    return warehouse_rows(settings, "select external_id from reverse_sync.erp_sync_outbox")


def set_faults(server, plan: dict) -> None:
    requests.post(f"{server.url}/_sandbox/faults", json=plan, timeout=10).raise_for_status()


def drafts_expected(settings) -> int:
    """ERP records the corrections make: a draft invoice per project, customer and currency,
    a credit memo per invoice credited (time billed twice, or billed above the contract)."""
    return warehouse_rows(
        settings,
        "select count(distinct case when correction_type = 'credit_duplicate' "
        "or (correction_type = 'rate_adjustment' and correction_amount < 0) "
        "then concat('credit memo|', erp_invoice_id, '|', erp_customer_id, '|', "
        "correction_currency) else concat('invoice|', project_code, '|', erp_customer_id, "
        "'|', correction_currency) end) from marts.billing_corrections",
    )[0][0]


def outbox(settings) -> dict[str, int]:
    return dict(
        warehouse_rows(
            settings, "select status, count(*) from reverse_sync.erp_sync_outbox group by status"
        )
    )


def test_an_unavailable_erp_and_a_lost_answer_still_give_exactly_once(tmp_path, capsys):
    server = start_sandbox(tmp_path / "sandbox")
    settings = settings_for(server, tmp_path / "data")
    defs = build_definitions(settings)
    injected = sorted(int(d["record_id"]) for d in truth(server, "unbilled_time"))
    try:
        with dg.instance_for_test() as instance:
            refresh = defs.resolve_job_def("refresh_warehouse").execute_in_process(
                instance=instance
            )
            assert refresh.success
            drafts = drafts_expected(settings)
            assert drafts > 1

            # a dry run plans what the sync would send and writes nothing anywhere
            requests.delete(f"{server.url}/_sandbox/requests", timeout=10).raise_for_status()
            planned = sync(defs, instance, dry_run=True)
            assert planned.success
            plan = planned.get_asset_materialization_events()[0].materialization.metadata
            assert plan["dry_run"].value is True and plan["records_planned"].value == drafts
            corrections = count_corrections(settings)
            by_type = plan["planned_by_type"].value
            assert sum(kind["lines"] for kind in by_type.values()) == corrections
            assert set(by_type) == {"invoice", "creditMemo"}
            assert written(server) == [] and not has_ledger(settings)
            assert requests.get(f"{server.url}/_sandbox/requests", timeout=10).json()["total"] == 0
            # the command line prints the same plan
            printed = cli_run(settings, capsys, ["sync", "--dry-run"], {})
            assert printed.startswith("Dry run: nothing was written")
            for record_type, kind in by_type.items():
                assert (
                    f"{record_type}: {kind['records']} record(s), {kind['lines']} line(s)"
                    in printed
                )
            assert not has_ledger(settings)

            set_faults(server, {"netsuite": {"http_503": 1.0}})
            down = sync(defs, instance)
            assert not down.success and "ERP unavailable" in failure_of(down)
            assert outbox(settings) == {"pending": drafts}  # kept for later, none dead-lettered
            assert drafted(server) == []

            # the first write the ERP gets commits, but answers after the client gave up
            set_faults(server, {"netsuite": {"erp_commit_then_timeout": 1.0}})
            lost = sync(defs, instance, retries=0)
            assert not lost.success and "ERP unavailable" in failure_of(lost)
            assert len(written(server)) == 1  # the one write that committed

            set_faults(server, {})
            healthy = sync(defs, instance)
            assert healthy.success
            metadata = healthy.get_asset_materialization_events()[0].materialization.metadata
            assert len(metadata["earlier_writes_confirmed"].value) == 1  # the lost answer's write
            assert len(metadata["earlier_writes_superseded"].value) == drafts - 1  # never arrived
            assert drafted(server) == injected  # every correction once, none twice
            assert outbox(settings) == {"pushed": drafts}
            assert sorted(written(server)) == sorted(
                external_id for (external_id,) in outbox_ids(settings)
            )
    finally:
        server.stop()


def test_large_corrections_wait_for_an_approval_that_records_who_and_when(tmp_path, capsys):
    server = start_sandbox(tmp_path / "sandbox")
    try:
        plain = settings_for(server, tmp_path / "data")
        with dg.instance_for_test() as instance:
            refresh = build_definitions(plain).resolve_job_def("refresh_warehouse")
            assert refresh.execute_in_process(instance=instance).success
            amounts = correction_amounts(plain)
            threshold = sorted(amounts.values())[len(amounts) * 3 // 4]  # a quarter wait
            settings = replace(plain, sync_approval_threshold=threshold)
            defs = build_definitions(settings)
            large = sorted(cid for cid, amount in amounts.items() if amount > threshold)
            assert large and len(large) < len(amounts)

            first = sync(defs, instance)
            assert first.success
            metadata = first.get_asset_materialization_events()[0].materialization.metadata
            assert sorted(metadata["awaiting_approval"].value) == large
            assert sent_correction_ids(server) == set(amounts) - set(large)

            env = {"PSA_SYNC_APPROVAL_THRESHOLD": str(threshold)}
            listed = cli_run(settings, capsys, ["sync", "approvals"], env)
            assert all(cid in listed for cid in large) and f"{len(large)} correction(s)" in listed
            refused = cli_run(
                settings,
                capsys,
                ["sync", "approve", large[0], "nope", "--by", "Grace"],
                env,
                status=1,
            )
            assert "not awaiting approval: nope" in refused and approved(settings) == []
            cli_run(
                settings,
                capsys,
                ["sync", "approve", large[0], "--by", "Grace", "--note", "checked"],
                env,
            )
            assert [(cid, who) for cid, who, _ in approved(settings)] == [(large[0], "Grace")]

            second = sync(defs, instance)
            assert second.success
            assert sent_correction_ids(server) == set(amounts) - set(large[1:])

            # the rest through the Dagster job, as finance would from the launchpad
            job = defs.resolve_job_def("approve_corrections_job")
            config = {"correction_ids": large[1:], "approved_by": "Ada"}
            assert job.execute_in_process(
                instance=instance, run_config={"ops": {"approve_corrections": {"config": config}}}
            ).success
            third = sync(defs, instance)
            metadata = third.get_asset_materialization_events()[0].materialization.metadata
            assert metadata["awaiting_approval"].value == []
            assert sent_correction_ids(server) == set(amounts)  # every one, none twice
            assert all(at is not None for _, _, at in approved(settings))
    finally:
        server.stop()


def correction_amounts(settings) -> dict[str, Decimal]:
    return dict(
        warehouse_rows(
            settings,
            "select correction_id, abs(correction_reporting_amount) from marts.billing_corrections",
        )
    )


def sent_correction_ids(server) -> set[str]:
    """Corrections on the ERP's lines (each must be on one line only)."""
    with server.store.connect() as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "select custcol_psa_correction_id from netsuite_transactionline "
                "where custcol_psa_correction_id is not null"
            ).fetchall()
        ]
    assert len(ids) == len(set(ids)), "a correction reached the ERP twice"
    return set(ids)


def approved(settings) -> list[tuple]:
    return warehouse_rows(
        settings,
        "select correction_id, approved_by, approved_at from reverse_sync.erp_sync_approvals "
        "order by approved_at, correction_id",
    )


def cli_run(settings, capsys, argv: list[str], env: dict, status: int = 0) -> str:
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("PSA_DATA_DIR", str(settings.data_dir))
        patched.setenv("PSA_WAREHOUSE", "duckdb")
        for name, value in env.items():
            patched.setenv(name, value)
        assert cli.main(argv) == status
    out = capsys.readouterr()
    return out.out + out.err


def test_refused_writes_are_dead_letters_replayed_once_their_cause_is_fixed(tmp_path, capsys):
    server = start_sandbox(tmp_path / "sandbox")
    settings = settings_for(server, tmp_path / "data")
    defs = build_definitions(settings)
    try:
        with dg.instance_for_test() as instance:
            refresh = defs.resolve_job_def("refresh_warehouse")
            assert refresh.execute_in_process(instance=instance).success
            records = drafts_expected(settings)

            set_faults(server, {"netsuite": {"erp_refuse_write": 1.0}})
            refused = sync(defs, instance)
            assert not refused.success and "refused by the ERP" in failure_of(refused)
            assert outbox(settings) == {"dead_letter": records} and written(server) == []
            reasons = attempts(settings)
            assert {outcome for _, outcome, _, _ in reasons} == {"dead_letter"}
            assert all("Invalid Field Value" in reason for _, _, reason, _ in reasons)
            assert all(correlation for *_, correlation in reasons)

            denied = cli_run(
                settings, capsys, ["sync", "replay", "PSA-nope", "--by", "Grace"], {}, 1
            )
            assert "not a dead letter: PSA-nope" in denied and outbox(settings) == {
                "dead_letter": records
            }

            set_faults(server, {})  # the cause is fixed
            released = cli_run(settings, capsys, ["sync", "replay", "--by", "Grace"], {})
            assert f"Released {records} dead letter(s)" in released
            replayed = sync(defs, instance)
            assert replayed.success
            assert outbox(settings) == {"pushed": records}
            assert sent_correction_ids(server) == set(correction_amounts(settings))
            history: dict[str, tuple] = {}
            for external_id, outcome, _, _ in attempts(settings):
                history[external_id] = (*history.get(external_id, ()), outcome)
            assert set(history.values()) == {("dead_letter", "superseded", "pushed")}
            again = cli_run(settings, capsys, ["sync", "replay", "--by", "Grace"], {})
            assert "No dead letters to replay." in again
    finally:
        server.stop()


def attempts(settings) -> list[tuple]:
    return warehouse_rows(
        settings,
        "select external_id, outcome, reason, correlation_id "
        "from reverse_sync.erp_sync_attempts order by external_id, attempted_at",
    )
