-- The building registry: where an address or heating account number is heated from.
-- `address_key` and `account_prefix` are normal forms (full-width made ASCII, no spaces,
-- account upper-cased); a complaint's address or account matches the longest of them that is
-- a prefix of its own.
CREATE TABLE intake.building (
    building_id     text PRIMARY KEY,
    district        text NOT NULL,
    station         text NOT NULL,
    supplier_id     text NOT NULL,
    address         text NOT NULL,
    address_key     text NOT NULL,
    account_prefix  text,
    heated_area_m2  double precision NOT NULL CHECK (heated_area_m2 > 0),
    imported_at     timestamptz NOT NULL
);
CREATE INDEX building_address_key ON intake.building (address_key);
CREATE INDEX building_account_prefix ON intake.building (account_prefix)
    WHERE account_prefix IS NOT NULL;

-- Complaints as staff and residents read them. Written in the same transaction as the
-- complaint's events, so it is never behind or ahead of them.
CREATE TABLE intake.complaint (
    complaint_id        uuid PRIMARY KEY,
    filer               text NOT NULL,
    source              text NOT NULL,
    category            text NOT NULL,
    priority            text NOT NULL,
    status              text NOT NULL,
    household           text NOT NULL,
    account_no          text,
    address             text,
    lat                 double precision,
    long                double precision,
    contact_phone       text,
    building_id         text,
    station             text,
    district            text,
    supplier_id         text,
    reading_tenths      integer,
    description         text NOT NULL,
    photos              text[] NOT NULL,
    hotline_work_order  text,
    merged_into         uuid,
    incident_id         uuid,
    filed_at            timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    version             bigint NOT NULL
);
CREATE INDEX complaint_filer ON intake.complaint (filer, filed_at DESC, complaint_id DESC);
-- The household's open complaint, for merging repeats.
CREATE INDEX complaint_household_live ON intake.complaint (household, filed_at DESC)
    WHERE merged_into IS NULL AND status IN ('open', 'signed');
CREATE INDEX complaint_phone ON intake.complaint (contact_phone, filed_at DESC)
    WHERE contact_phone IS NOT NULL;
CREATE INDEX complaint_account ON intake.complaint (account_no, filed_at DESC)
    WHERE account_no IS NOT NULL;
CREATE INDEX complaint_address ON intake.complaint (address text_pattern_ops)
    WHERE address IS NOT NULL;
CREATE INDEX complaint_filed ON intake.complaint (filed_at DESC, complaint_id DESC);
CREATE INDEX complaint_unrouted ON intake.complaint (filed_at)
    WHERE building_id IS NULL AND status = 'open';
CREATE UNIQUE INDEX complaint_work_order ON intake.complaint (hotline_work_order)
    WHERE hotline_work_order IS NOT NULL;

-- Status updates owed to the 12345 platform, one per published event (the event id keys it,
-- so a redelivered event is owed once). Delivered in order per work order, retried with
-- backoff until the platform takes them.
CREATE TABLE intake.hotline_outbox (
    event_id         uuid PRIMARY KEY,
    seq              bigint GENERATED ALWAYS AS IDENTITY,
    work_order       text NOT NULL,
    status           text NOT NULL,
    note             text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    delivered_at     timestamptz
);
CREATE INDEX hotline_outbox_pending ON intake.hotline_outbox (work_order, seq)
    WHERE delivered_at IS NULL;

-- The incident watcher's memory: recent heating failures by building and station, and the
-- incidents still taking members.
CREATE TABLE intake.incident_candidate (
    complaint_id  uuid PRIMARY KEY,
    building_id   text NOT NULL,
    station       text NOT NULL,
    household     text NOT NULL,
    filed_at      timestamptz NOT NULL,
    incident_id   uuid
);
CREATE INDEX incident_candidate_building ON intake.incident_candidate (building_id, filed_at);
CREATE INDEX incident_candidate_station ON intake.incident_candidate (station, filed_at);

CREATE TABLE intake.open_incident (
    scope        text NOT NULL,
    key          text NOT NULL,
    incident_id  uuid NOT NULL,
    last_at      timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
