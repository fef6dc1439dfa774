-- Who may see a complaint's personal data, and who did.

-- The crew working each ticket, from dispatch's published events: a crew reads the complaints
-- of its own open jobs (the address, to find the home). Gone when the ticket is reopened (the
-- crew is released) or closed.
CREATE TABLE intake.ticket_crew (
    ticket_id  uuid PRIMARY KEY,
    crew_id    text NOT NULL
);
CREATE INDEX ticket_crew_crew ON intake.ticket_crew (crew_id);
CREATE INDEX ticket_member_complaint ON intake.ticket_member (complaint_id);

-- Every reveal of a complaint's contact details (phone, exact address, heating account) by a
-- staff member, from the complaint's `ContactRevealed` events: who, in which role and scope,
-- when, why. The regulator reads it.
CREATE TABLE intake.contact_reveal (
    reveal_id     uuid NOT NULL UNIQUE,
    complaint_id  uuid NOT NULL,
    version       bigint NOT NULL,
    revealed_at   timestamptz NOT NULL,
    account       text NOT NULL,
    role          text NOT NULL,
    district      text,
    supplier_id   text,
    reason        text NOT NULL,
    request_id    text,
    PRIMARY KEY (complaint_id, version)
);
CREATE INDEX contact_reveal_time ON intake.contact_reveal (revealed_at DESC, reveal_id DESC);
CREATE INDEX contact_reveal_complaint ON intake.contact_reveal (complaint_id);
CREATE INDEX contact_reveal_account ON intake.contact_reveal (account, revealed_at DESC);
