"""Rows per second of the whole ingest per system and stage, against DuckDB reading the same JSON
pages from disk, and the API requests a nightly increment makes per changed row.

    python bench/ingest.py --size medium [--formats arrow,dicts] [--firm-dir DIR]

1. HTTP: every system's source, as the ingest asset runs it (a fresh dlt pipeline and DuckDB
   file, the parquet loader), against the sandbox firm served on loopback, per page format.
2. Disk: each resource's pages saved once as raw bytes, one file per page; then (a) DuckDB's
   `read_json` turning them into tables, (b) the landing path over the same files (json-parse,
   select the records as the source does, `LandPages`, dlt with the parquet loader) and (c) the
   product's rest_api source replaying the files instead of HTTP. (b)/(a) is the figure the
   goal of <= 3x is about; a pure-Python breakdown of (b)'s page work says where its time goes.
3. Increment: the firm advanced one day, each system's incremental ingest, requests made (the
   sandbox's request log) against rows loaded.

Figures, not assertions: bench/README.md keeps the latest ones.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import logging
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import dlt
import duckdb
import orjson
import pyarrow as pa
import requests
from dlt.common import jsonpath
from dlt.extract.incremental import Incremental
from dlt.sources.rest_api import rest_api_resources
from requests.adapters import BaseAdapter
from requests.compat import json as requests_json  # what Response.json() parses with

from psa_pipeline.ingest.assets import SOURCE_FACTORIES
from psa_pipeline.sandbox.plan import SIZES, FirmConfig
from psa_pipeline.sandbox.server import SandboxServer, open_firm
from psa_pipeline.settings import sandbox_endpoints
from psa_pipeline.sources import bamboohr, harvest, hubspot, kantata, landing, netsuite
from psa_pipeline.sources.landing import (
    IngestStats,
    LandPages,
    RecordRules,
    RecordsOfPage,
    counting_requests,
    landed_resources,
)
from psa_pipeline.warehouse import Warehouse

SYSTEMS = tuple(SOURCE_FACTORIES)
MODULES = {
    m.__name__.rsplit(".", 1)[-1]: m for m in (hubspot, kantata, harvest, bamboohr, netsuite)
}
STAGES = ("extract", "normalize", "load")


@dataclass
class Run:
    """One system's ingest: seconds per stage, rows landed (quarantined included), requests."""

    seconds: float
    stages: dict[str, float]
    rows: int
    requests: int = 0

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class Captured:
    """What a source hands to `landed_resources`: its rest_api config and record rules."""

    config: dict
    rules: dict | None

    def fresh(self) -> dict:
        return copy.deepcopy(self.config)  # dlt pops and writes into the config it is given


# --- the sources, as the ingest asset builds them ------------------------------------------------


def capture(system: str, endpoint) -> Captured:
    """The source's rest_api config, caught on its way into `landed_resources`."""
    caught: list[Captured] = []

    def catch(config, _system, rules, _stats, _page_format):
        caught.append(Captured(copy.deepcopy(config), rules))
        return []

    with mock.patch.object(MODULES[system], "landed_resources", catch):
        SOURCE_FACTORIES[system](endpoint)
    return caught[0]


def pipeline_in(directory: Path, system: str) -> dlt.Pipeline:
    """A fresh pipeline and DuckDB file, with the settings of `Warehouse.dlt_pipeline`."""
    directory.mkdir(parents=True, exist_ok=True)
    warehouse = Warehouse(
        database=str(directory / f"{system}.duckdb"), dlt_pipelines_dir=str(directory / "dlt")
    )
    return warehouse.dlt_pipeline(system)


def run_pipeline(pipeline: dlt.Pipeline, source, stats: IngestStats) -> Run:
    started = time.perf_counter()
    pipeline.run(source, loader_file_format="parquet")
    seconds = time.perf_counter() - started
    stages = {
        step.step: (step.finished_at - step.started_at).total_seconds()
        for step in pipeline.last_trace.steps
        if step.step in STAGES
    }
    counts = stats.by_resource.values()
    return Run(
        seconds,
        stages,
        sum(c.rows_landed + c.rows_quarantined for c in counts),
        sum(c.requests for c in counts),
    )


# --- pages on disk -------------------------------------------------------------------------------


def request_key(request) -> str:
    body = request.body or b""
    body = body.encode() if isinstance(body, str) else body
    return hashlib.sha256(f"{request.method} {request.url}\n".encode() + body).hexdigest()


