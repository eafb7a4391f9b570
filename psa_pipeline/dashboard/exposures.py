"""The dashboard's pages as assets, from the dbt exposures that name them.

dagster-dbt makes assets of models, seeds and snapshots but not of exposures, so each exposure
in dbt_project/models/marts/_dashboard__exposures.yml becomes an external asset here: it reads
the published copy (published_marts) of the marts the exposure names, and the lineage in the
Dagster UI runs on to the page. The pages are not materialised: the dashboard reads on demand.
"""

from __future__ import annotations

import json

import dagster as dg

from psa_pipeline.dashboard.publish import PUBLISHED_MARTS
from psa_pipeline.transform.project import dbt_project


def page_specs() -> list[dg.AssetSpec]:
    manifest = json.loads(dbt_project.manifest_path.read_text())
    models = manifest["nodes"]
    return [
        dg.AssetSpec(
            key=dg.AssetKey(["dashboard", exposure["name"]]),
            description=f"Dashboard page “{exposure['label']}”: {exposure['description'].strip()}",
            deps=[
                PUBLISHED_MARTS,
                *(dg.AssetKey(models[node]["name"]) for node in exposure["depends_on"]["nodes"]),
            ],
            group_name="dashboard",
            kinds={"streamlit"},
            owners=[],
            metadata={"url": dg.MetadataValue.url(exposure["url"])},
        )
        for exposure in sorted(manifest["exposures"].values(), key=lambda e: e["name"])
    ]


dashboard_pages = dg.AssetsDefinition(specs=page_specs())
