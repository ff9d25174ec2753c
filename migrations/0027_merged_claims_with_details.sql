-- Claims with details created together too (issue 15, bulk import). A claim that names its
-- recruitment agency, fee, wages, forum, filing deadline or means of exploitation was not
-- one of the plain claims create_wage_theft_claims() creates in one statement: each ran its
-- statements alone (the create, then claim_details's UPDATE of the row just inserted, whose
-- row trigger writes a second report delta), and an import of such rows, which is what an
-- organisation's spreadsheet holds, ran at a seventh of PostgreSQL's own insert rate.
--
--  * create_wage_theft_claims() now also takes the parameters of claim_details ($1 org,
--    $2 key, $3..$12 the details, $13 the request's hash), one array each, between the
--    create's and the read-back's, as tulayd sends them for its merge of the shape
--    tenant_context_checked, claim_create, claim_details, claim_by_key, audit
--    (server/handlers/claims.c). The details go into the claim's INSERT: one row written
--    once, one report delta, the same row as the create-then-update writes.
--  * The details' organisation, key and hash must be the create's, element by element, as
--    claim_details's WHERE requires; anything else refuses the whole call, as before, and
--    tulayd runs each request alone.
--  * The plain form (27 arrays) stays, for the plain merge: it calls this one with no
--    details (NULL arrays; the means then default to none), so there is one body.
--  * The claims are read back by case_id, each case found by its key first: 0018's join
--    on the view's idempotency_key was planned (generic plan, statistics of an
--    organisation still small) as a walk over all the organisation's cases per claim.
--
-- Locks: as before, it inserts new rows only.

CREATE FUNCTION create_wage_theft_claims(
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
    -- nothing when any claim is refused.
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
                  cases.idempotency_key
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
        RETURNING 1
    )
    INSERT INTO audit_log (xid, at, org_id, user_id, action, target, detail)
    SELECT pg_current_xact_id(), date_trunc('microseconds', clock_timestamp()), n.org_id,
           n.created_by, i.action, coalesce(i.target, n.reference), coalesce(i.detail, '')
      FROM new_cases n JOIN i ON i.org::bigint = n.org_id AND i.key = n.idempotency_key
     WHERE (SELECT count(*) FROM new_claims) = v_n
     ORDER BY i.ord;
    GET DIAGNOSTICS v_created = ROW_COUNT;
    IF v_created <> v_n THEN
        RAISE EXCEPTION 'create_wage_theft_claims: not every one of the % claims can be '
                        'created together', v_n
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    -- Each case found by its key (the unique index), then its claim by primary key: joined
    -- on the view's key column, the generic plan read every case of the organisation for
    -- each claim while its statistics still said the organisation was small.
    RETURN QUERY
    SELECT i.ord, v.case_id, 'created'::text, v
      FROM unnest(c_org, c_key) WITH ORDINALITY AS i(org, k, ord)
      CROSS JOIN LATERAL (
            SELECT c.case_id FROM cases c
             WHERE c.org_id = i.org::bigint AND c.idempotency_key = decode(i.k, 'hex')) k
      JOIN wage_theft_claim_view v ON v.org_id = i.org::bigint AND v.case_id = k.case_id
     ORDER BY i.ord;
END;
$$;

-- The plain form: the same, with no details.
CREATE OR REPLACE FUNCTION create_wage_theft_claims(
    t_org text[], t_user text[], t_role text[], t_token text[],
    c_org text[], c_user text[], c_key text[], c_hash text[], c_nationality text[],
    c_country text[], c_sector text[], c_employer text[], c_started text[], c_ended text[],
    c_amount text[], c_currency text[], c_workers text[], c_name text[], c_id_number text[],
    c_phone text[], c_id_index text[],
    r_org text[], r_key text[],
    a_action text[], a_target text[], a_key text[], a_detail text[])
RETURNS TABLE (m_ord bigint, m_case_id bigint, m_outcome text, m_claim wage_theft_claim_view)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_none text[] := array_fill(NULL::text, ARRAY[coalesce(cardinality(t_org), 0)]);
BEGIN
    RETURN QUERY
    SELECT * FROM create_wage_theft_claims(
        t_org, t_user, t_role, t_token,
        c_org, c_user, c_key, c_hash, c_nationality, c_country, c_sector, c_employer,
        c_started, c_ended, c_amount, c_currency, c_workers, c_name, c_id_number, c_phone,
        c_id_index,
        c_org, c_key, v_none, v_none, v_none, v_none, v_none, v_none, v_none, v_none, v_none,
        v_none, c_hash,
        r_org, r_key,
        a_action, a_target, a_key, a_detail);
END;
$$;

REVOKE ALL ON FUNCTION
    create_wage_theft_claims(text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    create_wage_theft_claims(text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[])
    TO tulay_app;
