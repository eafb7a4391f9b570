"""The dashboard's pages as assets, from the dbt exposures that name them.

dagster-dbt makes assets of models, seeds and snapshots but not of exposures, so each exposure
in dbt_project/models/marts/_dashboard__exposures.yml becomes an external asset here: it reads
the published copy (published_marts) of the marts the exposure names, and the lineage in the
Dagster UI runs on to the page. The pages are not materialised: the dashboard reads on demand.
"""

from __future__ import annotations

import dagster as dg
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

from psa_pipeline.dashboard.publish import PUBLISHED_MARTS
from psa_pipeline.transform.assets import mart_models


def page_specs() -> list[dg.AssetSpec]:
    # the manifest dagster-dbt already read for the marts, and the keys it gave them
    manifest, translator, _ = get_manifest_and_translator_from_dbt_assets([mart_models])
    models = manifest["nodes"]
    return [
        dg.AssetSpec(
            key=dg.AssetKey(["dashboard", exposure["name"]]),
            description=f"Dashboard page “{exposure['label']}”: {exposure['description'].strip()}",
            deps=[
                PUBLISHED_MARTS,
                *(
                    translator.get_asset_key(models[node])
                    for node in exposure["depends_on"]["nodes"]
                ),
            ],
            group_name="dashboard",
            kinds={"streamlit"},
            owners=[],
            metadata={"url": dg.MetadataValue.url(exposure["url"])},
        )
        for exposure in sorted(manifest["exposures"].values(), key=lambda e: e["name"])
    ]


dashboard_pages = dg.AssetsDefinition(specs=page_specs())
