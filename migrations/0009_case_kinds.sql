-- The other case kinds: deportations (arrest -> detention -> deportation, with approximate
-- dates) and policy recommendations (with co-signing organisations and the cases that are
-- their evidence). Transitions for every kind in one table; the field office a case was
-- logged at; and the shape in which cases of every kind are searched.

-- Which status may follow which, per kind. needs_reason: closing and reopening say why.
CREATE TABLE case_transitions (
    kind         text NOT NULL,
    from_status  text NOT NULL,
    to_status    text NOT NULL,
    needs_reason boolean NOT NULL,
    PRIMARY KEY (kind, from_status, to_status)
);
INSERT INTO case_transitions
SELECT 'wage_theft', from_status, to_status, needs_reason FROM claim_transitions;
INSERT INTO case_transitions VALUES
    -- A deportation moves by its stages; 'released' may still end in deportation.
    ('deportation', 'arrested', 'detained', false),
    ('deportation', 'arrested', 'released', false),
    ('deportation', 'arrested', 'deported', false),
    ('deportation', 'detained', 'released', false),
    ('deportation', 'detained', 'deported', false),
    ('deportation', 'released', 'deported', false),
    ('recommendation', 'drafted', 'submitted', false),
    ('recommendation', 'submitted', 'acknowledged', false),
    ('recommendation', 'submitted', 'accepted', false),
    ('recommendation', 'submitted', 'noted', true),
    ('recommendation', 'submitted', 'rejected', true),
    ('recommendation', 'acknowledged', 'accepted', false),
    ('recommendation', 'acknowledged', 'noted', true),
    ('recommendation', 'acknowledged', 'rejected', true),
    ('recommendation', 'accepted', 'partially_implemented', false),
    ('recommendation', 'accepted', 'implemented', false),
    ('recommendation', 'partially_implemented', 'implemented', false),
    ('recommendation', 'noted', 'submitted', true),     -- resubmitted
    ('recommendation', 'rejected', 'submitted', true);  -- resubmitted
ALTER TABLE case_transitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_transitions FORCE ROW LEVEL SECURITY;
CREATE POLICY case_transitions_read ON case_transitions FOR SELECT
    USING (tulay_org() IS NOT NULL);
GRANT SELECT ON case_transitions TO tulay_app;

ALTER TABLE cases DROP CONSTRAINT cases_wage_theft_status;
ALTER TABLE cases ADD CONSTRAINT cases_status CHECK (
    (kind = 'wage_theft' AND status IN ('intake', 'filed', 'in_mediation', 'awarded',
        'partially_paid', 'paid', 'rejected', 'withdrawn')) OR
    (kind = 'deportation' AND status IN ('arrested', 'detained', 'released', 'deported')) OR
    (kind = 'recommendation' AND status IN ('drafted', 'submitted', 'acknowledged',
        'accepted', 'partially_implemented', 'implemented', 'noted', 'rejected')));

-- The field office a case was logged at (optional).
ALTER TABLE cases ADD COLUMN office_id bigint;
ALTER TABLE cases ADD CONSTRAINT cases_office
    FOREIGN KEY (org_id, office_id) REFERENCES offices (org_id, office_id);
GRANT UPDATE (office_id) ON cases TO tulay_app;

-- The office named `p_office` of organisation p_org; NULL for none named. An unknown name
-- raises SQLSTATE TU001, which rolls the whole request back: tulayd answers with a field
-- error on `office`.
CREATE FUNCTION case_office_id(p_org bigint, p_office text) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v bigint;
BEGIN
    IF p_office IS NULL OR p_office = '' THEN
        RETURN NULL;
    END IF;
    SELECT f.office_id INTO v FROM offices f WHERE f.org_id = p_org AND f.name = p_office;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown office' USING ERRCODE = 'TU001';
    END IF;
    RETURN v;
END;
$$;

-- Sets the office of the case created (or replayed) under this key in the same request.
CREATE FUNCTION case_set_office(p_org bigint, p_idempotency_key bytea, p_request_hash bytea,
                                p_office text) RETURNS void
LANGUAGE sql AS $$
    UPDATE cases SET office_id = case_office_id(p_org, p_office)
     WHERE org_id = p_org AND idempotency_key = p_idempotency_key
       AND request_hash = p_request_hash AND p_office <> ''
$$;

