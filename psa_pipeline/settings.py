"""The one place that reads the environment.

Everything else receives a `Settings` (or a Dagster resource built from it), so tests point the
whole product at a temporary warehouse and a sandbox on a free port without touching
`os.environ` or reloading modules.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

SYSTEMS = ("hubspot", "kantata", "harvest", "bamboohr", "netsuite")
SANDBOX_TOKEN = "psa-sandbox-token"
SANDBOX_HARVEST_ACCOUNT_ID = "100001"
SANDBOX_BAMBOOHR_COMPANY = "psa-sandbox"
SANDBOX_NETSUITE_ACCOUNT_ID = "7654321_SB1"  # the TBA realm (a sandbox account's form)
# NetSuite token-based auth: an integration record's consumer key and secret and an access
# token's id and secret (64 hex characters each in NetSuite)
NETSUITE_TBA_FIELDS = ("consumer_key", "consumer_secret", "token_id", "token_secret")
# What each system needs besides a base URL and a credential, as the sandbox firm has it
SANDBOX_ACCOUNTS = {
    "harvest": {"account_id": SANDBOX_HARVEST_ACCOUNT_ID},
    "bamboohr": {"company": SANDBOX_BAMBOOHR_COMPANY},
    "netsuite": {"account_id": SANDBOX_NETSUITE_ACCOUNT_ID},
}
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"
# Where the warehouse lives: an embedded DuckDB file (the default) or a Postgres database
WAREHOUSES = ("duckdb", "postgres")


# The dashboard's publication (psa_pipeline/dashboard/publish.py writes it, dashboard/data.py
# reads it; both name its parts from here, the reader without importing Dagster): the warehouse
# schemas it copies, and the file beside it that says why newer figures were held back.
PUBLISHED_SCHEMAS = ("marts", "reverse_sync")
HELD_BACK = "held_back.json"


@dataclass(frozen=True)
class SourceEndpoint:
    """Where one source system lives and the credential it takes."""

    base_url: str
    access_token: str  # BambooHR: the API key
    account_id: str | None = None  # Harvest's Harvest-Account-Id header; NetSuite's account
    company: str | None = None  # BambooHR's company subdomain, part of every path
    # NetSuite token-based auth (when all four are set, requests are signed, OAuth 1.0a);
    # otherwise access_token is NetSuite's OAuth 2.0 bearer token
    consumer_key: str | None = None
    consumer_secret: str | None = None
    token_id: str | None = None
    token_secret: str | None = None
    date_format: str | None = None  # NetSuite's account date format preference (M/D/YYYY)


@dataclass(frozen=True)
class PostgresConnection:
    """A Postgres database the warehouse lives in when PSA_WAREHOUSE=postgres."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    database: str = "postgres"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = PROJECT_ROOT / "data"
    sources: dict[str, SourceEndpoint] = field(default_factory=dict)
    sandbox_url: str = DEFAULT_SANDBOX_URL
    sandbox_size: str = "medium"
    sandbox_seed: int = 7
    dagster_home: Path | None = None
    warehouse: str = "duckdb"  # one of WAREHOUSES; also the dbt target
    postgres: PostgresConnection = field(default_factory=PostgresConnection)
    # corrections above this amount in the reporting currency wait for approval (None: none wait)
    sync_approval_threshold: Decimal | None = None

    def __post_init__(self) -> None:
        if self.warehouse not in WAREHOUSES:
            raise ValueError(
                f"warehouse {self.warehouse!r} is not one of {', '.join(WAREHOUSES)} "
                "(set PSA_WAREHOUSE)"
            )

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def published_path(self) -> Path:  # its layout: PUBLISHED_SCHEMAS, HELD_BACK beside it
        """The dashboard's read-only copy of the marts (psa_pipeline/dashboard/publish.py)."""
        return self.data_dir / "published" / "dashboard.duckdb"

    @property
    def dlt_pipelines_dir(self) -> Path:
        return self.data_dir / "dlt"

    @property
    def sandbox_dir(self) -> Path:
        return self.data_dir / "sandbox"

    def source(self, system: str) -> SourceEndpoint:
        return self.sources[system]

    def with_sandbox(self, base_url: str, token: str = SANDBOX_TOKEN) -> Settings:
        """Every source pointed at one sandbox server (tests, demo)."""
        return replace(self, sandbox_url=base_url, sources=sandbox_endpoints(base_url, token))


