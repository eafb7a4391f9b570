"""May corrections built on this materialisation go to the ERP?

A blocking check stops downstream assets only inside the run it belongs to; the ERP sync runs
separately (launched by a sensor, or by hand from the UI), so it must look the results up itself.
The rule: every blocking check on the corrections asset passed in the run that materialised it,
and the latest result of every blocking check upstream of it passed.

Dagster exports neither AssetGraph nor the check-record status publicly; both come from its
internals, which is safe while dagster stays pinned (pyproject.toml).
"""

from __future__ import annotations

import functools

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus


@functools.cache
def full_asset_graph() -> AssetGraph:
    """Every asset and check of the product, whatever job or run asks.

    A run's own graph holds only that job's assets, and runs executed in process carry no
    repository, so the gate reads lineage from the definitions' asset and check lists.
    """
    from psa_pipeline.definitions import ASSET_CHECKS, ASSETS  # the definitions import this module

    return AssetGraph.from_assets([*ASSETS, *ASSET_CHECKS])


def blocking_check_problems(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, run_id: str
) -> list[str]:
    """Reasons not to sync; empty when every blocking check is green."""
    asset_graph = full_asset_graph()
    watched = asset_graph.get_ancestor_asset_keys(asset_key, include_self=True)
    check_keys = [
        key
        for key in asset_graph.asset_check_keys
        if key.asset_key in watched and asset_graph.get_check_spec(key).blocking
    ]
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(check_keys)
    problems = []
    for key in sorted(check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        record = latest.get(key)
        if record is None:
            problems.append(f"{name} has never been evaluated")
        elif record.status != AssetCheckExecutionRecordStatus.SUCCEEDED:
            problems.append(f"{name} is {record.status.value} (run {record.run_id})")
        elif key.asset_key == asset_key and record.run_id != run_id:
            problems.append(
                f"{name} was not evaluated in run {run_id} that built {name.split(':')[0]}"
            )
    return problems
