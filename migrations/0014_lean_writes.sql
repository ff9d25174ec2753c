-- What a write costs PostgreSQL itself (issue 11, continued).
--
-- After 0013 no request waits for another's lock; the write rate is then the processor
-- time PostgreSQL spends on each request. Measured per CreateClaim (pg_stat_statements,
-- track_functions, perf), these are cut here:
--
--   * CHECK constraints are parsed again from their stored text for every statement that
--     inserts or updates a row (PostgreSQL keeps no parsed copy between statements), and
--     a list of text constants is the slowest thing to parse: the 23 checks of
--     wage_theft_claims cost more than the rest of its INSERT, and cases, case_events,
--     deportations and recommendations paid the same way. Each of these tables now has
--     one CHECK that calls a PL/pgSQL function holding the same rules: PL/pgSQL parses
--     and plans them once per connection, and only sets them up again per transaction
--     (a single-row INSERT into wage_theft_claims, commit included: 350 µs with the 23
--     checks, 310 µs with the function, 210 µs with no check at all). The function is
--     generated from the constraints it replaces, so the rules, their names and their
--     NULL semantics (a rule that yields NULL passes) stay exactly as they were; a
--     violation raises check_violation naming the original constraint, as before.
--   * The referral policies ("a case shared with my organisation") were evaluated
--     before the owner policy, so every statement touching cases, claims or events ran
--     tulay_shared_cases() (a PL/pgSQL call and a scan of referrals), five times per
--     CreateClaim, to learn nothing about the organisation's own rows. The shared arm
--     now starts with org_id <> tulay_org(), which is false for the caller's own rows
--     and stops the evaluation there; for other organisations' rows it is what it was.
--   * A row's contribution to the report rollups went through three PL/pgSQL functions
--     before its one INSERT; it is now one INSERT in the trigger (below).
--   * tulay_enter, run first in every request, checks the session and sets the context
--     in one statement instead of two.
--
-- Each PL/pgSQL function prepares the statements and expressions it runs once per
-- transaction, and a request is a transaction of its own: fewer layers and fewer
-- statements are what make a write cheaper.
--
-- To add a rule to one of these tables later, replace its <table>_rules function (its
-- current text: \sf <table>_rules) rather than adding a CHECK beside it.

-- --- CHECK constraints folded into one rule function per table ----------------------------

CREATE FUNCTION tulay_fold_checks(p_table regclass) RETURNS integer
LANGUAGE plpgsql AS $fold$
DECLARE
    v_name text := (SELECT relname FROM pg_class WHERE oid = p_table);
    v_params text;
    v_args text;
    v_cases text := '';
    v_count integer := 0;
    c record;
BEGIN
    -- Parameters named and typed as the columns the rules read: each rule's stored text
    -- then reads the same inside the function as it did on the table.
    SELECT string_agg(format('%I %s', a.attname, format_type(a.atttypid, NULL)), ', '
                      ORDER BY a.attnum),
           string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum)
      INTO v_params, v_args
      FROM pg_attribute a
     WHERE a.attrelid = p_table AND a.attnum IN (
               SELECT unnest(k.conkey) FROM pg_constraint k
                WHERE k.conrelid = p_table AND k.contype = 'c');
    -- One expression for all the rules: PL/pgSQL prepares each expression it evaluates
    -- once per transaction, and a write is usually a transaction of its own.
    FOR c IN SELECT k.conname, pg_get_expr(k.conbin, k.conrelid) AS expr
               FROM pg_constraint k
              WHERE k.conrelid = p_table AND k.contype = 'c'
              ORDER BY k.conname LOOP
        v_cases := v_cases || format(E'        WHEN NOT coalesce(%s, true) THEN %L\n',
                                     c.expr, c.conname);
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', p_table, c.conname);
        v_count := v_count + 1;
    END LOOP;
    EXECUTE format(E'CREATE FUNCTION %I(%s) RETURNS boolean\n' ||
                   E'LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $rules$\n' ||
                   E'DECLARE\n    v_broken text;\nBEGIN\n' ||
                   E'    v_broken := CASE\n%s        END;\n' ||
                   E'    IF v_broken IS NULL THEN\n        RETURN true;\n    END IF;\n' ||
                   E'    RAISE EXCEPTION ''new row for relation "%s" violates check ' ||
                   E'constraint "%%"'', v_broken\n' ||
                   E'        USING ERRCODE = ''check_violation'', TABLE = %L, ' ||
                   E'CONSTRAINT = v_broken;\nEND;\n$rules$',
                   v_name || '_rules', v_params, v_cases, v_name, v_name);
    -- The rules run with the privileges of whoever writes the row: tulay_app, and the
    -- owner's own functions.
    EXECUTE format('GRANT EXECUTE ON FUNCTION %I(%s) TO tulay_app', v_name || '_rules',
                   v_params);
    EXECUTE format('COMMENT ON FUNCTION %I(%s) IS %L', v_name || '_rules', v_params,
                   format('The %s CHECK constraints of %s, folded into one (migration 0014).',
                          v_count, v_name));
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I(%s))', p_table,
                   v_name || '_rules', v_name || '_rules', v_args);
    RETURN v_count;
