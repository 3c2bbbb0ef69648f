-- Claims on queued core → provider calls (server/jobs/provider-gateway.ts): the process delivering a call marks it
-- with its own id, the backend pid of its leader session and a lease, so two processes sharing the database never
-- send the same call twice while both are alive. A claim ends with its lease, or at once when the claimant's
-- session is gone (the process died), so a new leader need not wait.
ALTER TABLE provider_calls ADD COLUMN claimed_by text;
ALTER TABLE provider_calls ADD COLUMN claimed_session integer;
ALTER TABLE provider_calls ADD COLUMN claimed_until bigint;
