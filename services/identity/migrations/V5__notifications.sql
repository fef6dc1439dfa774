-- Telling residents what happens: how to reach them, what they allow, and an outbox of what
-- they are owed.

-- A resident's WeChat openid and phone, each sealed with the account's data key (erasing the
-- resident makes them unreadable), remembered at login and when a phone is bound.
CREATE TABLE identity.resident_contact (
    account_id  text PRIMARY KEY,
    openid      jsonb,
    phone       jsonb,
    updated_at  timestamptz NOT NULL
);

-- A resident's channels: either may be turned off.
CREATE TABLE identity.notify_pref (
    account_id  text PRIMARY KEY,
    wechat      boolean NOT NULL,
    sms         boolean NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- The one-time subscribe messages a resident granted per template (each
-- wx.requestSubscribeMessage acceptance grants one).
CREATE TABLE identity.notify_quota (
    account_id  text NOT NULL,
    template    text NOT NULL,
    remaining   integer NOT NULL CHECK (remaining >= 0),
    PRIMARY KEY (account_id, template)
);

-- Who is told about what: `complaint:ID`, `ticket:ID`, `household:KEY` or `application:ID` to
-- the residents who filed them, from intake's and dispatch's published events.
CREATE TABLE identity.notify_party (
    subject     text NOT NULL,
    account_id  text NOT NULL,
    PRIMARY KEY (subject, account_id)
);

-- The outbox: one row per event and resident (its id derived from both, so a redelivered event
-- owes nothing more), delivered by a worker with retries.
CREATE TABLE identity.notification (
    notification_id  uuid PRIMARY KEY,
    account_id       text NOT NULL,
    kind             text NOT NULL,
    template         text NOT NULL,
    page             text NOT NULL,
    fields           jsonb NOT NULL,
    text             text NOT NULL,
    event_id         uuid NOT NULL,
    created_at       timestamptz NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'sent', 'dropped')),
    channel          text,
    attempts         integer NOT NULL DEFAULT 0,
    next_at          timestamptz NOT NULL,
    last_error       text,
    done_at          timestamptz
);

CREATE INDEX notification_due ON identity.notification (next_at) WHERE status = 'pending';
CREATE INDEX notification_account ON identity.notification (account_id, created_at DESC);