def sandbox_path(system: str) -> str:
    """Each system lives under its own path prefix on the sandbox server."""
    return f"/{system}"


def sandbox_tba(token: str = SANDBOX_TOKEN) -> dict[str, str]:
    """The sandbox ERP's TBA credentials, derived from its token: 64 hex characters each, as
    NetSuite issues them."""
    return {
        name: hashlib.sha256(f"{name}:{token}".encode()).hexdigest() for name in NETSUITE_TBA_FIELDS
    }


def sandbox_endpoints(base_url: str, token: str = SANDBOX_TOKEN) -> dict[str, SourceEndpoint]:
    base_url = base_url.rstrip("/")
    return {
        system: SourceEndpoint(
            base_url=base_url + sandbox_path(system),
            access_token=token,
            **SANDBOX_ACCOUNTS.get(system, {}),
            **(sandbox_tba(token) if system == "netsuite" else {}),
        )
        for system in SYSTEMS
    }


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment.

    PSA_DATA_DIR       where the warehouse, dlt state and sandbox store live (default ./data)
    PSA_SANDBOX_URL    the sandbox server every source defaults to
    PSA_SANDBOX_SIZE / PSA_SANDBOX_SEED
                       which simulated firm the sandbox serves (default medium, 7)
    DAGSTER_HOME       the Dagster instance the demo records its runs in (the UI reads it)
    PSA_WAREHOUSE      duckdb (default: data/warehouse.duckdb) or postgres; also the dbt target
    PSA_POSTGRES_HOST / _PORT / _USER / _PASSWORD / _DATABASE
                       the Postgres database for PSA_WAREHOUSE=postgres (default
                       127.0.0.1:5432, user postgres, no password, database postgres); dbt's
                       profile reads the same variables when dbt is run by hand
    SOURCES__<SYSTEM>__BASE_URL / __ACCESS_TOKEN / __ACCOUNT_ID / __COMPANY
                       point one system at a real tenant (dlt's own naming, so the same
                       variables work for a bare dlt pipeline; BambooHR's API key goes in
                       ACCESS_TOKEN); or the same keys under [sources.<system>] in
                       .dlt/secrets.toml / .dlt/config.toml (see SourceValues)
    SOURCES__NETSUITE__CONSUMER_KEY / __CONSUMER_SECRET / __TOKEN_ID / __TOKEN_SECRET
                       NetSuite token-based auth (with __ACCOUNT_ID, the realm); without them
                       __ACCESS_TOKEN is an OAuth 2.0 bearer token. The sandbox's own TBA
                       credentials apply only while none of these nor __ACCESS_TOKEN is set.
    SOURCES__NETSUITE__DATE_FORMAT
                       the account's date format preference (default M/D/YYYY, NetSuite's)
    PSA_SYNC_APPROVAL_THRESHOLD
                       corrections above this amount in the reporting currency wait for an
                       approval before the ERP sync sends them (default: none wait)
    """
    env = os.environ if environ is None else environ
    sandbox_url = env.get("PSA_SANDBOX_URL", DEFAULT_SANDBOX_URL)
    defaults = sandbox_endpoints(sandbox_url, env.get("PSA_SANDBOX_TOKEN", SANDBOX_TOKEN))
    sources = {}
    for system, default in defaults.items():
        given = SourceValues(env, system, read_dlt_files=environ is None)
        sources[system] = SourceEndpoint(
            base_url=given.get("base_url", default.base_url),
            access_token=given.get("access_token", default.access_token),
            account_id=given.get("account_id", default.account_id),
            company=given.get("company", default.company),
            date_format=given.get("date_format"),
            **_tba_credentials(given, default),
        )
    return Settings(
        data_dir=Path(env.get("PSA_DATA_DIR", PROJECT_ROOT / "data")).resolve(),
        sources=sources,
        sandbox_url=sandbox_url,
        sandbox_size=env.get("PSA_SANDBOX_SIZE", "medium"),
        sandbox_seed=int(env.get("PSA_SANDBOX_SEED", "7")),
        dagster_home=Path(env["DAGSTER_HOME"]) if env.get("DAGSTER_HOME") else None,
        warehouse=env.get("PSA_WAREHOUSE", "duckdb").strip().lower() or "duckdb",
        postgres=postgres_connection(env),
        sync_approval_threshold=_decimal_or_none(env.get("PSA_SYNC_APPROVAL_THRESHOLD")),
    )


def _decimal_or_none(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"PSA_SYNC_APPROVAL_THRESHOLD={text!r} is not an amount") from None


@dataclass(frozen=True)
class DashboardSettings:
    """What the executive dashboard needs: where the publication is (and, for a Postgres
    warehouse, the read-only connection), links to records in each system, and targets."""

    settings: Settings
    # system -> URL template of a record in it, with {kind} (time_entry, expense, invoice_line,
    # milestone, deal, contract_version) and {id}; a system without one gets no links
    record_links: dict[str, str] = field(default_factory=dict)
    utilization_target: float = 0.75


def load_dashboard_settings(environ: Mapping[str, str] | None = None) -> DashboardSettings:
    """The dashboard's settings from the environment (none of the sources' credentials: the
    dashboard reads only the published marts).

    PSA_DASHBOARD_LINK_<SYSTEM>        e.g. PSA_DASHBOARD_LINK_HARVEST=
                                       https://acme.harvestapp.com/{kind}/{id}; none by default
    PSA_DASHBOARD_UTILIZATION_TARGET   the utilization target, a share (default 0.75)
    and PSA_DATA_DIR, PSA_WAREHOUSE, PSA_POSTGRES_* as for load_settings.
    """
    env = dict(os.environ if environ is None else environ)
    links = {
        system: env[f"PSA_DASHBOARD_LINK_{system.upper()}"]
        for system in SYSTEMS
        if env.get(f"PSA_DASHBOARD_LINK_{system.upper()}", "").strip()
    }
    return DashboardSettings(
        settings=load_settings(env),
        record_links=links,
        utilization_target=float(env.get("PSA_DASHBOARD_UTILIZATION_TARGET", "0.75")),
    )


@dataclass(frozen=True)
class SourceValues:
    """One system's settings where dlt looks for them: the environment
    (`SOURCES__<SYSTEM>__<NAME>`), then `.dlt/secrets.toml` and `.dlt/config.toml`
    (`[sources.<system>]`, in the working directory or DLT_PROJECT_DIR), so a credential never
    has to be written into code or the Dagster UI. The files are read only for the process's
    own environment, never for an environment a test hands in."""

    env: Mapping[str, str]
    system: str
    read_dlt_files: bool

    def get(self, name: str, default: str | None = None) -> str | None:
        value = self.env.get(f"SOURCES__{self.system.upper()}__{name.upper()}")
        if value is None and self.read_dlt_files:
            import dlt  # only the real process reads dlt's files

            key = f"sources.{self.system}.{name}"
            value = dlt.secrets.get(key) or dlt.config.get(key)
        return default if value is None else str(value)

    def names_any(self, *names: str) -> bool:
        return any(self.get(name) is not None for name in names)


def _tba_credentials(given: SourceValues, default: SourceEndpoint) -> dict[str, str | None]:
    """NetSuite's TBA credentials as configured; the sandbox's only while no NetSuite
    credential is configured at all (a real tenant's OAuth 2.0 token must not be paired with
    the sandbox's TBA keys)."""
    if given.names_any("access_token", *NETSUITE_TBA_FIELDS):
        return {name: given.get(name) for name in NETSUITE_TBA_FIELDS}
    return {name: getattr(default, name) for name in NETSUITE_TBA_FIELDS}


def postgres_connection(env: dict[str, str]) -> PostgresConnection:
    default = PostgresConnection()
    return PostgresConnection(
        host=env.get("PSA_POSTGRES_HOST", default.host),
        port=int(env.get("PSA_POSTGRES_PORT", default.port)),
        user=env.get("PSA_POSTGRES_USER", default.user),
        password=env.get("PSA_POSTGRES_PASSWORD", default.password),
        database=env.get("PSA_POSTGRES_DATABASE", default.database),
    )
