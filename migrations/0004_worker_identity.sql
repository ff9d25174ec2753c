-- The worker's identity on a wage-theft claim: name, passport or ID number, phone.
-- tulayd encrypts each with XChaCha20-Poly1305 before it reaches PostgreSQL (nonce ||
-- ciphertext || tag), with associated data binding organisation, table, column and row, so
-- a ciphertext moved to another row or column fails to decrypt. The database never holds
-- the plaintext nor the key. worker_id_number_index is a keyed hash (blind index) of the
-- normalised ID number, for exact lookup and duplicate detection within the organisation.
-- The row is identified by the case's idempotency key: unique within the organisation,
-- never changed, and known before the row exists (case_id is not).

ALTER TABLE wage_theft_claims
    ADD COLUMN worker_name_enc bytea,
    ADD COLUMN worker_id_number_enc bytea,
    ADD COLUMN worker_phone_enc bytea,
    ADD COLUMN worker_id_number_index bytea CHECK (length(worker_id_number_index) = 32);
CREATE INDEX wage_theft_claims_worker_id_number ON wage_theft_claims
    (org_id, worker_id_number_index) WHERE worker_id_number_index IS NOT NULL;

DROP VIEW wage_theft_claim_view;
CREATE VIEW wage_theft_claim_view WITH (security_invoker = true) AS
SELECT c.org_id, c.case_id, c.idempotency_key,
       c.reference, o.acronym AS organisation, c.status,
       w.worker_nationality, w.country_of_work, w.sector, w.employer,
       w.work_started_on, w.work_ended_on,
       w.amount_claimed_minor, w.amount_claimed_currency, w.workers,
       c.opened_on, c.version, u.username AS created_by,
       extract(epoch FROM c.created_at)::bigint AS created_at,
       w.worker_name_enc, w.worker_id_number_enc, w.worker_phone_enc,
       w.worker_id_number_index
  FROM cases c
  JOIN wage_theft_claims w USING (org_id, case_id)
  JOIN organisations o ON o.org_id = c.org_id
  JOIN users u ON u.user_id = c.created_by
 WHERE c.kind = 'wage_theft';
GRANT SELECT ON wage_theft_claim_view TO tulay_app;

-- The claim function takes the sealed identity too.
DROP FUNCTION create_wage_theft_claim(bigint, bigint, bytea, bytea, text, text, text, text,
                                      date, date, bigint, text, integer);
CREATE FUNCTION create_wage_theft_claim(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_worker_nationality text, p_country_of_work text, p_sector text, p_employer text,
    p_work_started_on date, p_work_ended_on date,
    p_amount_claimed_minor bigint, p_amount_claimed_currency text, p_workers integer,
    p_worker_name_enc bytea, p_worker_id_number_enc bytea, p_worker_phone_enc bytea,
    p_worker_id_number_index bytea,
    OUT case_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_constraint text;
    v_seq bigint;
    v_opened date := (now() AT TIME ZONE 'UTC')::date;
    v_year integer := extract(year FROM v_opened)::integer;
BEGIN
    SELECT c.case_id, c.request_hash INTO case_id, v_hash
      FROM cases c
     WHERE c.org_id = p_org_id AND c.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;

    BEGIN
        INSERT INTO case_counters AS cc (org_id, kind, year, last_value)
        VALUES (p_org_id, 'wage_theft', v_year, 1)
        ON CONFLICT (org_id, kind, year) DO UPDATE SET last_value = cc.last_value + 1
        RETURNING cc.last_value INTO v_seq;

        INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
                           idempotency_key, request_hash)
        VALUES (p_org_id,
                'WT-' || v_year || '-' || CASE WHEN v_seq < 1000000
                    THEN lpad(v_seq::text, 6, '0') ELSE v_seq::text END,
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
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
    END;
END;
$$;
REVOKE ALL ON FUNCTION create_wage_theft_claim(bigint, bigint, bytea, bytea, text, text, text,
    text, date, date, bigint, text, integer, bytea, bytea, bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION create_wage_theft_claim(bigint, bigint, bytea, bytea, text, text, text,
    text, date, date, bigint, text, integer, bytea, bytea, bytea, bytea) TO tulay_app;
