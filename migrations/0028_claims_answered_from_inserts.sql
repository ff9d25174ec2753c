-- The claims a merged create made are answered from the rows it inserted, not read back
-- (issue 15: the outbox benchmark stalled for 7 s in one batch of its sync, and that batch
-- ended at the statement timeout).
--
-- create_wage_theft_claims() runs with plan_cache_mode = force_generic_plan, so its plans
-- are made on a connection's first call and kept until the tables are analyzed again. On a
-- new database, or one whose tables grew since autovacuum last looked (a sync or an import
-- into an empty one does that in seconds; autovacuum looks once a minute), there are no
-- statistics of cases.org_id and wage_theft_claims.org_id, and the planner takes an
-- organisation to have a handful of cases. 0027's read-back, one join of the new keys
-- with wage_theft_claim_view, was then planned from the organisation: every wage-theft
-- case of the organisation (cases_by_kind), each joined with every claim of the
-- organisation (wage_theft_claims_pkey on org_id alone), filtered last on the key: the
-- square of the organisation's claims, per batch. Found on the benchmark's kept cluster
-- (auto_explain, then EXPLAIN with the statistics removed). Reading each claim by both
-- primary-key columns was not safe either: without statistics the planner took
-- wage_theft_claims_report on org_id alone and filtered on case_id, a walk over the
-- organisation's claims for each claim.
--
--  * The inserts return what they wrote (new_cases: the case's columns the view shows;
--    new_claims: the whole claim), the audit rows are a third data-modifying part, and
--    the statement answers the view's row type built from them, joined only with the
--    organisation, the user and the office by their keys. No plan can walk the
--    organisation's claims.
--  * The statement answers nothing unless every claim and audit row was written, as
--    before, and the function then refuses the whole call.
--  * Nothing else changes: the checks and the inserts are 0027's, and the plain form (27
--    arrays) still calls this one.
--
-- Locks: as before, it inserts new rows only.