class PageFiles(IngestStats):
    """Counts requests as the sources do, and saves every response body, one file per page."""

    def __init__(self, directory: Path):
        super().__init__()
        self.directory = directory
        self.by_request: dict[str, Path] = {}

    def count_request(self, resource_name: str):
        counted = super().count_request(resource_name)
        folder = self.directory / resource_name
        folder.mkdir(parents=True, exist_ok=True)

        def saved(response, *args, **kwargs):
            path = folder / f"{self.of(resource_name).requests:06d}.json"
            path.write_bytes(response.content)
            self.by_request[request_key(response.request)] = path
            return counted(response, *args, **kwargs)

        return saved


def fetch_pages(captured: Captured, pages: PageFiles, pipeline: dlt.Pipeline) -> None:
    """Every page of every resource, read once over HTTP as a first ingest reads it."""
    config = captured.fresh()
    records_of_page = {  # landed_resources' own key, not rest_api's
        described["name"]: described.pop("records_of_page")
        for described in config["resources"]
        if "records_of_page" in described
    }
    resources = rest_api_resources(counting_requests(config, pages))
    for each in resources:  # the cursor must see records, not pages
        if each.name in records_of_page:
            each.add_step(RecordsOfPage(records_of_page[each.name]))
    pipeline.extract(resources)  # no LandPages: dlt only buffers the dicts


class DiskAdapter(BaseAdapter):
    """Answers every request with the saved page the same request got over HTTP."""

    def __init__(self, by_request: dict[str, Path]):
        super().__init__()
        self.by_request = by_request

    def send(self, request, **kwargs) -> requests.Response:
        response = requests.Response()
        response.status_code, response.reason = 200, "OK"
        response._content = self.by_request[request_key(request)].read_bytes()
        response.headers["Content-Type"] = "application/json"
        response.encoding = "utf-8"
        response.url, response.request = request.url, request
        return response

    def close(self) -> None:
        pass


def replayed_source(system: str, captured: Captured, by_request, stats, page_format):
    """(c) The product's source as it is (rest_api, paginators, LandPages), fed from disk."""
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, DiskAdapter(by_request))
    config = captured.fresh()
    config["client"]["session"] = session

    def resources():
        yield from landed_resources(config, system, captured.rules, stats, page_format)

    return dlt.source(resources, name=system)()


def selected(selector: str, page) -> list:
    """The records of a page, as dlt's RESTClient.extract_response selects them."""
    data = jsonpath.find_values(selector, page)
    data = data[0] if isinstance(data, list) and len(data) == 1 else data
    if data is None:
        return []
    return data if isinstance(data, list) else [data]


def land_pages(captured: Captured, described: dict, system: str, stats, page_format) -> LandPages:
    """The page step, constructed as `landed_resources` constructs it."""
    key = described.get(
        "primary_key", captured.config.get("resource_defaults", {}).get("primary_key", "id")
    )
    return LandPages(
        system,
        described["name"],
        (key,) if isinstance(key, str) else tuple(key),
        (captured.rules or {}).get(described["name"], RecordRules()),
        described.get("columns", {}),
        stats,
        page_format,
    )


def read_pages(files: list[Path], selector: str) -> Iterator[list]:
    """One list of records per page file, parsed as `Response.json()` parses."""
    for path in files:
        yield selected(selector, requests_json.loads(path.read_bytes().decode()))


def disk_source(
    system: str, captured: Captured, pages_dir: Path, stats, page_format, cursor: bool = True
):
    """(b) The landing path over the saved pages: parse, select, the source's own record
    steps (`records_of_page` included), the incremental cursor, LandPages; no HTTP, no
    rest_api client."""
    config = captured.fresh()
    defaults = config.get("resource_defaults", {})
    built = []
    for described in config["resources"]:
        endpoint = described["endpoint"]
        files = sorted((pages_dir / described["name"]).glob("*.json"))

        landed = dlt.resource(
            read_pages(files, endpoint["data_selector"]),
            name=described["name"],
            write_disposition=described.get("write_disposition", defaults["write_disposition"]),
            primary_key=described.get("primary_key", defaults.get("primary_key")),
            columns=described.get("columns"),
        )
        for step in described.get("processing_steps", []):
            if "filter" in step:
                landed.add_filter(step["filter"])
            if "map" in step:
                landed.add_map(step["map"])
            if "yield_map" in step:
                landed.add_yield_map(step["yield_map"])
        if "records_of_page" in described:
            landed.add_step(RecordsOfPage(described["records_of_page"]))
        if cursor and "incremental" in endpoint:
            hints = {
                k: v
                for k, v in endpoint["incremental"].items()
                if k not in ("start_param", "end_param", "convert", "transform")
            }
            landed.apply_hints(incremental=Incremental(**hints))
        landed.add_step(land_pages(captured, described, system, stats, page_format))
        built.append(landed)

    def resources():
        yield from built

    return dlt.source(resources, name=system)()