-- Timeline events of the new kinds.
ALTER TABLE case_events ADD COLUMN detail text;
ALTER TABLE case_events DROP CONSTRAINT case_events_kind_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_kind_check
    CHECK (kind IN ('opened', 'status_changed', 'note', 'amounts_updated', 'stage_recorded',
                    'intervention', 'evidence_linked', 'referral_proposed',
                    'referral_accepted', 'referral_declined', 'referral_revoked'));

-- Opens a case of any kind: allocates the reference (PREFIX-YEAR-NNNNNN) and writes the
-- cases row; the kind's own function writes its details. Outcomes as
-- create_wage_theft_claim: 'created', 'replayed', 'key_reused'.
CREATE FUNCTION case_open(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_kind text, p_prefix text, p_status text, p_office text,
    OUT case_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_seq bigint;
    v_office bigint := case_office_id(p_org_id, p_office);
    v_opened date := (now() AT TIME ZONE 'UTC')::date;
    v_year integer := extract(year FROM v_opened)::integer;
BEGIN
    SELECT c.case_id, c.request_hash INTO case_id, v_hash
      FROM cases c WHERE c.org_id = p_org_id AND c.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    INSERT INTO case_counters AS cc (org_id, kind, year, last_value)
    VALUES (p_org_id, p_kind, v_year, 1)
    ON CONFLICT (org_id, kind, year) DO UPDATE SET last_value = cc.last_value + 1
    RETURNING cc.last_value INTO v_seq;
    INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
                       idempotency_key, request_hash, office_id)
    VALUES (p_org_id,
            p_prefix || '-' || v_year || '-' || CASE WHEN v_seq < 1000000
                THEN lpad(v_seq::text, 6, '0') ELSE v_seq::text END,
            p_kind, p_status, v_opened, p_user_id, p_idempotency_key, p_request_hash,
            v_office)
    RETURNING cases.case_id INTO case_id;
    outcome := 'created';
END;
$$;

-- Moves a case of kind p_kind along case_transitions. Outcomes as change_claim_status:
-- 'changed', 'replayed', 'key_reused', 'not_found', 'stale', 'illegal', 'reason_required'.
CREATE FUNCTION change_case_status(
    p_kind text, p_org_id bigint, p_user_id bigint, p_idempotency_key bytea,
    p_request_hash bytea, p_reference text, p_expected_version bigint, p_to text,
    p_occurred_on date, p_text_enc bytea,
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
     WHERE c.org_id = p_org_id AND c.reference = p_reference AND c.kind = p_kind
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
    SELECT t.needs_reason INTO v_needs FROM case_transitions t
     WHERE t.kind = p_kind AND t.from_status = v_case.status AND t.to_status = p_to;
    IF NOT FOUND THEN
        outcome := 'illegal';
        detail := v_case.status || ' can move to: ' || coalesce((
            SELECT string_agg(t.to_status, ', ' ORDER BY t.to_status) FROM case_transitions t
             WHERE t.kind = p_kind AND t.from_status = v_case.status), 'nothing');
        RETURN;
    END IF;
    IF v_needs AND p_text_enc IS NULL THEN
        outcome := 'reason_required';
        RETURN;
    END IF;
    UPDATE cases SET status = p_to, version = version + 1, updated_at = now(),
           closed_on = CASE WHEN NOT EXISTS (SELECT 1 FROM case_transitions t
                                              WHERE t.kind = p_kind AND t.from_status = p_to
                                                AND NOT t.needs_reason)
                            THEN p_occurred_on END
     WHERE org_id = p_org_id AND case_id = v_case.case_id;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, from_status,
                             to_status, text_enc, idempotency_key, request_hash)
    VALUES (p_org_id, v_case.case_id, 'status_changed', p_occurred_on, p_user_id,
            v_case.status, p_to, p_text_enc, p_idempotency_key, p_request_hash);
    outcome := 'changed';
END;
$$;

-- --- Deportations -----------------------------------------------------------------------

-- Dates are often known only roughly: a date with a precision ('day', 'month', 'year';
-- the date is the first day of the month or year) and a "circa" flag.
CREATE FUNCTION approx_last_day(p_date date, p_precision text) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_precision
        WHEN 'month' THEN (date_trunc('month', p_date) + interval '1 month - 1 day')::date
        WHEN 'year' THEN (date_trunc('year', p_date) + interval '1 year - 1 day')::date
        ELSE p_date END
