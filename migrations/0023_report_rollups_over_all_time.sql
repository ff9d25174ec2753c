-- Rollups over all time (issue 11: report p95 at most 50 ms while writers run).
--
-- Once tulayd added up a report's rows itself (0022), what a report costs is mostly how
-- many rows of its rollup it reads. A report with no period and no range read a rollup by
-- year or quarter and added up ten to forty periods of every cell: on the benchmark's
-- million claims "employer, in Malaysia" read 9,936 rows for 500 cells, and "by
-- organisation" 9,615 rows of the organisations' claims by year for 181 cells; they were
-- the slowest of the mix. Three rollups keep no period at all (grain 'all', one period
-- that begins on report_period()'s 1900-01-01) for the groupings that have many cells and
-- no period: the claims of each organisation (the report by organisation reads about three
-- rows per organisation), by destination and employer, and by corridor and agency. They
-- rank before every other rollup, so that a report with no period and no range that they
-- can serve reads them; a report with a period or a range never can.
--
-- Folding a delta now writes these three rollups too (16 claims rollups instead of 13):
-- off the request path, in batches.

ALTER TABLE report_cubes DROP CONSTRAINT report_cubes_grain_check;
ALTER TABLE report_cubes ADD CONSTRAINT report_cubes_grain_check
    CHECK (grain IN ('month', 'quarter', 'year', 'all'));

-- The first day of the `p_grain` period that holds `p_day`: date_trunc's, and for 'all'
-- always 1900-01-01 (before any claim's day: work periods start in 1950 at the earliest).
CREATE FUNCTION report_period(p_grain text, p_day date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_grain = 'all' THEN date '1900-01-01'
                ELSE date_trunc(p_grain, p_day)::date END
$$;

INSERT INTO report_cubes (cube, kind, name, grain, dims, rank)
VALUES (14, 'wage_theft', 'claims_all_time', 'all', '{}', -3),
       (15, 'wage_theft', 'claims_by_employer_all_time', 'all', '{2,4}', -2),
       (16, 'wage_theft', 'claims_by_agency_all_time', 'all', '{1,2,5}', -1);

-- 0013's, with report_period() for the grain.
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
          FROM report_deltas x
         WHERE p_ids IS NULL OR x.id = ANY (p_ids)
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

-- 0011's (renamed in 0012), with report_period() for the grain.
CREATE OR REPLACE FUNCTION report_rebuild_own() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    c report_cubes;
    v_facts text;
    v_rows bigint := 0;
    v_n bigint;
    v_keys text;
BEGIN
    LOCK TABLE report_cells IN EXCLUSIVE MODE;
    DELETE FROM report_cells;
    FOR c IN SELECT * FROM report_cubes ORDER BY cube LOOP
        v_facts := CASE c.kind WHEN 'wage_theft' THEN 'report_claim_facts'
                               WHEN 'deportation' THEN 'report_deportation_facts'
                               ELSE 'report_recommendation_facts' END;
        SELECT string_agg(CASE WHEN i = ANY (c.dims) THEN format('f.d[%s]', i) ELSE '''''' END
                          || format(' AS d%s', i), ', ' ORDER BY i)
          INTO v_keys FROM generate_series(1, 7) i;
        EXECUTE format(
            'INSERT INTO report_cells (org_id, cube, period, d1, d2, d3, d4, d5, d6, d7, '
            '                          currency, cases, workers) '
            'SELECT org_id, %s, period, d1, d2, d3, d4, d5, d6, d7, '''', count(*), sum(workers) '
            '  FROM (SELECT f.org_id, report_period(%L, f.day) AS period, %s, f.workers '
            '          FROM %I f) x '
            ' GROUP BY org_id, period, d1, d2, d3, d4, d5, d6, d7',
            c.cube, c.grain, v_keys, v_facts);
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_rows := v_rows + v_n;
        IF c.kind = 'wage_theft' THEN
            EXECUTE format(
                'INSERT INTO report_cells (org_id, cube, period, d1, d2, d3, d4, d5, d6, d7, '
                '    currency, claimed, claimed_n, claimed_max, awarded, awarded_n, '
                '    awarded_max, recovered, recovered_n, recovered_max) '
                'SELECT org_id, %s, period, d1, d2, d3, d4, d5, d6, d7, cur, '
                '       coalesce(sum(a) FILTER (WHERE m = 1), 0), count(*) FILTER (WHERE m = 1), '
                '       coalesce(max(a) FILTER (WHERE m = 1), 0), '
                '       coalesce(sum(a) FILTER (WHERE m = 2), 0), count(*) FILTER (WHERE m = 2), '
                '       coalesce(max(a) FILTER (WHERE m = 2), 0), '
                '       coalesce(sum(a) FILTER (WHERE m = 3), 0), count(*) FILTER (WHERE m = 3), '
                '       coalesce(max(a) FILTER (WHERE m = 3), 0) '
                '  FROM (SELECT f.org_id, report_period(%L, f.day) AS period, %s, v.m, '
                '               v.cur, v.a '
                '          FROM report_claim_facts f, LATERAL (VALUES '
                '               (1, f.claimed_cur, f.claimed), (2, f.awarded_cur, f.awarded), '
                '               (3, f.recovered_cur, f.recovered)) v (m, cur, a) '
                '         WHERE v.cur IS NOT NULL) x '
                ' GROUP BY org_id, period, d1, d2, d3, d4, d5, d6, d7, cur',
                c.cube, c.grain, v_keys);
            GET DIAGNOSTICS v_n = ROW_COUNT;
            v_rows := v_rows + v_n;
        END IF;
    END LOOP;
    RETURN v_rows;
END;
$$;

-- 0012's, over every day for the rollups over all time.
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
               AND (c.grain = 'all'
                    OR (f.day >= p_period
                        AND f.day < p_period + CASE c.grain WHEN 'month' THEN interval '1 month'
                                                   WHEN 'quarter' THEN interval '3 months'
                                                   ELSE interval '1 year' END))
               AND NOT EXISTS (SELECT 1 FROM generate_series(1, 7) i
                                WHERE i = ANY (c.dims) AND f.d[i] <> p_k[i])) m
     WHERE (t.org_id, t.whole, t.cube, t.period, t.d1, t.d2, t.d3, t.d4, t.d5, t.d6, t.d7,
            t.currency)
         = (p_org, false, p_cube, p_period, p_k[1], p_k[2], p_k[3], p_k[4], p_k[5], p_k[6],
            p_k[7], p_cur);
END;
$$;

-- The organisations' own rows of the new rollups, from their rows of the all-dimensions
-- rollup (by month, every dimension: sums add up, largest amounts are the largest of the
-- months'), under the folder's lock: deltas not folded yet are folded into the new rollups
-- too when their turn comes. The networks' whole rows follow (report_refresh_next, as
-- tulayd does after a membership change).
DO $$
BEGIN
    PERFORM pg_advisory_xact_lock(7420, -2);
    INSERT INTO report_cells (org_id, whole, cube, period, d1, d2, d3, d4, d5, d6, d7,
                              currency, cases, workers, claimed, claimed_n, claimed_max,
                              awarded, awarded_n, awarded_max, recovered, recovered_n,
                              recovered_max)
    SELECT r.org_id, false, c.cube, report_period('all', r.period),
           CASE WHEN 1 = ANY (c.dims) THEN r.d1 ELSE '' END,
           CASE WHEN 2 = ANY (c.dims) THEN r.d2 ELSE '' END,
           CASE WHEN 3 = ANY (c.dims) THEN r.d3 ELSE '' END,
           CASE WHEN 4 = ANY (c.dims) THEN r.d4 ELSE '' END,
           CASE WHEN 5 = ANY (c.dims) THEN r.d5 ELSE '' END,
           CASE WHEN 6 = ANY (c.dims) THEN r.d6 ELSE '' END,
           CASE WHEN 7 = ANY (c.dims) THEN r.d7 ELSE '' END,
           r.currency, sum(r.cases), sum(r.workers), sum(r.claimed), sum(r.claimed_n),
           max(r.claimed_max), sum(r.awarded), sum(r.awarded_n), max(r.awarded_max),
           sum(r.recovered), sum(r.recovered_n), max(r.recovered_max)
      FROM report_cells r
      JOIN report_cubes c ON c.cube IN (14, 15, 16)
     WHERE r.cube = 10 AND NOT r.whole
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
    WHILE report_refresh_next() IS NOT NULL LOOP
    END LOOP;
END;
$$;

GRANT EXECUTE ON FUNCTION report_period(text, date) TO tulay_app;
