-- 0001_init: jobs, idempotency keys, events, nodes and fair share.
--
-- A job is its JSON document (doc: the api.Job without its spec) plus the
-- spec verbatim (spec: encoding/json would compact it) and copies of the
-- fields the queries filter and sum on. The store writes the columns and
-- the document from the same value in the same statement, so they agree.
-- Times are TEXT, RFC 3339 in UTC with nine fractional digits: TIMESTAMPTZ
-- keeps microseconds only.

CREATE TABLE jobs (
	seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- submission order, the page cursor
	id             TEXT    NOT NULL UNIQUE,
	tenant         TEXT    NOT NULL,
	kind           TEXT    NOT NULL,
	priority_class TEXT    NOT NULL,
	state          TEXT    NOT NULL,
	active         BOOLEAN NOT NULL, -- true unless api.Final(state)
	submit_time    TEXT    NOT NULL,
	gpu_seconds    DOUBLE PRECISION NOT NULL,
	it_kwh         DOUBLE PRECISION NOT NULL,
	kwh            DOUBLE PRECISION NOT NULL,
	eur            DOUBLE PRECISION NOT NULL,
	gco2e          DOUBLE PRECISION NOT NULL,
	doc            JSONB   NOT NULL,
	spec           BYTEA
);

CREATE INDEX jobs_tenant ON jobs (tenant, seq);
CREATE INDEX jobs_state ON jobs (state, seq);
CREATE INDEX jobs_active ON jobs (seq) WHERE active;

-- The key is inserted before its job (so that a concurrent CreateJob with
-- the same key waits on it), hence the deferred foreign key.
CREATE TABLE idempotency (
	tenant TEXT NOT NULL,
	key    TEXT NOT NULL,
	job_id TEXT NOT NULL REFERENCES jobs (id) DEFERRABLE INITIALLY DEFERRED,
	PRIMARY KEY (tenant, key)
);

CREATE TABLE events (
	seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
	doc  JSONB NOT NULL
);

-- The tenants' decayed GPU usage, the fair-share history the scheduler
-- reads: one row per tenant, as last saved.
CREATE TABLE fair_share (
	tenant      TEXT PRIMARY KEY,
	gpu_seconds DOUBLE PRECISION NOT NULL,
	as_of       BIGINT NOT NULL -- Unix seconds
);
