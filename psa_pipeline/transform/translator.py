"""dbt nodes as assets on the same graph as the dlt loads.

A dbt source `<system>.<table>` is the asset dlt materialises as raw/<system>/<table>, so
lineage runs unbroken from each API resource to each mart. A model's key is its name (names are
unique in a dbt project; the schema is where it lives, not what it is) and its group the folders
it lives in (`staging_harvest`, `marts_finance`), with no per-model exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator


class WarehouseDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(
                ["raw", dbt_resource_props["source_name"], dbt_resource_props["name"]]
            )
        return dg.AssetKey(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        folders = dbt_resource_props["fqn"][1:-1]  # fqn: project, folders..., model name
        return "_".join(folders) or None
