-- Claims created, and read, together in one statement (issue 11). Under load tulayd already sends
-- the CreateClaims waiting in its queue in one transaction; most of what PostgreSQL then
-- spends is still per statement (executor and PL/pgSQL set-up, a row trigger each for the
-- opened event and the report delta, the session check, the read-back, the audit entry),
-- repeated for every claim. create_wage_theft_claims() does the work of a whole batch of
-- plain claims (no details, office, co-workers or ID number) in a few set-based
-- statements: measured on this machine, about half the processor time per claim.
--
--  * The opened event and the report delta of an insert are written per statement, from
--    its transition table, so a statement inserting many cases writes their events in one
--    INSERT. A one-row insert behaves as before.
--  * create_wage_theft_claims() takes one array per parameter of the statements each
--    request would have sent alone (tulay_enter, create_wage_theft_claim, the read-back,
--    audit_append), in that order, as text: tulayd builds them from those requests'
--    parameters (server/db.c, "Merged batches"). It creates the claims only if every one of
--    them is a plain first creation its own statements would have accepted: each session
--    alive and still this user's, in this organisation, with this role, the claim in that
--    organisation, and no key already used or used twice in the batch. Anything else raises
--    and nothing of the batch is written; tulayd then runs each request alone, which
--    answers it as before (a replay, a reused key, an ended session, a refusal).
--  * It runs with its owner's rights: it checks what row-level security and tulay_enter()
--    check, element by element, because the claims of one batch may belong to several
--    organisations.
--  * The references are drawn as case_new_reference() draws them (a number of the
--    organisation's sequence for the kind and year); a sequence not made yet fails the
--    batch, and the claim that runs alone then makes it.
--
-- Locks: it inserts new rows only, and takes no row lock but the foreign keys' on the
-- parents (organisations, users, and the cases it inserts).

CREATE FUNCTION case_opened_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_at, recorded_by,
                             to_status, idempotency_key, request_hash)
    SELECT o.org_id, o.case_id, 'opened', o.opened_on, o.created_at, o.created_by, o.status,
           o.idempotency_key, o.request_hash
      FROM opened o
     ORDER BY o.case_id;
    RETURN NULL;
END;
$$;

DROP TRIGGER cases_opened ON cases;
CREATE TRIGGER cases_opened AFTER INSERT ON cases REFERENCING NEW TABLE AS opened
    FOR EACH STATEMENT EXECUTE FUNCTION case_opened_events();
DROP FUNCTION case_opened_event();

-- The report deltas of new claims; updates keep their row trigger (it compares each row's
-- old and new values).
CREATE FUNCTION report_claims_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO report_deltas (org_id, kind, day, d, sign, workers, claimed_cur, claimed,
                               awarded_cur, awarded, recovered_cur, recovered)
    SELECT x.*
      FROM inserted w
      JOIN cases c ON c.org_id = w.org_id AND c.case_id = w.case_id,
           LATERAL report_claim_delta(w, c.status, 1) x;
    RETURN NULL;
END;
$$;

DROP TRIGGER report_claims ON wage_theft_claims;
CREATE TRIGGER report_claims AFTER UPDATE ON wage_theft_claims
    FOR EACH ROW EXECUTE FUNCTION report_kind_row_changed();
CREATE TRIGGER report_claims_inserted AFTER INSERT ON wage_theft_claims
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION report_claims_inserted();

-- Whether every array of a merged call has one element per request, p_n of them.
CREATE FUNCTION merged_lengths_ok(p_n integer, VARIADIC p_lengths integer[])
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT p_n IS NOT NULL AND p_n >= 1
       AND NOT EXISTS (SELECT 1 FROM unnest(p_lengths) AS l(n) WHERE l.n IS DISTINCT FROM p_n)
$$;

