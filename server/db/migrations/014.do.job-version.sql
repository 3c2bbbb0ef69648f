-- Extension: a job's version (`status.version` on the wire, server/jobs/README.md). It grows with every write that
-- changes what a client sees of the job, in the statement that makes the change, so each version names one state
-- of the job whichever process wrote it, and a client keeps the copy with the higher one. A new job has version 1;
-- each applied update adds one. The jobs stored already start from that count, which nobody has seen yet.
ALTER TABLE jobs ADD COLUMN version bigint NOT NULL DEFAULT 1;
UPDATE jobs j SET version = 1 + (SELECT count(*) FROM job_updates u WHERE u.job_id = j.id);