def duckdb_select(described: dict, files: str) -> str:
    """(a) The DuckDB way to turn a resource's saved pages into rows of a table."""
    selector = described["endpoint"]["data_selector"]
    records_of_page = described.get("records_of_page")
    # id-keyed maps: read as MAPs (more keys than the 10 fields a record has at most), not
    # as STRUCTs with a field per id
    as_maps = "map_inference_threshold := 12"
    if records_of_page is kantata._side_loaded_records:  # records in an id-keyed map per page
        return (
            f"select unnest(map_values({described['name']}), max_depth := 2) "
            f"from read_json('{files}', {as_maps})"
        )
    if records_of_page is bamboohr.compensation_rows:  # rows under each employee's table
        return (
            "select unnest(t.rows, max_depth := 2), t.lastChanged from ("
            f"select unnest(map_values(employees)) as t from read_json('{files}', {as_maps}))"
        )
    if records_of_page is hubspot._deal_company_pairs:  # a row per deal and company
        return (
            "select deal_id, c.id as company_id, c.type from (select r.id as deal_id, "
            "unnest(r.associations.companies.results) as c from (select unnest(results) as r "
            f"from read_json('{files}')))"
        )
    if records_of_page is not None:
        raise NotImplementedError(f"no DuckDB query for {described['name']}'s records_of_page")
    if selector == "$":  # the page is the list of records
        return f"select * from read_json('{files}')"
    return f"select unnest({selector}, max_depth := 2) from read_json('{files}')"


def duckdb_read_json(captured: Captured, pages_dir: Path, database: Path) -> tuple[float, int]:
    started = time.perf_counter()
    rows = 0
    with duckdb.connect(str(database)) as conn:
        for described in captured.config["resources"]:
            name = described["name"]
            folder = pages_dir / name
            if not any(folder.glob("*.json")):
                continue
            conn.execute(
                f"create table {name} as {duckdb_select(described, str(folder / '*.json'))}"
            )
            rows += conn.execute(f"select count(*) from {name}").fetchall()[0][0]
    return time.perf_counter() - started, rows


# --- where (b)'s page work goes, outside dlt -----------------------------------------------------


