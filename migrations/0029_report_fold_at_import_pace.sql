-- Folding report deltas at the pace of a bulk import (issue 15: a 100,000-claim import took
-- 2.7-2.9 times pgbench's time, PostgreSQL busy on both cores, and with the chores held
-- back the same import took 15.6 s instead of 27 s).
--
-- Measured on the bulk benchmark's kept cluster (auto_explain, then each statement of
-- report_fold() alone):
--
--  * report_delta_cells() selected a batch's deltas with `p_ids IS NULL OR id = ANY
--    (p_ids)`. The OR keeps the planner off the primary key: every fold read the whole
--    delta table and compared each row with the 5,000 ids. While an import writes faster
--    than that folds, the backlog grows and each fold gets slower: a fold took 0.5 s with
--    30,000 deltas waiting and 4.9-5.9 s with 200,000 (4 s of it in that scan); folding
--    took 22.7 s of a 25.7 s import. The two uses are now two branches: all deltas
--    (p_ids NULL: report_delta_rows, the tail a report adds to the folded rows), or those
--    given, read through the primary key. The branch not taken is a one-time filter.
--  * report_period() is IMMUTABLE but called date_trunc() on a timestamptz (a date's
--    implicit cast), which is only STABLE, so PostgreSQL would not inline it: every cell
--    of every fold ran it as a function call of its own. It truncates a timestamp now:
--    the same dates, inlined.
--  * Every fold looked for emptied cells and for cells that lost their largest amount by
--    joining the whole batch with report_cells (a scan of it, 40-550 ms). Only a cell
--    whose count the batch did not raise can be empty, and only one the batch took an
--    amount from can have lost its largest: in a batch of new cases, none. The joins now
--    start from those rows only.
--  * A network's whole cells were added up from every delta's rows, each joined with the
--    scopes counting its organisation (a subquery per row: 30,000 rows for 2,000 deltas).
--    They now add up the organisations' own cells of the batch, once those are added up
--    (a few thousand rows).
--  * (tulayd, the same commit) A CreateClaim with details that found no company in the
--    pool ran as an insert and then an update of the claim, whose deltas removed the claim
--    from its cells and added it again; folding that recomputed each cell's largest
--    amount from the organisation's claims (0.3 s a cell). It now runs as the merged
--    statement of one claim, as in company.
--
-- Nothing else changes: the same rows are folded into the same cells (checked on the
-- kept cluster: report_cells after a fold by 0028's function and by this one, with and
-- without a network's scopes, hashed the same).
--
-- Folding 2,000 new claims' deltas (16 rollups, with the benchmark's 1,000 employers):
-- 400 ms before, about 250 ms now. A 100,000-claim import: PostgreSQL's CPU 49-53 s
-- before, 32-37 s now; its time 29-31 s before, 19.5-22 s now.
--
-- Locks: as before (report_fold's advisory lock, then report_cells' rows it upserts).

-- 0023's, truncating a timestamp (IMMUTABLE, so the planner inlines it).
CREATE OR REPLACE FUNCTION report_period(p_grain text, p_day date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_grain = 'all' THEN date '1900-01-01'
                ELSE date_trunc(p_grain, p_day::timestamp)::date END
$$;

-- 0023's, with the deltas read by branch.
CREATE OR REPLACE FUNCTION report_delta_cells(p_ids bigint[])
RETURNS TABLE (org_id bigint, cube smallint, scoped boolean, period date, d1 text, d2 text,
               d3 text, d4 text, d5 text, d6 text, d7 text, currency text, cases bigint,
               workers bigint, claimed numeric, claimed_n bigint, claimed_max bigint,
               claimed_rm bigint, awarded numeric, awarded_n bigint, awarded_max bigint,
               awarded_rm bigint, recovered numeric, recovered_n bigint,
               recovered_max bigint, recovered_rm bigint)
LANGUAGE sql STABLE AS $$
    WITH g AS (
        SELECT x.org_id, x.kind, date_trunc('month', x.day)::date AS month, x.d,
               x.claimed_cur, x.awarded_cur, x.recovered_cur,
               sum(x.sign)::bigint AS cases, sum(x.sign * x.workers)::bigint AS workers,
               sum(x.sign * x.claimed)::numeric AS claimed,
               sum(x.sign) FILTER (WHERE x.claimed IS NOT NULL)::bigint AS claimed_n,
               max(x.claimed) FILTER (WHERE x.sign > 0) AS claimed_max,
               max(x.claimed) FILTER (WHERE x.sign < 0) AS claimed_rm,
               sum(x.sign * x.awarded)::numeric AS awarded,
               sum(x.sign) FILTER (WHERE x.awarded IS NOT NULL)::bigint AS awarded_n,
               max(x.awarded) FILTER (WHERE x.sign > 0) AS awarded_max,
               max(x.awarded) FILTER (WHERE x.sign < 0) AS awarded_rm,
               sum(x.sign * x.recovered)::numeric AS recovered,
               sum(x.sign) FILTER (WHERE x.recovered IS NOT NULL)::bigint AS recovered_n,
               max(x.recovered) FILTER (WHERE x.sign > 0) AS recovered_max,
               max(x.recovered) FILTER (WHERE x.sign < 0) AS recovered_rm
          FROM (SELECT * FROM report_deltas WHERE p_ids IS NULL
                UNION ALL
                SELECT * FROM report_deltas WHERE id = ANY (p_ids)) x
         GROUP BY x.org_id, x.kind, date_trunc('month', x.day), x.d, x.claimed_cur,
                  x.awarded_cur, x.recovered_cur)
    SELECT g.org_id, c.cube, c.scoped, report_period(c.grain, g.month),
           CASE WHEN 1 = ANY (c.dims) THEN g.d[1] ELSE '' END,
           CASE WHEN 2 = ANY (c.dims) THEN g.d[2] ELSE '' END,
           CASE WHEN 3 = ANY (c.dims) THEN g.d[3] ELSE '' END,
           CASE WHEN 4 = ANY (c.dims) THEN g.d[4] ELSE '' END,
           CASE WHEN 5 = ANY (c.dims) THEN g.d[5] ELSE '' END,
           CASE WHEN 6 = ANY (c.dims) THEN g.d[6] ELSE '' END,
           CASE WHEN 7 = ANY (c.dims) THEN g.d[7] ELSE '' END,
           m.cur,
           CASE WHEN m.cur = '' THEN g.cases ELSE 0 END,
           CASE WHEN m.cur = '' THEN g.workers ELSE 0 END,
           CASE WHEN g.claimed_cur = m.cur THEN coalesce(g.claimed, 0) ELSE 0 END,
           CASE WHEN g.claimed_cur = m.cur THEN coalesce(g.claimed_n, 0) ELSE 0 END,
           CASE WHEN g.claimed_cur = m.cur THEN coalesce(g.claimed_max, 0) ELSE 0 END,
           CASE WHEN g.claimed_cur = m.cur THEN g.claimed_rm END,
           CASE WHEN g.awarded_cur = m.cur THEN coalesce(g.awarded, 0) ELSE 0 END,
           CASE WHEN g.awarded_cur = m.cur THEN coalesce(g.awarded_n, 0) ELSE 0 END,
           CASE WHEN g.awarded_cur = m.cur THEN coalesce(g.awarded_max, 0) ELSE 0 END,
           CASE WHEN g.awarded_cur = m.cur THEN g.awarded_rm END,
           CASE WHEN g.recovered_cur = m.cur THEN coalesce(g.recovered, 0) ELSE 0 END,
           CASE WHEN g.recovered_cur = m.cur THEN coalesce(g.recovered_n, 0) ELSE 0 END,
           CASE WHEN g.recovered_cur = m.cur THEN coalesce(g.recovered_max, 0) ELSE 0 END,
           CASE WHEN g.recovered_cur = m.cur THEN g.recovered_rm END
      FROM g
      JOIN report_cubes c ON c.kind = g.kind
     CROSS JOIN LATERAL (SELECT '' AS cur
                         UNION
                         SELECT y FROM unnest(ARRAY[g.claimed_cur, g.awarded_cur,
                                                    g.recovered_cur]) y
                          WHERE y IS NOT NULL) m
$$;

-- 0013's, with the emptied cells and the lost largest amounts looked for where they can be.
CREATE OR REPLACE FUNCTION report_fold(p_max integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_ids bigint[];
    v_rows report_fold_row[];
    f record;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7420, -2) THEN
        RETURN -1;
    END IF;
    SELECT array_agg(id ORDER BY id) INTO v_ids
      FROM (SELECT id FROM report_deltas ORDER BY id LIMIT p_max) x;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    -- Each organisation's own cells first; a network's whole cells then add up its
    -- members' own cells (a few thousand rows), not every delta's rows once more.
    WITH own AS (
        SELECT r.org_id, r.cube, r.scoped, r.period, r.d1, r.d2, r.d3, r.d4, r.d5, r.d6,
               r.d7, r.currency, sum(r.cases)::bigint AS cases,
               sum(r.workers)::bigint AS workers, sum(r.claimed) AS claimed,
               sum(r.claimed_n)::bigint AS claimed_n, max(r.claimed_max) AS claimed_max,
               max(r.claimed_rm) AS claimed_rm, sum(r.awarded) AS awarded,
               sum(r.awarded_n)::bigint AS awarded_n, max(r.awarded_max) AS awarded_max,
               max(r.awarded_rm) AS awarded_rm, sum(r.recovered) AS recovered,
               sum(r.recovered_n)::bigint AS recovered_n,
               max(r.recovered_max) AS recovered_max, max(r.recovered_rm) AS recovered_rm
          FROM report_delta_cells(v_ids) r
         GROUP BY r.org_id, r.cube, r.scoped, r.period, r.d1, r.d2, r.d3, r.d4, r.d5, r.d6,
                  r.d7, r.currency)
    SELECT array_agg(g ORDER BY g.org_id, g.whole, g.cube, g.period, g.d1, g.d2, g.d3, g.d4,
                     g.d5, g.d6, g.d7, g.currency)
      INTO v_rows
      FROM (SELECT o.org_id, false, o.cube, o.period, o.d1, o.d2, o.d3, o.d4, o.d5, o.d6,
                   o.d7, o.currency, o.cases, o.workers, o.claimed, o.claimed_n,
                   o.claimed_max, o.claimed_rm, o.awarded, o.awarded_n, o.awarded_max,
                   o.awarded_rm, o.recovered, o.recovered_n, o.recovered_max, o.recovered_rm
              FROM own o
            UNION ALL
            SELECT s.scope_id, true, o.cube, o.period, o.d1, o.d2, o.d3, o.d4, o.d5, o.d6,
                   o.d7, o.currency, sum(o.cases)::bigint, sum(o.workers)::bigint,
                   sum(o.claimed), sum(o.claimed_n)::bigint, max(o.claimed_max),
                   max(o.claimed_rm), sum(o.awarded), sum(o.awarded_n)::bigint,
                   max(o.awarded_max), max(o.awarded_rm), sum(o.recovered),
                   sum(o.recovered_n)::bigint, max(o.recovered_max), max(o.recovered_rm)
              FROM own o
              JOIN report_scopes s ON s.cube = o.cube AND o.org_id = ANY (s.members)
             WHERE o.scoped
             GROUP BY s.scope_id, o.cube, o.period, o.d1, o.d2, o.d3, o.d4, o.d5, o.d6,
                      o.d7, o.currency) g (org_id, whole, cube, period, d1, d2, d3, d4, d5,
                      d6, d7, currency, cases, workers, claimed, claimed_n, claimed_max,
                      claimed_rm, awarded, awarded_n, awarded_max, awarded_rm, recovered,
                      recovered_n, recovered_max, recovered_rm);

    INSERT INTO report_cells AS x (org_id, whole, cube, period, d1, d2, d3, d4, d5, d6, d7,
                                   currency, cases, workers, claimed, claimed_n, claimed_max,
                                   awarded, awarded_n, awarded_max, recovered, recovered_n,
                                   recovered_max)
    SELECT g.org_id, g.whole, g.cube, g.period, g.d1, g.d2, g.d3, g.d4, g.d5, g.d6, g.d7,
           g.currency, g.cases, g.workers, g.claimed, g.claimed_n, coalesce(g.claimed_max, 0),
           g.awarded, g.awarded_n, coalesce(g.awarded_max, 0), g.recovered, g.recovered_n,
           coalesce(g.recovered_max, 0)
      FROM unnest(v_rows) g
    ON CONFLICT (org_id, whole, cube, period, d1, d2, d3, d4, d5, d6, d7, currency)
    DO UPDATE SET cases = x.cases + EXCLUDED.cases, workers = x.workers + EXCLUDED.workers,
                  claimed = x.claimed + EXCLUDED.claimed,
                  claimed_n = x.claimed_n + EXCLUDED.claimed_n,
                  claimed_max = greatest(x.claimed_max, EXCLUDED.claimed_max),
                  awarded = x.awarded + EXCLUDED.awarded,
                  awarded_n = x.awarded_n + EXCLUDED.awarded_n,
                  awarded_max = greatest(x.awarded_max, EXCLUDED.awarded_max),
                  recovered = x.recovered + EXCLUDED.recovered,
                  recovered_n = x.recovered_n + EXCLUDED.recovered_n,
                  recovered_max = greatest(x.recovered_max, EXCLUDED.recovered_max);

    -- Only a cell whose count this batch did not raise can be left empty: none, in a
    -- batch of new cases.
    DELETE FROM report_cells x
     USING (SELECT * FROM unnest(v_rows) g
             WHERE CASE WHEN g.currency = '' THEN g.cases <= 0
                        ELSE g.claimed_n + g.awarded_n + g.recovered_n <= 0 END) g
     WHERE (x.org_id, x.whole, x.cube, x.period, x.d1, x.d2, x.d3, x.d4, x.d5, x.d6, x.d7,
            x.currency)
         = (g.org_id, g.whole, g.cube, g.period, g.d1, g.d2, g.d3, g.d4, g.d5, g.d6, g.d7,
            g.currency)
       AND CASE WHEN x.currency = '' THEN x.cases <= 0
                ELSE x.claimed_n + x.awarded_n + x.recovered_n <= 0 END;

    -- Own rows before whole rows: a whole row's largest amount comes from its members'.
    -- Only a cell this batch took an amount from can have lost its largest: none, in a
    -- batch of new cases.
    FOR f IN SELECT g.*, s.members
               FROM (SELECT * FROM unnest(v_rows) g
                      WHERE g.claimed_rm IS NOT NULL OR g.awarded_rm IS NOT NULL
                         OR g.recovered_rm IS NOT NULL) g
               JOIN report_cells x
                 ON (x.org_id, x.whole, x.cube, x.period, x.d1, x.d2, x.d3, x.d4, x.d5, x.d6,
                     x.d7, x.currency)
                  = (g.org_id, g.whole, g.cube, g.period, g.d1, g.d2, g.d3, g.d4, g.d5, g.d6,
                     g.d7, g.currency)
               LEFT JOIN report_scopes s ON g.whole AND s.scope_id = g.org_id
                                        AND s.cube = g.cube
              WHERE g.currency <> ''
                AND (g.claimed_rm >= x.claimed_max OR g.awarded_rm >= x.awarded_max
                     OR g.recovered_rm >= x.recovered_max)
              ORDER BY g.whole, g.org_id, g.cube LOOP
        IF f.whole THEN
            PERFORM report_scope_fix_max(f.org_id, f.cube, f.period,
                                         ARRAY[f.d1, f.d2, f.d3, f.d4, f.d5, f.d6, f.d7],
                                         f.currency, f.members);
        ELSE
            PERFORM report_claims_fix_max(f.org_id, f.cube, f.period,
                                          ARRAY[f.d1, f.d2, f.d3, f.d4, f.d5, f.d6, f.d7],
                                          f.currency);
        END IF;
    END LOOP;
    -- Deltas never change and only this lock's holder deletes them: the ones read above
    -- are exactly the ones removed here, in the same transaction.
    DELETE FROM report_deltas WHERE id = ANY (v_ids);
    RETURN cardinality(v_ids);
END;
$$;
