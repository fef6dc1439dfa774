-- What dispatch does with each complaint, projected from dispatch's published events: the
-- complaints each ticket carries, and the resident's view of the ticket's progress.

CREATE TABLE intake.ticket_member (
    ticket_id     uuid NOT NULL,
    complaint_id  uuid NOT NULL,
    PRIMARY KEY (ticket_id, complaint_id)
);

CREATE TABLE intake.complaint_progress (
    complaint_id  uuid NOT NULL,
    event_id      uuid NOT NULL,
    at            timestamptz NOT NULL,
    event         text NOT NULL,
    by_role       text NOT NULL,
    note          text NOT NULL,
    PRIMARY KEY (complaint_id, event_id)
);

CREATE INDEX complaint_progress_time ON intake.complaint_progress (complaint_id, at);