@dataclass
class Breakdown:
    seconds: dict[str, float] = field(default_factory=dict)
    records: int = 0
    arrow_tables: int = 0

    def add(self, part: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[part] = self.seconds.get(part, 0.0) + now - started
        return now


class Timed:
    """A landing function that adds the time of its outermost calls to one part of a
    Breakdown (flatten calls itself for nested objects)."""

    def __init__(self, function: Callable, out: Breakdown, part: str):
        self.function, self.out, self.part = function, out, part
        self.depth = 0

    def __call__(self, *args, **kwargs):
        if self.depth:
            return self.function(*args, **kwargs)
        self.depth += 1
        started = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.depth -= 1
            self.out.add(self.part, started)


def page_items(described: dict, page) -> list[list]:
    """The items a parsed page becomes on its way to LandPages: the selected records, through
    the source's processing steps and `records_of_page`, as dlt's pipe passes them on."""
    items: list[list] = [selected(described["endpoint"]["data_selector"], page)]
    for step in described.get("processing_steps", []):
        if "filter" in step:
            items = [[r for r in item if step["filter"](r)] for item in items]
        if "map" in step:
            items = [[step["map"](r) for r in item] for item in items]
        if "yield_map" in step:  # dlt passes on each thing yielded as an item
            items = [
                r if isinstance(r, list) else [r]
                for item in items
                for one in item
                for r in step["yield_map"](one)
            ]
    if "records_of_page" in described:
        items = [RecordsOfPage(described["records_of_page"])(item) for item in items]
    return items


def breakdown(system: str, captured: Captured, pages_dir: Path) -> Breakdown:
    """The page work of (b) in plain Python: read, parse, select and the source's record steps,
    then LandPages itself on the items dlt would hand it (`page_items`), its check, flatten
    and Arrow steps timed inside it; and what orjson would take to parse the same bytes. The
    garbage collector runs as in the product: its pauses count to the step that set them off."""
    parts = {
        "problem_with": "  of which: check",
        "flatten": "  of which: flatten",
        "to_arrow": "  of which: to Arrow",
    }
    order = ["read file", "json parse (simplejson, as requests)", "(orjson parse, for comparison)"]
    order += ["select + source's record steps", "LandPages in all", *parts.values()]
    out = Breakdown(dict.fromkeys(order, 0.0))
    with contextlib.ExitStack() as patches:
        for name, part in parts.items():
            timed = Timed(getattr(landing, name), out, part)
            patches.enter_context(mock.patch.object(landing, name, timed))
        # no warehouse schema to guard the key against, as on a first load
        patches.enter_context(
            mock.patch.object(LandPages, "_key_types_in_warehouse", lambda self: {})
        )
        for described in captured.fresh()["resources"]:
            files = sorted((pages_dir / described["name"]).glob("*.json"))
            for path in files:  # apart, so its garbage does not land in the other steps
                raw = path.read_bytes()
                t = time.perf_counter()
                orjson.loads(raw)
                out.add("(orjson parse, for comparison)", t)
            land = land_pages(captured, described, system, IngestStats(), "arrow")
            for path in files:
                t = time.perf_counter()
                raw = path.read_bytes()
                t = out.add("read file", t)
                page = requests_json.loads(raw.decode())
                t = out.add("json parse (simplejson, as requests)", t)
                items = page_items(described, page)
                t = out.add("select + source's record steps", t)
                for item in items:
                    landed = list(land(item))
                    out.add("LandPages in all", t)
                    out.arrow_tables += sum(isinstance(x, pa.Table) for x in landed)
                    out.records += len(item)
                    t = time.perf_counter()
    return out


# --- the harness ---------------------------------------------------------------------------------


@contextmanager
def firm_served(size: str, seed: int, work: Path, firm_dir: Path | None) -> Iterator[str]:
    """Serve a private copy of the firm: the increment writes into the store it serves."""
    config = FirmConfig(seed=seed, size=size)
    started = time.perf_counter()
    if firm_dir is not None:
        cached = open_firm(config, firm_dir)
        (work / "sandbox").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached.path, work / "sandbox" / cached.path.name)
    store = open_firm(config, work / "sandbox")
    print(f"firm {size} (seed {seed}): ready in {time.perf_counter() - started:.1f} s", flush=True)
    with SandboxServer(store) as server:
        yield server.url


class Bench:
    """Runs each measurement `repeat` times in fresh directories and keeps the fastest."""

    def __init__(self, work: Path, repeat: int):
        self.work, self.repeat = work, repeat

    def each_system(self, label: str, make: Callable[[str, Path], Run], keep=False):
        """{system: fastest Run}; `make(system, directory)` runs one into a fresh directory.
        With `keep`, the directory of the last repetition stays (see `kept`)."""
        runs = {}
        for system in SYSTEMS:
            tries = []
            for rep in range(self.repeat):
                directory = self.work / f"{label}-{rep}" / system
                tries.append(make(system, directory))
                if not (keep and rep == self.repeat - 1):
                    shutil.rmtree(directory)
            runs[system] = min(tries, key=lambda run: run.seconds)
        return runs

    def kept(self, label: str, system: str) -> Path:
        return self.work / f"{label}-{self.repeat - 1}" / system


def print_runs(title: str, runs: dict[str, Run], against: dict[str, float] | None = None) -> None:
    print(f"\n{title}  [load average {os.getloadavg()[0]:.1f}]")
    header = f"  {'system':<10}{'requests':>9}{'rows':>11}"
    header += "".join(f"{s:>11}" for s in STAGES) + f"{'total s':>10}{'rows/s':>10}"
    print(header + ("   vs DuckDB" if against else ""))
    for system, run in [*runs.items(), ("all", total_of(runs.values()))]:
        line = f"  {system:<10}{run.requests:>9,}{run.rows:>11,}"
        line += "".join(f"{run.stages.get(s, 0.0):>11.2f}" for s in STAGES)
        line += f"{run.seconds:>10.2f}{run.rate:>10,.0f}"
        if against:
            base = sum(against.values()) if system == "all" else against[system]
            line += f"{run.seconds / base:>10.1f}x"
        print(line, flush=True)


