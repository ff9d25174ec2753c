-- The prefill of the write benchmark (bench/write_bench.sh --prefill N): N claims for one
-- organisation, made by the same function tulayd's CreateClaim calls
-- (create_wage_theft_claim), so every trigger runs as for a real claim (its 'opened'
-- event, its report rollups) and the references and counters come out as tulayd's would.
-- What tulayd adds and this does not: the audit log entry, and sealed worker details
-- (the benchmark's claims have none either).
--
--   psql -v claims=N -v org=ACRONYM -v username=USER -f bench/claim_prefill.sql
--
-- Run as the database owner (it bypasses row-level security). One transaction per claim,
-- as tulayd commits them: updating the same counter and rollup rows thousands of times in
-- one transaction makes every update walk all the row's earlier versions (quadratic;
-- 10000 claims in one transaction take tens of minutes). synchronous_commit is off for
-- this session only: the prefill is set-up, not measured, and a crash only loses it.
\set ON_ERROR_STOP 1
SET synchronous_commit = off;
SELECT set_config('bench.prefill', :'claims', false),
       set_config('bench.org_id', o.org_id::text, false),
       set_config('bench.user_id', u.user_id::text, false)
  FROM organisations o
  JOIN users u ON u.org_id = o.org_id AND u.username = :'username'
 WHERE o.acronym = :'org' \gset
DO $$
DECLARE
    v_org bigint := current_setting('bench.org_id')::bigint;
    v_user bigint := current_setting('bench.user_id')::bigint;
    v_claims integer := current_setting('bench.prefill')::integer;
    v_outcome text;
BEGIN
    FOR i IN 1 .. v_claims LOOP
        -- The claim of bench/claim_bench.c and ../shared/bench/pgbench_claim.sql; the
        -- idempotency key is 16 random bytes, the request fingerprint 32.
        SELECT outcome INTO v_outcome
          FROM create_wage_theft_claim(v_org, v_user, uuid_send(gen_random_uuid()),
                 sha256(uuid_send(gen_random_uuid())), 'KH', 'TH', 'construction',
                 'Siam Build Co', '2026-01-01', '2026-04-30', 4500000, 'THB', 1,
                 NULL, NULL, NULL, NULL);
        IF v_outcome IS DISTINCT FROM 'created' THEN
            RAISE EXCEPTION 'prefill claim %: create_wage_theft_claim answered %', i, v_outcome;
        END IF;
        COMMIT;
    END LOOP;
END
$$;
