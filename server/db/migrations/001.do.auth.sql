CREATE TABLE users (
  username   text PRIMARY KEY,
  role       text NOT NULL CHECK (role IN ('USER', 'SERVICE', 'PROVIDER', 'ADMIN')),
  created_at bigint NOT NULL
);

-- Only the SHA-256 of a token is stored; the token itself is shown once, at issue.
CREATE TABLE tokens (
  token_hash text PRIMARY KEY,
  username   text NOT NULL REFERENCES users (username) ON DELETE CASCADE,
  created_at bigint NOT NULL
);
CREATE INDEX tokens_username ON tokens (username);
