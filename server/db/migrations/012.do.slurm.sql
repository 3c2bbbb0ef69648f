-- Products a provider registers with the core (POST /api/products/control/register): the `slurm` provider's are its
-- cluster's partitions, read from the cluster. They join the catalog's static products (server/catalog/).
CREATE TABLE provider_products (
  provider      text   NOT NULL,
  id            text   NOT NULL,
  category      text   NOT NULL,
  body          jsonb  NOT NULL,
  registered_at bigint NOT NULL,
  PRIMARY KEY (provider, id, category)
);

-- The `slurm` provider (server/provider/slurm/): its own state, which the core never reads.
-- settings: this installation's name on the cluster (its jobs are called jobdeck-<instance>-<job id>) and what its
-- probe found.
CREATE TABLE slurm_settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- One row per job it was given. slurm_id is null until the job has been submitted; cancel_requested is set by
-- terminate, so a CANCELLED job it sees afterwards is "Terminated by user".
CREATE TABLE slurm_jobs (
  job_id             text    PRIMARY KEY,
  owner              text    NOT NULL,
  app_name           text    NOT NULL,
  partition          text    NOT NULL,
  state              text    NOT NULL,
  status             text,
  slurm_id           bigint,
  slurm_state        text,
  pending_reason     text,
  time_allocation_ms bigint,
  cancel_requested   boolean NOT NULL DEFAULT false,
  submit_error       text,
  spec               jsonb   NOT NULL,
  received_at        bigint  NOT NULL,
  ended_at           bigint
);
CREATE INDEX slurm_jobs_active ON slurm_jobs (state) WHERE state IN ('IN_QUEUE', 'RUNNING', 'SUSPENDED');

CREATE TABLE slurm_outbox (
  id         bigserial PRIMARY KEY,
  job_id     text   NOT NULL,
  body       jsonb  NOT NULL,
  created_at bigint NOT NULL
);

CREATE TABLE slurm_applied_calls (
  call_id    text   PRIMARY KEY,
  op         text   NOT NULL,
  job_id     text   NOT NULL,
  applied_at bigint NOT NULL
);
CREATE INDEX slurm_applied_calls_applied_at ON slurm_applied_calls (applied_at);
