"""The last steps every page takes before dlt: check each record, keep the bad ones aside, and
turn the good ones into an Arrow table.

Each source describes its endpoints as a rest_api config and hands it to `landed_resources`,
which adds what every system needs the same way:

- the `RetryingSession` (sources/http.py): bounded retries with jitter, and a clear failure;
- a count of the requests each resource makes (a response hook per resource);
- after dlt's incremental cursor, a `LandPages` step per resource. It checks every record of a
  page against the resource's `RecordRules`; a record that fails goes, with its raw payload and
  the reason, to the system's `quarantine` table (merged on resource and record key, so a
  record read again is not quarantined twice) and the rest of the page goes on. The cursor
  runs first on purpose: a quarantined record is kept, not lost, and is not asked for again.
- the key-column guard: a key that arrives with a type the warehouse cannot store in its key
  column (say text ids where ids were integers) stops the run with `KeyColumnTypeChanged`
  before anything is loaded, instead of dlt quietly adding a variant column beside the key.

Good records are flattened on purpose (nested objects to `<object>__<field>`, lists kept whole
as JSON text) and become one Arrow table per page, with the column types
the resource declares (money as DECIMAL), which dlt normalises far faster than dicts
(bench/ingest.py measures both; `page_format="dicts"` keeps the dict path for that).

Empty is normal: every page becomes a table, an empty one included, and every column the
resource declares is in it (null where the vendor left the field out or sent null), so a raw
table and its declared columns exist from the first run whatever the source returned. A
vendor that sends nothing for a field on a whole page, or has no records at all yet, never
makes a column or a table vanish under the staging models.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from babel.numbers import list_currencies
from dlt.common.data_types import coerce_value, py_type_to_sc_type
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.extract.items_transform import ItemTransform
from dlt.extract.resource import DltResource
from dlt.sources.rest_api import RESTAPIConfig, rest_api_resources

from psa_pipeline.sources.http import RetryingSession

QUARANTINE_TABLE = "quarantine"
QUARANTINE_COLUMNS = {
    "quarantine_id": {"data_type": "text", "nullable": False},
    "resource": {"data_type": "text", "nullable": False},
    "record_key": {"data_type": "text"},
    "reason": {"data_type": "text", "nullable": False},
    "payload": {"data_type": "json", "nullable": False},
}
ISO_4217 = frozenset(list_currencies()) - {"XXX", "XTS"}  # "no currency" and "testing"
PageFormat = Literal["arrow", "dicts"]
# what dlt's iso_timestamp detection takes as a timestamp: a date, a time and a zone
ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$"


class KeyColumnTypeChanged(ValueError):
    """A source sends a key column with a type the warehouse's key column cannot hold."""

    def __init__(self, system: str, table: str, column: str, stored: str, value: Any):
        self.system, self.table, self.column = system, table, column
        super().__init__(
            f"{system}: table {table!r} column {column!r} is {stored} in the warehouse but the "
            f"source now sends {type(value).__name__} values like {value!r}. Refusing to load: "
            f"a key column that changes type breaks every merge and join on it. If the vendor "
            f"really changed it, migrate raw_{system}.{table} first."
        )


@dataclass(frozen=True)
class RecordRules:
    """What a record of one resource must hold to land. Paths are dotted (`project.id`).

    numbers: fields that must be numbers if present, with inclusive bounds (None: unbounded).
    Columns the resource declares DECIMAL must be numbers too, bounded or not.
    """

    required: tuple[str, ...] = ()
    numbers: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)
    currencies: tuple[str, ...] = ()


@dataclass
class ResourceStats:
    requests: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0


