-- Writes that never wait for one another (issue 11).
--
-- Until 0012 three kinds of shared row were updated in every request's transaction and
-- held until its commit, so requests ran one at a time through them:
--   * audit_head: every audited request (reads too) chained its entry onto the one head;
--   * case_counters: every new case of an organisation drew its number from one row;
--   * report_cells: every write added its case to the rollup rows of its organisation
--     and of every network above it (and rescanned claims to find maxima again).
-- Here a request only inserts rows nobody else touches; the work that needs one writer
-- runs off the request path in tulayd, in batches, once per cluster however many tulayd
-- run (an advisory lock each):
--   * audit_log rows are appended unchained; audit_seal() chains the rows of ended
--     transactions, in the order they ended, into hash-linked blocks;
--   * references come from one sequence per organisation, kind and year;
--   * a write appends its case's contribution (+) or withdrawal (-) to report_deltas;
--     report_fold() folds them into report_cells; reports read report_cells plus the
--     deltas not folded yet, so they are exact the moment a write commits.
--
-- Advisory locks (class 7420, tulay's port), one per single-writer job:
--   (7420, -1) the audit sealer;   (7420, -2) the rollup folder and scope refreshes.
--
-- Lock order of a request that changes a case (every update function follows it, so two
-- requests never wait on each other in a cycle): the cases row (SELECT ... FOR UPDATE)
-- first, then its kind's row (wage_theft_claims, deportations, recommendations), then
-- rows that only this case owns (events, stages, evidence, workers), then inserts into
-- append-only tables (case_events, report_deltas, audit_log). Notes and interventions,
-- which change no case row, hold it FOR KEY SHARE. Proposing a referral locks its case
-- row before writing the referral; deciding one locks the referral, then its case row
-- (FOR UPDATE, a barrier for the partner's writes in flight), and no writer of a case
-- ever locks a referral, so no cycle is possible.

-- --- Audit: append without a head, seal off the request path ----------------------------

-- Rows keep the payload and hash of 0002. New rows arrive with id, xid (the inserting
-- transaction) and no seq, hash or block; audit_seal() assigns them. Rows sealed before
-- this migration keep their seq and hash and form block 0.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD COLUMN id bigint;
UPDATE audit_log SET id = seq;
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
SELECT setval('audit_log_id_seq', coalesce((SELECT max(seq) FROM audit_log), 0) + 1, false);
ALTER TABLE audit_log ALTER COLUMN id SET DEFAULT nextval('audit_log_id_seq'),
                      ALTER COLUMN id SET NOT NULL,
                      ADD PRIMARY KEY (id),
                      ALTER COLUMN seq DROP NOT NULL,
                      ALTER COLUMN hash DROP NOT NULL,
                      ADD COLUMN xid xid8,
                      ADD COLUMN block bigint;
UPDATE audit_log SET block = 0;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
CREATE INDEX audit_log_unsealed ON audit_log (xid, id) WHERE seq IS NULL;

-- 0002's, in PL/pgSQL (see audit_append): the sealer calls it for every entry.
CREATE OR REPLACE FUNCTION audit_payload(p_seq bigint, p_at timestamptz, p_org bigint,
                                         p_user bigint, p_action text, p_target text,
                                         p_detail text)
RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_at text := ((extract(epoch FROM p_at) * 1000000)::bigint)::text;
    v_org text := coalesce(p_org::text, '');
    v_user text := coalesce(p_user::text, '');
BEGIN
    RETURN convert_to(
        octet_length(p_seq::text) || ':' || p_seq::text || ';' ||
        octet_length(v_at) || ':' || v_at || ';' ||
        octet_length(v_org) || ':' || v_org || ';' ||
        octet_length(v_user) || ':' || v_user || ';' ||
        octet_length(p_action) || ':' || p_action || ';' ||
        octet_length(p_target) || ':' || p_target || ';' ||
        octet_length(p_detail) || ':' || p_detail || ';', 'UTF8');
END;
$$;

-- One row per sealed block: rows first_seq..last_seq, the hash of the last of them (the
-- row chain runs through every block), and the block chain. hash = SHA-256(prev_hash ||
-- audit_block_payload(...) || last_hash); block 0's prev_hash is 32 zero bytes.
CREATE TABLE audit_blocks (
    block     bigint PRIMARY KEY,
    first_seq bigint NOT NULL,
    last_seq  bigint NOT NULL,
    last_hash bytea NOT NULL,
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL,
    sealed_at timestamptz NOT NULL,
    CHECK (last_seq >= first_seq - 1)
);
ALTER TABLE audit_blocks ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_blocks FORCE ROW LEVEL SECURITY;

CREATE FUNCTION audit_block_payload(p_block bigint, p_first bigint, p_last bigint,
                                    p_at timestamptz)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(
        octet_length(p_block::text) || ':' || p_block::text || ';' ||
        octet_length(p_first::text) || ':' || p_first::text || ';' ||
        octet_length(p_last::text) || ':' || p_last::text || ';' ||
        octet_length(x.at_us) || ':' || x.at_us || ';', 'UTF8')
      FROM (SELECT ((extract(epoch FROM p_at) * 1000000)::bigint)::text AS at_us) x
$$;

-- Block 0: everything 0002's head had chained.
INSERT INTO audit_blocks (block, first_seq, last_seq, last_hash, prev_hash, hash, sealed_at)
SELECT 0, 1, h.seq, h.hash, '\x0000000000000000000000000000000000000000000000000000000000000000',
       sha256('\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
              || audit_block_payload(0, 1, h.seq, x.at) || h.hash), x.at
  FROM audit_head h, (SELECT date_trunc('microseconds', clock_timestamp()) AS at) x;
DROP TABLE audit_head;

-- Appends one entry for the current transaction's tenant context: an insert, nothing
-- shared. Returns the entry's id (its place in the chain is given when it is sealed).
-- PL/pgSQL rather than SQL here and in the other functions every write calls: PostgreSQL
-- parses and plans a (not inlined) SQL function's body at every call, PL/pgSQL once per
-- session.
CREATE OR REPLACE FUNCTION audit_append(p_action text, p_target text, p_detail text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_id bigint;
BEGIN
    INSERT INTO audit_log (xid, at, org_id, user_id, action, target, detail)
    VALUES (pg_current_xact_id(), date_trunc('microseconds', clock_timestamp()), tulay_org(),
            tulay_user(), p_action, coalesce(p_target, ''), coalesce(p_detail, ''))
    RETURNING id INTO v_id;
    RETURN v_id;
END;
$$;

-- Seals up to p_max rows into one new block and returns how many; -1 when another sealer
-- holds the lock, 0 when nothing is ready. Only rows of transactions that have ended are
-- taken: a transaction whose xid is below the snapshot's xmin can no longer commit or
-- add rows, so every row it wrote is visible now or never will be. They are chained in
-- the order their transactions ended, to the grain of a block (by xid, then id, within
-- one), so no later-committing row can land before a sealed one.
CREATE FUNCTION audit_seal(p_max integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_xmin xid8 := pg_snapshot_xmin(pg_current_snapshot());
    b audit_blocks;
    r record;
    v_seq bigint;
    v_hash bytea;
    v_n integer := 0;
    v_ids bigint[] := '{}';
    v_hashes bytea[] := '{}';
    v_at timestamptz;
BEGIN
    IF NOT pg_try_advisory_xact_lock(7420, -1) THEN
        RETURN -1;
    END IF;
    SELECT * INTO STRICT b FROM audit_blocks ORDER BY block DESC LIMIT 1;
    v_seq := b.last_seq;
    v_hash := b.last_hash;
    -- The chain is computed row by row in memory, then written by one UPDATE.
    FOR r IN SELECT a.id, a.at, a.org_id, a.user_id, a.action, a.target, a.detail
               FROM audit_log a
              WHERE a.seq IS NULL AND a.xid < v_xmin
              ORDER BY a.xid, a.id LIMIT p_max LOOP
        v_seq := v_seq + 1;
        v_hash := sha256(v_hash || audit_payload(v_seq, r.at, r.org_id, r.user_id, r.action,
                                                 r.target, r.detail));
        v_n := v_n + 1;
        v_ids[v_n] := r.id;
        v_hashes[v_n] := v_hash;
    END LOOP;
    IF v_n = 0 THEN
        RETURN 0;
    END IF;
    UPDATE audit_log a SET seq = b.last_seq + u.n, hash = u.hash, block = b.block + 1
      FROM unnest(v_ids, v_hashes) WITH ORDINALITY AS u (id, hash, n)
     WHERE a.id = u.id;
    v_at := date_trunc('microseconds', clock_timestamp());
    INSERT INTO audit_blocks (block, first_seq, last_seq, last_hash, prev_hash, hash, sealed_at)
    VALUES (b.block + 1, b.last_seq + 1, v_seq, v_hash, b.hash,
            sha256(b.hash || audit_block_payload(b.block + 1, b.last_seq + 1, v_seq, v_at)
                   || v_hash), v_at);
    RETURN v_n;
END;
$$;

-- --- References: a sequence per organisation, kind and year ------------------------------

-- The sequence's name for an organisation, kind and year.
-- STABLE, as format() is: then PostgreSQL inlines it (an IMMUTABLE wrapper of a STABLE
-- expression is called, and parsed, at every use).
CREATE FUNCTION case_number_sequence(p_org bigint, p_kind text, p_year integer) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format('case_number_%s_%s_%s', p_org, p_kind, p_year)
$$;

-- The next number of an organisation's cases of a kind in a year. nextval() never waits
-- for another transaction; a number drawn by a transaction that then rolls back (or by a
-- replay) is skipped, as are up to 32 cached numbers after a crash: references stay
-- unique, but may have gaps. The sequence is made ahead of need by case_numbering_prepare();
-- a case that finds none (an organisation's very first case of a kind, before tulayd's
-- next tick) creates it here, and a second case racing to create the same one is told to
-- retry (40001: tulayd answers UNAVAILABLE, clients retry with the same key).
CREATE FUNCTION case_next_number(p_org bigint, p_kind text, p_year integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_name text := case_number_sequence(p_org, p_kind, p_year);
BEGIN
    IF to_regclass(v_name) IS NULL THEN
        BEGIN
            EXECUTE format('CREATE SEQUENCE %I', v_name);
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            RAISE EXCEPTION 'case numbering for % is being set up; retry', v_name
                USING ERRCODE = 'serialization_failure';
        END;
    END IF;
    RETURN nextval(v_name::regclass);
END;
$$;

-- The reference of a new case: PREFIX-YEAR-NNNNNN.
CREATE FUNCTION case_new_reference(p_org bigint, p_kind text, p_prefix text, p_year integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    n bigint := case_next_number(p_org, p_kind, p_year);
BEGIN
    RETURN p_prefix || '-' || p_year || '-' || CASE WHEN n < 1000000
        THEN lpad(n::text, 6, '0') ELSE n::text END;
END;
$$;

-- Creates this year's sequences (and in December next year's) for every organisation and
-- kind that has none: tulayd calls it at start and on its refresh timer, off the request
-- path. Returns how many it created.
CREATE FUNCTION case_numbering_prepare() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_today date := (now() AT TIME ZONE 'UTC')::date;
    v_name text;
    v_n integer := 0;
BEGIN
    FOR v_name IN
        SELECT case_number_sequence(o.org_id, k.kind, y.year)
          FROM organisations o
         CROSS JOIN (VALUES ('wage_theft'), ('deportation'), ('recommendation')) k (kind)
         CROSS JOIN (SELECT extract(year FROM v_today)::integer AS year
                     UNION ALL
                     SELECT extract(year FROM v_today)::integer + 1
                      WHERE extract(month FROM v_today) = 12) y
         ORDER BY 1
    LOOP
        CONTINUE WHEN to_regclass(v_name) IS NOT NULL;
        BEGIN
            EXECUTE format('CREATE SEQUENCE %I', v_name);
            v_n := v_n + 1;
        EXCEPTION WHEN duplicate_table OR unique_violation THEN
            NULL; -- made meanwhile by a case or another tulayd
        END;
    END LOOP;
    RETURN v_n;
END;
$$;

-- Every counter so far becomes a sequence that continues from its last value.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT org_id, kind, year, last_value FROM case_counters LOOP
        EXECUTE format('CREATE SEQUENCE %I START %s',
                       case_number_sequence(c.org_id, c.kind, c.year), c.last_value + 1);
    END LOOP;
END;
$$;

CREATE OR REPLACE FUNCTION case_open(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_kind text, p_prefix text, p_status text, p_office text,
    OUT case_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_office bigint := case_office_id(p_org_id, p_office);
    v_opened date := (now() AT TIME ZONE 'UTC')::date;
    v_year integer := extract(year FROM v_opened)::integer;
BEGIN
    SELECT c.case_id, c.request_hash INTO case_id, v_hash
      FROM cases c WHERE c.org_id = p_org_id AND c.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
                       idempotency_key, request_hash, office_id)
    VALUES (p_org_id, case_new_reference(p_org_id, p_kind, p_prefix, v_year), p_kind,
            p_status, v_opened, p_user_id, p_idempotency_key, p_request_hash, v_office)
    RETURNING cases.case_id INTO case_id;
    outcome := 'created';
END;
$$;

CREATE OR REPLACE FUNCTION create_wage_theft_claim(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_worker_nationality text, p_country_of_work text, p_sector text, p_employer text,
    p_work_started_on date, p_work_ended_on date,
    p_amount_claimed_minor bigint, p_amount_claimed_currency text, p_workers integer,
    p_worker_name_enc bytea, p_worker_id_number_enc bytea, p_worker_phone_enc bytea,
    p_worker_id_number_index bytea,
    OUT case_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_constraint text;
    v_opened date := (now() AT TIME ZONE 'UTC')::date;
    v_year integer := extract(year FROM v_opened)::integer;
BEGIN
    SELECT c.case_id, c.request_hash INTO case_id, v_hash
      FROM cases c
     WHERE c.org_id = p_org_id AND c.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;

    BEGIN
        INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
                           idempotency_key, request_hash)
        VALUES (p_org_id, case_new_reference(p_org_id, 'wage_theft', 'WT', v_year),
                'wage_theft', 'intake', v_opened, p_user_id,
                p_idempotency_key, p_request_hash)
        RETURNING cases.case_id INTO case_id;

        INSERT INTO wage_theft_claims (org_id, case_id, worker_nationality, country_of_work,
                                       sector, employer, work_started_on, work_ended_on,
                                       amount_claimed_minor, amount_claimed_currency, workers,
                                       worker_name_enc, worker_id_number_enc,
                                       worker_phone_enc, worker_id_number_index)
        VALUES (p_org_id, case_id, p_worker_nationality, p_country_of_work, p_sector,
                p_employer, p_work_started_on, p_work_ended_on, p_amount_claimed_minor,
                p_amount_claimed_currency, p_workers, p_worker_name_enc,
                p_worker_id_number_enc, p_worker_phone_enc, p_worker_id_number_index);
        outcome := 'created';
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint IS DISTINCT FROM 'cases_idempotency_key' THEN
            RAISE;
        END IF;
        SELECT c.case_id, c.request_hash INTO STRICT case_id, v_hash
          FROM cases c
         WHERE c.org_id = p_org_id AND c.idempotency_key = p_idempotency_key;
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
    END;
END;
$$;

DROP TABLE case_counters;

-- --- Rollups: deltas appended by writes, folded in batches --------------------------------

-- One case's contribution to the rollups (sign 1) or its withdrawal (sign -1), as
-- report_apply() was given it: the case's period day, dimensions d1..d7 ('' where not
-- recorded or not kept), workers and each amount with its currency.
CREATE TABLE report_deltas (
    id            bigserial PRIMARY KEY,
    org_id        bigint NOT NULL,
    kind          text NOT NULL,
    day           date NOT NULL,
    d             text[] NOT NULL,
    sign          smallint NOT NULL CHECK (sign IN (-1, 1)),
    workers       bigint NOT NULL,
    claimed_cur   text,
    claimed       bigint,
    awarded_cur   text,
    awarded       bigint,
    recovered_cur text,
    recovered     bigint
);
ALTER TABLE report_deltas ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_deltas FORCE ROW LEVEL SECURITY;
-- Read as report_cells' own rows are: written only by the triggers (owner's rights).
CREATE POLICY report_deltas_read ON report_deltas FOR SELECT
    USING ((SELECT tulay_role()) = 'admin' OR org_id = (SELECT tulay_org())
           OR ((SELECT tulay_role()) = 'coordinator'
               AND org_id IN (SELECT s.org_id FROM report_scope((SELECT tulay_org())) s)));

-- The same signature as 0011/0012's, so every trigger keeps calling it: it now appends
-- the contribution instead of adding it to the rollup rows.
CREATE OR REPLACE FUNCTION report_apply(
    p_org bigint, p_kind text, p_day date, p_d text[], p_sign integer, p_workers bigint,
    p_claimed_cur text, p_claimed bigint, p_awarded_cur text, p_awarded bigint,
    p_recovered_cur text, p_recovered bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO report_deltas (org_id, kind, day, d, sign, workers, claimed_cur, claimed,
                               awarded_cur, awarded, recovered_cur, recovered)
    VALUES (p_org, p_kind, p_day,
            ARRAY[coalesce(p_d[1], ''), coalesce(p_d[2], ''), coalesce(p_d[3], ''),
                  coalesce(p_d[4], ''), coalesce(p_d[5], ''), coalesce(p_d[6], ''),
                  coalesce(p_d[7], '')],
            p_sign, p_workers, p_claimed_cur, p_claimed, p_awarded_cur, p_awarded,
            p_recovered_cur, p_recovered);
END;
$$;

-- 0011's, in PL/pgSQL (see audit_append).
CREATE OR REPLACE FUNCTION report_claim_apply(w wage_theft_claims, p_status text,
                                              p_sign integer)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM report_apply(w.org_id, 'wage_theft', w.work_ended_on,
        ARRAY[w.worker_nationality::text, w.country_of_work::text, w.sector, w.employer,
              w.recruitment_agency, w.forum, p_status],
        p_sign, w.workers, w.amount_claimed_currency::text, w.amount_claimed_minor,
        w.amount_awarded_currency::text, w.amount_awarded_minor,
        w.amount_recovered_currency::text, w.amount_recovered_minor);
END;
$$;

CREATE OR REPLACE FUNCTION report_deportation_apply(d deportations, p_status text,
                                                    p_opened date, p_sign integer)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM report_apply(d.org_id, 'deportation',
        coalesce(d.arrested_on, d.detained_on, d.deported_on, d.released_on, p_opened),
        ARRAY[d.deported_from::text, d.deported_to::text, d.grounds[1], p_status,
              d.nationality::text, NULL, NULL],
        p_sign, 0, NULL, NULL, NULL, NULL, NULL, NULL);
END;
$$;

CREATE OR REPLACE FUNCTION report_recommendation_apply(r recommendations, p_status text,
                                                       p_sign integer)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM report_apply(r.org_id, 'recommendation', r.source_date,
        ARRAY[p_status, r.target_body, r.theme, r.addressed_to, NULL, NULL, NULL],
        p_sign, 0, NULL, NULL, NULL, NULL, NULL, NULL);
END;
$$;

-- Deltas as the rows of report_cells they change, per cube of their kind: the count row
-- (currency '') and a money row per currency. The deltas are first summed per
-- organisation, kind, month (no cube is finer), dimensions and currencies, so a busy
-- second of similar claims costs a few rows, not a few per claim. *_rm: the largest
-- amount withdrawn (its row's largest amount may have to be found again). p_ids: only
-- these deltas (the folder's batch); NULL: every one the caller may read (reports: it
-- runs with the caller's rights, so row-level security applies). One SQL statement,
-- inlined into the query that calls it.
CREATE FUNCTION report_delta_cells(p_ids bigint[])
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
    SELECT g.org_id, c.cube, c.scoped, date_trunc(c.grain, g.month)::date,
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

-- Every delta the caller may read, as rows of report_cells (reports add these to the
-- folded rows).
CREATE VIEW report_delta_rows WITH (security_invoker = true) AS
SELECT * FROM report_delta_cells(NULL);

-- One batch of folded changes, per row of report_cells.
CREATE TYPE report_fold_row AS (
    org_id bigint, whole boolean, cube smallint, period date,
    d1 text, d2 text, d3 text, d4 text, d5 text, d6 text, d7 text, currency text,
    cases bigint, workers bigint,
    claimed numeric, claimed_n bigint, claimed_max bigint, claimed_rm bigint,
    awarded numeric, awarded_n bigint, awarded_max bigint, awarded_rm bigint,
    recovered numeric, recovered_n bigint, recovered_max bigint, recovered_rm bigint);

-- Folds up to p_max of the oldest committed deltas into report_cells (the organisation's
-- own rows and the whole rows of every scope that counts it) and deletes them, in one
-- transaction: a report sees a delta either unfolded or folded, never both or neither.
-- Returns the deltas folded; -1 when another folder (or a scope refresh) holds the lock.
-- Rows left with no case are removed; a row whose largest amount was withdrawn has it
-- found again (from the organisation's claims, or for a whole row from its members'
-- rows), as 0012's triggers did, but once per row and batch, off the request path.
CREATE FUNCTION report_fold(p_max integer) RETURNS bigint
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
    SELECT array_agg(g ORDER BY g.org_id, g.whole, g.cube, g.period, g.d1, g.d2, g.d3, g.d4,
                     g.d5, g.d6, g.d7, g.currency)
      INTO v_rows
      FROM (SELECT t.org_id, t.whole, r.cube, r.period, r.d1, r.d2, r.d3, r.d4, r.d5, r.d6,
                   r.d7, r.currency, sum(r.cases)::bigint, sum(r.workers)::bigint,
                   sum(r.claimed), sum(r.claimed_n)::bigint, max(r.claimed_max),
                   max(r.claimed_rm), sum(r.awarded), sum(r.awarded_n)::bigint,
                   max(r.awarded_max), max(r.awarded_rm), sum(r.recovered),
                   sum(r.recovered_n)::bigint, max(r.recovered_max), max(r.recovered_rm)
              FROM report_delta_cells(v_ids) r
             CROSS JOIN LATERAL (
                   SELECT r.org_id, false AS whole
                   UNION ALL
                   SELECT s.scope_id, true FROM report_scopes s
                    WHERE r.scoped AND s.cube = r.cube AND r.org_id = ANY (s.members)) t
             GROUP BY t.org_id, t.whole, r.cube, r.period, r.d1, r.d2, r.d3, r.d4, r.d5,
                      r.d6, r.d7, r.currency) g (org_id, whole, cube, period, d1, d2, d3, d4,
                      d5, d6, d7, currency, cases, workers, claimed, claimed_n, claimed_max,
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

    DELETE FROM report_cells x
     USING unnest(v_rows) g
     WHERE (x.org_id, x.whole, x.cube, x.period, x.d1, x.d2, x.d3, x.d4, x.d5, x.d6, x.d7,
            x.currency)
         = (g.org_id, g.whole, g.cube, g.period, g.d1, g.d2, g.d3, g.d4, g.d5, g.d6, g.d7,
            g.currency)
       AND CASE WHEN x.currency = '' THEN x.cases <= 0
                ELSE x.claimed_n + x.awarded_n + x.recovered_n <= 0 END;

    -- Own rows before whole rows: a whole row's largest amount comes from its members'.
    FOR f IN SELECT g.*, s.members
               FROM unnest(v_rows) g
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

-- A kind row's update that changes nothing a report reads (a note on the agency's
-- licence, sealed identities, an empty details update) appends no delta.
CREATE OR REPLACE FUNCTION report_kind_row_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_status text;
    v_opened date;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'wage_theft_claims' THEN
            IF (OLD.work_ended_on, OLD.worker_nationality, OLD.country_of_work, OLD.sector,
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
        ELSIF TG_TABLE_NAME = 'deportations' THEN
            IF (OLD.arrested_on, OLD.detained_on, OLD.deported_on, OLD.released_on,
                OLD.deported_from, OLD.deported_to, OLD.grounds[1], OLD.nationality)
               IS NOT DISTINCT FROM
               (NEW.arrested_on, NEW.detained_on, NEW.deported_on, NEW.released_on,
                NEW.deported_from, NEW.deported_to, NEW.grounds[1], NEW.nationality) THEN
                RETURN NULL;
            END IF;
        ELSIF (OLD.source_date, OLD.target_body, OLD.theme, OLD.addressed_to)
              IS NOT DISTINCT FROM
              (NEW.source_date, NEW.target_body, NEW.theme, NEW.addressed_to) THEN
            RETURN NULL;
        END IF;
    END IF;
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

-- 0012's, under the folder's lock instead of the writers' per-cube locks (writers no
-- longer touch report_cells): a refresh and a fold never interleave, so whole rows always
-- equal the sum of their members' folded rows.
CREATE OR REPLACE FUNCTION report_refresh_scope(p_scope bigint, p_cube smallint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_members bigint[];
    v_rows bigint := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7420, -2);
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

-- 0012's, with the deltas: they are dropped under a table lock that holds writers back,
-- since the recomputation from the cases counts every committed change.
CREATE OR REPLACE FUNCTION report_rebuild() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_rows bigint;
BEGIN
    LOCK TABLE report_deltas IN EXCLUSIVE MODE;
    PERFORM pg_advisory_xact_lock(7420, -2);
    DELETE FROM report_deltas;
    v_rows := report_rebuild_own();
    DELETE FROM report_scopes;
    WHILE report_refresh_next() IS NOT NULL LOOP
    END LOOP;
    RETURN v_rows;
END;
$$;

-- Folds everything committed so far (owner only: tests, benchmarks, and before comparing
-- the rollups with report_rebuild()). Returns the deltas folded.
CREATE FUNCTION report_fold_all() RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_n bigint;
    v_all bigint := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7420, -2);
    LOOP
        v_n := report_fold(100000);
        EXIT WHEN v_n <= 0;
        v_all := v_all + v_n;
    END LOOP;
    RETURN v_all;
END;
$$;

REVOKE ALL ON FUNCTION audit_block_payload(bigint, bigint, bigint, timestamptz),
    audit_seal(integer), case_number_sequence(bigint, text, integer),
    case_next_number(bigint, text, integer), case_new_reference(bigint, text, text, integer),
    case_numbering_prepare(), report_fold(integer), report_fold_all(),
    report_rebuild() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_seal(integer), case_number_sequence(bigint, text, integer),
    case_next_number(bigint, text, integer), case_new_reference(bigint, text, text, integer),
    case_numbering_prepare(), report_fold(integer) TO tulay_app;
GRANT SELECT ON report_deltas, report_delta_rows TO tulay_app;
GRANT EXECUTE ON FUNCTION report_delta_cells(bigint[]) TO tulay_app;

SELECT case_numbering_prepare();

-- 0010's, in PL/pgSQL (see audit_append): the policies of every case table call it, so
-- every read and update of a case did parse it again.
CREATE OR REPLACE FUNCTION tulay_shared_cases() RETURNS TABLE (org_id bigint, case_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY SELECT r.org_id, r.case_id FROM referrals r
                  WHERE r.to_org_id = tulay_org() AND r.status = 'accepted';
END;
$$;

-- Called only from the report triggers, which already run with the owner's rights and
-- search_path: running them as the caller spares every write three nested changes of user
-- and search_path (each of which costs more than the insert they wrap). Nobody else may
-- execute them (0011 revoked that from PUBLIC).
ALTER FUNCTION report_apply(bigint, text, date, text[], integer, bigint, text, bigint, text,
                            bigint, text, bigint) SECURITY INVOKER RESET search_path;
ALTER FUNCTION report_claim_apply(wage_theft_claims, text, integer)
    SECURITY INVOKER RESET search_path;
ALTER FUNCTION report_deportation_apply(deportations, text, date, integer)
    SECURITY INVOKER RESET search_path;
ALTER FUNCTION report_recommendation_apply(recommendations, text, integer)
    SECURITY INVOKER RESET search_path;


-- A partner's write and the revocation of its referral, in one order. it_deadlock found a
-- note written by a partner whose referral was revoked between the note's insert and its
-- read-back in the same transaction: saved, but answered INTERNAL. Now a write on a case
-- holds the case row from its access check to its commit (FOR UPDATE for the changes,
-- FOR KEY SHARE for notes and interventions, which change no case row), and a decision on
-- a referral locks the case row after the referral row and before changing it: a
-- decision waits for the writes in flight on its case, and the writes after it see it
-- (a write that checked before it and inserts after it is refused by row-level security,
-- answered PERMISSION_DENIED, nothing saved). Writers never lock a referral, so this
-- order has no cycle.
CREATE OR REPLACE FUNCTION add_case_note(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_occurred_on date, p_text_enc bytea,
    OUT event_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_case bigint;
BEGIN
    SELECT e.event_id, e.request_hash INTO event_id, v_hash FROM case_events e
     WHERE e.org_id = p_org_id AND e.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    SELECT c.case_id INTO v_case FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference FOR KEY SHARE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, text_enc,
                             idempotency_key, request_hash)
    VALUES (p_org_id, v_case, 'note', p_occurred_on, p_user_id, p_text_enc,
            p_idempotency_key, p_request_hash)
    RETURNING case_events.event_id INTO event_id;
    outcome := 'added';
END;
$$;

CREATE OR REPLACE FUNCTION add_intervention(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_occurred_on date, p_kind text, p_text_enc bytea,
    OUT event_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_case bigint;
BEGIN
    SELECT e.event_id, e.request_hash INTO event_id, v_hash FROM case_events e
     WHERE e.org_id = p_org_id AND e.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    SELECT c.case_id INTO v_case FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference AND c.kind = 'deportation'
       FOR KEY SHARE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, detail,
                             text_enc, idempotency_key, request_hash)
    VALUES (p_org_id, v_case, 'intervention', p_occurred_on, p_user_id, p_kind, p_text_enc,
            p_idempotency_key, p_request_hash)
    RETURNING case_events.event_id INTO event_id;
    outcome := 'added';
END;
$$;

CREATE OR REPLACE FUNCTION decide_referral(
    p_user_id bigint, p_referral_id bigint, p_expected_version bigint, p_decision text,
    p_reason_enc bytea, p_event_text_enc bytea, p_event_key bytea, p_request_hash bytea,
    OUT outcome text, OUT detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v record;
    v_org bigint := tulay_org();
    v_hash bytea;
    v_partner text;
BEGIN
    IF v_org IS NULL OR tulay_role() = 'coordinator' OR p_user_id IS DISTINCT FROM tulay_user()
       OR p_decision NOT IN ('accepted', 'declined', 'revoked') THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT r.* INTO v FROM referrals r
     WHERE r.referral_id = p_referral_id AND v_org IN (r.org_id, r.to_org_id) FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    -- A barrier for the partner's writes: they hold the case row (at least KEY SHARE)
    -- from their access check to their commit, so a decision waits for those in flight,
    -- and those after it see it.
    PERFORM 1 FROM cases c WHERE c.org_id = v.org_id AND c.case_id = v.case_id FOR UPDATE;
    SELECT e.request_hash INTO v_hash FROM case_events e
     WHERE e.org_id = v.org_id AND e.idempotency_key = p_event_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    IF (p_decision = 'revoked') <> (v_org = v.org_id) THEN
        outcome := 'not_yours';
        RETURN;
    END IF;
    IF p_expected_version <> 0 AND v.version <> p_expected_version THEN
        outcome := 'stale';
        detail := v.version::text;
        RETURN;
    END IF;
    IF (p_decision IN ('accepted', 'declined') AND v.status <> 'proposed') OR
       (p_decision = 'revoked' AND v.status NOT IN ('proposed', 'accepted')) THEN
        outcome := 'illegal';
        detail := v.status;
        RETURN;
    END IF;
    IF p_decision = 'revoked' THEN
        UPDATE referrals SET status = 'revoked', revoke_reason_enc = p_reason_enc,
               revoked_by = p_user_id, revoked_at = now(), version = version + 1
         WHERE referrals.referral_id = p_referral_id;
    ELSE
        UPDATE referrals SET status = p_decision, decision_reason_enc = p_reason_enc,
               decided_by = p_user_id, decided_at = now(), version = version + 1
         WHERE referrals.referral_id = p_referral_id;
    END IF;
    SELECT o.acronym INTO v_partner FROM organisations o WHERE o.org_id = v.to_org_id;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by, detail,
                             text_enc, idempotency_key, request_hash)
    VALUES (v.org_id, v.case_id, 'referral_' || p_decision, (now() AT TIME ZONE 'UTC')::date,
            p_user_id, v_partner, p_event_text_enc, p_event_key, p_request_hash);
    outcome := 'changed';
END;
$$;
