-- 0001_init: jobs, idempotency keys, events and nodes.
--
-- A job is its JSON document (doc: the api.Job without its spec) plus the
-- spec verbatim (spec: encoding/json would compact it) and copies of the
-- fields the queries filter and sum on. The store writes the columns and
-- the document from the same value in the same statement, so they agree.
-- Times are TEXT, RFC 3339 in UTC with nine fractional digits.

CREATE TABLE jobs (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT, -- submission order, the page cursor
	id             TEXT    NOT NULL UNIQUE,
	tenant         TEXT    NOT NULL,
	kind           TEXT    NOT NULL,
	priority_class TEXT    NOT NULL,
	state          TEXT    NOT NULL,
	active         INTEGER NOT NULL, -- 1 unless api.Final(state)
	submit_time    TEXT    NOT NULL,
	gpu_seconds    REAL    NOT NULL,
	it_kwh         REAL    NOT NULL,
	kwh            REAL    NOT NULL,
	eur            REAL    NOT NULL,
	gco2e          REAL    NOT NULL,
	doc            BLOB    NOT NULL,
	spec           BLOB
);

CREATE INDEX jobs_tenant ON jobs (tenant, seq);
CREATE INDEX jobs_state ON jobs (state, seq);
CREATE INDEX jobs_active ON jobs (seq) WHERE active = 1;

CREATE TABLE idempotency (
	tenant TEXT NOT NULL,
	key    TEXT NOT NULL,
	job_id TEXT NOT NULL REFERENCES jobs (id),
	PRIMARY KEY (tenant, key)
) WITHOUT ROWID;

CREATE TABLE events (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	time    TEXT NOT NULL,
	job     TEXT NOT NULL, -- '' for an event of no job
	tenant  TEXT NOT NULL,
	node    TEXT NOT NULL,
	type    TEXT NOT NULL,
	message TEXT NOT NULL
);

CREATE INDEX events_job ON events (job, seq);

CREATE TABLE nodes (
	name TEXT PRIMARY KEY,
	doc  BLOB NOT NULL
) WITHOUT ROWID;
