-- Coordinator reports: rollups of cases maintained by triggers as cases change, the scope
-- of a report (an organisation and its members, transitively, where memberships share
-- aggregates), and dated exchange rates into a reporting currency.
--
-- report_cells holds, per organisation and rollup ("cube"), one row per period and
-- combination of the cube's dimensions: a count row (currency '') with cases and workers,
-- and for claims one money row per currency with the sums of amounts claimed, awarded and
-- recovered, how many claims each sum has, and the largest single amount (for the
-- dominance rule). A dimension the cube does not keep is ''. tulayd reads the smallest
-- cube that has every dimension a report groups or filters by, at a fine enough period;
-- suppression happens in tulayd, never here.
--
-- Dimensions by kind (d1..d7):
--   wage_theft:     origin, destination, sector, employer, agency, forum, status
--   deportation:    from, to, ground (the first recorded), stage, nationality
--   recommendation: status, target_body, theme, addressed_to
-- The period of a case: a claim's month in which the work ended; a deportation's first
-- known stage date, else the day it was opened; a recommendation's source date.

CREATE TABLE report_cubes (
    cube  smallint PRIMARY KEY,
    kind  text NOT NULL CHECK (kind IN ('wage_theft', 'deportation', 'recommendation')),
    name  text NOT NULL UNIQUE,
    grain text NOT NULL CHECK (grain IN ('month', 'quarter', 'year')),
    dims  smallint[] NOT NULL CHECK (dims <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]),
    rank  smallint NOT NULL  -- when several cubes would do, the lowest rank serves
);

INSERT INTO report_cubes (cube, kind, name, grain, dims, rank) VALUES
    (1, 'wage_theft', 'claims_by_month', 'month', '{}', 1),
    (2, 'wage_theft', 'claims_by_corridor_quarter', 'quarter', '{1,2}', 2),
    (3, 'wage_theft', 'claims_by_sector_quarter', 'quarter', '{3}', 3),
    (4, 'wage_theft', 'claims_by_status_quarter', 'quarter', '{7}', 4),
    (5, 'wage_theft', 'claims_by_corridor_month', 'month', '{1,2}', 5),
    (6, 'wage_theft', 'claims_by_forum_status_year', 'year', '{6,7}', 6),
    (7, 'wage_theft', 'claims_by_corridor_sector_status_year', 'year', '{1,2,3,7}', 7),
    (8, 'wage_theft', 'claims_by_employer_year', 'year', '{2,4}', 8),
    (9, 'wage_theft', 'claims_by_agency_year', 'year', '{1,2,5}', 9),
    (10, 'wage_theft', 'claims_all_dimensions', 'month', '{1,2,3,4,5,6,7}', 10),
    (20, 'deportation', 'deportations_by_month', 'month', '{}', 1),
    (21, 'deportation', 'deportations_by_route_quarter', 'quarter', '{1,2}', 2),
    (22, 'deportation', 'deportations_all_dimensions', 'month', '{1,2,3,4,5}', 3),
    (30, 'recommendation', 'recommendations_by_month', 'month', '{}', 1),
    (31, 'recommendation', 'recommendations_all_dimensions', 'month', '{1,2,3,4}', 2);

ALTER TABLE report_cubes ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_cubes FORCE ROW LEVEL SECURITY;
CREATE POLICY report_cubes_read ON report_cubes FOR SELECT USING (tulay_org() IS NOT NULL);

CREATE TABLE report_cells (
    org_id        bigint NOT NULL REFERENCES organisations (org_id),
    cube          smallint NOT NULL REFERENCES report_cubes (cube),
    period        date NOT NULL,        -- first day of the cube's month, quarter or year
    d1            text NOT NULL DEFAULT '',
    d2            text NOT NULL DEFAULT '',
    d3            text NOT NULL DEFAULT '',
    d4            text NOT NULL DEFAULT '',
    d5            text NOT NULL DEFAULT '',
    d6            text NOT NULL DEFAULT '',
    d7            text NOT NULL DEFAULT '',
    currency      text NOT NULL DEFAULT '',  -- '': the count row
    cases         bigint NOT NULL DEFAULT 0,
    workers       bigint NOT NULL DEFAULT 0,
    claimed       numeric NOT NULL DEFAULT 0,
    claimed_n     bigint NOT NULL DEFAULT 0,
    claimed_max   bigint NOT NULL DEFAULT 0,
    awarded       numeric NOT NULL DEFAULT 0,
    awarded_n     bigint NOT NULL DEFAULT 0,
    awarded_max   bigint NOT NULL DEFAULT 0,
    recovered     numeric NOT NULL DEFAULT 0,
    recovered_n   bigint NOT NULL DEFAULT 0,
    recovered_max bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, cube, period, d1, d2, d3, d4, d5, d6, d7, currency)
);