class IngestStats:
    """Counts per resource for one run, read into the Dagster asset metadata."""

    def __init__(self):
        self._lock = threading.Lock()
        self.by_resource: dict[str, ResourceStats] = {}
        self.started = time.monotonic()

    def of(self, resource: str) -> ResourceStats:
        with self._lock:
            return self.by_resource.setdefault(resource, ResourceStats())

    def count_request(self, resource: str):
        """A rest_api response action: called once for every response the resource gets."""

        def counted(response, *args, **kwargs):
            self.of(resource).requests += 1
            return response

        return counted

    def metadata(self, asset_key) -> dict:
        """Dagster metadata for the asset of one resource (its key ends in the resource name).

        The duration is the system's whole run: dlt extracts a system's resources together."""
        counts = self.of(asset_key.path[-1])
        return {
            "rows_loaded": counts.rows_landed,
            "rows_quarantined": counts.rows_quarantined,
            "requests": counts.requests,
            "duration_s": round(time.monotonic() - self.started, 2),
        }


def value_at(record: Mapping, path: str) -> Any:
    value: Any = record
    for part in _parts(path):
        if type(value) is not dict:
            return None
        value = value.get(part)
    return value


@functools.cache
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def problem_with(
    record: Any, keys: tuple[str, ...], rules: RecordRules, decimals: tuple[str, ...]
) -> str | None:
    """Why the record cannot land, or None when it can."""
    if not isinstance(record, Mapping):
        return f"not an object: {type(record).__name__}"
    for key in keys:
        if record.get(key) in (None, ""):
            return f"no {key}"
    for path in rules.required:
        if value_at(record, path) in (None, ""):
            return f"no {path}"
    for path in decimals:
        value = value_at(record, path)
        if value is not None and path not in rules.numbers and not _is_number(value):
            return f"{path} is not a number: {value!r}"
    for path, (low, high) in rules.numbers.items():
        value = value_at(record, path)
        if value is None:
            continue
        if not _is_number(value):
            return f"{path} is not a number: {value!r}"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{path} {value} is outside [{low}, {high}]"
    for path in rules.currencies:
        value = value_at(record, path)
        if value is not None and value not in ISO_4217:
            return f"{path} {value!r} is not an ISO 4217 currency"
    return None


