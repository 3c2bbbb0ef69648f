-- Dashboard sessions (POST /api/auth/sessions): a token the dashboard gets in exchange for an access token, which
-- expires and is revoked at sign-out. Access tokens (the CLI's, the sign-in link's) have no expiry: expires_at null.
ALTER TABLE tokens ADD COLUMN kind text NOT NULL DEFAULT 'access' CHECK (kind IN ('access', 'session'));
ALTER TABLE tokens ADD COLUMN expires_at bigint;
CREATE INDEX tokens_expiry ON tokens (expires_at) WHERE expires_at IS NOT NULL;
