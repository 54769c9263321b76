-- 0002_security: who caused each event, and the control plane's own
-- records (API and join tokens as keyed hashes, enrolled nodes, tenant
-- secrets sealed by envelope encryption, settings). A record is a JSON or
-- binary document under (kind, key); nothing secret is stored in clear.
ALTER TABLE events ADD COLUMN actor TEXT NOT NULL DEFAULT '';

CREATE TABLE records (
	kind TEXT  NOT NULL,
	key  TEXT  NOT NULL,
	doc  BYTEA NOT NULL,
	PRIMARY KEY (kind, key)
);
