-- A report's cells, planned for the rollup it reads (issue 11: report p95 at most 50 ms
-- while writers run).
--
-- GetReport's statement chose its rollup (cube) and whether the network's whole rows serve
-- in two CTEs, and read report_cells WHERE cube = (SELECT cube FROM cube). PostgreSQL plans
-- a statement before it runs its CTEs, so it never knew which cube, nor which of the three
-- branches would return rows, and with twenty parameters the prepared statement ran on a
-- generic plan whose estimates had collapsed to a row or two. On the benchmark's million
-- claims that plan sorted the 10,000 rows of "employers in Malaysia" to group them (a
-- sort estimated at three rows, 30 ms of the 70), and read every row of the cube before
-- filtering. Custom plans of the same statement were no cure: still blind to the cube,
-- the planner scanned all 6.2 million rows of report_cells for the by-organisation report
-- (0.9 s instead of 50 ms).
--
-- report_cells_of() picks the cube and the branch first, then runs the same query with
-- both known and a plan made for this call's values (plan_cache_mode force_custom_plan:
-- planning costs a millisecond or two, a wrong plan tens). Its cells are grouped by
-- hashing, not by sorting (enable_sort off, for this function only; the final ORDER BY
-- still sorts, as nothing else can order the result): report_cells' row-level security
-- filter still makes the planner expect a few rows where thousands come, and at a few
-- rows a sort looks cheaper. Over the benchmark's mix: "employers in Malaysia" 31 to
-- 24 ms, "agency x origin" 23 to 16 ms (interleaved runs; the rest within noise). It
-- runs with the caller's
-- rights, so report_cells' row-level security applies as before, and returns exactly the
-- rows and columns the statement returned (server/handlers/reports.c reads them by
-- position): the cell's period bucket, the keys k1..k7 and the organisation, currency,
-- cases, workers, claimed (sum, n, largest), awarded and recovered likewise, whether a
-- conversion applied, the rate, its valid_from, and the day whose rate applies.

CREATE FUNCTION report_cells_of(
    p_kind text, p_org bigint, p_needed smallint[], p_grains text[], p_grouped smallint[],
    p_by_org boolean, p_period text, p_from date, p_until date, p_d1 text[], p_d2 text[],
    p_d3 text[], p_d4 text[], p_d5 text[], p_d6 text[], p_d7 text[], p_orgs text[],
    p_currency text, p_scope boolean, p_limit integer)
RETURNS TABLE (o_bucket text, o_k1 text, o_k2 text, o_k3 text, o_k4 text, o_k5 text,
               o_k6 text, o_k7 text, o_korg text, o_currency text, o_cases numeric,
               o_workers numeric, o_claimed numeric, o_claimed_n numeric,
               o_claimed_max numeric, o_awarded numeric, o_awarded_n numeric,
               o_awarded_max numeric, o_recovered numeric, o_recovered_n numeric,
               o_recovered_max numeric, o_rate_ok boolean, o_rate text, o_rate_from text,
               o_rate_day text)
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
SET enable_sort = off
AS $$
DECLARE
    v_cube smallint;
    v_scoped boolean;
    v_whole boolean;
