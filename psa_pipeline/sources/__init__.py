"""One dlt source per system, each on dlt's rest_api source."""

# Every incremental cursor starts before any record a firm can have.
INITIAL_CURSOR = "1970-01-01T00:00:00Z"