-- The organisations a report on p_org covers: itself and, transitively, every member
-- whose membership is current and shares aggregates.
CREATE FUNCTION report_scope(p_org bigint) RETURNS TABLE (org_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH RECURSIVE down (org_id, depth) AS (
        SELECT p_org, 0
        UNION
        SELECT m.member_org, down.depth + 1
          FROM memberships m JOIN down ON m.network_org = down.org_id
         WHERE m.shares_aggregates AND (m.until IS NULL OR m.until > current_date)
           AND down.depth < 32
    )
    SELECT DISTINCT down.org_id FROM down
$$;

-- Whether the caller may report on p_org: an admin on any organisation, a coordinator on
-- any in their own organisation's scope, anyone else on their own organisation only.
CREATE FUNCTION report_allowed(p_org bigint) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT tulay_role() = 'admin' OR p_org = tulay_org()
        OR (tulay_role() = 'coordinator'
            AND p_org IN (SELECT s.org_id FROM report_scope(tulay_org()) s))
$$;

ALTER TABLE report_cells ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_cells FORCE ROW LEVEL SECURITY;
-- Read only, and only for organisations the caller may report on; written only by the
-- triggers below (owner's rights).
CREATE POLICY report_cells_read ON report_cells FOR SELECT
    USING (tulay_role() = 'admin' OR org_id = tulay_org()
           OR (tulay_role() = 'coordinator'
               AND org_id IN (SELECT s.org_id FROM report_scope(tulay_org()) s)));

-- Adds (p_sign 1) or removes (-1) one case's contribution to every cube of its kind.
-- p_d: the case's dimensions d1..d7 (NULL = not recorded, kept as ''). Money: each
-- amount with its currency, NULL when the case has none.
CREATE FUNCTION report_apply(
    p_org bigint, p_kind text, p_day date, p_d text[], p_sign integer, p_workers bigint,
    p_claimed_cur text, p_claimed bigint, p_awarded_cur text, p_awarded bigint,
    p_recovered_cur text, p_recovered bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    c record;
    k text[];
    v_period date;
    v_cur text;
    v_cl bigint;
    v_aw bigint;
    v_rc bigint;
    r report_cells;
BEGIN
    FOR c IN SELECT * FROM report_cubes WHERE kind = p_kind LOOP
        v_period := date_trunc(c.grain, p_day)::date;
        k := ARRAY(SELECT CASE WHEN i = ANY (c.dims) THEN coalesce(p_d[i], '') ELSE '' END
                     FROM generate_series(1, 7) i ORDER BY i);
        IF p_sign > 0 THEN
            INSERT INTO report_cells AS t (org_id, cube, period, d1, d2, d3, d4, d5, d6, d7,
                                           currency, cases, workers)
            VALUES (p_org, c.cube, v_period, k[1], k[2], k[3], k[4], k[5], k[6], k[7], '', 1,
                    p_workers)
            ON CONFLICT (org_id, cube, period, d1, d2, d3, d4, d5, d6, d7, currency)
            DO UPDATE SET cases = t.cases + 1, workers = t.workers + EXCLUDED.workers;
        ELSE
            UPDATE report_cells t SET cases = t.cases - 1, workers = t.workers - p_workers
             WHERE (t.org_id, t.cube, t.period, t.d1, t.d2, t.d3, t.d4, t.d5, t.d6, t.d7,
                    t.currency) = (p_org, c.cube, v_period, k[1], k[2], k[3], k[4], k[5],
                                   k[6], k[7], '')
            RETURNING t.* INTO r;
            IF r.cases IS NOT NULL AND r.cases <= 0 THEN
                DELETE FROM report_cells t
                 WHERE (t.org_id, t.cube, t.period, t.d1, t.d2, t.d3, t.d4, t.d5, t.d6, t.d7,
                        t.currency) = (p_org, c.cube, v_period, k[1], k[2], k[3], k[4], k[5],
                                       k[6], k[7], '');
            END IF;
        END IF;
        FOR v_cur IN SELECT DISTINCT x FROM unnest(ARRAY[p_claimed_cur, p_awarded_cur,
                                                          p_recovered_cur]) x
                      WHERE x IS NOT NULL LOOP
            v_cl := CASE WHEN p_claimed_cur = v_cur THEN p_claimed END;
            v_aw := CASE WHEN p_awarded_cur = v_cur THEN p_awarded END;
            v_rc := CASE WHEN p_recovered_cur = v_cur THEN p_recovered END;
            IF p_sign > 0 THEN
                INSERT INTO report_cells AS t (org_id, cube, period, d1, d2, d3, d4, d5, d6,
                    d7, currency, claimed, claimed_n, claimed_max, awarded, awarded_n,
                    awarded_max, recovered, recovered_n, recovered_max)
                VALUES (p_org, c.cube, v_period, k[1], k[2], k[3], k[4], k[5], k[6], k[7],
                        v_cur, coalesce(v_cl, 0), (v_cl IS NOT NULL)::int, coalesce(v_cl, 0),
                        coalesce(v_aw, 0), (v_aw IS NOT NULL)::int, coalesce(v_aw, 0),
                        coalesce(v_rc, 0), (v_rc IS NOT NULL)::int, coalesce(v_rc, 0))
                ON CONFLICT (org_id, cube, period, d1, d2, d3, d4, d5, d6, d7, currency)
                DO UPDATE SET claimed = t.claimed + EXCLUDED.claimed,
                              claimed_n = t.claimed_n + EXCLUDED.claimed_n,
                              claimed_max = greatest(t.claimed_max, EXCLUDED.claimed_max),
                              awarded = t.awarded + EXCLUDED.awarded,
                              awarded_n = t.awarded_n + EXCLUDED.awarded_n,
                              awarded_max = greatest(t.awarded_max, EXCLUDED.awarded_max),
                              recovered = t.recovered + EXCLUDED.recovered,
                              recovered_n = t.recovered_n + EXCLUDED.recovered_n,
                              recovered_max = greatest(t.recovered_max,
                                                       EXCLUDED.recovered_max);
            ELSE
                UPDATE report_cells t
                   SET claimed = t.claimed - coalesce(v_cl, 0),
                       claimed_n = t.claimed_n - (v_cl IS NOT NULL)::int,
                       awarded = t.awarded - coalesce(v_aw, 0),
                       awarded_n = t.awarded_n - (v_aw IS NOT NULL)::int,
                       recovered = t.recovered - coalesce(v_rc, 0),
                       recovered_n = t.recovered_n - (v_rc IS NOT NULL)::int
                 WHERE (t.org_id, t.cube, t.period, t.d1, t.d2, t.d3, t.d4, t.d5, t.d6, t.d7,
                        t.currency) = (p_org, c.cube, v_period, k[1], k[2], k[3], k[4], k[5],
                                       k[6], k[7], v_cur)
                RETURNING t.* INTO r;
                IF r.org_id IS NULL THEN
                    CONTINUE;
                END IF;
                IF r.claimed_n + r.awarded_n + r.recovered_n <= 0 THEN
                    DELETE FROM report_cells t
                     WHERE (t.org_id, t.cube, t.period, t.d1, t.d2, t.d3, t.d4, t.d5, t.d6,
                            t.d7, t.currency) = (p_org, c.cube, v_period, k[1], k[2], k[3],
                                                 k[4], k[5], k[6], k[7], v_cur);
                -- The largest amount may have left: find it again among the claims that
                -- remain in the row (an organisation's claims of one period).
                ELSIF v_cl >= r.claimed_max OR v_aw >= r.awarded_max
                      OR v_rc >= r.recovered_max THEN
                    PERFORM report_claims_fix_max(p_org, c.cube, v_period, k, v_cur);
                END IF;
            END IF;
        END LOOP;
        r := NULL;
    END LOOP;
END;
$$;

-- Every claim as the rollups see it: period day, dimensions, workers and money.
CREATE VIEW report_claim_facts AS
SELECT c.org_id, c.case_id, w.work_ended_on AS day,
       ARRAY[w.worker_nationality::text, w.country_of_work::text, w.sector, w.employer,
             coalesce(w.recruitment_agency, ''), coalesce(w.forum, ''), c.status] AS d,
       w.workers::bigint AS workers,
       w.amount_claimed_currency::text AS claimed_cur, w.amount_claimed_minor AS claimed,
       w.amount_awarded_currency::text AS awarded_cur, w.amount_awarded_minor AS awarded,
       w.amount_recovered_currency::text AS recovered_cur,
       w.amount_recovered_minor AS recovered
  FROM cases c JOIN wage_theft_claims w USING (org_id, case_id)
 WHERE c.kind = 'wage_theft';

CREATE VIEW report_deportation_facts AS
SELECT c.org_id, c.case_id,
       coalesce(d.arrested_on, d.detained_on, d.deported_on, d.released_on, c.opened_on) AS day,
       ARRAY[d.deported_from::text, coalesce(d.deported_to::text, ''),
             coalesce(d.grounds[1], ''), c.status, d.nationality::text, '', ''] AS d,
       0::bigint AS workers
  FROM cases c JOIN deportations d USING (org_id, case_id)
 WHERE c.kind = 'deportation';

CREATE VIEW report_recommendation_facts AS
SELECT c.org_id, c.case_id, r.source_date AS day,
       ARRAY[c.status, coalesce(r.target_body, ''), r.theme, r.addressed_to, '', '', ''] AS d,
       0::bigint AS workers
  FROM cases c JOIN recommendations r USING (org_id, case_id)
 WHERE c.kind = 'recommendation';

-- Recomputes the largest amounts of one money row from the claims themselves.
CREATE FUNCTION report_claims_fix_max(p_org bigint, p_cube smallint, p_period date,
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
     WHERE (t.org_id, t.cube, t.period, t.d1, t.d2, t.d3, t.d4, t.d5, t.d6, t.d7, t.currency)
         = (p_org, p_cube, p_period, p_k[1], p_k[2], p_k[3], p_k[4], p_k[5], p_k[6], p_k[7],
            p_cur);
END;
$$;

CREATE INDEX wage_theft_claims_report ON wage_theft_claims (org_id, work_ended_on);

-- One claim's contribution, added or removed, given the case's status.
CREATE FUNCTION report_claim_apply(w wage_theft_claims, p_status text, p_sign integer)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT report_apply(w.org_id, 'wage_theft', w.work_ended_on,
        ARRAY[w.worker_nationality::text, w.country_of_work::text, w.sector, w.employer,
              w.recruitment_agency, w.forum, p_status],
        p_sign, w.workers, w.amount_claimed_currency::text, w.amount_claimed_minor,
        w.amount_awarded_currency::text, w.amount_awarded_minor,
        w.amount_recovered_currency::text, w.amount_recovered_minor)
$$;

CREATE FUNCTION report_deportation_apply(d deportations, p_status text, p_opened date,
                                         p_sign integer)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT report_apply(d.org_id, 'deportation',
        coalesce(d.arrested_on, d.detained_on, d.deported_on, d.released_on, p_opened),
        ARRAY[d.deported_from::text, d.deported_to::text, d.grounds[1], p_status,
              d.nationality::text, NULL, NULL],
        p_sign, 0, NULL, NULL, NULL, NULL, NULL, NULL)
$$;

CREATE FUNCTION report_recommendation_apply(r recommendations, p_status text, p_sign integer)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT report_apply(r.org_id, 'recommendation', r.source_date,
        ARRAY[p_status, r.target_body, r.theme, r.addressed_to, NULL, NULL, NULL],
        p_sign, 0, NULL, NULL, NULL, NULL, NULL, NULL)
$$;

-- Triggers: the kind tables when a case's row appears or changes, cases when its status
-- moves. Each reads the other's current row, so any order of writes in a transaction
-- keeps the rollups equal to the cases.
CREATE FUNCTION report_kind_row_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_status text;
    v_opened date;
BEGIN
    SELECT c.status, c.opened_on INTO v_status, v_opened
      FROM cases c WHERE c.org_id = NEW.org_id AND c.case_id = NEW.case_id;
    IF TG_TABLE_NAME = 'wage_theft_claims' THEN
        IF TG_OP = 'UPDATE' THEN
            PERFORM report_claim_apply(OLD, v_status, -1);
        END IF;
        PERFORM report_claim_apply(NEW, v_status, 1);
    ELSIF TG_TABLE_NAME = 'deportations' THEN
        IF TG_OP = 'UPDATE' THEN
            PERFORM report_deportation_apply(OLD, v_status, v_opened, -1);
        END IF;
        PERFORM report_deportation_apply(NEW, v_status, v_opened, 1);
    ELSE
        IF TG_OP = 'UPDATE' THEN
            PERFORM report_recommendation_apply(OLD, v_status, -1);
        END IF;
        PERFORM report_recommendation_apply(NEW, v_status, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION report_case_status_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    w wage_theft_claims;
    d deportations;
    r recommendations;
BEGIN
    IF NEW.kind = 'wage_theft' THEN
        SELECT * INTO w FROM wage_theft_claims x
         WHERE x.org_id = NEW.org_id AND x.case_id = NEW.case_id;
        IF FOUND THEN
            PERFORM report_claim_apply(w, OLD.status, -1);
            PERFORM report_claim_apply(w, NEW.status, 1);
        END IF;
    ELSIF NEW.kind = 'deportation' THEN
        SELECT * INTO d FROM deportations x
         WHERE x.org_id = NEW.org_id AND x.case_id = NEW.case_id;
        IF FOUND THEN
            PERFORM report_deportation_apply(d, OLD.status, OLD.opened_on, -1);
            PERFORM report_deportation_apply(d, NEW.status, NEW.opened_on, 1);
        END IF;
    ELSE
        SELECT * INTO r FROM recommendations x
         WHERE x.org_id = NEW.org_id AND x.case_id = NEW.case_id;
        IF FOUND THEN
            PERFORM report_recommendation_apply(r, OLD.status, -1);
            PERFORM report_recommendation_apply(r, NEW.status, 1);
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER report_claims AFTER INSERT OR UPDATE ON wage_theft_claims
    FOR EACH ROW EXECUTE FUNCTION report_kind_row_changed();
CREATE TRIGGER report_deportations AFTER INSERT OR UPDATE ON deportations
    FOR EACH ROW EXECUTE FUNCTION report_kind_row_changed();
CREATE TRIGGER report_recommendations AFTER INSERT OR UPDATE ON recommendations
    FOR EACH ROW EXECUTE FUNCTION report_kind_row_changed();
CREATE TRIGGER report_case_status AFTER UPDATE OF status, opened_on ON cases
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.opened_on IS DISTINCT FROM NEW.opened_on)
    EXECUTE FUNCTION report_case_status_changed();

-- Recomputes every rollup from the cases, set-based: after a bulk load with triggers off
-- (the benchmark), or to check the triggers (the tests compare). Owner only.
CREATE FUNCTION report_rebuild() RETURNS bigint
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
            '  FROM (SELECT f.org_id, date_trunc(%L, f.day)::date AS period, %s, f.workers '
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
                '  FROM (SELECT f.org_id, date_trunc(%L, f.day)::date AS period, %s, v.m, '
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
REVOKE ALL ON FUNCTION report_rebuild() FROM PUBLIC;

-- Exchange rates into reporting currencies, dated: a rate is in force from valid_from
-- until the next one of the same pair. Reference data, like organisations: readable by
-- every signed-in user, written by admins.
CREATE TABLE exchange_rates (
    currency           char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    reporting_currency char(3) NOT NULL CHECK (reporting_currency ~ '^[A-Z]{3}$'),
    valid_from         date NOT NULL,
    rate               numeric(24, 12) NOT NULL CHECK (rate > 0),
    -- Minor-unit digits of each currency (ISO 4217), as tulayd knows them: a minor unit
    -- of currency is rate * 10^(reporting_exponent - currency_exponent) minor units of
    -- the reporting currency.
    currency_exponent  smallint NOT NULL CHECK (currency_exponent BETWEEN 0 AND 4),
    reporting_exponent smallint NOT NULL CHECK (reporting_exponent BETWEEN 0 AND 4),
    set_by             bigint NOT NULL REFERENCES users (user_id),
    set_at             timestamptz NOT NULL DEFAULT now(),
    idempotency_key    bytea NOT NULL CHECK (length(idempotency_key) = 16),
    request_hash       bytea NOT NULL CHECK (length(request_hash) = 32),
    PRIMARY KEY (currency, reporting_currency, valid_from),
    CONSTRAINT exchange_rates_pair CHECK (currency <> reporting_currency),
    CONSTRAINT exchange_rates_idempotency_key UNIQUE (idempotency_key)
);
ALTER TABLE exchange_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE exchange_rates FORCE ROW LEVEL SECURITY;
CREATE POLICY exchange_rates_read ON exchange_rates FOR SELECT USING (tulay_org() IS NOT NULL);
CREATE POLICY exchange_rates_write ON exchange_rates FOR ALL
    USING (tulay_role() = 'admin') WITH CHECK (tulay_role() = 'admin');

-- Sets a rate idempotently. Outcomes: 'created', 'replaced' (another rate of the pair and
-- day was set before: this one replaces it), 'replayed', 'key_reused'.
CREATE FUNCTION set_exchange_rate(
    p_idempotency_key bytea, p_request_hash bytea, p_currency text, p_reporting text,
    p_rate numeric, p_valid_from date, p_currency_exponent smallint,
    p_reporting_exponent smallint, p_user bigint)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
BEGIN
    SELECT x.request_hash INTO v_hash FROM exchange_rates x
     WHERE x.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        RETURN CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
    END IF;
    -- A key that was replaced since is gone from the table, so a late retry of it would
    -- set the rate again: harmless, since the same rate for the same day is the result.
    UPDATE exchange_rates x
       SET rate = p_rate, currency_exponent = p_currency_exponent,
           reporting_exponent = p_reporting_exponent, set_by = p_user, set_at = now(),
           idempotency_key = p_idempotency_key, request_hash = p_request_hash
     WHERE (x.currency, x.reporting_currency, x.valid_from)
         = (p_currency, p_reporting, p_valid_from);
    IF FOUND THEN
        RETURN 'replaced';
    END IF;
    INSERT INTO exchange_rates (currency, reporting_currency, valid_from, rate,
                                currency_exponent, reporting_exponent, set_by,
                                idempotency_key, request_hash)
    VALUES (p_currency, p_reporting, p_valid_from, p_rate, p_currency_exponent,
            p_reporting_exponent, p_user, p_idempotency_key, p_request_hash);
    RETURN 'created';
END;
$$;

GRANT SELECT ON report_cubes, report_cells, exchange_rates TO tulay_app;
GRANT EXECUTE ON FUNCTION report_scope(bigint), report_allowed(bigint),
    set_exchange_rate(bytea, bytea, text, text, numeric, date, smallint, smallint, bigint)
    TO tulay_app;
GRANT INSERT, UPDATE ON exchange_rates TO tulay_app;
REVOKE ALL ON FUNCTION report_apply(bigint, text, date, text[], integer, bigint, text, bigint,
    text, bigint, text, bigint), report_claims_fix_max(bigint, smallint, date, text[], text),
    report_claim_apply(wage_theft_claims, text, integer),
    report_deportation_apply(deportations, text, date, integer),
    report_recommendation_apply(recommendations, text, integer),
    report_kind_row_changed(), report_case_status_changed() FROM PUBLIC;

-- The rollups of the cases already recorded.
SELECT report_rebuild();
