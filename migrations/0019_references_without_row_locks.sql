-- References on the case write path checked without row locks (issue 11).
--
-- A foreign key checks each new row with SELECT ... FOR KEY SHARE on the row it refers to:
-- a row lock written to the parent's tuple and to the WAL, and a MultiXact when several
-- transactions hold the same parent at once. Every CreateClaim paid five of them (its
-- organisation, its user twice, its case twice), and every later event two more: the
-- user row of a field officer, and the organisation row, were locked by every request of
-- that user or organisation. Measured on this machine (16 clients, merged batches,
-- interleaved runs): CreateClaim ran 20 to 28% faster with no check at all, and 5 to 10%
-- faster with the statement checks below than with the foreign keys.
--
-- The lock protects a reference from a concurrent DELETE or key change of the row it
-- refers to. Organisations, users and cases are never deleted (users are disabled, cases
-- closed; tulay_app may delete nothing at all) and their keys never change, so here that
-- is now a rule of the parent tables, enforced by triggers, and the references are checked
-- once per statement, over all its new rows, by a plain read:
--
--   * organisations, users and cases refuse DELETE and TRUNCATE (for every role but a
--     superuser who disables triggers, as with foreign keys);
--   * their keys (org_id; user_id; org_id, case_id) and the references below never change
--     (an UPDATE that changes one raises);
--   * an INSERT into cases (org_id, created_by), case_events (org_id, case_id,
--     recorded_by), wage_theft_claims, deportations and recommendations (org_id, case_id)
--     raises foreign_key_violation, naming the constraint it replaces, when a row refers
--     to a row that does not exist. The check runs when the statement ends, as a foreign
--     key's does, with the owner's rights (as a foreign key's does: it sees past
--     row-level security). On cases the trigger's name sorts before cases_opened's, so
--     that a case's own missing reference is the one reported.
--
-- Other references (offices, memberships, referrals, stages, evidence, payments, ...) keep
-- their foreign keys: they are written rarely, or refer to rows that can change.
--
-- merged_lengths_ok() is written so that PostgreSQL inlines it: as a SQL function holding
-- a subquery, it was planned again on every merged call (about 200 us each).

CREATE OR REPLACE FUNCTION merged_lengths_ok(p_n integer, VARIADIC p_lengths integer[])
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(p_n >= 1 AND p_n = ALL (p_lengths), false)
$$;

-- --- Rows that are referred to stay --------------------------------------------------------

CREATE FUNCTION refuse_removal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted: other rows refer to them without a foreign key',
                    TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME,
              HINT = 'disable a user (tulay user disable) or close a case instead';
END;
$$;

-- TG_ARGV: the columns that never change.
CREATE FUNCTION refuse_key_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%.(%) never changes: other rows refer to it', TG_TABLE_NAME,
                    array_to_string(TG_ARGV, ', ')
        USING ERRCODE = 'restrict_violation', TABLE = TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER organisations_kept BEFORE DELETE OR TRUNCATE ON organisations
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_removal();
CREATE TRIGGER users_kept BEFORE DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_removal();
CREATE TRIGGER cases_kept BEFORE DELETE OR TRUNCATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_removal();

CREATE TRIGGER organisations_key BEFORE UPDATE OF org_id ON organisations
    FOR EACH ROW WHEN (old.org_id IS DISTINCT FROM new.org_id)
    EXECUTE FUNCTION refuse_key_change('org_id');
CREATE TRIGGER users_key BEFORE UPDATE OF user_id ON users
    FOR EACH ROW WHEN (old.user_id IS DISTINCT FROM new.user_id)
    EXECUTE FUNCTION refuse_key_change('user_id');
CREATE TRIGGER cases_key BEFORE UPDATE OF org_id, case_id, created_by ON cases
    FOR EACH ROW WHEN (old.org_id IS DISTINCT FROM new.org_id
                       OR old.case_id IS DISTINCT FROM new.case_id
                       OR old.created_by IS DISTINCT FROM new.created_by)
    EXECUTE FUNCTION refuse_key_change('org_id', 'case_id', 'created_by');
CREATE TRIGGER case_events_key BEFORE UPDATE OF org_id, case_id, recorded_by ON case_events
    FOR EACH ROW WHEN (old.org_id IS DISTINCT FROM new.org_id
                       OR old.case_id IS DISTINCT FROM new.case_id
                       OR old.recorded_by IS DISTINCT FROM new.recorded_by)
    EXECUTE FUNCTION refuse_key_change('org_id', 'case_id', 'recorded_by');
