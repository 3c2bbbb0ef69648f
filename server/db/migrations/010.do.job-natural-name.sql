-- Natural name order for GET /api/jobs/browse?sortBy=name (server/jobs/sort.ts): `batch-12` before `batch-102`.
-- jobdeck_natural_key turns each run of digits into its length (3 digits, leading zeros dropped) followed by the
-- digits, so comparing keys as bytes ("C") compares numbers by value: 12 -> '00212', 102 -> '003102'. Other text is
-- kept as it is. The key is computed, never stored, so old rows need no backfill; the indexes below carry it.
-- src/features/jobs/list's live placement (src/api/job-cache.ts naturalKey) computes the same key.
CREATE FUNCTION jobdeck_natural_key(s text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT coalesce(string_agg(
    CASE WHEN m[1] ~ '^[0-9]' THEN lpad(length(ltrim(m[1], '0'))::text, 3, '0') || ltrim(m[1], '0') ELSE m[1] END,
    '' ORDER BY n), '')
  FROM regexp_matches(s, '[0-9]+|[^0-9]+', 'g') WITH ORDINALITY AS t(m, n)
$$;

DROP INDEX jobs_owner_name_asc;
DROP INDEX jobs_owner_name_desc;
CREATE INDEX jobs_owner_name_asc ON jobs (owner, (coalesce(name, '') = ''), (jobdeck_natural_key(coalesce(lower(name), '')) COLLATE "C"), id);
CREATE INDEX jobs_owner_name_desc ON jobs (owner, (coalesce(name, '') <> ''), (jobdeck_natural_key(coalesce(lower(name), '')) COLLATE "C"), id);
