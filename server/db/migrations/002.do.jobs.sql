CREATE SEQUENCE job_id_seq START 1;

CREATE TABLE jobs (
  id                    bigint PRIMARY KEY DEFAULT nextval('job_id_seq'),
  owner                 text   NOT NULL REFERENCES users (username),
  provider              text   NOT NULL,
  app_name              text   NOT NULL,
  app_version           text   NOT NULL,
  name                  text,
  specification         jsonb  NOT NULL,
  -- Application, product and parameters, normalised, for the duplicate-job check.
  duplicate_key         text   NOT NULL,
  state                 text   NOT NULL DEFAULT 'IN_QUEUE',
  status_text           text,
  time_allocation_ms    bigint,
  started_at            bigint,
  expires_at            bigint,
  output_folder         text,
  provider_generated_id text,
  created_at            bigint NOT NULL,
  modified_at           bigint NOT NULL
);
CREATE INDEX jobs_owner_id ON jobs (owner, id DESC);
CREATE INDEX jobs_owner_duplicate ON jobs (owner, duplicate_key) WHERE state IN ('IN_QUEUE', 'RUNNING', 'SUSPENDED');
CREATE INDEX jobs_provider_active ON jobs (provider, id) WHERE state IN ('IN_QUEUE', 'RUNNING', 'SUSPENDED');

CREATE TABLE job_updates (
  job_id                   bigint  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq                      integer NOT NULL,
  state                    text,
  status                   text,
  output_folder            text,
  expected_state           text,
  expected_different_state boolean,
  new_time_allocation      bigint,
  timestamp                bigint  NOT NULL,
  PRIMARY KEY (job_id, seq)
);

-- One row per peer link: job_id connects to peer_job_id under hostname.
CREATE TABLE job_peers (
  job_id      bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  hostname    text   NOT NULL,
  peer_job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  PRIMARY KEY (job_id, hostname)
);
CREATE INDEX job_peers_peer ON job_peers (peer_job_id);