$$;
-- True unless stage b certainly happened before stage a (b's last possible day is before
-- a's first): approximate dates that overlap are in order.
CREATE FUNCTION approx_in_order(a date, b date, b_precision text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT a IS NULL OR b IS NULL OR approx_last_day(b, b_precision) >= a
$$;

CREATE TABLE deportations (
    org_id               bigint NOT NULL,
    case_id              bigint NOT NULL,
    nationality          char(2) NOT NULL CHECK (nationality ~ '^[A-Z]{2}$'),
    deported_from        char(2) NOT NULL CHECK (deported_from ~ '^[A-Z]{2}$'),
    deported_to          char(2) CHECK (deported_to ~ '^[A-Z]{2}$'),
    sector               text CHECK (sector IN ('construction', 'agriculture', 'fisheries',
                             'manufacturing', 'domestic_work', 'hospitality', 'care',
                             'services', 'other')),
    grounds              text[] NOT NULL DEFAULT '{}' CHECK (grounds <@ ARRAY['no_permit',
                             'overstay', 'absconding_report', 'criminal_charge',
                             'health_screening', 'other']),
    arrested_on          date,
    arrested_precision   text CHECK (arrested_precision IN ('day', 'month', 'year')),
    arrested_circa       boolean NOT NULL DEFAULT false,
    arrest_place         text CHECK (char_length(arrest_place) BETWEEN 1 AND 200),
    detained_on          date,
    detained_precision   text CHECK (detained_precision IN ('day', 'month', 'year')),
    detained_circa       boolean NOT NULL DEFAULT false,
    detention_place      text CHECK (char_length(detention_place) BETWEEN 1 AND 200),
    detention_type       text CHECK (detention_type IN ('immigration_depot', 'police_cell',
                             'prison', 'shelter', 'other')),
    released_on          date,
    released_precision   text CHECK (released_precision IN ('day', 'month', 'year')),
    released_circa       boolean NOT NULL DEFAULT false,
    deported_on          date,
    deported_precision   text CHECK (deported_precision IN ('day', 'month', 'year')),
    deported_circa       boolean NOT NULL DEFAULT false,
    legal_counsel        text NOT NULL DEFAULT 'unknown' CHECK (legal_counsel IN ('unknown',
                             'none', 'ngo_lawyer', 'legal_aid', 'private_lawyer')),
    consular_notified    boolean,  -- NULL: not known
    family_separated     boolean,  -- NULL: not known
    -- The person, sealed by tulayd like a claim's worker (bound to organisation,
    -- 'deportations', column and the case's idempotency key); optional.
    person_name_enc      bytea,
    person_id_number_enc bytea,
    person_id_number_index bytea CHECK (length(person_id_number_index) = 32),
    PRIMARY KEY (org_id, case_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, case_id),
    CONSTRAINT deportations_dates_precision CHECK (
        (arrested_on IS NULL) = (arrested_precision IS NULL) AND
        (detained_on IS NULL) = (detained_precision IS NULL) AND
        (released_on IS NULL) = (released_precision IS NULL) AND
        (deported_on IS NULL) = (deported_precision IS NULL)),
    -- arrest -> detention -> release and/or deportation, never backwards.
    CONSTRAINT deportations_stage_order CHECK (
        approx_in_order(arrested_on, detained_on, detained_precision) AND
        approx_in_order(arrested_on, released_on, released_precision) AND
        approx_in_order(arrested_on, deported_on, deported_precision) AND
        approx_in_order(detained_on, released_on, released_precision) AND
        approx_in_order(detained_on, deported_on, deported_precision))
);
CREATE INDEX deportations_person_id_number ON deportations (org_id, person_id_number_index)
    WHERE person_id_number_index IS NOT NULL;

-- Logs a deportation case. Every stage known may be given at once; the status follows
-- the latest stage. Outcomes: 'created', 'replayed', 'key_reused'.
CREATE FUNCTION create_deportation(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_office text, p_nationality text, p_deported_from text, p_deported_to text,
    p_sector text, p_grounds text[],
    p_arrested_on date, p_arrested_precision text, p_arrested_circa boolean,
    p_arrest_place text,
    p_detained_on date, p_detained_precision text, p_detained_circa boolean,
    p_detention_place text, p_detention_type text,
    p_released_on date, p_released_precision text, p_released_circa boolean,
    p_deported_on date, p_deported_precision text, p_deported_circa boolean,
    p_legal_counsel text, p_consular_notified boolean, p_family_separated boolean,
    p_person_name_enc bytea, p_person_id_number_enc bytea, p_person_id_number_index bytea,
    OUT case_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_status text := CASE WHEN p_deported_on IS NOT NULL THEN 'deported'
                          WHEN p_released_on IS NOT NULL THEN 'released'
                          WHEN p_detained_on IS NOT NULL THEN 'detained'
                          ELSE 'arrested' END;
BEGIN
    SELECT o.case_id, o.outcome INTO case_id, outcome
      FROM case_open(p_org_id, p_user_id, p_idempotency_key, p_request_hash, 'deportation',
                     'DP', v_status, p_office) o;
    IF outcome <> 'created' THEN
        RETURN;
    END IF;
    INSERT INTO deportations (org_id, case_id, nationality, deported_from, deported_to,
        sector, grounds, arrested_on, arrested_precision, arrested_circa, arrest_place,
        detained_on, detained_precision, detained_circa, detention_place, detention_type,
        released_on, released_precision, released_circa, deported_on, deported_precision,
        deported_circa, legal_counsel, consular_notified, family_separated,
        person_name_enc, person_id_number_enc, person_id_number_index)
    VALUES (p_org_id, case_id, p_nationality, p_deported_from, p_deported_to, p_sector,
        coalesce(p_grounds, '{}'), p_arrested_on, p_arrested_precision,
        coalesce(p_arrested_circa, false), p_arrest_place, p_detained_on,
        p_detained_precision, coalesce(p_detained_circa, false), p_detention_place,
        p_detention_type, p_released_on, p_released_precision,
        coalesce(p_released_circa, false), p_deported_on, p_deported_precision,
        coalesce(p_deported_circa, false), coalesce(p_legal_counsel, 'unknown'),
        p_consular_notified, p_family_separated, p_person_name_enc, p_person_id_number_enc,
        p_person_id_number_index);
    IF p_deported_on IS NOT NULL THEN
        UPDATE cases SET closed_on = p_deported_on WHERE org_id = p_org_id AND cases.case_id = create_deportation.case_id;
    END IF;
END;
$$;

-- Records one stage ('detention', 'release', 'deportation') of a deportation: its date,
-- and for detention the place and type, moving the case to the stage's status. Outcomes
-- as change_case_status, plus 'out_of_order' (detail: the stage it would precede).
CREATE FUNCTION record_deportation_stage(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_expected_version bigint, p_stage text, p_on date,
    p_precision text, p_circa boolean, p_place text, p_detention_type text,
    p_deported_to text, p_text_enc bytea,
    OUT outcome text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    v_case record;
    v_hash bytea;
    v_row deportations;
    v_to text := CASE p_stage WHEN 'detention' THEN 'detained' WHEN 'release' THEN 'released'
                              WHEN 'deportation' THEN 'deported' END;
BEGIN
    SELECT e.request_hash INTO v_hash FROM case_events e
     WHERE e.org_id = p_org_id AND e.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    SELECT c.case_id, c.status, c.version INTO v_case FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference AND c.kind = 'deportation'
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
    IF NOT EXISTS (SELECT 1 FROM case_transitions t WHERE t.kind = 'deportation'
                      AND t.from_status = v_case.status AND t.to_status = v_to) THEN
        outcome := 'illegal';
        detail := v_case.status || ' can move to: ' || coalesce((
            SELECT string_agg(t.to_status, ', ' ORDER BY t.to_status) FROM case_transitions t
             WHERE t.kind = 'deportation' AND t.from_status = v_case.status), 'nothing');
        RETURN;
    END IF;
    SELECT * INTO v_row FROM deportations d
     WHERE d.org_id = p_org_id AND d.case_id = v_case.case_id;
    IF p_stage = 'detention' THEN
        v_row.detained_on := p_on; v_row.detained_precision := p_precision;
        v_row.detained_circa := p_circa;
        v_row.detention_place := coalesce(p_place, v_row.detention_place);
        v_row.detention_type := coalesce(p_detention_type, v_row.detention_type);
    ELSIF p_stage = 'release' THEN
        v_row.released_on := p_on; v_row.released_precision := p_precision;
        v_row.released_circa := p_circa;
    ELSE
        v_row.deported_on := p_on; v_row.deported_precision := p_precision;
        v_row.deported_circa := p_circa;
        v_row.deported_to := coalesce(p_deported_to, v_row.deported_to);
    END IF;
    IF NOT approx_in_order(v_row.arrested_on, p_on, p_precision) THEN
        outcome := 'out_of_order';
        detail := 'arrest on ' || v_row.arrested_on;
        RETURN;
    END IF;
    IF p_stage <> 'detention' AND NOT approx_in_order(v_row.detained_on, p_on, p_precision) THEN
        outcome := 'out_of_order';
        detail := 'detention on ' || v_row.detained_on;
        RETURN;
    END IF;
    UPDATE deportations SET detained_on = v_row.detained_on,
           detained_precision = v_row.detained_precision,
           detained_circa = v_row.detained_circa, detention_place = v_row.detention_place,
           detention_type = v_row.detention_type, released_on = v_row.released_on,
           released_precision = v_row.released_precision,
           released_circa = v_row.released_circa, deported_on = v_row.deported_on,
           deported_precision = v_row.deported_precision,
           deported_circa = v_row.deported_circa, deported_to = v_row.deported_to
     WHERE org_id = p_org_id AND case_id = v_case.case_id;
    UPDATE cases SET status = v_to, version = version + 1, updated_at = now(),
           closed_on = CASE WHEN v_to = 'deported' THEN p_on END
     WHERE org_id = p_org_id AND case_id = v_case.case_id;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, from_status,
                             to_status, detail, text_enc, idempotency_key, request_hash)
    VALUES (p_org_id, v_case.case_id, 'stage_recorded', p_on, p_user_id, v_case.status,
            v_to, p_stage, p_text_enc, p_idempotency_key, p_request_hash);
    outcome := 'changed';
END;
$$;

-- What the organisation did for the person: an 'intervention' event whose detail is the
-- kind of intervention. Outcomes as add_case_note.
CREATE FUNCTION add_intervention(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_occurred_on date, p_kind text, p_text_enc bytea,
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
     WHERE c.org_id = p_org_id AND c.reference = p_reference AND c.kind = 'deportation';
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, detail,
                             text_enc, idempotency_key, request_hash)
    VALUES (p_org_id, v_case, 'intervention', p_occurred_on, p_user_id, p_kind, p_text_enc,
            p_idempotency_key, p_request_hash)
    RETURNING case_events.event_id INTO event_id;
    outcome := 'added';
END;
$$;
ALTER TABLE case_events ADD CONSTRAINT case_events_intervention CHECK (
    kind <> 'intervention' OR detail IN ('visit', 'representation_ministry',
        'representation_embassy', 'legal_representation', 'repatriation_support', 'other'));

-- --- Policy recommendations --------------------------------------------------------------
-- Advocacy texts: public by nature, so stored in clear (no personal data may go in them).

CREATE TABLE recommendations (
    org_id          bigint NOT NULL,
    case_id         bigint NOT NULL,
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    body            text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 4000),
    source_document text NOT NULL CHECK (char_length(source_document) BETWEEN 1 AND 300),
    source_date     date NOT NULL,
    addressed_to    text NOT NULL CHECK (addressed_to IN ('receiving_states',
                        'sending_states', 'receiving_and_sending_states', 'asean',
                        'national_government', 'parliament')),
    target_body     text CHECK (char_length(target_body) BETWEEN 1 AND 200),
    country         char(2) CHECK (country ~ '^[A-Z]{2}$'),  -- the country addressed, if one
    theme           text NOT NULL CHECK (theme IN ('wage_protection', 'recruitment',
                        'access_to_justice', 'detention_and_deportation',
                        'social_protection', 'labour_rights', 'gender',
                        'data_and_monitoring', 'civil_society_participation', 'other')),
    PRIMARY KEY (org_id, case_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, case_id)
);

-- The organisations behind a recommendation besides its author.
CREATE TABLE recommendation_signatories (
    org_id          bigint NOT NULL,
    case_id         bigint NOT NULL,
    signatory_org   bigint NOT NULL REFERENCES organisations (org_id),
    PRIMARY KEY (org_id, case_id, signatory_org),
    FOREIGN KEY (org_id, case_id) REFERENCES recommendations (org_id, case_id),
    CHECK (signatory_org <> org_id)
);

-- The cases that are a recommendation's evidence (cases the author can see).
CREATE TABLE recommendation_evidence (
    org_id          bigint NOT NULL,
    case_id         bigint NOT NULL,
    evidence_org    bigint NOT NULL,
    evidence_case   bigint NOT NULL,
    added_by        bigint NOT NULL REFERENCES users (user_id),
    added_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, case_id, evidence_org, evidence_case),
    FOREIGN KEY (org_id, case_id) REFERENCES recommendations (org_id, case_id),
    FOREIGN KEY (evidence_org, evidence_case) REFERENCES cases (org_id, case_id)
);

-- Logs a recommendation, status 'drafted' or 'submitted', with its co-signers (acronyms)
-- and evidence (references of the author's own cases). Outcomes: 'created', 'replayed',
-- 'key_reused', 'unknown_signatory' (detail: the acronym), 'self_signatory',
-- 'unknown_evidence' (detail: the reference).
CREATE FUNCTION create_recommendation(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_office text, p_status text, p_title text, p_body text, p_source_document text,
    p_source_date date, p_addressed_to text, p_target_body text, p_country text,
    p_theme text, p_signatories text[], p_evidence text[],
    OUT case_id bigint, OUT outcome text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    v_missing text;
BEGIN
    SELECT s INTO v_missing FROM unnest(p_signatories) s
     WHERE NOT EXISTS (SELECT 1 FROM organisations o WHERE o.acronym = s) LIMIT 1;
    IF FOUND THEN
        outcome := 'unknown_signatory';
        detail := v_missing;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM organisations o WHERE o.org_id = p_org_id
                  AND o.acronym = ANY (p_signatories)) THEN
        outcome := 'self_signatory';
        RETURN;
    END IF;
    SELECT r INTO v_missing FROM unnest(p_evidence) r
     WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.org_id = p_org_id AND c.reference = r)
     LIMIT 1;
    IF FOUND THEN
        outcome := 'unknown_evidence';
        detail := v_missing;
        RETURN;
    END IF;
    SELECT o.case_id, o.outcome INTO case_id, outcome
      FROM case_open(p_org_id, p_user_id, p_idempotency_key, p_request_hash,
                     'recommendation', 'RC', p_status, p_office) o;
    IF outcome <> 'created' THEN
        RETURN;
    END IF;
    INSERT INTO recommendations (org_id, case_id, title, body, source_document, source_date,
                                 addressed_to, target_body, country, theme)
    VALUES (p_org_id, case_id, p_title, p_body, p_source_document, p_source_date,
            p_addressed_to, p_target_body, p_country, p_theme);
    INSERT INTO recommendation_signatories (org_id, case_id, signatory_org)
    SELECT DISTINCT p_org_id, create_recommendation.case_id, o.org_id FROM organisations o
     WHERE o.acronym = ANY (p_signatories);
    INSERT INTO recommendation_evidence (org_id, case_id, evidence_org, evidence_case,
                                         added_by)
    SELECT DISTINCT p_org_id, create_recommendation.case_id, c.org_id, c.case_id, p_user_id
      FROM cases c WHERE c.org_id = p_org_id AND c.reference = ANY (p_evidence);
END;
$$;

-- Links one more case as evidence: a case of the author's organisation, or one another
-- organisation shared with it (p_evidence_org). Adds an 'evidence_linked' event whose
-- detail is the linked case's reference. Outcomes: 'linked', 'replayed', 'key_reused',
-- 'not_found' (the recommendation), 'unknown_evidence', 'already_linked'.
CREATE FUNCTION link_recommendation_evidence(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_evidence_org bigint, p_evidence_reference text, p_occurred_on date,
    OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_case bigint;
    v_evidence bigint;
    v_org text;
BEGIN
    SELECT e.request_hash INTO v_hash FROM case_events e
     WHERE e.org_id = p_org_id AND e.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    SELECT c.case_id INTO v_case FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference AND c.kind = 'recommendation'
     FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT c.case_id INTO v_evidence FROM cases c
     WHERE c.org_id = p_evidence_org AND c.reference = p_evidence_reference;
    IF NOT FOUND THEN
        outcome := 'unknown_evidence';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM recommendation_evidence r WHERE r.org_id = p_org_id
                  AND r.case_id = v_case AND r.evidence_org = p_evidence_org
                  AND r.evidence_case = v_evidence) THEN
        outcome := 'already_linked';
        RETURN;
    END IF;
    INSERT INTO recommendation_evidence (org_id, case_id, evidence_org, evidence_case,
                                         added_by)
    VALUES (p_org_id, v_case, p_evidence_org, v_evidence, p_user_id);
    SELECT o.acronym INTO v_org FROM organisations o WHERE o.org_id = p_evidence_org;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, detail,
                             idempotency_key, request_hash)
    VALUES (p_org_id, v_case, 'evidence_linked', p_occurred_on, p_user_id,
            v_org || ' ' || p_evidence_reference, p_idempotency_key, p_request_hash);
    outcome := 'linked';
