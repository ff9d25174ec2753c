-- Referrals: a case continues with a partner organisation across the border, with the
-- worker's consent recorded. The referring organisation keeps the case (its org_id); once
-- the receiving organisation accepts, it may read and work the case (status, notes,
-- stages) until the referral is revoked. The referral's own history is visible to both.
-- Every case-table policy gains the "shared with me" branch below.

CREATE TABLE referrals (
    org_id              bigint NOT NULL,  -- the referring organisation, owner of the case
    case_id             bigint NOT NULL,
    referral_id         bigint GENERATED ALWAYS AS IDENTITY,
    to_org_id           bigint NOT NULL REFERENCES organisations (org_id),
    status              text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed',
                            'accepted', 'declined', 'revoked')),
    -- Consent is what makes a referral possible: when and how the worker gave it.
    consent_given_on    date NOT NULL,
    consent_form        text NOT NULL CHECK (consent_form IN ('written', 'verbal',
                            'recorded_message')),
    -- Reasons may name people: sealed by tulayd, bound to (referring organisation,
    -- 'referrals', column, the referral's idempotency key).
    reason_enc          bytea,
    decision_reason_enc bytea,
    revoke_reason_enc   bytea,
    proposed_by         bigint NOT NULL REFERENCES users (user_id),
    proposed_at         timestamptz NOT NULL DEFAULT now(),
    decided_by          bigint REFERENCES users (user_id),
    decided_at          timestamptz,
    revoked_by          bigint REFERENCES users (user_id),
    revoked_at          timestamptz,
    version             bigint NOT NULL DEFAULT 1,
    idempotency_key     bytea NOT NULL CHECK (length(idempotency_key) = 16),
    request_hash        bytea NOT NULL CHECK (length(request_hash) = 32),
    PRIMARY KEY (org_id, referral_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, case_id),
    CONSTRAINT referrals_idempotency_key UNIQUE (org_id, idempotency_key),
    CONSTRAINT referrals_not_self CHECK (to_org_id <> org_id)
);
CREATE UNIQUE INDEX referrals_referral_id ON referrals (referral_id);
-- One open (proposed or accepted) referral per case and partner.
CREATE UNIQUE INDEX referrals_open ON referrals (org_id, case_id, to_org_id)
    WHERE status IN ('proposed', 'accepted');
CREATE INDEX referrals_to_org ON referrals (to_org_id, status);

ALTER TABLE referrals ENABLE ROW LEVEL SECURITY;
ALTER TABLE referrals FORCE ROW LEVEL SECURITY;
CREATE POLICY referrals_parties ON referrals FOR SELECT
    USING (tulay_org() IN (org_id, to_org_id));
CREATE POLICY referrals_propose ON referrals FOR INSERT
    WITH CHECK (org_id = tulay_org() AND tulay_role() <> 'coordinator');
CREATE POLICY referrals_update ON referrals FOR UPDATE
    USING (tulay_org() IN (org_id, to_org_id) AND tulay_role() <> 'coordinator')
    WITH CHECK (tulay_org() IN (org_id, to_org_id));
GRANT SELECT, INSERT ON referrals TO tulay_app;
GRANT UPDATE (status, decision_reason_enc, revoke_reason_enc, decided_by, decided_at,
              revoked_by, revoked_at, version) ON referrals TO tulay_app;

-- The cases other organisations referred to the caller's and it accepted. Runs with the
-- owner's rights so that policies can call it without recursing into referrals' own.
CREATE FUNCTION tulay_shared_cases() RETURNS TABLE (org_id bigint, case_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.org_id, r.case_id FROM referrals r
     WHERE r.to_org_id = tulay_org() AND r.status = 'accepted'
$$;
REVOKE ALL ON FUNCTION tulay_shared_cases() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tulay_shared_cases() TO tulay_app;

-- Case tables: the owner as before, plus read and update (never insert of new cases) for
-- a partner with an accepted referral. Timeline events of a shared case may be added by
-- the partner.
DROP POLICY cases_tenant ON cases;
CREATE POLICY cases_owner ON cases FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY cases_shared_read ON cases FOR SELECT
    USING ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s));
CREATE POLICY cases_shared_update ON cases FOR UPDATE
    USING ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s))
    WITH CHECK ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s));

DROP POLICY wage_theft_claims_tenant ON wage_theft_claims;
CREATE POLICY wage_theft_claims_owner ON wage_theft_claims FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY wage_theft_claims_shared_read ON wage_theft_claims FOR SELECT
    USING ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s));
