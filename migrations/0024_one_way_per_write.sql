-- One way per write (issue 13): one status change for every kind of case, and one replay
-- check for every idempotent write.
--
-- Claims moved through change_claim_status() and claim_transitions (0007), deportations
-- and recommendations through change_case_status() and case_transitions (0009), which has
-- held the claims' moves since it was made. The two functions differed only in the table
-- they read and in when a claim closes: change_claim_status() named the closing statuses
-- (paid, rejected, withdrawn), change_case_status() closes a case at a status it can leave
-- only with a reason, which for claims are the same three. tulayd now moves claims through
-- change_case_status('wage_theft', ...); change_claim_status(), claim_transitions and
-- update_claim_amounts() (replaced by claim_update_amounts() in 0017, unused since) go.
--
-- Every idempotent write began with the same check, written out 19 times: find the row
-- its key made before; if there is one, answer 'replayed' when the request hash is the
-- same and 'key_reused' when it is not. key_replay() is that answer; case_replay() and
-- case_event_replay() the whole check for the writes that make a case or a case event.
-- The functions below are those of the schema before this migration
-- (migrations/schema/current.sql) with the check replaced by them, and nothing else
-- changed.

-- What a request under a key already used answers: 'replayed' (the same request again,
-- whose first answer stands) or 'key_reused' (another request under the same key).
CREATE FUNCTION key_replay(p_stored_hash bytea, p_request_hash bytea) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_stored_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END
$$;

-- The case that organisation p_org made under key p_key, and key_replay()'s outcome; both
-- NULL when the key has made no case.
CREATE FUNCTION case_replay(p_org bigint, p_key bytea, p_request_hash bytea,
                            OUT case_id bigint, OUT outcome text)
LANGUAGE sql STABLE AS $$
    SELECT c.case_id, key_replay(c.request_hash, p_request_hash) FROM cases c
     WHERE c.org_id = p_org AND c.idempotency_key = p_key
$$;

-- The case event that organisation p_org recorded under key p_key, and key_replay()'s
-- outcome; both NULL when the key has recorded no event.
CREATE FUNCTION case_event_replay(p_org bigint, p_key bytea, p_request_hash bytea,
                                  OUT event_id bigint, OUT outcome text)
LANGUAGE sql STABLE AS $$
    SELECT e.event_id, key_replay(e.request_hash, p_request_hash) FROM case_events e
     WHERE e.org_id = p_org AND e.idempotency_key = p_key
$$;

GRANT EXECUTE ON FUNCTION key_replay(bytea, bytea) TO tulay_app;
GRANT EXECUTE ON FUNCTION case_replay(bigint, bytea, bytea) TO tulay_app;
GRANT EXECUTE ON FUNCTION case_event_replay(bigint, bytea, bytea) TO tulay_app;

DROP FUNCTION change_claim_status(bigint, bigint, bytea, bytea, text, bigint, text, date, bytea);
DROP TABLE claim_transitions;
DROP FUNCTION update_claim_amounts(bigint, bigint, bytea, bytea, text, bigint, bigint, text,
                                   bigint, text, date);

