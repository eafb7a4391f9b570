"""The dbt project, located once for every dbt asset and resource."""

from __future__ import annotations

from dagster_dbt import DbtProject

from psa_pipeline.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Under `dagster dev` the manifest is rebuilt on load; elsewhere `dbt parse` (make) made it.
dbt_project.prepare_if_dev()