CREATE POLICY wage_theft_claims_shared_update ON wage_theft_claims FOR UPDATE
    USING ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s))
    WITH CHECK ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s));

DROP POLICY deportations_tenant ON deportations;
CREATE POLICY deportations_owner ON deportations FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY deportations_shared_read ON deportations FOR SELECT
    USING ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s));
CREATE POLICY deportations_shared_update ON deportations FOR UPDATE
    USING ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s))
    WITH CHECK ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s));

DROP POLICY claim_workers_tenant ON claim_workers;
CREATE POLICY claim_workers_owner ON claim_workers FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY claim_workers_shared_read ON claim_workers FOR SELECT
    USING ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s));

DROP POLICY case_events_tenant ON case_events;
CREATE POLICY case_events_owner ON case_events FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY case_events_shared ON case_events FOR ALL
    USING ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s))
    WITH CHECK ((org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s));

-- Timelines of shared cases name users of both organisations; users' own rows stay
-- private to their organisation, so names are read through this owner's-rights view,
-- which gives nothing but the name and organisation.
CREATE VIEW user_names AS
SELECT u.user_id, u.username, o.acronym AS organisation
  FROM users u JOIN organisations o ON o.org_id = u.org_id;
GRANT SELECT ON user_names TO tulay_app;

CREATE OR REPLACE VIEW wage_theft_claim_view WITH (security_invoker = true) AS
SELECT c.org_id, c.case_id, c.idempotency_key,
       c.reference, o.acronym AS organisation, c.status,
       w.worker_nationality, w.country_of_work, w.sector, w.employer,
       w.work_started_on, w.work_ended_on,
       w.amount_claimed_minor, w.amount_claimed_currency, w.workers,
       c.opened_on, c.version, u.username AS created_by,
       extract(epoch FROM c.created_at)::bigint AS created_at,
       w.worker_name_enc, w.worker_id_number_enc, w.worker_phone_enc,
       w.worker_id_number_index, c.closed_on,
       w.recruitment_agency, w.recruitment_fee_minor, w.recruitment_fee_currency,
       w.contract_wage_minor, w.contract_wage_currency, w.actual_wage_minor,
       w.actual_wage_currency, w.forum, w.filing_deadline, w.exploitation_means,
       w.amount_awarded_minor, w.amount_awarded_currency, w.amount_recovered_minor,
       w.amount_recovered_currency, f.name AS office
  FROM cases c
  JOIN wage_theft_claims w USING (org_id, case_id)
  JOIN organisations o ON o.org_id = c.org_id
  JOIN user_names u ON u.user_id = c.created_by
  LEFT JOIN offices f ON f.org_id = c.org_id AND f.office_id = c.office_id
 WHERE c.kind = 'wage_theft';

