-- Jobdeck extension: GET /api/jobs/browse?sortBy=… (server/jobs/sort.ts). One index per sort order, each led by
-- owner, so one user's sorted page is an index range scan whatever their number of jobs. The expressions must stay
-- exactly the ones in sort.ts, or the planner stops matching them.
--
-- Rows are compared as one tuple in one direction (keyset pages), so "nulls last" in both directions needs a flag
-- column that flips with the direction: (x IS NULL) ascending, (x IS NOT NULL) descending. Text sorts with the "C"
-- collation so PGlite and PostgreSQL agree on the order whatever their locale.

-- name: case-insensitive, jobs without a name (null or empty: the list shows the application instead) last, then id.
CREATE INDEX jobs_owner_name_asc ON jobs (owner, (coalesce(name, '') = ''), (coalesce(lower(name), '') COLLATE "C"), id);
CREATE INDEX jobs_owner_name_desc ON jobs (owner, (coalesce(name, '') <> ''), (coalesce(lower(name), '') COLLATE "C"), id);

-- application: name, then version, then id.
CREATE INDEX jobs_owner_application ON jobs (owner, (app_name COLLATE "C"), (app_version COLLATE "C"), id);

-- state: in lifecycle order (queued, running, suspended, then the final states), then id.
CREATE INDEX jobs_owner_state ON jobs (
  owner, (array_position('{IN_QUEUE,RUNNING,SUSPENDED,SUCCESS,FAILURE,EXPIRED}'::text[], state)), id
);

-- lastUpdate: the time of the job's last applied update, then id.
CREATE INDEX jobs_owner_modified ON jobs (owner, modified_at, id);

-- expiresAt: jobs that have not started (no expiry yet) last, then id.
CREATE INDEX jobs_owner_expires_asc ON jobs (owner, (expires_at IS NULL), (coalesce(expires_at, 0)), id);
CREATE INDEX jobs_owner_expires_desc ON jobs (owner, (expires_at IS NOT NULL), (coalesce(expires_at, 0)), id);