END;
$$;

-- --- Group claims: the other workers ------------------------------------------------------
-- A group claim names its lead worker in wage_theft_claims; the others, when the
-- organisation records them, here. Sealed like the lead worker, bound to (organisation,
-- 'claim_workers', column, the claim's idempotency key and the position).

CREATE TABLE claim_workers (
    org_id          bigint NOT NULL,
    case_id         bigint NOT NULL,
    position        integer NOT NULL CHECK (position BETWEEN 1 AND 100),
    name_enc        bytea,
    id_number_enc   bytea,
    phone_enc       bytea,
    id_number_index bytea CHECK (length(id_number_index) = 32),
    PRIMARY KEY (org_id, case_id, position),
    FOREIGN KEY (org_id, case_id) REFERENCES wage_theft_claims (org_id, case_id)
);
CREATE INDEX claim_workers_id_number ON claim_workers (org_id, id_number_index)
    WHERE id_number_index IS NOT NULL;
ALTER TABLE claim_workers ENABLE ROW LEVEL SECURITY;
ALTER TABLE claim_workers FORCE ROW LEVEL SECURITY;
CREATE POLICY claim_workers_tenant ON claim_workers FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
GRANT SELECT, INSERT ON claim_workers TO tulay_app;

-- --- Row-level security, grants -----------------------------------------------------------

ALTER TABLE deportations ENABLE ROW LEVEL SECURITY;
ALTER TABLE deportations FORCE ROW LEVEL SECURITY;
ALTER TABLE recommendations ENABLE ROW LEVEL SECURITY;
ALTER TABLE recommendations FORCE ROW LEVEL SECURITY;
ALTER TABLE recommendation_signatories ENABLE ROW LEVEL SECURITY;
ALTER TABLE recommendation_signatories FORCE ROW LEVEL SECURITY;
ALTER TABLE recommendation_evidence ENABLE ROW LEVEL SECURITY;
ALTER TABLE recommendation_evidence FORCE ROW LEVEL SECURITY;
CREATE POLICY deportations_tenant ON deportations FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY recommendations_tenant ON recommendations FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY recommendation_signatories_tenant ON recommendation_signatories FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY recommendation_evidence_tenant ON recommendation_evidence FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());

