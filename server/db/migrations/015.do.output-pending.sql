-- The built-in provider's jobs whose output is still to be copied into their user's files
-- (server/provider/local/collect-queue.ts): set in the transaction that records the job's end, cleared once the copy
-- is reported. A stop or a crash leaves it set, and the next start copies again. `output_task` is the task the copy
-- reports to, so that the copy after an interruption continues the same task.
ALTER TABLE example_jobs ADD COLUMN output_pending boolean NOT NULL DEFAULT false;
ALTER TABLE example_jobs ADD COLUMN output_task text;
CREATE INDEX example_jobs_output_pending ON example_jobs (job_id) WHERE output_pending;