CREATE FUNCTION create_wage_theft_claims(
    -- tulay_enter($4 token_hash, $1 org, $2 user, $3 role)
    t_org text[], t_user text[], t_role text[], t_token text[],
    -- create_wage_theft_claim($1 .. $17)
    c_org text[], c_user text[], c_key text[], c_hash text[], c_nationality text[],
    c_country text[], c_sector text[], c_employer text[], c_started text[], c_ended text[],
    c_amount text[], c_currency text[], c_workers text[], c_name text[], c_id_number text[],
    c_phone text[], c_id_index text[],
    -- the read-back by key ($1 org, $2 key)
    r_org text[], r_key text[],
    -- audit_append: action, target (or NULL: the case's reference), case key, detail
    a_action text[], a_target text[], a_key text[], a_detail text[])
RETURNS TABLE (m_ord bigint, m_case_id bigint, m_outcome text, m_claim wage_theft_claim_view)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
-- Generic plans: with custom ones, made for each call's arrays, PostgreSQL planned a
-- statement again on every call (about 350 us each).
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
            cardinality(c_id_index), cardinality(r_org), cardinality(r_key),
            cardinality(a_action), cardinality(a_target), cardinality(a_key),
            cardinality(a_detail)) THEN
        RAISE EXCEPTION 'create_wage_theft_claims: the arrays differ in length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- One statement (its plan cached once): the checks, then the inserts, which insert
    -- nothing when any claim is refused.
    WITH refused AS (
        -- What tulay_enter(), the policies and create_wage_theft_claim() would each check.
        SELECT count(*) AS n
          FROM unnest(t_org, t_user, t_role, t_token, c_org, c_user, c_key, r_org, r_key,
                      a_key, c_id_index)
               AS i(t_org, t_user, t_role, t_token, c_org, c_user, c_key, r_org, r_key, a_key,
                    c_id_index)
         WHERE i.c_org IS DISTINCT FROM i.t_org OR i.c_user IS DISTINCT FROM i.t_user
            OR i.r_org IS DISTINCT FROM i.c_org OR i.r_key IS DISTINCT FROM i.c_key
            OR i.a_key IS DISTINCT FROM i.c_key OR i.c_id_index IS NOT NULL
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
                      c_name, c_id_number, c_phone, a_action, a_target, a_detail)
               WITH ORDINALITY
               AS i(org, usr, k, h, nationality, country, sector, employer, started, ended,
                    amount, currency, workers, name, id_number, phone, action, target,
                    detail, ord)
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
                                       worker_phone_enc)
        SELECT n.org_id, n.case_id, i.nationality, i.country, i.sector, i.employer,
               i.started::date, i.ended::date, i.amount::bigint, i.currency,
               i.workers::integer, decode(i.name, 'hex'), decode(i.id_number, 'hex'),
               decode(i.phone, 'hex')
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

    RETURN QUERY
    SELECT i.ord, v.case_id, 'created'::text, v
      FROM unnest(c_org, c_key) WITH ORDINALITY AS i(org, k, ord)
      JOIN wage_theft_claim_view v
        ON v.org_id = i.org::bigint AND v.idempotency_key = decode(i.k, 'hex')
     ORDER BY i.ord;
END;
$$;

-- GetClaims waiting together, in one statement: the same idea for reads. It takes the
-- parameters of tulay_enter, claim_by_reference, case_timeline, claim_workers_of and
-- audit_append, and serves only reads of the caller's own organisation's claims (a
-- claim referred by another organisation runs alone, under the policies that share it);
-- anything else raises and each request runs alone. It appends one audit entry per
-- request, as audit_append() does, and returns each request's claim (none if there is no
-- claim of that reference), the timeline of the case of that reference and its
-- co-workers, one row each, tagged 'claim_by_reference', 'case_timeline' and
-- 'claim_workers_of', in the orders those statements give.
CREATE FUNCTION read_wage_theft_claims(
    -- tulay_enter($4 token_hash, $1 org, $2 user, $3 role)
    t_org text[], t_user text[], t_role text[], t_token text[],
    c_org text[], c_ref text[],               -- claim_by_reference($1 org, $2 reference)
    e_org text[], e_ref text[],               -- case_timeline($1 org, $2 reference)
    w_org text[], w_ref text[], w_key text[], -- claim_workers_of($1 org, $2 ref, $3 key)
    a_action text[], a_target text[], a_key text[], a_detail text[])
RETURNS TABLE (m_ord bigint, m_part text, m_seq bigint, m_claim wage_theft_claim_view,
               m_event case_events, m_recorder user_names, m_worker claim_workers,
               m_key bytea)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    v_n integer := cardinality(t_org);
    v_audited bigint;
