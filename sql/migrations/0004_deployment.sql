-- One row naming this database: access tokens carry its id as their audience, so a token made
-- for another deployment sharing the secret, or before a reseed (which draws a new id), is
-- refused.
CREATE TABLE deployment (
    singleton  boolean     NOT NULL DEFAULT true,
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_deployment PRIMARY KEY (singleton),
    CONSTRAINT ck_deployment_singleton CHECK (singleton)
);

INSERT INTO deployment DEFAULT VALUES;
