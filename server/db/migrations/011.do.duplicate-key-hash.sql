-- The duplicate check's key was the canonical JSON of a job's application, product and parameters; a long text
-- value made it longer than a btree index row may be (2704 bytes), so the INSERT failed. The key is now that
-- JSON's SHA-256 in hex (server/jobs/validate-spec.ts), computed here the same way for the jobs already stored.
UPDATE jobs SET duplicate_key = encode(sha256(convert_to(duplicate_key, 'UTF8')), 'hex');
