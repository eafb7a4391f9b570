"""The dashboard's pages, as the dbt exposures name them.

dbt_project/models/marts/_dashboard__exposures.yml says which marts each page reads (and the
Dagster lineage runs to the pages from it); the trust banner of a page reports the checks behind
exactly those marts, and tests/dashboard/test_pages.py checks that a page reads no other.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from psa_pipeline.settings import DBT_PROJECT_DIR

EXPOSURES = DBT_PROJECT_DIR / "models" / "marts" / "_dashboard__exposures.yml"
VIEWS = Path(__file__).parent / "views"
# Pages in the order of the navigation; the first is the default (url /)
ORDER = (
    "overview",
    "margin",
    "backlog",
    "unbilled_wip",
    "utilization",
    "revenue_leakage",
    "integration_health",
)
ICONS = {
    "overview": ":material/dashboard:",
    "margin": ":material/waterfall_chart:",
    "backlog": ":material/event_upcoming:",
    "unbilled_wip": ":material/hourglass_top:",
    "utilization": ":material/groups:",
    "revenue_leakage": ":material/water_drop:",
    "integration_health": ":material/sync_alt:",
}


@dataclass(frozen=True)
class PageSpec:
    name: str  # the exposure's name, the page's url_path and its view module's name
    label: str
    description: str
    tables: tuple[str, ...]  # the marts it reads (the exposure's refs)

    @property
    def script(self) -> Path:
        return VIEWS / f"{self.name}.py"

    @property
    def icon(self) -> str:
        return ICONS[self.name]


@functools.cache
def page_specs() -> dict[str, PageSpec]:
    exposures = yaml.safe_load(EXPOSURES.read_text())["exposures"]
    specs = {
        e["name"]: PageSpec(
            name=e["name"],
            label=e["label"],
            description=" ".join(e["description"].split()),
            tables=tuple(
                sorted(re.fullmatch(r"ref\('(\w+)'\)", ref).group(1) for ref in e["depends_on"])
            ),
        )
        for e in exposures
        if e.get("type") == "dashboard"
    }
    return {name: specs[name] for name in ORDER}
