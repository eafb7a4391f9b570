"""May corrections built on this materialisation go to the ERP?

A blocking check stops downstream assets only inside the run it belongs to; the ERP sync runs
separately (launched by a sensor, or by hand from the UI), so it must look the results up itself.
The rule, for every blocking check on the corrections asset or upstream of it:

- its latest *completed* evaluation passed (a check still planned in a run that is going on
  means: wait; one planned in a run that ended without evaluating it is passed over);
- that evaluation is newer than the latest materialisation of the asset it checks and of
  everything upstream of that asset: staging models are views, so new raw data changes them
  without a new check, and an old green result says nothing about it;
- on the corrections asset itself, it was evaluated in the run that built the corrections.

Dagster exports neither AssetGraph nor the check-record status publicly; both come from its
internals, which is safe while dagster stays pinned (pyproject.toml).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.storage.asset_check_execution_record import (
    AssetCheckExecutionRecord,
    AssetCheckExecutionRecordStatus,
)

HISTORY_DEPTH = 20  # planned-but-never-run records to look past before giving up


@dataclass
class GateVerdict:
    failed: list[str] = field(default_factory=list)  # checks whose latest result is a failure
    stale: list[str] = field(default_factory=list)  # never evaluated, or not since a change
    waiting: list[str] = field(default_factory=list)  # checks still running: ask again later

    @property
    def problems(self) -> list[str]:
        """Reasons to refuse, failures first: one failure explains the stale checks after it."""
        return self.failed + self.stale

    @property
    def open(self) -> bool:
        return not self.problems and not self.waiting


@functools.cache
def full_asset_graph() -> AssetGraph:
    """Every asset and check of the product, whatever job or run asks.

    A run's own graph holds only that job's assets, and runs executed in process carry no
    repository, so the gate reads lineage from the definitions' asset and check lists.
    """
    from psa_pipeline.definitions import ASSET_CHECKS, ASSETS  # the definitions import this module

    return AssetGraph.from_assets([*ASSETS, *ASSET_CHECKS])


def sync_gate(instance: dg.DagsterInstance, asset_key: dg.AssetKey, run_id: str) -> GateVerdict:
    """Judge the materialisation of `asset_key` made by run `run_id`."""
    graph = full_asset_graph()
    watched = graph.get_ancestor_asset_keys(asset_key, include_self=True)
    check_keys = sorted(
        (
            k
            for k in graph.asset_check_keys
            if k.asset_key in watched and graph.get_check_spec(k).blocking
        ),
        key=lambda k: (k.asset_key.to_user_string(), k.name),
    )
    verdict = GateVerdict()
    materialised = LatestMaterialisations(instance, graph)
    for key in check_keys:
        name = f"{key.asset_key.to_user_string()}:{key.name}"
        record, in_progress = latest_completed(instance, key)
        if in_progress:
            verdict.waiting.append(f"{name} is being evaluated")
        elif record is None:
            verdict.stale.append(f"{name} has never been evaluated")
        elif record.status != AssetCheckExecutionRecordStatus.SUCCEEDED:
            verdict.failed.append(
                f"{name} is {record.status.value} (run {record.run_id}){_why(record)}"
            )
        elif key.asset_key == asset_key and record.run_id != run_id:
            verdict.stale.append(f"{name} was not evaluated in run {run_id}, which built it")
        elif changed := materialised.changed_since(key.asset_key, record.event.timestamp):
            verdict.stale.append(f"{name} has not been evaluated since {changed} changed")
    return verdict


def _why(record: AssetCheckExecutionRecord) -> str:
    """The check's own account of its result: says, for one, that GE failed and not the data."""
    evaluation = record.event.asset_check_evaluation if record.event else None
    return f": {evaluation.description}" if evaluation and evaluation.description else ""


def latest_completed(
    instance: dg.DagsterInstance, key: dg.AssetCheckKey
) -> tuple[AssetCheckExecutionRecord | None, bool]:
    """The newest evaluation with a result, and whether a newer one is still under way."""
    history = instance.event_log_storage.get_asset_check_execution_history(key, limit=HISTORY_DEPTH)
    for record in history:
        if record.status != AssetCheckExecutionRecordStatus.PLANNED:
            return record, False
        run = instance.get_run_by_id(record.run_id)
        if run is not None and not run.is_finished:
            return None, True
    return None, False


class LatestMaterialisations:
    """When each asset was last materialised, read from the instance once per verdict.

    A verdict looks at every blocking check upstream of the corrections (hundreds, with dbt's
    tests as checks), and each check at every asset above it; asking the instance each time made
    one verdict tens of thousands of queries.
    """

    def __init__(self, instance: dg.DagsterInstance, graph: AssetGraph):
        self._instance = instance
        self._graph = graph
        self._timestamps: dict[dg.AssetKey, float | None] = {}

    def timestamp(self, key: dg.AssetKey) -> float | None:
        if key not in self._timestamps:
            event = self._instance.get_latest_materialization_event(key)
            self._timestamps[key] = event.timestamp if event is not None else None
        return self._timestamps[key]

    def changed_since(self, checked: dg.AssetKey, evaluated_at: float) -> str | None:
        """The first asset at or above `checked` materialised after the check was evaluated."""
        for key in sorted(self._graph.get_ancestor_asset_keys(checked, include_self=True), key=str):
            materialised_at = self.timestamp(key)
            if materialised_at is not None and materialised_at > evaluated_at:
                return key.to_user_string()
        return None