def total_of(runs) -> Run:
    runs = list(runs)
    return Run(
        sum(r.seconds for r in runs),
        {s: sum(r.stages.get(s, 0.0) for r in runs) for s in STAGES},
        sum(r.rows for r in runs),
        sum(r.requests for r in runs),
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def over_http(bench: Bench, endpoints, formats: list[str]) -> dict[str, dict[str, Run]]:
    """1. Each system's source as the ingest asset runs it, over HTTP."""
    http = {}
    for page_format in formats:

        def make(system: str, directory: Path, page_format=page_format) -> Run:
            stats = IngestStats()
            source = SOURCE_FACTORIES[system](
                endpoints[system], page_format=page_format, stats=stats
            )
            return run_pipeline(pipeline_in(directory, system), source, stats)

        http[page_format] = bench.each_system(f"http-{page_format}", make, keep=True)
        print_runs(f"1. HTTP whole ingest, {page_format} pages", http[page_format])
    return http


def save_pages(work: Path, captured: dict[str, Captured]) -> dict[str, PageFiles]:
    saved = {}
    for system in SYSTEMS:
        saved[system] = PageFiles(work / "pages" / system)
        fetch_pages(captured[system], saved[system], pipeline_in(work / "fetch" / system, system))
    shutil.rmtree(work / "fetch")
    megabytes = {
        s: sum(p.stat().st_size for p in saved[s].directory.rglob("*.json")) / 1e6 for s in SYSTEMS
    }
    print(
        "\n2. pages saved: "
        + ", ".join(f"{s} {len(saved[s].by_request):,} ({megabytes[s]:,.0f} MB)" for s in SYSTEMS)
    )
    return saved


def from_duckdb(bench: Bench, captured, saved) -> dict[str, Run]:
    def make(system: str, directory: Path) -> Run:
        directory.mkdir(parents=True)
        seconds, rows = duckdb_read_json(
            captured[system], saved[system].directory, directory / "read_json.duckdb"
        )
        return Run(seconds, {}, rows, len(saved[system].by_request))

    duck = bench.each_system("duckdb", make)
    print(
        f"\n(a) DuckDB read_json of the saved pages into tables  [load average {os.getloadavg()[0]:.1f}]"
    )
    for system, run in [*duck.items(), ("all", total_of(duck.values()))]:
        print(f"  {system:<10}{run.rows:>11,} rows {run.seconds:>8.2f} s {run.rate:>12,.0f} rows/s")
    return duck


def from_disk(bench, captured, saved, duck, page_format: str, cursor: bool = True):
    """(b) the landing path over the saved pages."""

    def make(system: str, directory: Path) -> Run:
        stats = IngestStats()
        source = disk_source(
            system, captured[system], saved[system].directory, stats, page_format, cursor
        )
        run = run_pipeline(pipeline_in(directory, system), source, stats)
        run.requests = len(saved[system].by_request)
        return run

    runs = bench.each_system(f"disk-{page_format}-{cursor}", make)
    title = f"(b) landing path from disk, {page_format} pages"
    print_runs(
        title + ("" if cursor else ", without the incremental cursor"), runs, seconds_of(duck)
    )
    for system in SYSTEMS:
        if runs[system].rows != duck[system].rows:
            print(
                f"  ROW COUNTS DIFFER: {system} (b) {runs[system].rows:,} (a) {duck[system].rows:,}"
            )
    return runs


def replayed(bench, captured, saved, duck, page_format: str) -> dict[str, Run]:
    def make(system: str, directory: Path) -> Run:
        stats = IngestStats()
        source = replayed_source(
            system, captured[system], saved[system].by_request, stats, page_format
        )
        return run_pipeline(pipeline_in(directory, system), source, stats)

    runs = bench.each_system(f"replay-{page_format}", make)
    title = f"(c) the product's source replaying the pages from disk, {page_format} pages"
    print_runs(title, runs, seconds_of(duck))
    return runs


def seconds_of(runs: dict[str, Run]) -> dict[str, float]:
    return {system: run.seconds for system, run in runs.items()}


def print_breakdown(captured, saved) -> None:
    print("\nwhere (b)'s page work goes: seconds in plain Python, no dlt (arrow)")
    parts = {s: breakdown(s, captured[s], saved[s].directory) for s in SYSTEMS}
    names = list(dict.fromkeys(n for b in parts.values() for n in b.seconds))
    print(f"  {'':<38}" + "".join(f"{s:>10}" for s in (*SYSTEMS, "all")))
    for name in names:
        values = [parts[s].seconds.get(name, 0.0) for s in SYSTEMS]
        print(f"  {name:<38}" + "".join(f"{v:>10.2f}" for v in (*values, sum(values))))
    for name, values in (
        ("records", [parts[s].records for s in SYSTEMS]),
        ("Arrow tables made", [parts[s].arrow_tables for s in SYSTEMS]),
    ):
        print(f"  {name:<38}" + "".join(f"{v:>10,}" for v in (*values, sum(values))))


def increment(bench: Bench, url: str, endpoints, captured, page_format: str) -> None:
    """3. One more day at the firm, then each system's incremental ingest on the pipelines
    (and warehouse files) the HTTP full ingest left. Rows of resources without a cursor (read
    whole every run) are counted apart: only part of them changed."""
    started = time.perf_counter()
    advanced = requests.post(f"{url}/_sandbox/advance", params={"days": 1}, timeout=3600)
    advanced.raise_for_status()
    print(
        f"\n3. firm advanced one day to {advanced.json()['as_of']} in "
        f"{time.perf_counter() - started:.1f} s; incremental ingest, {page_format} pages  "
        f"[load average {os.getloadavg()[0]:.1f}]"
    )
    print(
        f"  {'system':<10}{'requests':>9}{'rows loaded':>13}{'by cursor':>11}{'read whole':>12}"
        f"{'req/row':>9}{'req/cursor row':>16}{'seconds':>9}"
    )
    totals = [0, 0, 0]
    for system in SYSTEMS:
        requests.delete(f"{url}/_sandbox/requests", timeout=60).raise_for_status()
        stats = IngestStats()
        source = SOURCE_FACTORIES[system](endpoints[system], page_format=page_format, stats=stats)
        pipeline = pipeline_in(bench.kept(f"http-{page_format}", system), system)
        run = run_pipeline(pipeline, source, stats)
        logged = requests.get(f"{url}/_sandbox/requests", timeout=60).json()["total"]
        whole = sum(
            stats.of(described["name"]).rows_landed + stats.of(described["name"]).rows_quarantined
            for described in captured[system].config["resources"]
            if "incremental" not in described["endpoint"]
        )
        row = [logged, run.rows, run.rows - whole]
        totals = [t + r for t, r in zip(totals, row, strict=True)]
        print(f"  {system:<10}" + increment_line(*row) + f"{run.seconds:>9.2f}")
    print(f"  {'all':<10}" + increment_line(*totals))


def increment_line(made: int, loaded: int, by_cursor: int) -> str:
    def per(rows: int) -> str:
        return f"{made / rows:.3f}" if rows else "-"

    return (
        f"{made:>9,}{loaded:>13,}{by_cursor:>11,}{loaded - by_cursor:>12,}"
        f"{per(loaded):>9}{per(by_cursor):>16}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="medium")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--formats", default="arrow,dicts", help="page formats, comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="keep the fastest of N runs")
    parser.add_argument("--firm-dir", type=Path, help="keep generated firms here between runs")
    parser.add_argument("--work-dir", type=Path, help="pages and warehouses (default: a temp dir)")
    args = parser.parse_args()
    logging.getLogger("dlt").setLevel(logging.ERROR)  # schema hints and cursor notes per page
    formats = args.formats.split(",")
    print(
        f"dlt {dlt.__version__}, duckdb {duckdb.__version__}, pyarrow {pa.__version__}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )

    with tempfile.TemporaryDirectory(prefix="psa-bench-ingest-", dir=args.work_dir) as tmp:
        work = Path(tmp)
        bench = Bench(work, args.repeat)
        with firm_served(args.size, args.seed, work, args.firm_dir) as url:
            endpoints = sandbox_endpoints(url)
            captured = {s: capture(s, endpoints[s]) for s in SYSTEMS}
            http = over_http(bench, endpoints, formats)
            print(f"peak RSS so far: {peak_rss_mb():,.0f} MB", flush=True)

            saved = save_pages(work, captured)
            duck = from_duckdb(bench, captured, saved)
            for page_format in formats:
                from_disk(bench, captured, saved, duck, page_format)
                if page_format == formats[0]:
                    from_disk(bench, captured, saved, duck, page_format, cursor=False)
                replayed(bench, captured, saved, duck, page_format)
                print_runs(
                    f"    for context: HTTP whole ingest, {page_format} pages",
                    http[page_format],
                    seconds_of(duck),
                )
            print_breakdown(captured, saved)
            print(f"peak RSS so far: {peak_rss_mb():,.0f} MB", flush=True)

            increment(bench, url, endpoints, captured, formats[0])

    print(
        f"\npeak RSS of the harness (the sandbox server is a thread in it): {peak_rss_mb():,.0f} MB"
    )


if __name__ == "__main__":
    main()