CREATE OR REPLACE FUNCTION create_wage_theft_claims(
    -- tulay_enter($4 token_hash, $1 org, $2 user, $3 role)
    t_org text[], t_user text[], t_role text[], t_token text[],
    -- create_wage_theft_claim($1 .. $17)
    c_org text[], c_user text[], c_key text[], c_hash text[], c_nationality text[],
    c_country text[], c_sector text[], c_employer text[], c_started text[], c_ended text[],
    c_amount text[], c_currency text[], c_workers text[], c_name text[], c_id_number text[],
    c_phone text[], c_id_index text[],
    -- claim_details($1 org, $2 key, $3 agency, $4 fee, $5 its currency, $6 contract wage,
    -- $7 its currency, $8 actual wage, $9 its currency, $10 forum, $11 filing deadline,
    -- $12 means as an array literal, $13 the request's hash)
    d_org text[], d_key text[], d_agency text[], d_fee text[], d_fee_currency text[],
    d_contract text[], d_contract_currency text[], d_actual text[],
    d_actual_currency text[], d_forum text[], d_deadline text[], d_means text[],
    d_hash text[],
    -- the read-back by key ($1 org, $2 key)
    r_org text[], r_key text[],
    -- audit_append: action, target (or NULL: the case's reference), case key, detail
    a_action text[], a_target text[], a_key text[], a_detail text[])
RETURNS TABLE (m_ord bigint, m_case_id bigint, m_outcome text, m_claim wage_theft_claim_view)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_opened date := (now() AT TIME ZONE 'UTC')::date;
    v_year integer := extract(year FROM v_opened)::integer;
    v_n integer := cardinality(t_org);
    v_created bigint;
BEGIN
    IF NOT merged_lengths_ok(v_n,
            cardinality(t_user), cardinality(t_role), cardinality(t_token),
            cardinality(c_org), cardinality(c_user), cardinality(c_key), cardinality(c_hash),
            cardinality(c_nationality), cardinality(c_country), cardinality(c_sector),
            cardinality(c_employer), cardinality(c_started), cardinality(c_ended),
            cardinality(c_amount), cardinality(c_currency), cardinality(c_workers),
            cardinality(c_name), cardinality(c_id_number), cardinality(c_phone),
            cardinality(c_id_index),
            cardinality(d_org), cardinality(d_key), cardinality(d_agency),
            cardinality(d_fee), cardinality(d_fee_currency), cardinality(d_contract),
            cardinality(d_contract_currency), cardinality(d_actual),
            cardinality(d_actual_currency), cardinality(d_forum), cardinality(d_deadline),
            cardinality(d_means), cardinality(d_hash),
            cardinality(r_org), cardinality(r_key),
            cardinality(a_action), cardinality(a_target), cardinality(a_key),
            cardinality(a_detail)) THEN
        RAISE EXCEPTION 'create_wage_theft_claims: the arrays differ in length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- One statement (its plan cached once): the checks, then the inserts, which insert
    -- nothing when any claim is refused, then the claims as created.
    RETURN QUERY
    WITH refused AS (
        -- What tulay_enter(), the policies, create_wage_theft_claim() and claim_details's
        -- WHERE would each check.
        SELECT count(*) AS n
          FROM unnest(t_org, t_user, t_role, t_token, c_org, c_user, c_key, r_org, r_key,
                      a_key, c_id_index, c_hash, d_org, d_key, d_hash)
               AS i(t_org, t_user, t_role, t_token, c_org, c_user, c_key, r_org, r_key, a_key,
                    c_id_index, c_hash, d_org, d_key, d_hash)
         WHERE i.c_org IS DISTINCT FROM i.t_org OR i.c_user IS DISTINCT FROM i.t_user
            OR i.r_org IS DISTINCT FROM i.c_org OR i.r_key IS DISTINCT FROM i.c_key
            OR i.a_key IS DISTINCT FROM i.c_key OR i.c_id_index IS NOT NULL
            OR i.d_org IS DISTINCT FROM i.c_org OR i.d_key IS DISTINCT FROM i.c_key
            OR i.d_hash IS DISTINCT FROM i.c_hash
            OR NOT EXISTS (  -- what tulay_enter() checks (written out: a function
                             -- holding a subquery would not be inlined, but called per row)
                SELECT 1 FROM sessions s JOIN users u ON u.user_id = s.user_id
                 WHERE s.token_hash = decode(i.t_token, 'hex') AND s.ended_at IS NULL
                   AND s.expires_at > now() AND u.disabled_at IS NULL
                   AND u.user_id = i.t_user::bigint AND u.org_id = i.t_org::bigint
                   AND u.role = i.t_role)
            OR EXISTS (
                SELECT 1 FROM cases c
                 WHERE c.org_id = i.c_org::bigint
                   AND c.idempotency_key = decode(i.c_key, 'hex'))
    ), i AS (
        SELECT i.*, decode(i.k, 'hex') AS key
          FROM unnest(c_org, c_user, c_key, c_hash, c_nationality, c_country, c_sector,
                      c_employer, c_started, c_ended, c_amount, c_currency, c_workers,
                      c_name, c_id_number, c_phone, d_agency, d_fee, d_fee_currency,
                      d_contract, d_contract_currency, d_actual, d_actual_currency, d_forum,
                      d_deadline, d_means, a_action, a_target, a_detail)
               WITH ORDINALITY
               AS i(org, usr, k, h, nationality, country, sector, employer, started, ended,
                    amount, currency, workers, name, id_number, phone, agency, fee,
                    fee_currency, contract, contract_currency, actual, actual_currency,
                    forum, deadline, means, action, target, detail, ord)
    ), new_cases AS (
        INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
                           idempotency_key, request_hash)
        SELECT i.org::bigint,
               'WT-' || v_year || '-' ||
                   CASE WHEN i.n < 1000000 THEN lpad(i.n::text, 6, '0') ELSE i.n::text END,
               'wage_theft', 'intake', v_opened, i.usr::bigint, i.key, decode(i.h, 'hex')
          FROM (SELECT i.*, nextval(case_number_sequence(i.org::bigint, 'wage_theft',
                                                         v_year)::regclass) AS n
                  FROM i
                 WHERE (SELECT r.n FROM refused r) = 0
                   AND (SELECT count(DISTINCT (x.org, x.key)) FROM i x) = v_n
                 ORDER BY i.ord) i
         ORDER BY i.ord
        RETURNING cases.org_id, cases.case_id, cases.reference, cases.created_by,
                  cases.idempotency_key, cases.status, cases.opened_on, cases.version,
                  cases.created_at, cases.closed_on, cases.office_id
    ), new_claims AS (
        INSERT INTO wage_theft_claims (org_id, case_id, worker_nationality, country_of_work,
                                       sector, employer, work_started_on, work_ended_on,
                                       amount_claimed_minor, amount_claimed_currency, workers,
                                       worker_name_enc, worker_id_number_enc,
                                       worker_phone_enc, recruitment_agency,
                                       recruitment_fee_minor, recruitment_fee_currency,
                                       contract_wage_minor, contract_wage_currency,
                                       actual_wage_minor, actual_wage_currency, forum,
                                       filing_deadline, exploitation_means)
        SELECT n.org_id, n.case_id, i.nationality, i.country, i.sector, i.employer,
               i.started::date, i.ended::date, i.amount::bigint, i.currency,
               i.workers::integer, decode(i.name, 'hex'), decode(i.id_number, 'hex'),
               decode(i.phone, 'hex'), i.agency, i.fee::bigint, i.fee_currency,
               i.contract::bigint, i.contract_currency, i.actual::bigint, i.actual_currency,
               i.forum, i.deadline::date, coalesce(i.means::text[], '{}')
          FROM new_cases n JOIN i ON i.org::bigint = n.org_id AND i.key = n.idempotency_key
         ORDER BY i.ord
        RETURNING wage_theft_claims.*
    ), audit AS (
        INSERT INTO audit_log (xid, at, org_id, user_id, action, target, detail)
        SELECT pg_current_xact_id(), date_trunc('microseconds', clock_timestamp()), n.org_id,
               n.created_by, i.action, coalesce(i.target, n.reference), coalesce(i.detail, '')
          FROM new_cases n JOIN i ON i.org::bigint = n.org_id AND i.key = n.idempotency_key
         WHERE (SELECT count(*) FROM new_claims) = v_n
         ORDER BY i.ord
        RETURNING 1
    )
    -- The claims as the view shows them, from the rows just inserted: nothing is read
    -- back from the tables (see this migration's head).
    SELECT i.ord, n.case_id, 'created'::text,
           ROW(n.org_id, n.case_id, n.idempotency_key, n.reference, o.acronym, n.status,
               w.worker_nationality, w.country_of_work, w.sector, w.employer,
               w.work_started_on, w.work_ended_on, w.amount_claimed_minor,
               w.amount_claimed_currency, w.workers, n.opened_on, n.version, u.username,
               extract(epoch FROM n.created_at)::bigint, w.worker_name_enc,
               w.worker_id_number_enc, w.worker_phone_enc, w.worker_id_number_index,
               n.closed_on, w.recruitment_agency, w.recruitment_fee_minor,
               w.recruitment_fee_currency, w.contract_wage_minor, w.contract_wage_currency,
               w.actual_wage_minor, w.actual_wage_currency, w.forum, w.filing_deadline,
               w.exploitation_means, w.amount_awarded_minor, w.amount_awarded_currency,
               w.amount_recovered_minor, w.amount_recovered_currency,
               f.name)::wage_theft_claim_view
      FROM new_cases n
      JOIN new_claims w ON w.org_id = n.org_id AND w.case_id = n.case_id
      JOIN i ON i.org::bigint = n.org_id AND i.key = n.idempotency_key
      JOIN organisations o ON o.org_id = n.org_id
      JOIN users u ON u.user_id = n.created_by
      LEFT JOIN offices f ON f.org_id = n.org_id AND f.office_id = n.office_id
     WHERE (SELECT count(*) FROM audit) = v_n
     ORDER BY i.ord;
    GET DIAGNOSTICS v_created = ROW_COUNT;
    IF v_created <> v_n THEN
        RAISE EXCEPTION 'create_wage_theft_claims: not every one of the % claims can be '
                        'created together', v_n
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END;
$$;
