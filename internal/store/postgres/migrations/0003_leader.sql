-- 0003_leader: the lease of the replica that runs the scheduler loop.
-- epoch grows by one at every change of holder: it is the fencing token
-- every write of the leader carries, checked in the write's transaction.
CREATE TABLE leader (
	id      INTEGER     PRIMARY KEY CHECK (id = 1),
	holder  TEXT        NOT NULL, -- the replica's name
	address TEXT        NOT NULL, -- its operator API, for the others to reach it
	epoch   BIGINT      NOT NULL,
	expires TIMESTAMPTZ NOT NULL
);

INSERT INTO leader (id, holder, address, epoch, expires) VALUES (1, '', '', 0, '-infinity');
