-- Reports on a network from rollups kept for the network as a whole.
--
-- 0011 keeps rollups per organisation, so a report on a network of 200 organisations
-- adds up 200 organisations' rows: at a million claims that took 0.3-0.6 s per report
-- (bench/report_bench.sh). Here report_cells also holds, for each organisation with
-- members that share aggregates, "whole" rows: the sum of the rows of every organisation
-- in its scope. A report on the network reads those, a few thousand rows at most.
--
-- report_scopes records, per organisation and cube, the members its whole rows count
-- (sorted org ids). The triggers add a case's contribution to the whole rows of every
-- scope whose members include the case's organisation. When memberships change (or end
-- by date), a scope's live members differ from the recorded ones: reports then fall back
-- to the per-organisation rows (correct, slower) until report_refresh_next() rebuilds the
-- scope from the per-organisation rows. tulayd calls it after membership changes and on
-- a timer (--report-refresh-ms).
--
-- Locking: the triggers take a shared advisory lock per cube (class 7420, tulay's port;
-- the cube's number) before reading
-- report_scopes; a refresh takes it exclusively. A refresh therefore waits for writers in
-- flight to commit and sees their per-organisation rows, and writers that come after it
-- see the new members: no contribution is lost or counted twice.

-- The all-dimensions cube of claims is about one row per claim: its whole rows would cost
-- as much to keep as they save. Reports that need it read the organisations' rows.
ALTER TABLE report_cubes ADD COLUMN scoped boolean NOT NULL DEFAULT true;
UPDATE report_cubes SET scoped = false WHERE cube = 10;
-- Corridor and sector by quarter and by year: "construction on KH>TH by quarter" would
-- otherwise need the all-dimensions cube, and corridor x sector x year the one with
-- status too (six times the rows). Claims by year: reports by organisation read the
-- organisations' own rows, and by month that is 12 times as many as they need.
UPDATE report_cubes SET rank = rank + 2 WHERE kind = 'wage_theft' AND rank >= 7;
INSERT INTO report_cubes (cube, kind, name, grain, dims, rank)
VALUES (11, 'wage_theft', 'claims_by_corridor_sector_year', 'year', '{1,2,3}', 7),
       (12, 'wage_theft', 'claims_by_corridor_sector_quarter', 'quarter', '{1,2,3}', 8),
       (13, 'wage_theft', 'claims_by_year', 'year', '{}', 0);

ALTER TABLE report_cells ADD COLUMN whole boolean NOT NULL DEFAULT false;
ALTER TABLE report_cells DROP CONSTRAINT report_cells_pkey;
ALTER TABLE report_cells
    ADD PRIMARY KEY (org_id, whole, cube, period, d1, d2, d3, d4, d5, d6, d7, currency);

CREATE TABLE report_scopes (
    scope_id     bigint NOT NULL REFERENCES organisations (org_id),
    cube         smallint NOT NULL REFERENCES report_cubes (cube),
    members      bigint[] NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope_id, cube)
);
ALTER TABLE report_scopes ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_scopes FORCE ROW LEVEL SECURITY;
CREATE POLICY report_scopes_read ON report_scopes FOR SELECT USING (tulay_org() IS NOT NULL);

-- Whole rows count other organisations' cases: only admins and the coordinators whose
-- scope includes the organisation read them; everyone reads their own organisation's own
-- rows. The caller's role and organisation are read once per query (sub-selects), not
-- once per row: a report on a network reads tens of thousands of rows.
DROP POLICY report_cells_read ON report_cells;
CREATE POLICY report_cells_read ON report_cells FOR SELECT
    USING ((SELECT tulay_role()) = 'admin' OR (org_id = (SELECT tulay_org()) AND NOT whole)
           OR ((SELECT tulay_role()) = 'coordinator'
               AND org_id IN (SELECT s.org_id FROM report_scope((SELECT tulay_org())) s)));

