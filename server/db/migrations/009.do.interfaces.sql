-- A job's web interface, opened through Jobdeck's proxy on an origin of its own (server/interfaces/).

-- A grant: what the dashboard gets from jobs.openInteractiveSession and the browser carries, once, to the job's
-- origin. Only its SHA-256 is kept. Single use: redeeming deletes the row; it expires after a minute.
CREATE TABLE interface_grants (
  hash       text   PRIMARY KEY,
  job_id     bigint NOT NULL,
  owner      text   NOT NULL,
  expires_at bigint NOT NULL
);

-- A session: what a redeemed grant becomes, held by the browser as an HttpOnly cookie of the job's host only. Only its
-- SHA-256 is kept.
CREATE TABLE interface_sessions (
  hash       text   PRIMARY KEY,
  job_id     bigint NOT NULL,
  owner      text   NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE INDEX interface_grants_expiry ON interface_grants (expires_at);
CREATE INDEX interface_sessions_expiry ON interface_sessions (expires_at);