def flatten(record: dict, prefix: str = "") -> dict:
    """Nested objects become `<object>__<field>` columns, as dlt names them; a list stays whole,
    as JSON text: no source here has one-to-many children worth a child table. (Parsed JSON is
    plain dicts and lists: exact type checks keep this, the hot loop of landing, cheap.)"""
    flat: dict[str, Any] = {}
    for name, value in record.items():
        kind = type(value)
        if kind is dict:
            flat.update(flatten(value, f"{prefix}{name}__"))
        elif kind is list:
            flat[f"{prefix}{name}"] = json.dumps(value, sort_keys=True)
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _arrow_type(hint: Mapping) -> pa.DataType | None:
    data_type = hint.get("data_type")
    if data_type == "decimal":
        return pa.decimal128(hint.get("precision", 18), hint.get("scale", 4))
    return {
        "bigint": pa.int64(),
        "double": pa.float64(),
        "text": pa.string(),
        "json": pa.string(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
    }.get(data_type)


_NAMING = NamingConvention()


@functools.cache
def column_name(path: str) -> str:
    """The warehouse's name for a flattened field, as dlt names it (`status__lastChanged` ->
    `status__last_changed`): declared columns and page columns meet under this name."""
    return _NAMING.normalize_path(path.replace(".", "__"))


def declared_arrow_types(column_hints: Mapping[str, Mapping]) -> dict[str, pa.DataType]:
    """The Arrow type of every declared column that has one, by its warehouse name."""
    return {
        column_name(name): arrow_type
        for name, hint in column_hints.items()
        if (arrow_type := _arrow_type(hint)) is not None
    }


def to_arrow(
    records: list[dict], keys: tuple[str, ...], column_types: Mapping[str, pa.DataType]
) -> pa.Table:
    """One page of records as a flat Arrow table, typed as dlt types dicts.

    Arrow infers one struct type over every field of every record (records leave fields out:
    SuiteQL omits nulls) and flattens the nested objects to `<object>__<field>` itself, twice
    as fast as `flatten` in Python; if no single type fits some field, the Python path names
    it. Then: columns take their warehouse names (dlt's snake_case); lists become JSON text;
    declared columns are cast to their declared types, and a declared column the page does not
    have is added, all null, so it exists from the first run; undeclared text that is all ISO
    8601 timestamps becomes a UTC timestamp, as dlt's timestamp detection does for dicts; an
    undeclared column with no value on the page is left out, as dlt leaves out None (it is
    created the first time it has a value); key columns are not null (checked). An empty page
    gives an empty table of the declared columns.
    """
    if records:
        table = _struct_table(records)
    else:
        table = pa.table({})
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        name = column_name(name)
        declared = column_types.get(name)
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            column = pa.array(
                [None if v is None else json.dumps(v, sort_keys=True) for v in column.to_pylist()],
                pa.string(),
            )
        if declared is not None and column.type != declared:
            column = _cast_declared(name, column, declared)
        elif declared is None and pa.types.is_null(column.type):
            continue
        elif declared is None and pa.types.is_string(column.type) and _all_timestamps(column):
            column = column.cast(pa.timestamp("us", tz="UTC"))
        columns[name] = column
    for name, declared in column_types.items():
        if name not in columns:
            columns[name] = pa.nulls(len(records), declared)
    table = pa.table(columns)
    for key in keys:
        index = table.schema.get_field_index(column_name(key))
        if index < 0:  # an empty page: the key is a column all the same
            table = table.append_column(pa.field(column_name(key), pa.string()), [[]])
            index = table.schema.get_field_index(column_name(key))
        field = table.schema.field(index)
        table = table.set_column(index, field.with_nullable(False), table.column(index))
    return table


def _struct_table(records: list[dict]) -> pa.Table:
    try:
        return pa.Table.from_struct_array(pa.array(records))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        rows = [flatten(record) for record in records]
        names = dict.fromkeys(name for row in rows for name in row)
        return pa.table({name: _column(name, [row.get(name) for row in rows]) for name in names})


def _cast_declared(name: str, column, declared: pa.DataType):
    """A page column as its declared type, or a clear error naming the column and a value."""
    if pa.types.is_decimal(declared) and not (
        pa.types.is_floating(column.type) or pa.types.is_string(column.type)
    ):
        column = column.cast(pa.float64())  # whole numbers arrive as ints, nulls as null
    elif pa.types.is_date(declared) and pa.types.is_timestamp(column.type):
        column = column.cast(pa.date32())
    try:
        return column.cast(declared)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise UntypedColumn(
            f"column {name!r} is declared {declared} but the page has values like "
            f"{_first_value(column)!r}: {error}"
        ) from error


def _first_value(column) -> Any:
    values = column.drop_null()
    return values[0].as_py() if len(values) else None


class UntypedColumn(ValueError):
    """A column whose values on one page are of kinds no single Arrow type holds."""


def _column(name: str, values: list) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        kinds = sorted({type(v).__name__ for v in values if v is not None})
        raise UntypedColumn(
            f"column {name!r} mixes {', '.join(kinds)} values on one page; declare its type "
            f"in the source's columns (or a RecordRules check that quarantines the odd ones)"
        ) from error


def _all_timestamps(column: pa.Array | pa.ChunkedArray) -> bool:
    values = column.drop_null()
    return len(values) > 0 and pc.all(pc.match_substring_regex(values, ISO_TIMESTAMP)).as_py()


UTC_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so text order is time order


def utc_instant(value: Any) -> Any:
    """An ISO 8601 timestamp with any UTC offset (`2018-07-24T19:13:52-07:00`) as the same
    instant in UTC, in one fixed-width form (`2018-07-25T02:13:52.000000Z`); anything else (a
    date, None, text that is no timestamp) as it was."""
    if type(value) is not str or len(value) < 19 or value[10] != "T":
        return value
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return value
    if at.tzinfo is None:
        return value
    return at.astimezone(UTC).strftime(UTC_STAMP)


def in_utc(*paths: str) -> Callable[[dict], dict]:
    """A rest_api `map` step: these (dotted) fields of a record as UTC instants.

    dlt's incremental cursor compares values as they come, and text compares as text:
    `…T01:10:00-08:00` sorts before `…T01:30:00-07:00` though it is later. Vendors that stamp
    records with the account's offset (Kantata, BambooHR) get their cursor fields rewritten to
    UTC before the cursor sees them, so every comparison is between instants."""
    split = [tuple(path.split(".")) for path in paths]

    def step(record: dict) -> dict:
        for parts in split:
            holder: Any = record
            for part in parts[:-1]:
                holder = holder.get(part) if type(holder) is dict else None
            if type(holder) is dict and parts[-1] in holder:
                holder[parts[-1]] = utc_instant(holder[parts[-1]])
        return record

    return step


def quarantine_row(resource: str, keys: tuple[str, ...], record: Any, reason: str) -> dict:
    """One quarantine row, identified by the record's key (or, without one, its payload): a
    record sent broken again replaces its row instead of adding another."""
    payload = json.dumps(record, sort_keys=True, default=str)
    parts = [record.get(key) for key in keys] if isinstance(record, Mapping) else [None]
    record_key = None if None in parts or "" in parts else "|".join(map(str, parts))
    identity = payload if record_key is None else f"key:{record_key}"
    return {
        "quarantine_id": hashlib.sha256(f"{resource}\n{identity}".encode()).hexdigest()[:32],
        "resource": resource,
        "record_key": record_key,
        "reason": reason,
        "payload": payload,
    }


class LandPages(ItemTransform):
    """The page step: quarantine, key guard, flatten, Arrow. Yields up to two items a page."""

    # after dlt's incremental step (1), wherever dlt puts that: the cursor must see records
    placement_affinity = 1.5

    def __init__(
        self,
        system: str,
        resource: str,
        keys: tuple[str, ...],
        rules: RecordRules,
        column_hints: Mapping[str, Mapping],
        stats: IngestStats,
        page_format: PageFormat,
    ):
        super().__init__(lambda item: item)
        self.system, self.resource, self.keys = system, resource, keys
        self.rules = rules
        self.page_format = page_format
        self.stats = stats.of(resource)
        self.decimals = tuple(
            name for name, hint in column_hints.items() if hint.get("data_type") == "decimal"
        )
        self.column_types = declared_arrow_types(column_hints)
        self._stored_key_types: dict[str, str] | None = None

    def __call__(self, item: Any, meta: Any = None) -> Iterator[Any]:
        return self._land(item if isinstance(item, list) else [item])

    def _land(self, page: list) -> Iterator[Any]:
        good, quarantined = [], []
        for record in page:
            reason = problem_with(record, self.keys, self.rules, self.decimals)
            if reason is None:
                self._guard_keys(record)
                good.append(record)
            else:
                quarantined.append(quarantine_row(self.resource, self.keys, record, reason))
        self.stats.rows_landed += len(good)
        self.stats.rows_quarantined += len(quarantined)
        if self.page_format == "arrow":  # an empty page too: the table and its columns exist
            try:
                yield to_arrow(good, self.keys, self.column_types)
            except UntypedColumn as error:
                raise UntypedColumn(f"{self.system}: table {self.resource!r}: {error}") from error
        elif good:
            yield [flatten(record) for record in good]
        if quarantined:
            yield dlt.mark.with_hints(
                quarantined,
                dlt.mark.make_hints(
                    table_name=QUARANTINE_TABLE,
                    write_disposition="merge",
                    primary_key="quarantine_id",
                    columns=QUARANTINE_COLUMNS,
                ),
                create_table_variant=True,
            )

    def _guard_keys(self, record: Mapping) -> None:
        for key, stored in self._key_types_in_warehouse().items():
            value = record[key]
            try:
                coerce_value(stored, py_type_to_sc_type(type(value)), value)
            except (ValueError, TypeError) as error:
                raise KeyColumnTypeChanged(
                    self.system, self.resource, key, stored, value
                ) from error

    def _key_types_in_warehouse(self) -> dict[str, str]:
        """The key columns' types in the schema dlt restored from the warehouse, if it has them."""
        if self._stored_key_types is None:
            table = dlt.current.source_schema().tables.get(self.resource, {})
            columns = table.get("columns", {})
            self._stored_key_types = {
                key: columns[column_name(key)]["data_type"]
                for key in self.keys
                if columns.get(column_name(key), {}).get("data_type")
            }
        return self._stored_key_types


class RecordsOfPage(ItemTransform):
    """What a resource's `records_of_page` step does: each page its data selector picked (a
    side-loaded Kantata page, BambooHR's tables by employee, a deal and its companies) becomes
    its records, as one list. dlt's `yield_map` would hand the records on one by one, and every
    later step (the cursor, `LandPages`) would then work a record at a time."""

    def __init__(self, records_of: Callable[[Any], Iterable[dict]]):
        super().__init__(lambda item: item)
        self.records_of = records_of

    def __call__(self, item: Any, meta: Any = None) -> list[dict]:
        picked = item if isinstance(item, list) else [item]
        return [record for each in picked for record in self.records_of(each)]


def counting_requests(config: RESTAPIConfig, stats: IngestStats) -> RESTAPIConfig:
    """The config with a response hook per resource that counts the resource's requests."""
    for resource in config["resources"]:
        endpoint = resource["endpoint"]
        endpoint["response_actions"] = [
            *endpoint.get("response_actions", []),
            stats.count_request(resource["name"]),
        ]
    return config


def landed_resources(
    config: RESTAPIConfig,
    system: str,
    rules: Mapping[str, RecordRules] | None,
    stats: IngestStats | None,
    page_format: PageFormat,
) -> list[DltResource]:
    """The rest_api resources of `config`, each counting its requests and landing its pages.

    Each resource declares its columns (dlt `columns` hints), its key columns at least: they
    make the table, with those columns, on the first run even when the source has nothing.
    A resource may name a `records_of_page` function (not a rest_api key): see RecordsOfPage.
    """
    stats = stats or IngestStats()
    default_key = config.get("resource_defaults", {}).get("primary_key", "id")

    def keys_of(described: Mapping) -> tuple[str, ...]:
        key = described.get("primary_key", default_key)
        return (key,) if isinstance(key, str) else tuple(key)

    config["client"].setdefault("session", RetryingSession(system))
    records_of_page = {
        described["name"]: described.pop("records_of_page")
        for described in config["resources"]
        if "records_of_page" in described
    }
    for described in config["resources"]:
        # hints by the warehouse's names (dlt takes a dotted `properties.amount` literally),
        # each its own dict: dlt writes the column's name and key flags into the one it gets.
        # Keys stay the records' own names: dlt's cursor deduplicates records by them.
        described["columns"] = {
            column_name(name): dict(hint) for name, hint in described.get("columns", {}).items()
        }
        undeclared = [
            key for key in keys_of(described) if column_name(key) not in described["columns"]
        ]
        if undeclared:
            raise ValueError(
                f"{system}: resource {described['name']!r} must declare the type of its key "
                f"column(s) {undeclared} in `columns`: an empty first page creates the table"
            )
    resources = rest_api_resources(counting_requests(config, stats))
    for resource, described in zip(resources, config["resources"], strict=True):
        if resource.name in records_of_page:
            resource.add_step(RecordsOfPage(records_of_page[resource.name]))
        resource.add_step(
            LandPages(
                system,
                resource.name,
                keys_of(described),
                (rules or {}).get(resource.name, RecordRules()),
                described.get("columns", {}),
                stats,
                page_format,
            )
        )
    return resources