END;
$fold$;

SELECT sum(tulay_fold_checks(t)) AS checks_folded
  FROM unnest(ARRAY['cases', 'wage_theft_claims', 'deportations', 'recommendations',
                    'case_events']::regclass[]) AS t;
DROP FUNCTION tulay_fold_checks(regclass);

-- --- Referral policies: the caller's own rows never reach tulay_shared_cases() ------------

DO $$
DECLARE
    v_shared constant text :=
        '(org_id <> tulay_org() AND (org_id, case_id) IN '
        '(SELECT s.org_id, s.case_id FROM tulay_shared_cases() s))';
    p record;
BEGIN
    FOR p IN SELECT tablename, policyname, cmd FROM pg_policies
              WHERE schemaname = 'public'
                AND (qual LIKE '%tulay_shared_cases()%'
                     OR with_check LIKE '%tulay_shared_cases()%') LOOP
        IF p.cmd = 'SELECT' THEN
            EXECUTE format('ALTER POLICY %I ON %I USING %s', p.policyname, p.tablename,
                           v_shared);
        ELSE
            EXECUTE format('ALTER POLICY %I ON %I USING %s WITH CHECK %s', p.policyname,
                           p.tablename, v_shared, v_shared);
        END IF;
    END LOOP;
END;
$$;

