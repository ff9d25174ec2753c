-- The life of a claim: which status may follow which, closing and reopening with a
-- reason, and a timeline of dated events and notes per case. Every change bumps the
-- case's version and requires the version the client saw.

-- The allowed moves; needs_reason: closing and reopening must say why.
CREATE TABLE claim_transitions (
    from_status  text NOT NULL,
    to_status    text NOT NULL,
    needs_reason boolean NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO claim_transitions VALUES
    ('intake', 'filed', false), ('intake', 'rejected', true), ('intake', 'withdrawn', true),
    ('filed', 'in_mediation', false), ('filed', 'awarded', false),
    ('filed', 'rejected', true), ('filed', 'withdrawn', true),
    ('in_mediation', 'filed', false), ('in_mediation', 'awarded', false),
    ('in_mediation', 'rejected', true), ('in_mediation', 'withdrawn', true),
    ('awarded', 'partially_paid', false), ('awarded', 'paid', false),
    ('partially_paid', 'paid', false),
    ('rejected', 'filed', true), ('withdrawn', 'intake', true);
ALTER TABLE claim_transitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE claim_transitions FORCE ROW LEVEL SECURITY;
CREATE POLICY claim_transitions_read ON claim_transitions FOR SELECT
    USING (tulay_org() IS NOT NULL);
GRANT SELECT ON claim_transitions TO tulay_app;

-- The timeline. text_enc is the reason of a status change or the note, sealed by tulayd
-- (it may name people) and bound to (organisation, case_events, text, event key).
CREATE TABLE case_events (
    org_id          bigint NOT NULL,
    case_id         bigint NOT NULL,
    event_id        bigint GENERATED ALWAYS AS IDENTITY,
    kind            text NOT NULL CHECK (kind IN ('opened', 'status_changed', 'note')),
    occurred_on     date NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    recorded_by     bigint NOT NULL REFERENCES users (user_id),
    from_status     text,
    to_status       text,
    text_enc        bytea,
    idempotency_key bytea NOT NULL CHECK (length(idempotency_key) = 16),
    request_hash    bytea NOT NULL CHECK (length(request_hash) = 32),
    PRIMARY KEY (org_id, case_id, event_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, case_id),
    CONSTRAINT case_events_idempotency_key UNIQUE (org_id, idempotency_key)
);
ALTER TABLE case_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_events FORCE ROW LEVEL SECURITY;
CREATE POLICY case_events_tenant ON case_events FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
GRANT SELECT, INSERT ON case_events TO tulay_app;

-- Existing claims get their 'opened' event, so every timeline starts somewhere.
INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_at, recorded_by,
                         to_status, idempotency_key, request_hash)
SELECT c.org_id, c.case_id, 'opened', c.opened_on, c.created_at, c.created_by, 'intake',
       c.idempotency_key, c.request_hash
  FROM cases c;

-- New claims get theirs from now on, in the same transaction as the claim.
CREATE FUNCTION case_opened_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_at, recorded_by,
                             to_status, idempotency_key, request_hash)
    VALUES (NEW.org_id, NEW.case_id, 'opened', NEW.opened_on, NEW.created_at, NEW.created_by,
            NEW.status, NEW.idempotency_key, NEW.request_hash);
    RETURN NEW;
END;
$$;
CREATE TRIGGER cases_opened AFTER INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION case_opened_event();

-- Moves a claim. Outcomes: 'changed', 'replayed' / 'key_reused' (idempotency),
-- 'not_found', 'stale' (someone changed it since: detail holds the current version),
-- 'illegal' (detail: the current status and where it may go), 'reason_required'.
CREATE FUNCTION change_claim_status(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_expected_version bigint, p_to text, p_occurred_on date,
    p_text_enc bytea,
    OUT outcome text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    v_case record;
    v_hash bytea;
    v_needs boolean;
BEGIN
    SELECT e.request_hash INTO v_hash FROM case_events e
     WHERE e.org_id = p_org_id AND e.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    SELECT c.case_id, c.status, c.version INTO v_case FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference AND c.kind = 'wage_theft'
     FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF v_case.version <> p_expected_version THEN
        outcome := 'stale';
        detail := v_case.version::text;
        RETURN;
    END IF;
    SELECT t.needs_reason INTO v_needs FROM claim_transitions t
     WHERE t.from_status = v_case.status AND t.to_status = p_to;
    IF NOT FOUND THEN
        outcome := 'illegal';
        detail := v_case.status || ' can move to: ' || coalesce((
            SELECT string_agg(t.to_status, ', ' ORDER BY t.to_status)
              FROM claim_transitions t WHERE t.from_status = v_case.status), 'nothing');
        RETURN;
    END IF;
    IF v_needs AND p_text_enc IS NULL THEN
        outcome := 'reason_required';
        RETURN;
    END IF;
    UPDATE cases SET status = p_to, version = version + 1, updated_at = now(),
           closed_on = CASE WHEN p_to IN ('paid', 'rejected', 'withdrawn')
                            THEN p_occurred_on END
     WHERE org_id = p_org_id AND case_id = v_case.case_id;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, from_status,
                             to_status, text_enc, idempotency_key, request_hash)
    VALUES (p_org_id, v_case.case_id, 'status_changed', p_occurred_on, p_user_id,
            v_case.status, p_to, p_text_enc, p_idempotency_key, p_request_hash);
    outcome := 'changed';
END;
$$;

-- Adds a note. Outcomes: 'added', 'replayed', 'key_reused', 'not_found'.
CREATE FUNCTION add_case_note(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_occurred_on date, p_text_enc bytea,
    OUT event_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_case bigint;
BEGIN
    SELECT e.event_id, e.request_hash INTO event_id, v_hash FROM case_events e
     WHERE e.org_id = p_org_id AND e.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    SELECT c.case_id INTO v_case FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, text_enc,
                             idempotency_key, request_hash)
    VALUES (p_org_id, v_case, 'note', p_occurred_on, p_user_id, p_text_enc,
            p_idempotency_key, p_request_hash)
    RETURNING case_events.event_id INTO event_id;
    outcome := 'added';
END;
$$;

GRANT EXECUTE ON FUNCTION change_claim_status(bigint, bigint, bytea, bytea, text, bigint,
    text, date, bytea), add_case_note(bigint, bigint, bytea, bytea, text, date, bytea)
    TO tulay_app;

-- The claim view shows when a claim was closed.
CREATE OR REPLACE VIEW wage_theft_claim_view WITH (security_invoker = true) AS
SELECT c.org_id, c.case_id, c.idempotency_key,
       c.reference, o.acronym AS organisation, c.status,
       w.worker_nationality, w.country_of_work, w.sector, w.employer,
       w.work_started_on, w.work_ended_on,
       w.amount_claimed_minor, w.amount_claimed_currency, w.workers,
       c.opened_on, c.version, u.username AS created_by,
       extract(epoch FROM c.created_at)::bigint AS created_at,
       w.worker_name_enc, w.worker_id_number_enc, w.worker_phone_enc,
       w.worker_id_number_index, c.closed_on
  FROM cases c
  JOIN wage_theft_claims w USING (org_id, case_id)
  JOIN organisations o ON o.org_id = c.org_id
  JOIN users u ON u.user_id = c.created_by
 WHERE c.kind = 'wage_theft';