-- The members of p_org's scope as report_scopes records them: sorted org ids.
CREATE FUNCTION report_members(p_org bigint) RETURNS bigint[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT array_agg(s.org_id ORDER BY s.org_id) FROM report_scope(p_org) s
$$;

-- Recomputes the largest amounts of one whole row from its members' rows.
CREATE FUNCTION report_scope_fix_max(p_scope bigint, p_cube smallint, p_period date,
                                     p_k text[], p_cur text, p_members bigint[])
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE report_cells t
       SET claimed_max = coalesce(m.claimed_max, 0), awarded_max = coalesce(m.awarded_max, 0),
           recovered_max = coalesce(m.recovered_max, 0)
      FROM (SELECT max(x.claimed_max) AS claimed_max, max(x.awarded_max) AS awarded_max,
                   max(x.recovered_max) AS recovered_max
              FROM report_cells x
             WHERE x.org_id = ANY (p_members) AND NOT x.whole AND x.cube = p_cube
               AND (x.period, x.d1, x.d2, x.d3, x.d4, x.d5, x.d6, x.d7, x.currency)
                 = (p_period, p_k[1], p_k[2], p_k[3], p_k[4], p_k[5], p_k[6], p_k[7], p_cur)) m
     WHERE (t.org_id, t.whole, t.cube, t.period, t.d1, t.d2, t.d3, t.d4, t.d5, t.d6, t.d7,
            t.currency)
         = (p_scope, true, p_cube, p_period, p_k[1], p_k[2], p_k[3], p_k[4], p_k[5], p_k[6],
            p_k[7], p_cur)
$$;

-- As in 0011, and the same contribution to the whole rows of every scope that counts the
-- organisation.
CREATE OR REPLACE FUNCTION report_apply(
    p_org bigint, p_kind text, p_day date, p_d text[], p_sign integer, p_workers bigint,
    p_claimed_cur text, p_claimed bigint, p_awarded_cur text, p_awarded bigint,
    p_recovered_cur text, p_recovered bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c record;
    t record;
    k text[];
    v_period date;
    v_cur text;
    v_cl bigint;
    v_aw bigint;
    v_rc bigint;
    r report_cells;
BEGIN
    FOR c IN SELECT * FROM report_cubes WHERE kind = p_kind ORDER BY cube LOOP
        v_period := date_trunc(c.grain, p_day)::date;
        k := ARRAY(SELECT CASE WHEN i = ANY (c.dims) THEN coalesce(p_d[i], '') ELSE '' END
                     FROM generate_series(1, 7) i ORDER BY i);
        IF c.scoped THEN
            PERFORM pg_advisory_xact_lock_shared(7420, c.cube);
        END IF;
        -- The organisation's own rows first: a whole row's largest amount is found again
        -- from them.
        FOR t IN SELECT p_org AS org_id, false AS whole, NULL::bigint[] AS members
                 UNION ALL
                 SELECT s.scope_id, true, s.members FROM report_scopes s
                  WHERE c.scoped AND s.cube = c.cube AND p_org = ANY (s.members)
                 ORDER BY whole, org_id LOOP
            IF p_sign > 0 THEN
                INSERT INTO report_cells AS x (org_id, whole, cube, period, d1, d2, d3, d4, d5,
                                               d6, d7, currency, cases, workers)
                VALUES (t.org_id, t.whole, c.cube, v_period, k[1], k[2], k[3], k[4], k[5],
                        k[6], k[7], '', 1, p_workers)
                ON CONFLICT (org_id, whole, cube, period, d1, d2, d3, d4, d5, d6, d7, currency)
                DO UPDATE SET cases = x.cases + 1, workers = x.workers + EXCLUDED.workers;
            ELSE
                UPDATE report_cells x SET cases = x.cases - 1, workers = x.workers - p_workers
                 WHERE (x.org_id, x.whole, x.cube, x.period, x.d1, x.d2, x.d3, x.d4, x.d5,
                        x.d6, x.d7, x.currency)
                     = (t.org_id, t.whole, c.cube, v_period, k[1], k[2], k[3], k[4], k[5],
                        k[6], k[7], '')
                RETURNING x.* INTO r;
                IF r.cases IS NOT NULL AND r.cases <= 0 THEN
                    DELETE FROM report_cells x
                     WHERE (x.org_id, x.whole, x.cube, x.period, x.d1, x.d2, x.d3, x.d4, x.d5,
                            x.d6, x.d7, x.currency)
                         = (t.org_id, t.whole, c.cube, v_period, k[1], k[2], k[3], k[4],
                            k[5], k[6], k[7], '');
                END IF;
            END IF;
            r := NULL;
            FOR v_cur IN SELECT DISTINCT y FROM unnest(ARRAY[p_claimed_cur, p_awarded_cur,
                                                              p_recovered_cur]) y
                          WHERE y IS NOT NULL LOOP
                v_cl := CASE WHEN p_claimed_cur = v_cur THEN p_claimed END;
                v_aw := CASE WHEN p_awarded_cur = v_cur THEN p_awarded END;
                v_rc := CASE WHEN p_recovered_cur = v_cur THEN p_recovered END;
                IF p_sign > 0 THEN
                    INSERT INTO report_cells AS x (org_id, whole, cube, period, d1, d2, d3, d4,
                        d5, d6, d7, currency, claimed, claimed_n, claimed_max, awarded,
                        awarded_n, awarded_max, recovered, recovered_n, recovered_max)
                    VALUES (t.org_id, t.whole, c.cube, v_period, k[1], k[2], k[3], k[4], k[5],
                            k[6], k[7], v_cur, coalesce(v_cl, 0), (v_cl IS NOT NULL)::int,
                            coalesce(v_cl, 0), coalesce(v_aw, 0), (v_aw IS NOT NULL)::int,
                            coalesce(v_aw, 0), coalesce(v_rc, 0), (v_rc IS NOT NULL)::int,
                            coalesce(v_rc, 0))
                    ON CONFLICT (org_id, whole, cube, period, d1, d2, d3, d4, d5, d6, d7,
                                 currency)
                    DO UPDATE SET claimed = x.claimed + EXCLUDED.claimed,
                                  claimed_n = x.claimed_n + EXCLUDED.claimed_n,
                                  claimed_max = greatest(x.claimed_max, EXCLUDED.claimed_max),
                                  awarded = x.awarded + EXCLUDED.awarded,
                                  awarded_n = x.awarded_n + EXCLUDED.awarded_n,
                                  awarded_max = greatest(x.awarded_max, EXCLUDED.awarded_max),
                                  recovered = x.recovered + EXCLUDED.recovered,
                                  recovered_n = x.recovered_n + EXCLUDED.recovered_n,
                                  recovered_max = greatest(x.recovered_max,
                                                           EXCLUDED.recovered_max);
                ELSE
                    UPDATE report_cells x
                       SET claimed = x.claimed - coalesce(v_cl, 0),
                           claimed_n = x.claimed_n - (v_cl IS NOT NULL)::int,
                           awarded = x.awarded - coalesce(v_aw, 0),
                           awarded_n = x.awarded_n - (v_aw IS NOT NULL)::int,
                           recovered = x.recovered - coalesce(v_rc, 0),
                           recovered_n = x.recovered_n - (v_rc IS NOT NULL)::int
                     WHERE (x.org_id, x.whole, x.cube, x.period, x.d1, x.d2, x.d3, x.d4, x.d5,
                            x.d6, x.d7, x.currency)
                         = (t.org_id, t.whole, c.cube, v_period, k[1], k[2], k[3], k[4], k[5],
                            k[6], k[7], v_cur)
                    RETURNING x.* INTO r;
                    IF r.org_id IS NULL THEN
                        CONTINUE;
                    END IF;
                    IF r.claimed_n + r.awarded_n + r.recovered_n <= 0 THEN
                        DELETE FROM report_cells x
                         WHERE (x.org_id, x.whole, x.cube, x.period, x.d1, x.d2, x.d3, x.d4,
                                x.d5, x.d6, x.d7, x.currency)
                             = (t.org_id, t.whole, c.cube, v_period, k[1], k[2], k[3], k[4],
                                k[5], k[6], k[7], v_cur);
                    -- The largest amount may have left: find it again, from the claims
                    -- for an organisation's row, from the members' rows for a whole row.
                    ELSIF v_cl >= r.claimed_max OR v_aw >= r.awarded_max
                          OR v_rc >= r.recovered_max THEN
                        IF t.whole THEN
                            PERFORM report_scope_fix_max(t.org_id, c.cube, v_period, k, v_cur,
                                                         t.members);
                        ELSE
                            PERFORM report_claims_fix_max(p_org, c.cube, v_period, k, v_cur);
                        END IF;
                    END IF;
                END IF;
            END LOOP;
            r := NULL;
        END LOOP;
    END LOOP;
END;
$$;

-- 0011's, on the organisation's own row now that whole rows share the table.
CREATE OR REPLACE FUNCTION report_claims_fix_max(p_org bigint, p_cube smallint, p_period date,
                                                 p_k text[], p_cur text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c report_cubes;
BEGIN
    SELECT * INTO c FROM report_cubes WHERE cube = p_cube;
    UPDATE report_cells t
       SET claimed_max = coalesce(m.claimed_max, 0), awarded_max = coalesce(m.awarded_max, 0),
           recovered_max = coalesce(m.recovered_max, 0)
      FROM (SELECT max(f.claimed) FILTER (WHERE f.claimed_cur = p_cur) AS claimed_max,
                   max(f.awarded) FILTER (WHERE f.awarded_cur = p_cur) AS awarded_max,
                   max(f.recovered) FILTER (WHERE f.recovered_cur = p_cur) AS recovered_max
              FROM report_claim_facts f
             WHERE f.org_id = p_org
               AND f.day >= p_period
               AND f.day < p_period + CASE c.grain WHEN 'month' THEN interval '1 month'
                                            WHEN 'quarter' THEN interval '3 months'
                                            ELSE interval '1 year' END
               AND NOT EXISTS (SELECT 1 FROM generate_series(1, 7) i
                                WHERE i = ANY (c.dims) AND f.d[i] <> p_k[i])) m
     WHERE (t.org_id, t.whole, t.cube, t.period, t.d1, t.d2, t.d3, t.d4, t.d5, t.d6, t.d7,
            t.currency)
         = (p_org, false, p_cube, p_period, p_k[1], p_k[2], p_k[3], p_k[4], p_k[5], p_k[6],
            p_k[7], p_cur);
END;
$$;

-- Rebuilds the whole rows of one scope and cube from its members' own rows, under the
-- cube's lock; with one member or none, removes them. Returns the rows written.
CREATE FUNCTION report_refresh_scope(p_scope bigint, p_cube smallint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_members bigint[];
    v_rows bigint := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7420, p_cube);
    -- After the lock, so that every writer that counted under the old members has
    -- committed and its rows are seen below.
    v_members := report_members(p_scope);
    DELETE FROM report_cells WHERE org_id = p_scope AND whole AND cube = p_cube;
    IF cardinality(v_members) > 1
       AND (SELECT scoped FROM report_cubes WHERE cube = p_cube) THEN
        INSERT INTO report_cells (org_id, whole, cube, period, d1, d2, d3, d4, d5, d6, d7,
                                  currency, cases, workers, claimed, claimed_n, claimed_max,
                                  awarded, awarded_n, awarded_max, recovered, recovered_n,
                                  recovered_max)
        SELECT p_scope, true, p_cube, period, d1, d2, d3, d4, d5, d6, d7, currency,
               sum(cases), sum(workers), sum(claimed), sum(claimed_n), max(claimed_max),
               sum(awarded), sum(awarded_n), max(awarded_max), sum(recovered),
               sum(recovered_n), max(recovered_max)
          FROM report_cells
         WHERE org_id = ANY (v_members) AND NOT whole AND cube = p_cube
         GROUP BY period, d1, d2, d3, d4, d5, d6, d7, currency;
        GET DIAGNOSTICS v_rows = ROW_COUNT;
        INSERT INTO report_scopes AS s (scope_id, cube, members) VALUES (p_scope, p_cube, v_members)
        ON CONFLICT (scope_id, cube) DO UPDATE SET members = EXCLUDED.members, refreshed_at = now();
    ELSE
        DELETE FROM report_scopes WHERE scope_id = p_scope AND cube = p_cube;
    END IF;
    RETURN v_rows;
END;
$$;

-- Refreshes one scope and cube whose recorded members differ from the live ones (or
-- that should have whole rows and has none, or should no longer have them), and says
-- which: 'ACRONYM cube_name rows'. NULL when every scope is up to date. tulayd calls it
-- until NULL; each call is one short transaction.
CREATE FUNCTION report_refresh_next() RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_scope bigint;
    v_cube smallint;
    v_rows bigint;
BEGIN
    WITH networks AS (
        -- Every organisation with a member that counts, and every one with whole rows.
        SELECT DISTINCT m.network_org AS org_id FROM memberships m
         WHERE m.shares_aggregates AND (m.until IS NULL OR m.until > current_date)
        UNION
        SELECT s.scope_id FROM report_scopes s
    ), live AS (
        SELECT n.org_id, report_members(n.org_id) AS members FROM networks n
    )
    SELECT l.org_id, c.cube INTO v_scope, v_cube
      FROM live l CROSS JOIN report_cubes c
      LEFT JOIN report_scopes s ON s.scope_id = l.org_id AND s.cube = c.cube
     WHERE CASE WHEN c.scoped AND cardinality(l.members) > 1
                THEN s.members IS DISTINCT FROM l.members
                ELSE s.scope_id IS NOT NULL END
     ORDER BY l.org_id, c.cube
     LIMIT 1;
    IF v_scope IS NULL THEN
        RETURN NULL;
    END IF;
    v_rows := report_refresh_scope(v_scope, v_cube);
    RETURN (SELECT o.acronym FROM organisations o WHERE o.org_id = v_scope) || ' '
        || (SELECT c.name FROM report_cubes c WHERE c.cube = v_cube) || ' ' || v_rows;
END;
$$;

-- 0011's rebuild recomputes the organisations' own rows (and empties the table, whole rows
-- included); report_rebuild() now adds every scope's whole rows. Owner only.
ALTER FUNCTION report_rebuild() RENAME TO report_rebuild_own;
CREATE FUNCTION report_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_rows bigint;
BEGIN
    v_rows := report_rebuild_own();
    DELETE FROM report_scopes;
    WHILE report_refresh_next() IS NOT NULL LOOP
    END LOOP;
    RETURN v_rows;
END;
$$;
REVOKE ALL ON FUNCTION report_rebuild(), report_rebuild_own() FROM PUBLIC;

GRANT SELECT ON report_scopes TO tulay_app;
GRANT EXECUTE ON FUNCTION report_members(bigint), report_refresh_next() TO tulay_app;
REVOKE ALL ON FUNCTION report_scope_fix_max(bigint, smallint, date, text[], text, bigint[]),
    report_refresh_scope(bigint, smallint) FROM PUBLIC;

-- The new cube's rows and every network's whole rows.
SELECT report_rebuild();
