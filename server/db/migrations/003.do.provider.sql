-- Core side of the provider protocol (server/jobs/provider-gateway.ts, contract §5).

-- When the job's provider answered the create call. Verify only sends jobs a provider has answered for,
-- so a job whose create is still being retried is never reported to it as unknown.
ALTER TABLE jobs ADD COLUMN provider_acked_at bigint;

-- Core → provider calls not yet delivered, in order; retried with backoff until the provider answers.
CREATE TABLE provider_calls (
  id         bigserial PRIMARY KEY,
  provider   text    NOT NULL,
  op         text    NOT NULL CHECK (op IN ('create', 'terminate', 'extend')),
  job_id     bigint  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  -- extend: the requested SimpleDuration.
  payload    jsonb,
  attempts   integer NOT NULL DEFAULT 0,
  last_error text,
  created_at bigint  NOT NULL
);
CREATE INDEX provider_calls_provider ON provider_calls (provider, id);
CREATE INDEX provider_calls_job ON provider_calls (job_id);

-- The built-in provider "example" (server/provider/). Its own state: it knows jobs only through the
-- provider API and never reads the core's tables.
CREATE TABLE example_jobs (
  job_id             text    PRIMARY KEY,
  owner              text    NOT NULL,
  app_name           text    NOT NULL,
  product_id         text    NOT NULL,
  -- Batch applications finish on their own; services run until terminated or expired.
  finishes           boolean NOT NULL,
  state              text    NOT NULL,
  -- The last status line the provider reported for the job.
  status             text,
  time_allocation_ms bigint,
  received_at        bigint  NOT NULL,
  started_at         bigint,
  ended_at           bigint,
  -- The simulator's next transition of this job ('start', 'finish' or 'expire') and when it is due.
  next_event         text,
  next_event_at      bigint
);
CREATE INDEX example_jobs_due ON example_jobs (next_event_at) WHERE next_event_at IS NOT NULL;

-- Peer links as the provider received them: job_id reaches peer_job_id under hostname.
CREATE TABLE example_peers (
  job_id      text NOT NULL REFERENCES example_jobs (job_id) ON DELETE CASCADE,
  hostname    text NOT NULL,
  peer_job_id text NOT NULL,
  PRIMARY KEY (job_id, hostname)
);
CREATE INDEX example_peers_peer ON example_peers (peer_job_id);

-- Job updates for the core's control/update, written in the same transaction as the state change
-- they report, so a crash between the two cannot lose one.
CREATE TABLE example_outbox (
  id         bigserial PRIMARY KEY,
  job_id     text   NOT NULL,
  body       jsonb  NOT NULL,
  created_at bigint NOT NULL
);
