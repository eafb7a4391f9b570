"""Asset keys for dlt resources: raw/<system>/<resource>, grouped by system."""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData


class RawLayerTranslator(DagsterDltTranslator):
    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        system = data.resource.source_name
        # deps=[]: the default adds an upstream asset per resource that nothing materialises
        return (
            super()
            .get_asset_spec(data)
            .replace_attributes(
                key=dg.AssetKey(["raw", system, data.resource.name]),
                group_name=system,
                deps=[],
            )
        )