BEGIN
    IF NOT merged_lengths_ok(v_n,
            cardinality(t_user), cardinality(t_role), cardinality(t_token),
            cardinality(c_org), cardinality(c_ref), cardinality(e_org), cardinality(e_ref),
            cardinality(w_org), cardinality(w_ref), cardinality(w_key),
            cardinality(a_action), cardinality(a_target), cardinality(a_key),
            cardinality(a_detail)) THEN
        RAISE EXCEPTION 'read_wage_theft_claims: the arrays differ in length'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    WITH refused AS (
        -- What tulay_enter() checks, and that each read is of the caller's own claims.
        SELECT count(*) AS n
          FROM unnest(t_org, t_user, t_role, t_token, c_org, c_ref, e_org, e_ref, w_org,
                      w_ref, w_key, a_target, a_key)
               AS i(t_org, t_user, t_role, t_token, c_org, c_ref, e_org, e_ref, w_org, w_ref,
                    w_key, a_target, a_key)
         WHERE i.c_org IS DISTINCT FROM i.t_org OR i.e_org IS DISTINCT FROM i.c_org
            OR i.w_org IS DISTINCT FROM i.c_org OR i.e_ref IS DISTINCT FROM i.c_ref
            OR i.w_ref IS DISTINCT FROM i.c_ref OR i.w_key IS NOT NULL
            OR i.a_target IS DISTINCT FROM i.c_ref OR i.a_key IS NOT NULL
            OR NOT EXISTS (  -- what tulay_enter() checks (written out: a function
                             -- holding a subquery would not be inlined, but called per row)
                SELECT 1 FROM sessions s JOIN users u ON u.user_id = s.user_id
                 WHERE s.token_hash = decode(i.t_token, 'hex') AND s.ended_at IS NULL
                   AND s.expires_at > now() AND u.disabled_at IS NULL
                   AND u.user_id = i.t_user::bigint AND u.org_id = i.t_org::bigint
                   AND u.role = i.t_role)
    )
    INSERT INTO audit_log (xid, at, org_id, user_id, action, target, detail)
    SELECT pg_current_xact_id(), date_trunc('microseconds', clock_timestamp()),
           i.o::bigint, i.u::bigint, i.action, coalesce(i.target, ''),
           coalesce(i.detail, '')
      FROM unnest(t_org, t_user, a_action, a_target, a_detail) WITH ORDINALITY
           AS i(o, u, action, target, detail, ord)
     WHERE (SELECT r.n FROM refused r) = 0
     ORDER BY i.ord;
    GET DIAGNOSTICS v_audited = ROW_COUNT;
    IF v_audited <> v_n THEN
        RAISE EXCEPTION 'read_wage_theft_claims: not every one of the % reads can be '
                        'served together', v_n
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    RETURN QUERY
    WITH i AS (
        SELECT x.o::bigint AS org, x.r AS ref, x.ord
          FROM unnest(c_org, c_ref) WITH ORDINALITY AS x(o, r, ord)
    ), k AS (
        SELECT i.ord, c.org_id, c.case_id, c.idempotency_key
          FROM i JOIN cases c ON c.org_id = i.org AND c.reference = i.ref
    )
    SELECT i.ord, 'claim_by_reference'::text, 0::bigint, v, NULL::case_events,
           NULL::user_names, NULL::claim_workers, NULL::bytea
      FROM i JOIN wage_theft_claim_view v ON v.org_id = i.org AND v.reference = i.ref
    UNION ALL
    SELECT k.ord, 'case_timeline', row_number() OVER (PARTITION BY k.ord
                                                      ORDER BY e.recorded_at, e.event_id),
           NULL::wage_theft_claim_view, e, u, NULL::claim_workers, NULL::bytea
      FROM k JOIN case_events e ON e.org_id = k.org_id AND e.case_id = k.case_id
      JOIN user_names u ON u.user_id = e.recorded_by
    UNION ALL
    SELECT k.ord, 'claim_workers_of', w.position::bigint, NULL::wage_theft_claim_view,
           NULL::case_events, NULL::user_names, w, k.idempotency_key
      FROM k JOIN claim_workers w ON w.org_id = k.org_id AND w.case_id = k.case_id;
END;
$$;

REVOKE ALL ON FUNCTION
    create_wage_theft_claims(text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[]),
    read_wage_theft_claims(text[], text[], text[], text[], text[], text[], text[], text[],
                           text[], text[], text[], text[], text[], text[], text[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    create_wage_theft_claims(text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[], text[], text[], text[], text[], text[],
                             text[], text[], text[]),
    read_wage_theft_claims(text[], text[], text[], text[], text[], text[], text[], text[],
                           text[], text[], text[], text[], text[], text[], text[])
    TO tulay_app;