-- --- Report deltas: one statement per trigger ------------------------------------------
--
-- A write's contribution to the rollups went through three PL/pgSQL functions (the
-- trigger, report_<kind>_apply, report_apply) before its one INSERT; each call prepares
-- its statements and expressions again in every transaction. The contribution of a row
-- is now a plain SQL function (inlined into the trigger's cached plan), and each trigger
-- firing writes the withdrawal of the old row (on UPDATE) and the contribution of the new
-- one with a single INSERT. Same rows as before: day, dimensions d1..d7 ('' where not
-- recorded or not kept), workers and each amount with its currency.

CREATE FUNCTION report_claim_delta(w wage_theft_claims, p_status text, p_sign integer)
RETURNS TABLE (org_id bigint, kind text, day date, d text[], sign smallint, workers bigint,
               claimed_cur text, claimed bigint, awarded_cur text, awarded bigint,
               recovered_cur text, recovered bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT w.org_id, 'wage_theft', w.work_ended_on,
           ARRAY[coalesce(w.worker_nationality::text, ''), coalesce(w.country_of_work::text, ''),
                 coalesce(w.sector, ''), coalesce(w.employer, ''),
                 coalesce(w.recruitment_agency, ''), coalesce(w.forum, ''),
                 coalesce(p_status, '')],
           p_sign::smallint, w.workers::bigint, w.amount_claimed_currency::text,
           w.amount_claimed_minor, w.amount_awarded_currency::text, w.amount_awarded_minor,
           w.amount_recovered_currency::text, w.amount_recovered_minor
$$;

CREATE FUNCTION report_deportation_delta(p deportations, p_status text, p_opened date,
                                         p_sign integer)
RETURNS TABLE (org_id bigint, kind text, day date, d text[], sign smallint, workers bigint,
               claimed_cur text, claimed bigint, awarded_cur text, awarded bigint,
               recovered_cur text, recovered bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT p.org_id, 'deportation',
           coalesce(p.arrested_on, p.detained_on, p.deported_on, p.released_on, p_opened),
           ARRAY[coalesce(p.deported_from::text, ''), coalesce(p.deported_to::text, ''),
                 coalesce(p.grounds[1], ''), coalesce(p_status, ''),
                 coalesce(p.nationality::text, ''), '', ''],
           p_sign::smallint, 0::bigint, NULL::text, NULL::bigint, NULL::text, NULL::bigint,
           NULL::text, NULL::bigint
$$;

CREATE FUNCTION report_recommendation_delta(r recommendations, p_status text,
                                            p_sign integer)
RETURNS TABLE (org_id bigint, kind text, day date, d text[], sign smallint, workers bigint,
               claimed_cur text, claimed bigint, awarded_cur text, awarded bigint,
               recovered_cur text, recovered bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT r.org_id, 'recommendation', r.source_date,
           ARRAY[coalesce(p_status, ''), coalesce(r.target_body, ''), coalesce(r.theme, ''),
                 coalesce(r.addressed_to, ''), '', '', ''],
           p_sign::smallint, 0::bigint, NULL::text, NULL::bigint, NULL::text, NULL::bigint,
           NULL::text, NULL::bigint
$$;
REVOKE ALL ON FUNCTION report_claim_delta(wage_theft_claims, text, integer),
    report_deportation_delta(deportations, text, date, integer),
    report_recommendation_delta(recommendations, text, integer) FROM PUBLIC;

-- A kind row inserted or changed: withdraw the old row's contribution (UPDATE), add the
-- new row's. An UPDATE that changes nothing a report reads appends nothing.
CREATE OR REPLACE FUNCTION report_kind_row_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'wage_theft_claims' THEN
        IF TG_OP = 'UPDATE' AND
           (OLD.work_ended_on, OLD.worker_nationality, OLD.country_of_work, OLD.sector,
            OLD.employer, OLD.recruitment_agency, OLD.forum, OLD.workers,
            OLD.amount_claimed_currency, OLD.amount_claimed_minor,
            OLD.amount_awarded_currency, OLD.amount_awarded_minor,
            OLD.amount_recovered_currency, OLD.amount_recovered_minor)
           IS NOT DISTINCT FROM
           (NEW.work_ended_on, NEW.worker_nationality, NEW.country_of_work, NEW.sector,
            NEW.employer, NEW.recruitment_agency, NEW.forum, NEW.workers,
            NEW.amount_claimed_currency, NEW.amount_claimed_minor,
            NEW.amount_awarded_currency, NEW.amount_awarded_minor,
            NEW.amount_recovered_currency, NEW.amount_recovered_minor) THEN
            RETURN NULL;
        END IF;
        INSERT INTO report_deltas (org_id, kind, day, d, sign, workers, claimed_cur, claimed,
                                   awarded_cur, awarded, recovered_cur, recovered)
        SELECT x.* FROM cases c, (VALUES (OLD, -1), (NEW, 1)) v(w, sign),
               LATERAL report_claim_delta(v.w, c.status, v.sign) x
         WHERE c.org_id = NEW.org_id AND c.case_id = NEW.case_id
           AND (v.sign = 1 OR TG_OP = 'UPDATE');
    ELSIF TG_TABLE_NAME = 'deportations' THEN
        IF TG_OP = 'UPDATE' AND
           (OLD.arrested_on, OLD.detained_on, OLD.deported_on, OLD.released_on,
            OLD.deported_from, OLD.deported_to, OLD.grounds[1], OLD.nationality)
           IS NOT DISTINCT FROM
           (NEW.arrested_on, NEW.detained_on, NEW.deported_on, NEW.released_on,
            NEW.deported_from, NEW.deported_to, NEW.grounds[1], NEW.nationality) THEN
            RETURN NULL;
        END IF;
        INSERT INTO report_deltas (org_id, kind, day, d, sign, workers, claimed_cur, claimed,
                                   awarded_cur, awarded, recovered_cur, recovered)
        SELECT x.* FROM cases c, (VALUES (OLD, -1), (NEW, 1)) v(p, sign),
               LATERAL report_deportation_delta(v.p, c.status, c.opened_on, v.sign) x
         WHERE c.org_id = NEW.org_id AND c.case_id = NEW.case_id
           AND (v.sign = 1 OR TG_OP = 'UPDATE');
    ELSE
        IF TG_OP = 'UPDATE' AND
           (OLD.source_date, OLD.target_body, OLD.theme, OLD.addressed_to)
           IS NOT DISTINCT FROM
           (NEW.source_date, NEW.target_body, NEW.theme, NEW.addressed_to) THEN
            RETURN NULL;
        END IF;
        INSERT INTO report_deltas (org_id, kind, day, d, sign, workers, claimed_cur, claimed,
                                   awarded_cur, awarded, recovered_cur, recovered)
        SELECT x.* FROM cases c, (VALUES (OLD, -1), (NEW, 1)) v(r, sign),
               LATERAL report_recommendation_delta(v.r, c.status, v.sign) x
         WHERE c.org_id = NEW.org_id AND c.case_id = NEW.case_id
           AND (v.sign = 1 OR TG_OP = 'UPDATE');
    END IF;
    RETURN NULL;
END;
$$;

-- A case's status or opening date changed: its kind row's contribution moves from the
-- old values to the new.
CREATE OR REPLACE FUNCTION report_case_status_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.kind = 'wage_theft' THEN
        INSERT INTO report_deltas (org_id, kind, day, d, sign, workers, claimed_cur, claimed,
                                   awarded_cur, awarded, recovered_cur, recovered)
        SELECT x.* FROM wage_theft_claims w, (VALUES (OLD.status, -1), (NEW.status, 1))
               v(status, sign), LATERAL report_claim_delta(w, v.status, v.sign) x
         WHERE w.org_id = NEW.org_id AND w.case_id = NEW.case_id;
    ELSIF NEW.kind = 'deportation' THEN
        INSERT INTO report_deltas (org_id, kind, day, d, sign, workers, claimed_cur, claimed,
                                   awarded_cur, awarded, recovered_cur, recovered)
        SELECT x.* FROM deportations p,
               (VALUES (OLD.status, OLD.opened_on, -1), (NEW.status, NEW.opened_on, 1))
               v(status, opened_on, sign),
               LATERAL report_deportation_delta(p, v.status, v.opened_on, v.sign) x
         WHERE p.org_id = NEW.org_id AND p.case_id = NEW.case_id;
    ELSE
        INSERT INTO report_deltas (org_id, kind, day, d, sign, workers, claimed_cur, claimed,
                                   awarded_cur, awarded, recovered_cur, recovered)
        SELECT x.* FROM recommendations r, (VALUES (OLD.status, -1), (NEW.status, 1))
               v(status, sign), LATERAL report_recommendation_delta(r, v.status, v.sign) x
         WHERE r.org_id = NEW.org_id AND r.case_id = NEW.case_id;
    END IF;
    RETURN NULL;
END;
$$;

DROP FUNCTION report_claim_apply(wage_theft_claims, text, integer),
    report_deportation_apply(deportations, text, date, integer),
    report_recommendation_apply(recommendations, text, integer),
    report_apply(bigint, text, date, text[], integer, bigint, text, bigint, text, bigint,
                 text, bigint);

-- --- Entering a request's context: one statement ---------------------------------------
--
-- The same check as 0005's (the session alive and still this user's, in this
-- organisation, with this role; otherwise 28000 and the whole request rolls back), with
-- the check and the three settings in one statement instead of two.
CREATE OR REPLACE FUNCTION tulay_enter(p_token_hash bytea, p_org_id bigint, p_user_id bigint,
                                       p_role text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM set_config('tulay.org_id', u.org_id::text, true),
            set_config('tulay.user_id', u.user_id::text, true),
            set_config('tulay.role', u.role, true)
       FROM sessions s JOIN users u ON u.user_id = s.user_id
      WHERE s.token_hash = p_token_hash AND s.ended_at IS NULL AND s.expires_at > now()
        AND u.disabled_at IS NULL AND u.user_id = p_user_id AND u.org_id = p_org_id
        AND u.role = p_role;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session ended, expired or changed' USING ERRCODE = '28000';
    END IF;
END;
$$;
