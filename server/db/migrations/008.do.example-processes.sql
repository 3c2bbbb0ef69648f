-- The built-in provider "example" runs jobs as real processes (server/provider/local/).

-- What the provider needs to start the job: its application, product, parameters and resources, as received.
ALTER TABLE example_jobs ADD COLUMN spec jsonb;
-- A small number unique among the jobs holding machine resources (a namespace, an address, cgroups); NULL once the
-- job's process has ended and they are released.
ALTER TABLE example_jobs ADD COLUMN slot integer;
-- The job's main process while it runs, and its network address.
ALTER TABLE example_jobs ADD COLUMN pid integer;
ALTER TABLE example_jobs ADD COLUMN address text;
-- 'network-namespace' or 'none', and the limits in force, in words.
ALTER TABLE example_jobs ADD COLUMN isolation text;
ALTER TABLE example_jobs ADD COLUMN limits text;
-- Why the provider is stopping a running job's process ('terminate' or 'expire'): decides its final state once the
-- process has exited.
ALTER TABLE example_jobs ADD COLUMN stop_reason text;
CREATE UNIQUE INDEX example_jobs_slot ON example_jobs (slot) WHERE slot IS NOT NULL;

-- Each user's jobs run under an account of their own (uid = gid), so one user's jobs cannot read another's files.
CREATE TABLE example_accounts (
  owner text    PRIMARY KEY,
  uid   integer NOT NULL UNIQUE
);

-- Settings the provider keeps across restarts (its network index, its loopback octet).
CREATE TABLE example_settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);
