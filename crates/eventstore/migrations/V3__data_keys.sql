-- Data keys for crypto-shredding. Personal data in events (a complaint's contact details, a
-- resident account's phone or WeChat id) is encrypted with a key of its own subject, wrapped
-- here by the master key. Erasing destroys the key: the events stay in place and in order,
-- their personal fields unreadable for ever.
CREATE TABLE eventstore.data_key (
    key_id      uuid        PRIMARY KEY,
    -- What it protects: 'complaint:<id>' or 'account:<id>'.
    subject     text        NOT NULL,
    -- Whom it belongs to, so that erasing a resident or a household finds all of it.
    resident    text,
    household   text,
    -- NULL once erased.
    wrapped     bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    erased_at   timestamptz,
    CHECK ((wrapped IS NULL) = (erased_at IS NOT NULL))
);
CREATE UNIQUE INDEX data_key_live_subject ON eventstore.data_key (subject) WHERE erased_at IS NULL;
CREATE INDEX data_key_resident ON eventstore.data_key (resident) WHERE resident IS NOT NULL;
CREATE INDEX data_key_household ON eventstore.data_key (household) WHERE household IS NOT NULL;