CREATE TRIGGER wage_theft_claims_key BEFORE UPDATE OF org_id, case_id ON wage_theft_claims
    FOR EACH ROW WHEN (old.org_id IS DISTINCT FROM new.org_id
                       OR old.case_id IS DISTINCT FROM new.case_id)
    EXECUTE FUNCTION refuse_key_change('org_id', 'case_id');
CREATE TRIGGER deportations_key BEFORE UPDATE OF org_id, case_id ON deportations
    FOR EACH ROW WHEN (old.org_id IS DISTINCT FROM new.org_id
                       OR old.case_id IS DISTINCT FROM new.case_id)
    EXECUTE FUNCTION refuse_key_change('org_id', 'case_id');
CREATE TRIGGER recommendations_key BEFORE UPDATE OF org_id, case_id ON recommendations
    FOR EACH ROW WHEN (old.org_id IS DISTINCT FROM new.org_id
                       OR old.case_id IS DISTINCT FROM new.case_id)
    EXECUTE FUNCTION refuse_key_change('org_id', 'case_id');

-- --- The references, checked per statement ---------------------------------------------

CREATE FUNCTION references_missing(p_table text, p_constraint text, p_detail text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint "%"',
                    p_table, p_constraint
        USING ERRCODE = 'foreign_key_violation', TABLE = p_table, CONSTRAINT = p_constraint,
              DETAIL = p_detail;
END;
$$;

-- Each reference is checked by its own statement, one anti-join probing the referred
-- table's primary key per new row. (Written as one statement with NOT EXISTS ... OR NOT
-- EXISTS, PostgreSQL hashed the whole referred table on every call instead: quadratic.)
CREATE FUNCTION cases_references_exist() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_missing bigint;
BEGIN
    SELECT n.org_id INTO v_missing
      FROM inserted n
     WHERE NOT EXISTS (SELECT 1 FROM organisations o WHERE o.org_id = n.org_id)
     LIMIT 1;
    IF FOUND THEN
        PERFORM references_missing('cases', 'cases_org_id_fkey',
            format('Key (org_id)=(%s) is not present in table "organisations".', v_missing));
    END IF;
    SELECT n.created_by INTO v_missing
      FROM inserted n
     WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = n.created_by)
     LIMIT 1;
    IF FOUND THEN
        PERFORM references_missing('cases', 'cases_created_by_fkey',
            format('Key (created_by)=(%s) is not present in table "users".', v_missing));
    END IF;
    RETURN NULL;
END;
$$;

-- The kind rows of a case (wage_theft_claims, deportations, recommendations): each row's
-- case.
CREATE FUNCTION case_rows_have_cases() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_org bigint;
    v_case bigint;
BEGIN
    SELECT n.org_id, n.case_id INTO v_org, v_case
      FROM inserted n
     WHERE NOT EXISTS (SELECT 1 FROM cases c
                        WHERE c.org_id = n.org_id AND c.case_id = n.case_id)
     LIMIT 1;
    IF FOUND THEN
        PERFORM references_missing(TG_TABLE_NAME, TG_TABLE_NAME || '_org_id_case_id_fkey',
            format('Key (org_id, case_id)=(%s, %s) is not present in table "cases".',
                   v_org, v_case));
    END IF;
    RETURN NULL;
END;
$$;

-- An event's case, then its recorder.
CREATE FUNCTION case_events_references_exist() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_org bigint;
    v_missing bigint;
BEGIN
    SELECT n.org_id, n.case_id INTO v_org, v_missing
      FROM inserted n
     WHERE NOT EXISTS (SELECT 1 FROM cases c
                        WHERE c.org_id = n.org_id AND c.case_id = n.case_id)
     LIMIT 1;
    IF FOUND THEN
        PERFORM references_missing('case_events', 'case_events_org_id_case_id_fkey',
            format('Key (org_id, case_id)=(%s, %s) is not present in table "cases".',
                   v_org, v_missing));
    END IF;
    SELECT n.recorded_by INTO v_missing
      FROM inserted n
     WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = n.recorded_by)
     LIMIT 1;
    IF FOUND THEN
        PERFORM references_missing('case_events', 'case_events_recorded_by_fkey',
            format('Key (recorded_by)=(%s) is not present in table "users".', v_missing));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER cases_check_references AFTER INSERT ON cases REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION cases_references_exist();
CREATE TRIGGER case_events_check_references AFTER INSERT ON case_events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION case_events_references_exist();
CREATE TRIGGER wage_theft_claims_check_references AFTER INSERT ON wage_theft_claims
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION case_rows_have_cases();
CREATE TRIGGER deportations_check_references AFTER INSERT ON deportations
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION case_rows_have_cases();
CREATE TRIGGER recommendations_check_references AFTER INSERT ON recommendations
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION case_rows_have_cases();