GRANT SELECT, INSERT ON deportations, recommendations, recommendation_signatories,
    recommendation_evidence TO tulay_app;
GRANT UPDATE (deported_to, detained_on, detained_precision, detained_circa, detention_place,
              detention_type, released_on, released_precision, released_circa, deported_on,
              deported_precision, deported_circa) ON deportations TO tulay_app;
GRANT EXECUTE ON FUNCTION case_office_id(bigint, text),
    case_set_office(bigint, bytea, bytea, text),
    case_open(bigint, bigint, bytea, bytea, text, text, text, text),
    change_case_status(text, bigint, bigint, bytea, bytea, text, bigint, text, date, bytea),
    approx_last_day(date, text), approx_in_order(date, date, text),
    create_deportation(bigint, bigint, bytea, bytea, text, text, text, text, text, text[],
                       date, text, boolean, text, date, text, boolean, text, text, date,
                       text, boolean, date, text, boolean, text, boolean, boolean, bytea,
                       bytea, bytea),
    record_deportation_stage(bigint, bigint, bytea, bytea, text, bigint, text, date, text,
                             boolean, text, text, text, bytea),
    add_intervention(bigint, bigint, bytea, bytea, text, date, text, bytea),
    create_recommendation(bigint, bigint, bytea, bytea, text, text, text, text, text, date,
                          text, text, text, text, text[], text[]),
    link_recommendation_evidence(bigint, bigint, bytea, bytea, text, bigint, text, date)
    TO tulay_app;
