"""PSA_WAREHOUSE picks the warehouse: where dlt lands, how it writes pages, and dbt's output."""

import pytest

from psa_pipeline.settings import PostgresConnection, load_settings
from psa_pipeline.warehouse import Warehouse


def test_duckdb_is_the_default_warehouse(tmp_path):
    settings = load_settings({"PSA_DATA_DIR": str(tmp_path)})
    warehouse = Warehouse.from_settings(settings)

    assert settings.warehouse == "duckdb"
    assert warehouse.loader_file_format == "parquet"
    assert warehouse.dbt_target == "duckdb"
    assert warehouse.dbt_vars() == {"warehouse_path": str(tmp_path / "warehouse.duckdb")}
    assert warehouse.dlt_destination().destination_name == "duckdb"


def test_postgres_warehouse_from_the_environment(tmp_path):
    settings = load_settings(
        {
            "PSA_DATA_DIR": str(tmp_path),
            "PSA_WAREHOUSE": "Postgres",
            "PSA_POSTGRES_HOST": "db.internal",
            "PSA_POSTGRES_PORT": "6543",
            "PSA_POSTGRES_USER": "loader",
            "PSA_POSTGRES_PASSWORD": "s3cret/:@",
            "PSA_POSTGRES_DATABASE": "psa",
        }
    )
    warehouse = Warehouse.from_settings(settings)

    assert settings.warehouse == "postgres"
    assert settings.postgres == PostgresConnection(
        "db.internal", 6543, "loader", "s3cret/:@", "psa"
    )
    assert warehouse.loader_file_format == "csv"
    assert warehouse.dbt_target == "postgres"
    # the password is not a dbt var: vars are logged, the profile reads it from the environment
    assert warehouse.dbt_vars() == {
        "postgres_host": "db.internal",
        "postgres_port": 6543,
        "postgres_user": "loader",
        "postgres_database": "psa",
    }
    credentials = warehouse.dlt_destination().config_params["credentials"]
    assert (credentials.host, credentials.port, credentials.database) == (
        "db.internal",
        6543,
        "psa",
    )
    assert credentials.password == "s3cret/:@"


def test_postgres_defaults_to_the_local_server_without_a_password():
    server = load_settings({"PSA_WAREHOUSE": "postgres"}).postgres

    assert server == PostgresConnection("127.0.0.1", 5432, "postgres", "", "postgres")


def test_an_unknown_warehouse_is_refused():
    with pytest.raises(ValueError, match="PSA_WAREHOUSE"):
        load_settings({"PSA_WAREHOUSE": "snowflake"})
