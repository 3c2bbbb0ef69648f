-- The built-in provider "example" (server/provider/): the core → provider calls it has applied, by the id the core
-- gives each queued call (header Jobdeck-Call-Id, server/provider/README.md). Written in the same transaction as
-- the change the call makes, so a call delivered again (at-least-once delivery: a lost answer, a leader crash) is
-- answered as before without being applied twice. Rows older than the retention period are deleted by the
-- provider's simulator loop, which runs in the leader only.
CREATE TABLE example_applied_calls (
  call_id    text   PRIMARY KEY,
  op         text   NOT NULL,
  job_id     text   NOT NULL,
  applied_at bigint NOT NULL
);
CREATE INDEX example_applied_calls_applied_at ON example_applied_calls (applied_at);
