-- A report's rows, grouped by tulayd (issue 11: report p95 at most 50 ms while writers run).
--
-- report_cells_of() (0021) grouped the rollup's rows into the report's cells, sorted them
-- and converted their money in SQL. On the benchmark's million claims that was most of a
-- report's cost, and all of it in PostgreSQL's executor: for corridor x sector x year
-- (5,270 rows of the rollup, as many cells and currencies) reading the rows took 4 ms,
-- then sorting them 7, summing the numeric measures per group 8, the exchange-rate join
-- (run even without a reporting currency) 5, and the final sort 4; a hash aggregate was
-- slower still (28 ms). Summing sorted integers is what C does in a millisecond.
--
-- report_rows_of() picks the rollup and the branch as report_cells_of() did, and returns
-- the rows that make up the report, neither grouped nor sorted: the folded rows (the
-- network's whole rows, or its organisations' own) and the deltas not folded yet, filtered
-- by range, dimension values and organisation. Per row: the first day of its period
-- ('' when the report has no period), the keys d1..d7 of the dimensions grouped by ('' for
-- the others), the organisation's acronym when grouped by organisation (else ''), the
-- currency ('' the count row), cases, workers, and per money measure its sum,
-- contributors and largest contribution. tulayd sums the rows of each cell and currency,
-- drops the ones unfolded withdrawals have emptied (as folding would remove them), sorts
-- the cells in byte order and converts money (server/handlers/reports.c); exchange rates
-- come from the statement report_rates. It runs with the caller's rights: report_cells'
-- and report_deltas' row-level security apply as before.
CREATE FUNCTION report_rows_of(
    p_kind text, p_org bigint, p_needed smallint[], p_grains text[], p_grouped smallint[],
    p_by_org boolean, p_period text, p_from date, p_until date, p_d1 text[], p_d2 text[],
    p_d3 text[], p_d4 text[], p_d5 text[], p_d6 text[], p_d7 text[], p_orgs text[],
    p_scope boolean, p_limit integer)
RETURNS TABLE (o_period text, o_k1 text, o_k2 text, o_k3 text, o_k4 text, o_k5 text,
               o_k6 text, o_k7 text, o_korg text, o_currency text, o_cases bigint,
               o_workers bigint, o_claimed numeric, o_claimed_n bigint,
               o_claimed_max bigint, o_awarded numeric, o_awarded_n bigint,
               o_awarded_max bigint, o_recovered numeric, o_recovered_n bigint,
               o_recovered_max bigint)
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
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
        SELECT r.period, r.d1, r.d2, r.d3, r.d4, r.d5, r.d6, r.d7, r.currency, r.cases,
               r.workers, r.claimed, r.claimed_n, r.claimed_max, r.awarded, r.awarded_n,
               r.awarded_max, r.recovered, r.recovered_n, r.recovered_max, '' AS acronym
          FROM report_cells r
         WHERE v_whole AND r.org_id = p_org AND r.whole AND r.cube = v_cube
        UNION ALL
        SELECT r.period, r.d1, r.d2, r.d3, r.d4, r.d5, r.d6, r.d7, r.currency, r.cases,
               r.workers, r.claimed, r.claimed_n, r.claimed_max, r.awarded, r.awarded_n,
               r.awarded_max, r.recovered, r.recovered_n, r.recovered_max, o.acronym
          FROM report_cells r JOIN organisations o USING (org_id)
         WHERE NOT v_whole AND NOT r.whole AND r.cube = v_cube
           AND r.org_id IN (SELECT s.org_id FROM report_scope(p_org) s
                             WHERE p_scope OR s.org_id = p_org)
           AND (p_orgs IS NULL OR o.acronym = ANY (p_orgs))
        -- The deltas not folded yet, as rows of the same cube: the report is exact the
        -- moment a write commits. A withdrawn amount cannot lower a row's largest amount
        -- until it is folded, so until then dominance errs toward hiding.
        UNION ALL
        SELECT r.period, r.d1, r.d2, r.d3, r.d4, r.d5, r.d6, r.d7, r.currency, r.cases,
               r.workers, r.claimed, r.claimed_n, r.claimed_max, r.awarded, r.awarded_n,
               r.awarded_max, r.recovered, r.recovered_n, r.recovered_max, o.acronym
          FROM report_delta_rows r JOIN organisations o USING (org_id)
         WHERE r.cube = v_cube
           AND r.org_id IN (SELECT s.org_id FROM report_scope(p_org) s
                             WHERE p_scope OR s.org_id = p_org)
           AND (p_orgs IS NULL OR o.acronym = ANY (p_orgs))
    )
    SELECT CASE WHEN p_period = '' THEN '' ELSE to_char(r.period, 'YYYY-MM-DD') END,
           CASE WHEN 1 = ANY (p_grouped) THEN r.d1 ELSE '' END,
           CASE WHEN 2 = ANY (p_grouped) THEN r.d2 ELSE '' END,
           CASE WHEN 3 = ANY (p_grouped) THEN r.d3 ELSE '' END,
           CASE WHEN 4 = ANY (p_grouped) THEN r.d4 ELSE '' END,
           CASE WHEN 5 = ANY (p_grouped) THEN r.d5 ELSE '' END,
           CASE WHEN 6 = ANY (p_grouped) THEN r.d6 ELSE '' END,
           CASE WHEN 7 = ANY (p_grouped) THEN r.d7 ELSE '' END,
           CASE WHEN p_by_org THEN r.acronym ELSE '' END,
           r.currency, r.cases::bigint, r.workers::bigint, r.claimed, r.claimed_n::bigint,
           r.claimed_max::bigint, r.awarded, r.awarded_n::bigint, r.awarded_max::bigint,
           r.recovered, r.recovered_n::bigint, r.recovered_max::bigint
      FROM src r
     WHERE (p_from IS NULL OR r.period >= p_from)
       AND (p_until IS NULL OR r.period < p_until)
       AND (p_d1 IS NULL OR r.d1 = ANY (p_d1)) AND (p_d2 IS NULL OR r.d2 = ANY (p_d2))
       AND (p_d3 IS NULL OR r.d3 = ANY (p_d3)) AND (p_d4 IS NULL OR r.d4 = ANY (p_d4))
       AND (p_d5 IS NULL OR r.d5 = ANY (p_d5)) AND (p_d6 IS NULL OR r.d6 = ANY (p_d6))
       AND (p_d7 IS NULL OR r.d7 = ANY (p_d7))
     LIMIT p_limit;
END;
$$;

REVOKE ALL ON FUNCTION report_rows_of(text, bigint, smallint[], text[], smallint[], boolean,
    text, date, date, text[], text[], text[], text[], text[], text[], text[], text[],
    boolean, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION report_rows_of(text, bigint, smallint[], text[], smallint[],
    boolean, text, date, date, text[], text[], text[], text[], text[], text[], text[], text[],
    boolean, integer) TO tulay_app;

DROP FUNCTION report_cells_of(text, bigint, smallint[], text[], smallint[], boolean, text,
    date, date, text[], text[], text[], text[], text[], text[], text[], text[], text, boolean,
    integer);