BEGIN
    -- The rollup: the lowest-ranked cube of the kind that keeps every dimension needed, at
    -- a grain that will do. None: no rows.
    SELECT c.cube, c.scoped INTO v_cube, v_scoped
      FROM report_cubes c
     WHERE c.kind = p_kind AND c.dims @> p_needed AND c.grain = ANY (p_grains)
     ORDER BY c.rank LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- Whether the network's whole rows serve: when they count exactly its scope today and
    -- the report neither groups nor filters by organisation; else its organisations' own
    -- rows do.
    v_whole := coalesce(p_scope AND NOT p_by_org AND p_orgs IS NULL AND v_scoped
                        AND (SELECT s.members FROM report_scopes s
                              WHERE s.scope_id = p_org AND s.cube = v_cube)
                            = report_members(p_org),
                        false);

    RETURN QUERY
    WITH src AS (
        SELECT r.*, '' AS acronym
          FROM report_cells r
         WHERE v_whole AND r.org_id = p_org AND r.whole AND r.cube = v_cube
        UNION ALL
        SELECT r.*, o.acronym
          FROM report_cells r JOIN organisations o USING (org_id)
         WHERE NOT v_whole AND NOT r.whole AND r.cube = v_cube
           AND r.org_id IN (SELECT s.org_id FROM report_scope(p_org) s
                             WHERE p_scope OR s.org_id = p_org)
           AND (p_orgs IS NULL OR o.acronym = ANY (p_orgs))
        -- The deltas not folded yet, as rows of the same cube: the report is exact the
        -- moment a write commits. A withdrawn amount cannot lower a row's largest amount
        -- until it is folded, so until then dominance errs toward hiding.
        UNION ALL
        SELECT r.org_id, r.cube, r.period, r.d1, r.d2, r.d3, r.d4, r.d5, r.d6, r.d7,
               r.currency, r.cases, r.workers, r.claimed, r.claimed_n, r.claimed_max,
               r.awarded, r.awarded_n, r.awarded_max, r.recovered, r.recovered_n,
               r.recovered_max, false, o.acronym
          FROM report_delta_rows r JOIN organisations o USING (org_id)
         WHERE r.cube = v_cube
           AND r.org_id IN (SELECT s.org_id FROM report_scope(p_org) s
                             WHERE p_scope OR s.org_id = p_org)
           AND (p_orgs IS NULL OR o.acronym = ANY (p_orgs))
    ), rows AS (
        -- Keys group and sort in the "C" collation: byte order, and several times faster
        -- to sort than the database's locale over tens of thousands of rows.
        SELECT CASE p_period WHEN 'month' THEN r.period
                   WHEN 'quarter' THEN date_trunc('quarter', r.period::timestamp)::date
                   WHEN 'year' THEN date_trunc('year', r.period::timestamp)::date
               END AS bucket,
               CASE WHEN 1 = ANY (p_grouped) THEN r.d1 ELSE '' END COLLATE "C" AS k1,
               CASE WHEN 2 = ANY (p_grouped) THEN r.d2 ELSE '' END COLLATE "C" AS k2,
               CASE WHEN 3 = ANY (p_grouped) THEN r.d3 ELSE '' END COLLATE "C" AS k3,
               CASE WHEN 4 = ANY (p_grouped) THEN r.d4 ELSE '' END COLLATE "C" AS k4,
               CASE WHEN 5 = ANY (p_grouped) THEN r.d5 ELSE '' END COLLATE "C" AS k5,
               CASE WHEN 6 = ANY (p_grouped) THEN r.d6 ELSE '' END COLLATE "C" AS k6,
               CASE WHEN 7 = ANY (p_grouped) THEN r.d7 ELSE '' END COLLATE "C" AS k7,
               CASE WHEN p_by_org THEN r.acronym ELSE '' END COLLATE "C" AS korg, r.*
          FROM src r
         WHERE (p_from IS NULL OR r.period >= p_from)
           AND (p_until IS NULL OR r.period < p_until)
           AND (p_d1 IS NULL OR r.d1 = ANY (p_d1)) AND (p_d2 IS NULL OR r.d2 = ANY (p_d2))
           AND (p_d3 IS NULL OR r.d3 = ANY (p_d3)) AND (p_d4 IS NULL OR r.d4 = ANY (p_d4))
           AND (p_d5 IS NULL OR r.d5 = ANY (p_d5)) AND (p_d6 IS NULL OR r.d6 = ANY (p_d6))
           AND (p_d7 IS NULL OR r.d7 = ANY (p_d7))
    ), g AS (
        SELECT bucket, k1, k2, k3, k4, k5, k6, k7, korg, currency,
               sum(cases) AS cases, sum(workers) AS workers,
               sum(claimed) AS claimed, sum(claimed_n) AS claimed_n,
               max(claimed_max) AS claimed_max,
               sum(awarded) AS awarded, sum(awarded_n) AS awarded_n,
               max(awarded_max) AS awarded_max,
               sum(recovered) AS recovered, sum(recovered_n) AS recovered_n,
               max(recovered_max) AS recovered_max,
               CASE p_period WHEN 'month' THEN (bucket + interval '1 month')::date - 1
                   WHEN 'quarter' THEN (bucket + interval '3 months')::date - 1
                   WHEN 'year' THEN (bucket + interval '1 year')::date - 1
                   ELSE coalesce(p_until - 1, current_date)
               END AS rate_day
          FROM rows
         GROUP BY bucket, k1, k2, k3, k4, k5, k6, k7, korg, currency
        -- Rows that unfolded withdrawals have emptied, as folding would remove them.
        HAVING CASE WHEN currency = '' THEN sum(cases) > 0
                    ELSE sum(claimed_n) + sum(awarded_n) + sum(recovered_n) > 0 END
    )
    -- With a reporting currency, amounts are converted at the rate in force on the last
    -- day of the row's period bucket, or of the report's range, or today; no rate leaves
    -- the factor NULL and o_rate_ok false. Without one (p_currency ''), the planner folds
    -- the lookup's WHERE to false and never runs it: otherwise it ran once per cell.
    SELECT coalesce(to_char(g.bucket, 'YYYY-MM-DD'), ''), g.k1, g.k2, g.k3, g.k4, g.k5,
           g.k6, g.k7, g.korg, g.currency, g.cases, g.workers,
           CASE WHEN x.factor IS NULL THEN g.claimed ELSE round(g.claimed * x.factor) END,
           g.claimed_n,
           CASE WHEN x.factor IS NULL THEN g.claimed_max
                ELSE round(g.claimed_max * x.factor) END,
           CASE WHEN x.factor IS NULL THEN g.awarded ELSE round(g.awarded * x.factor) END,
           g.awarded_n,
           CASE WHEN x.factor IS NULL THEN g.awarded_max
                ELSE round(g.awarded_max * x.factor) END,
           CASE WHEN x.factor IS NULL THEN g.recovered
                ELSE round(g.recovered * x.factor) END,
           g.recovered_n,
           CASE WHEN x.factor IS NULL THEN g.recovered_max
                ELSE round(g.recovered_max * x.factor) END,
           p_currency = '' OR g.currency IN ('', p_currency) OR x.factor IS NOT NULL,
           coalesce(x.rate::text, ''), coalesce(to_char(x.valid_from, 'YYYY-MM-DD'), ''),
           to_char(g.rate_day, 'YYYY-MM-DD')
      FROM g
      LEFT JOIN LATERAL (
          SELECT e.rate, e.valid_from,
                 e.rate * power(10::numeric, e.reporting_exponent - e.currency_exponent)
                     AS factor
            FROM exchange_rates e
           WHERE p_currency <> '' AND p_currency <> g.currency AND e.currency = g.currency
             AND e.reporting_currency = p_currency AND e.valid_from <= g.rate_day
           ORDER BY e.valid_from DESC LIMIT 1) x ON true
     ORDER BY g.bucket, g.k1, g.k2, g.k3, g.k4, g.k5, g.k6, g.k7, g.korg, g.currency
     LIMIT p_limit;
END;
$$;

REVOKE ALL ON FUNCTION report_cells_of(text, bigint, smallint[], text[], smallint[], boolean,
    text, date, date, text[], text[], text[], text[], text[], text[], text[], text[], text,
    boolean, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION report_cells_of(text, bigint, smallint[], text[], smallint[],
    boolean, text, date, date, text[], text[], text[], text[], text[], text[], text[], text[],
    text, boolean, integer) TO tulay_app;
