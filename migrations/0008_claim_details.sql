-- The complete wage-theft claim: the recruitment agency and its fee, contract against
-- actual wage, where the claim is pursued, the filing deadline, how the worker was held or
-- cheated, and what was awarded and recovered. Money: integer minor units + currency,
-- both or neither.

ALTER TABLE wage_theft_claims
    ADD COLUMN recruitment_agency text CHECK (char_length(recruitment_agency) BETWEEN 1 AND 200),
    ADD COLUMN recruitment_fee_minor bigint
        CHECK (recruitment_fee_minor BETWEEN 0 AND 1000000000000000),
    ADD COLUMN recruitment_fee_currency char(3) CHECK (recruitment_fee_currency ~ '^[A-Z]{3}$'),
    ADD COLUMN contract_wage_minor bigint
        CHECK (contract_wage_minor BETWEEN 1 AND 1000000000000000),
    ADD COLUMN contract_wage_currency char(3) CHECK (contract_wage_currency ~ '^[A-Z]{3}$'),
    ADD COLUMN actual_wage_minor bigint
        CHECK (actual_wage_minor BETWEEN 0 AND 1000000000000000),
    ADD COLUMN actual_wage_currency char(3) CHECK (actual_wage_currency ~ '^[A-Z]{3}$'),
    ADD COLUMN forum text CHECK (forum IN ('labour_court', 'labour_ministry', 'embassy',
        'mediation', 'origin_authority', 'claims_mechanism', 'other')),
    ADD COLUMN filing_deadline date,
    ADD COLUMN exploitation_means text[] NOT NULL DEFAULT '{}' CHECK (exploitation_means <@
        ARRAY['id_confiscated', 'atm_card_confiscated', 'illegal_deductions',
              'forced_signature', 'threats', 'false_absconding_report', 'repatriated_unpaid',
              'other']),
    ADD COLUMN amount_awarded_minor bigint
        CHECK (amount_awarded_minor BETWEEN 0 AND 1000000000000000),
    ADD COLUMN amount_awarded_currency char(3) CHECK (amount_awarded_currency ~ '^[A-Z]{3}$'),
    ADD COLUMN amount_recovered_minor bigint
        CHECK (amount_recovered_minor BETWEEN 0 AND 1000000000000000),
    ADD COLUMN amount_recovered_currency char(3)
        CHECK (amount_recovered_currency ~ '^[A-Z]{3}$'),
    ADD CONSTRAINT wage_theft_claims_money_pairs CHECK (
        (recruitment_fee_minor IS NULL) = (recruitment_fee_currency IS NULL) AND
        (contract_wage_minor IS NULL) = (contract_wage_currency IS NULL) AND
        (actual_wage_minor IS NULL) = (actual_wage_currency IS NULL) AND
        (amount_awarded_minor IS NULL) = (amount_awarded_currency IS NULL) AND
        (amount_recovered_minor IS NULL) = (amount_recovered_currency IS NULL));

GRANT UPDATE (recruitment_agency, recruitment_fee_minor, recruitment_fee_currency,
              contract_wage_minor, contract_wage_currency, actual_wage_minor,
              actual_wage_currency, forum, filing_deadline, exploitation_means,
              amount_awarded_minor, amount_awarded_currency, amount_recovered_minor,
              amount_recovered_currency) ON wage_theft_claims TO tulay_app;

ALTER TABLE case_events DROP CONSTRAINT case_events_kind_check;
ALTER TABLE case_events ADD CONSTRAINT case_events_kind_check
    CHECK (kind IN ('opened', 'status_changed', 'note', 'amounts_updated'));

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
       w.amount_recovered_currency
  FROM cases c
  JOIN wage_theft_claims w USING (org_id, case_id)
  JOIN organisations o ON o.org_id = c.org_id
  JOIN users u ON u.user_id = c.created_by
 WHERE c.kind = 'wage_theft';

-- Records awarded and recovered amounts (NULL: leave as it is). Outcomes as
-- change_claim_status: 'changed', 'replayed', 'key_reused', 'not_found', 'stale'.
CREATE FUNCTION update_claim_amounts(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_expected_version bigint, p_awarded_minor bigint,
    p_awarded_currency text, p_recovered_minor bigint, p_recovered_currency text,
    p_occurred_on date,
    OUT outcome text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    v_case record;
    v_hash bytea;
BEGIN
    SELECT e.request_hash INTO v_hash FROM case_events e
     WHERE e.org_id = p_org_id AND e.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    SELECT c.case_id, c.version INTO v_case FROM cases c
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
    UPDATE wage_theft_claims SET
        amount_awarded_minor = coalesce(p_awarded_minor, amount_awarded_minor),
        amount_awarded_currency = coalesce(p_awarded_currency, amount_awarded_currency),
        amount_recovered_minor = coalesce(p_recovered_minor, amount_recovered_minor),
        amount_recovered_currency = coalesce(p_recovered_currency, amount_recovered_currency)
     WHERE org_id = p_org_id AND case_id = v_case.case_id;
    UPDATE cases SET version = version + 1, updated_at = now()
     WHERE org_id = p_org_id AND case_id = v_case.case_id;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by,
                             idempotency_key, request_hash)
    VALUES (p_org_id, v_case.case_id, 'amounts_updated', p_occurred_on, p_user_id,
            p_idempotency_key, p_request_hash);
    outcome := 'changed';
END;
$$;
GRANT EXECUTE ON FUNCTION update_claim_amounts(bigint, bigint, bytea, bytea, text, bigint,
    bigint, text, bigint, text, date) TO tulay_app;
