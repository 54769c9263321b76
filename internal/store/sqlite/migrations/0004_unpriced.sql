-- 0004_unpriced: the part of a job's facility energy drawn in hours its
-- site's grid series does not hold (its cost and carbon leave it out),
-- so that a tenant's usage says how much of its energy went unpriced.
ALTER TABLE jobs ADD COLUMN unpriced_kwh REAL NOT NULL DEFAULT 0;
