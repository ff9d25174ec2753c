-- What a write costs PostgreSQL itself (issue 11, continued).
--
-- After 0013 no request waits for another's lock; the write rate is then the processor
-- time PostgreSQL spends on each request. Measured per CreateClaim, two items stood out,
-- and both are gone here:
--
--   * CHECK constraints are parsed again from their stored text for every statement that
--     inserts or updates a row (PostgreSQL keeps no parsed copy between statements), and
--     a list of text constants is the slowest thing to parse: the 23 checks of
--     wage_theft_claims cost more than the rest of its INSERT, and cases, case_events,
--     deportations and recommendations paid the same way. Each of these tables now has
--     one CHECK that calls a PL/pgSQL function holding the same rules (PL/pgSQL keeps
--     its compiled expressions for the life of the connection). The function is
--     generated from the constraints it replaces, so the rules, their names and their
--     NULL semantics (a rule that yields NULL passes) stay exactly as they were; a
--     violation raises check_violation naming the original constraint, as before.
--   * The referral policies ("a case shared with my organisation") were evaluated
--     before the owner policy, so every statement touching cases, claims or events ran
--     tulay_shared_cases() (a PL/pgSQL call and a scan of referrals), five times per
--     CreateClaim, to learn nothing about the organisation's own rows. The shared arm
--     now starts with org_id <> tulay_org(), which is false for the caller's own rows
--     and stops the evaluation there; for other organisations' rows it is what it was.
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
