-- The tenants' decayed GPU usage, the fair-share history the scheduler
-- reads: one row per tenant, as last saved.
CREATE TABLE fair_share (
    tenant      TEXT PRIMARY KEY,
    gpu_seconds REAL NOT NULL,
    as_of       INTEGER NOT NULL -- Unix seconds
);
