-- Ed25519 keys that sign access tokens. A key is published in the JWKS from creation until it
-- is retired, and signs from `signing_from`: published first, used later, so that services
-- caching the key set have fetched it before tokens signed with it reach them.
CREATE TABLE identity.signing_key (
    kid          text PRIMARY KEY,
    private_key  bytea       NOT NULL,  -- PKCS#8 DER
    public_x     text        NOT NULL,  -- base64url, as in the JWK
    created_at   timestamptz NOT NULL,
    signing_from timestamptz NOT NULL,
    retired_at   timestamptz
);