CREATE OR REPLACE FUNCTION add_case_note(p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea, p_reference text, p_occurred_on date, p_text_enc bytea, OUT event_id bigint, OUT outcome text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_case bigint;
BEGIN
    SELECT r.event_id, r.outcome INTO event_id, outcome
      FROM case_event_replay(p_org_id, p_idempotency_key, p_request_hash) r;
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT c.case_id INTO v_case FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference FOR KEY SHARE;
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

CREATE OR REPLACE FUNCTION add_intervention(p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea, p_reference text, p_occurred_on date, p_kind text, p_text_enc bytea, OUT event_id bigint, OUT outcome text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_case bigint;
BEGIN
    SELECT r.event_id, r.outcome INTO event_id, outcome
      FROM case_event_replay(p_org_id, p_idempotency_key, p_request_hash) r;
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT c.case_id INTO v_case FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference AND c.kind = 'deportation'
       FOR KEY SHARE;
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

CREATE OR REPLACE FUNCTION change_case_status(p_kind text, p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea, p_reference text, p_expected_version bigint, p_to text, p_occurred_on date, p_text_enc bytea, OUT outcome text, OUT detail text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_case record;
    v_needs boolean;
BEGIN
    outcome := (case_event_replay(p_org_id, p_idempotency_key, p_request_hash)).outcome;
    IF outcome IS NOT NULL THEN
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

CREATE OR REPLACE FUNCTION claim_money_target(p_org_id bigint, p_idempotency_key bytea, p_request_hash bytea, p_reference text, OUT case_id bigint, OUT version bigint, OUT currency text, OUT outcome text) RETURNS record
    LANGUAGE plpgsql
    AS $$
BEGIN
    outcome := (case_event_replay(p_org_id, p_idempotency_key, p_request_hash)).outcome;
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT c.case_id, c.version INTO case_id, version FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference AND c.kind = 'wage_theft'
     FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT w.amount_claimed_currency INTO currency FROM wage_theft_claims w
     WHERE w.org_id = p_org_id AND w.case_id = claim_money_target.case_id;
    IF NOT FOUND THEN
        -- A partner whose referral was revoked since the case was locked (each statement
        -- sees what has committed): the claim is no longer theirs to see.
        outcome := 'not_found';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION link_recommendation_evidence(p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea, p_reference text, p_evidence_org bigint, p_evidence_reference text, p_occurred_on date, OUT outcome text) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_case bigint;
    v_evidence bigint;
    v_org text;
BEGIN
    outcome := (case_event_replay(p_org_id, p_idempotency_key, p_request_hash)).outcome;
    IF outcome IS NOT NULL THEN
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

CREATE OR REPLACE FUNCTION record_deportation_stage(p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea, p_reference text, p_expected_version bigint, p_stage text, p_on date, p_precision text, p_circa boolean, p_place text, p_detention_type text, p_deported_to text, p_text_enc bytea, OUT outcome text, OUT detail text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_case record;
    v_row deportations;
    v_to text := CASE p_stage WHEN 'detention' THEN 'detained' WHEN 'release' THEN 'released'
                              WHEN 'deportation' THEN 'deported' END;
BEGIN
    outcome := (case_event_replay(p_org_id, p_idempotency_key, p_request_hash)).outcome;
    IF outcome IS NOT NULL THEN
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

CREATE OR REPLACE FUNCTION decide_referral(p_user_id bigint, p_referral_id bigint, p_expected_version bigint, p_decision text, p_reason_enc bytea, p_event_text_enc bytea, p_event_key bytea, p_request_hash bytea, OUT outcome text, OUT detail text) RETURNS record
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    v record;
    v_org bigint := tulay_org();
    v_partner text;
BEGIN
    IF v_org IS NULL OR tulay_role() = 'coordinator' OR p_user_id IS DISTINCT FROM tulay_user()
       OR p_decision NOT IN ('accepted', 'declined', 'revoked') THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT r.* INTO v FROM referrals r
     WHERE r.referral_id = p_referral_id AND v_org IN (r.org_id, r.to_org_id) FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    -- A barrier for the partner's writes: they hold the case row (at least KEY SHARE)
    -- from their access check to their commit, so a decision waits for those in flight,
    -- and those after it see it.
    PERFORM 1 FROM cases c WHERE c.org_id = v.org_id AND c.case_id = v.case_id FOR UPDATE;
    outcome := (case_event_replay(v.org_id, p_event_key, p_request_hash)).outcome;
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;
    IF (p_decision = 'revoked') <> (v_org = v.org_id) THEN
        outcome := 'not_yours';
        RETURN;
    END IF;
    IF p_expected_version <> 0 AND v.version <> p_expected_version THEN
        outcome := 'stale';
        detail := v.version::text;
        RETURN;
    END IF;
    IF (p_decision IN ('accepted', 'declined') AND v.status <> 'proposed') OR
       (p_decision = 'revoked' AND v.status NOT IN ('proposed', 'accepted')) THEN
        outcome := 'illegal';
        detail := v.status;
        RETURN;
    END IF;
    IF p_decision = 'revoked' THEN
        UPDATE referrals SET status = 'revoked', revoke_reason_enc = p_reason_enc,
               revoked_by = p_user_id, revoked_at = now(), version = version + 1
         WHERE referrals.referral_id = p_referral_id;
    ELSE
        UPDATE referrals SET status = p_decision, decision_reason_enc = p_reason_enc,
               decided_by = p_user_id, decided_at = now(), version = version + 1
         WHERE referrals.referral_id = p_referral_id;
    END IF;
    SELECT o.acronym INTO v_partner FROM organisations o WHERE o.org_id = v.to_org_id;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, detail,
                             text_enc, idempotency_key, request_hash)
    VALUES (v.org_id, v.case_id, 'referral_' || p_decision, (now() AT TIME ZONE 'UTC')::date,
            p_user_id, v_partner, p_event_text_enc, p_event_key, p_request_hash);
    outcome := 'changed';
END;
$$;

CREATE OR REPLACE FUNCTION case_open(p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea, p_kind text, p_prefix text, p_status text, p_office text, OUT case_id bigint, OUT outcome text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_office bigint := case_office_id(p_org_id, p_office);
    v_opened date := (now() AT TIME ZONE 'UTC')::date;
    v_year integer := extract(year FROM v_opened)::integer;
BEGIN
    SELECT r.case_id, r.outcome INTO case_id, outcome
      FROM case_replay(p_org_id, p_idempotency_key, p_request_hash) r;
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;
    INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
                       idempotency_key, request_hash, office_id)
    VALUES (p_org_id, case_new_reference(p_org_id, p_kind, p_prefix, v_year), p_kind,
            p_status, v_opened, p_user_id, p_idempotency_key, p_request_hash, v_office)
    RETURNING cases.case_id INTO case_id;
    outcome := 'created';
END;
$$;

CREATE OR REPLACE FUNCTION create_wage_theft_claim(p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea, p_worker_nationality text, p_country_of_work text, p_sector text, p_employer text, p_work_started_on date, p_work_ended_on date, p_amount_claimed_minor bigint, p_amount_claimed_currency text, p_workers integer, p_worker_name_enc bytea, p_worker_id_number_enc bytea, p_worker_phone_enc bytea, p_worker_id_number_index bytea, OUT case_id bigint, OUT outcome text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_hash bytea;
    v_constraint text;
    v_opened date := (now() AT TIME ZONE 'UTC')::date;
    v_year integer := extract(year FROM v_opened)::integer;
BEGIN
    SELECT r.case_id, r.outcome INTO case_id, outcome
      FROM case_replay(p_org_id, p_idempotency_key, p_request_hash) r;
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;

    BEGIN
        INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
                           idempotency_key, request_hash)
        VALUES (p_org_id, case_new_reference(p_org_id, 'wage_theft', 'WT', v_year),
                'wage_theft', 'intake', v_opened, p_user_id,
                p_idempotency_key, p_request_hash)
        RETURNING cases.case_id INTO case_id;

        INSERT INTO wage_theft_claims (org_id, case_id, worker_nationality, country_of_work,
                                       sector, employer, work_started_on, work_ended_on,
                                       amount_claimed_minor, amount_claimed_currency, workers,
                                       worker_name_enc, worker_id_number_enc,
                                       worker_phone_enc, worker_id_number_index)
        VALUES (p_org_id, case_id, p_worker_nationality, p_country_of_work, p_sector,
                p_employer, p_work_started_on, p_work_ended_on, p_amount_claimed_minor,
                p_amount_claimed_currency, p_workers, p_worker_name_enc,
                p_worker_id_number_enc, p_worker_phone_enc, p_worker_id_number_index);
        outcome := 'created';
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint IS DISTINCT FROM 'cases_idempotency_key' THEN
            RAISE;
        END IF;
        SELECT c.case_id, c.request_hash INTO STRICT case_id, v_hash
          FROM cases c
         WHERE c.org_id = p_org_id AND c.idempotency_key = p_idempotency_key;
        outcome := key_replay(v_hash, p_request_hash);
    END;
END;
$$;

CREATE OR REPLACE FUNCTION create_organisation(p_idempotency_key bytea, p_request_hash bytea, p_acronym text, p_name text, p_kind text, p_country text, OUT org_id bigint, OUT outcome text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_hash bytea;
    v_constraint text;
BEGIN
    SELECT o.org_id, o.request_hash INTO org_id, v_hash
      FROM organisations o WHERE o.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := key_replay(v_hash, p_request_hash);
        RETURN;
    END IF;
    BEGIN
        INSERT INTO organisations (acronym, name, kind, country, idempotency_key, request_hash)
        VALUES (p_acronym, p_name, p_kind, p_country, p_idempotency_key, p_request_hash)
        RETURNING organisations.org_id INTO org_id;
        outcome := 'created';
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'organisations_acronym_key' THEN
            org_id := NULL;
            outcome := 'acronym_taken';
        ELSIF v_constraint = 'organisations_idempotency_key_key' THEN
            -- A concurrent request with the same key committed first.
            SELECT o.org_id, o.request_hash INTO STRICT org_id, v_hash
              FROM organisations o WHERE o.idempotency_key = p_idempotency_key;
            outcome := key_replay(v_hash, p_request_hash);
        ELSE
            RAISE;
        END IF;
    END;
END;
$$;

CREATE OR REPLACE FUNCTION create_user(p_idempotency_key bytea, p_request_hash bytea, p_org_id bigint, p_username text, p_password_hash text, p_role text, OUT user_id bigint, OUT outcome text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_hash bytea;
    v_constraint text;
BEGIN
    SELECT u.user_id, u.request_hash INTO user_id, v_hash
      FROM users u WHERE u.org_id = p_org_id AND u.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := key_replay(v_hash, p_request_hash);
        RETURN;
    END IF;
    BEGIN
        INSERT INTO users (org_id, username, password_hash, role, idempotency_key, request_hash)
        VALUES (p_org_id, p_username, p_password_hash, p_role, p_idempotency_key,
                p_request_hash)
        RETURNING users.user_id INTO user_id;
        outcome := 'created';
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'users_username_key' THEN
            user_id := NULL;
            outcome := 'username_taken';
        ELSIF v_constraint = 'users_idempotency_key' THEN
            SELECT u.user_id, u.request_hash INTO STRICT user_id, v_hash
              FROM users u WHERE u.org_id = p_org_id AND u.idempotency_key = p_idempotency_key;
            outcome := key_replay(v_hash, p_request_hash);
        ELSE
            RAISE;
        END IF;
    END;
END;
$$;

CREATE OR REPLACE FUNCTION propose_membership(p_idempotency_key bytea, p_request_hash bytea, p_network bigint, p_member bigint, p_role text, p_since date, p_shares boolean, OUT proposal_id bigint, OUT outcome text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_hash bytea;
    v_admin boolean := tulay_role() = 'admin';
BEGIN
    PERFORM pg_advisory_xact_lock(7420006);
    SELECT p.proposal_id, p.request_hash INTO proposal_id, v_hash
      FROM membership_proposals p
     WHERE p.network_org = p_network AND p.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := key_replay(v_hash, p_request_hash);
        RETURN;
    END IF;
    outcome := membership_sides_problem(p_network, p_member);
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;
    IF p_network = p_member THEN
        outcome := 'self';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM network_ancestors(p_network) a WHERE a.org_id = p_member) THEN
        outcome := 'cycle';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM memberships m WHERE m.member_org = p_member
                  AND m.network_org = p_network AND m.until IS NULL) THEN
        outcome := 'exists';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM membership_proposals p WHERE p.member_org = p_member
                  AND p.network_org = p_network AND p.state = 'proposed') THEN
        outcome := 'pending';
        RETURN;
    END IF;
    INSERT INTO membership_proposals (member_org, network_org, role, since,
                                      shares_aggregates, proposed_by_org, proposed_by,
                                      proposed_at, idempotency_key, request_hash)
    VALUES (p_member, p_network, p_role, p_since, p_shares,
            CASE WHEN v_admin THEN NULL ELSE tulay_org() END, tulay_user(), now(),
            p_idempotency_key, p_request_hash)
    RETURNING membership_proposals.proposal_id INTO proposal_id;
    IF v_admin THEN
        outcome := membership_take_effect(proposal_id);  -- checked above: 'accepted'
    ELSE
        outcome := 'proposed';
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION propose_referral(p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea, p_reference text, p_to_org bigint, p_consent_given_on date, p_consent_form text, p_reason_enc bytea, p_event_text_enc bytea, p_event_key bytea, OUT referral_id bigint, OUT outcome text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_hash bytea;
    v_case bigint;
    v_partner text;
BEGIN
    SELECT r.referral_id, r.request_hash INTO referral_id, v_hash FROM referrals r
     WHERE r.org_id = p_org_id AND r.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := key_replay(v_hash, p_request_hash);
        RETURN;
    END IF;
    SELECT c.case_id INTO v_case FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cases c WHERE c.org_id = p_org_id AND c.case_id = v_case
                      AND c.kind IN ('wage_theft', 'deportation')) THEN
        outcome := 'not_referable';
        RETURN;
    END IF;
    SELECT o.acronym INTO v_partner FROM organisations o WHERE o.org_id = p_to_org;
    IF NOT FOUND THEN
        outcome := 'unknown_partner';
        RETURN;
    END IF;
    IF p_to_org = p_org_id THEN
        outcome := 'self';
        RETURN;
    END IF;
    IF p_consent_given_on > (now() AT TIME ZONE 'UTC')::date THEN
        outcome := 'consent_in_future';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM referrals r WHERE r.org_id = p_org_id AND r.case_id = v_case
                  AND r.to_org_id = p_to_org AND r.status IN ('proposed', 'accepted')) THEN
        outcome := 'open';
        RETURN;
    END IF;
    INSERT INTO referrals (org_id, case_id, to_org_id, consent_given_on, consent_form,
                           reason_enc, proposed_by, idempotency_key, request_hash)
    VALUES (p_org_id, v_case, p_to_org, p_consent_given_on, p_consent_form, p_reason_enc,
            p_user_id, p_idempotency_key, p_request_hash)
    RETURNING referrals.referral_id INTO referral_id;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, detail,
                             text_enc, idempotency_key, request_hash)
    VALUES (p_org_id, v_case, 'referral_proposed', (now() AT TIME ZONE 'UTC')::date,
            p_user_id, v_partner, p_event_text_enc, p_event_key, p_request_hash);
    outcome := 'created';
END;
$$;

CREATE OR REPLACE FUNCTION set_exchange_rate(p_idempotency_key bytea, p_request_hash bytea, p_currency text, p_reporting text, p_rate numeric, p_valid_from date, p_currency_exponent smallint, p_reporting_exponent smallint, p_user bigint) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_hash bytea;
BEGIN
    SELECT x.request_hash INTO v_hash FROM exchange_rates x
     WHERE x.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        RETURN key_replay(v_hash, p_request_hash);
    END IF;
    -- A key that was replaced since is gone from the table, so a late retry of it would
    -- set the rate again: harmless, since the same rate for the same day is the result.
    UPDATE exchange_rates x
       SET rate = p_rate, currency_exponent = p_currency_exponent,
           reporting_exponent = p_reporting_exponent, set_by = p_user, set_at = now(),
           idempotency_key = p_idempotency_key, request_hash = p_request_hash
     WHERE (x.currency, x.reporting_currency, x.valid_from)
         = (p_currency, p_reporting, p_valid_from);
    IF FOUND THEN
        RETURN 'replaced';
    END IF;
    INSERT INTO exchange_rates (currency, reporting_currency, valid_from, rate,
                                currency_exponent, reporting_exponent, set_by,
                                idempotency_key, request_hash)
    VALUES (p_currency, p_reporting, p_valid_from, p_rate, p_currency_exponent,
            p_reporting_exponent, p_user, p_idempotency_key, p_request_hash);
    RETURN 'created';
END;
$$;
