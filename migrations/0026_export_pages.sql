-- Whole exports (issue 15): which cases make the next page of an export. An export reads
-- an organisation's cases oldest first, a page after the last case_id sent, with LIMIT.
-- Under row-level security the planner cannot tell how many rows the policies keep (their
-- OR with the shared cases' subplan), estimates a handful, and reads every case after the
-- page's start and sorts them instead of walking the primary key: each page cost as much
-- as the rest of the export (56 µs a claim at 100,000, quadratic in all). This function
-- picks the page's case_ids with its owner's rights, which walk the primary key and stop
-- at the limit; the cases themselves are then read under the policies, as any read.
--
-- ROWS 100: so that the planner probes the cases of the page by their primary key rather
-- than read them all and join (a page is at most 1000).
--
-- It serves only the caller's own organisation, which it checks against the tenant
-- context the transaction set (tulay_enter, checked first in the same transaction), and
-- answers nothing but case_ids.
CREATE FUNCTION export_case_ids(p_org bigint, p_kind text, p_after bigint, p_status text,
                                p_opened_from date, p_opened_to date, p_office text,
                                p_limit integer)
RETURNS TABLE (case_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER ROWS 100
SET search_path = public, pg_temp
AS $$
BEGIN
    IF p_org IS DISTINCT FROM tulay_org() THEN
        RAISE EXCEPTION 'export_case_ids: organisation % is not the caller''s', p_org
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY
    SELECT c.case_id
      FROM cases c
      LEFT JOIN offices f ON f.org_id = c.org_id AND f.office_id = c.office_id
     WHERE c.org_id = p_org AND c.kind = p_kind AND c.case_id > p_after
       AND (p_status = '' OR c.status = p_status)
       AND (p_opened_from IS NULL OR c.opened_on >= p_opened_from)
       AND (p_opened_to IS NULL OR c.opened_on <= p_opened_to)
       AND (p_office = '' OR f.name = p_office)
     ORDER BY c.case_id
     LIMIT p_limit;
END;
$$;

REVOKE ALL ON FUNCTION export_case_ids(bigint, text, bigint, text, date, date, text, integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION export_case_ids(bigint, text, bigint, text, date, date, text, integer)
    TO tulay_app;