-- Proposes a referral of case p_reference of p_org_id to p_to_org. Outcomes: 'created',
-- 'replayed', 'key_reused', 'not_found', 'not_referable' (a recommendation: nothing
-- personal to continue), 'unknown_partner', 'self', 'open' (an open referral to this
-- partner exists), 'consent_in_future'.
CREATE FUNCTION propose_referral(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_to_org bigint, p_consent_given_on date, p_consent_form text,
    p_reason_enc bytea, p_event_text_enc bytea, p_event_key bytea,
    OUT referral_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_case bigint;
    v_partner text;
BEGIN
    SELECT r.referral_id, r.request_hash INTO referral_id, v_hash FROM referrals r
     WHERE r.org_id = p_org_id AND r.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
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

-- Accepts, declines (p_decision 'accepted' / 'declined', by the receiving organisation)
-- or revokes ('revoked', by the referring one) referral p_referral_id, and adds the event
-- to the case's timeline. Owner's rights: a declining partner never had the case, and a
-- retry must find its own event; so the function checks the caller's side itself.
-- p_expected_version 0 skips the version check (the state check below still holds).
-- Outcomes: 'changed', 'replayed', 'key_reused', 'not_found', 'stale' (detail: the
-- current version), 'not_yours' (the other side's decision), 'illegal' (detail: the
-- current status).
CREATE FUNCTION decide_referral(
    p_user_id bigint, p_referral_id bigint, p_expected_version bigint, p_decision text,
    p_reason_enc bytea, p_event_text_enc bytea, p_event_key bytea, p_request_hash bytea,
    OUT outcome text, OUT detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v record;
    v_org bigint := tulay_org();
    v_hash bytea;
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
    SELECT e.request_hash INTO v_hash FROM case_events e
     WHERE e.org_id = v.org_id AND e.idempotency_key = p_event_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
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

-- The case of a referral as both sides may see it: its reference and kind only (a
-- partner reads the rest once it accepted). Owner's rights, limited to the caller's
-- referrals.
CREATE VIEW referral_cases AS
SELECT c.org_id, c.case_id, c.reference, c.kind
  FROM cases c
 WHERE EXISTS (SELECT 1 FROM referrals r WHERE r.org_id = c.org_id AND r.case_id = c.case_id
                  AND tulay_org() IN (r.org_id, r.to_org_id));

-- What both sides see of a referral.
CREATE VIEW referral_view WITH (security_invoker = true) AS
SELECT r.referral_id, r.org_id, r.case_id, r.to_org_id, c.reference, c.kind,
       f.acronym AS from_organisation, t.acronym AS to_organisation, r.status,
       r.consent_given_on, r.consent_form, r.reason_enc, r.decision_reason_enc,
       r.revoke_reason_enc, pu.username AS proposed_by,
       extract(epoch FROM r.proposed_at)::bigint AS proposed_at,
       du.username AS decided_by, extract(epoch FROM r.decided_at)::bigint AS decided_at,
       ru.username AS revoked_by, extract(epoch FROM r.revoked_at)::bigint AS revoked_at,
       r.version, r.idempotency_key
  FROM referrals r
  JOIN referral_cases c ON c.org_id = r.org_id AND c.case_id = r.case_id
  JOIN organisations f ON f.org_id = r.org_id
  JOIN organisations t ON t.org_id = r.to_org_id
  JOIN user_names pu ON pu.user_id = r.proposed_by
  LEFT JOIN user_names du ON du.user_id = r.decided_by
  LEFT JOIN user_names ru ON ru.user_id = r.revoked_by;

GRANT SELECT ON referral_cases, referral_view TO tulay_app;
REVOKE ALL ON FUNCTION decide_referral(bigint, bigint, bigint, text, bytea, bytea, bytea, bytea)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    propose_referral(bigint, bigint, bytea, bytea, text, bigint, date, text, bytea, bytea,
                     bytea),
    decide_referral(bigint, bigint, bigint, text, bytea, bytea, bytea, bytea)
    TO tulay_app;

-- Cases of every kind in one shape, for search and lists: the countries involved, the
-- sector and employer where the kind has them, the office, a one-line summary, and the
-- non-personal text free-text search looks in (never names, ID numbers, notes).
CREATE VIEW case_search_view WITH (security_invoker = true) AS
SELECT c.org_id, c.case_id, c.reference, c.kind, c.status, c.opened_on, c.closed_on,
       c.version, o.acronym AS organisation, f.name AS office,
       -- Each country once, in the order of the columns (origin first).
       ARRAY(SELECT u.code
               FROM unnest(ARRAY[w.worker_nationality, w.country_of_work, d.nationality,
                                 d.deported_from, d.deported_to, r.country]::text[])
                    WITH ORDINALITY AS u(code, n)
              WHERE u.code IS NOT NULL GROUP BY u.code ORDER BY min(u.n)) AS countries,
       coalesce(w.sector, d.sector) AS sector,
       w.employer,
       CASE c.kind
           WHEN 'wage_theft' THEN w.worker_nationality || '->' || w.country_of_work || ' '
                || w.employer
           WHEN 'deportation' THEN d.deported_from || '->' || coalesce(d.deported_to, '?')
                || coalesce(' ' || coalesce(d.detention_place, d.arrest_place), '')
           ELSE r.title END AS summary,
       concat_ws(' ', c.reference, w.employer, w.recruitment_agency, d.arrest_place,
                 d.detention_place, r.title, r.body, r.source_document, r.target_body,
                 f.name, f.city) AS search_text
  FROM cases c
  JOIN organisations o ON o.org_id = c.org_id
  LEFT JOIN offices f ON f.org_id = c.org_id AND f.office_id = c.office_id
  LEFT JOIN wage_theft_claims w ON w.org_id = c.org_id AND w.case_id = c.case_id
  LEFT JOIN deportations d ON d.org_id = c.org_id AND d.case_id = c.case_id
  LEFT JOIN recommendations r ON r.org_id = c.org_id AND r.case_id = c.case_id;
GRANT SELECT ON case_search_view TO tulay_app;
