-- The seed of the export benchmark (bench/export_bench.sh): N claims for one organisation,
-- inserted set-based as the superuser with triggers off (session_replication_role =
-- replica), because a million claims through create_wage_theft_claim would take most of an
-- hour. An export reads cases and wage_theft_claims (wage_theft_claim_view) and nothing the
-- triggers write (timeline events, report deltas), so the rows it reads are as tulayd's.
-- References are of 2025 and case_ids start at 100,000,001: no claim tulayd logs later
-- can collide with them.
--
--   psql -U postgres -v claims=N -v org=ACRONYM -v username=USER -f bench/export_seed.sql
\set ON_ERROR_STOP 1
SET session_replication_role = replica;
SET synchronous_commit = off;
SELECT o.org_id AS org_id, u.user_id AS user_id
  FROM organisations o JOIN users u ON u.org_id = o.org_id AND u.username = :'username'
 WHERE o.acronym = :'org' \gset
INSERT INTO cases (org_id, case_id, reference, kind, status, opened_on, created_by,
                   idempotency_key, request_hash) OVERRIDING SYSTEM VALUE
SELECT :org_id, 100000000 + i, 'WT-2025-' || lpad(i::text, 7, '0'), 'wage_theft',
       (ARRAY['intake', 'filed', 'in_mediation'])[1 + i % 3], date '2025-01-01' + i % 365,
       :user_id, uuid_send(gen_random_uuid()), sha256(int8send(i))
  FROM generate_series(1, :claims) i;
INSERT INTO wage_theft_claims (org_id, case_id, worker_nationality, country_of_work, sector,
                               employer, work_started_on, work_ended_on,
                               amount_claimed_minor, amount_claimed_currency, workers,
                               recruitment_agency, recruitment_fee_minor,
                               recruitment_fee_currency, exploitation_means)
SELECT :org_id, 100000000 + i, 'KH', 'TH', 'construction', 'Siam Build Co ' || i % 1000,
       '2024-01-01', '2024-06-30', 4500000 + i, 'THB', 1 + i % 5, 'Phnom Penh Manpower',
       150000, 'USD', ARRAY['id_confiscated', 'illegal_deductions']
  FROM generate_series(1, :claims) i;
VACUUM (ANALYZE) cases, wage_theft_claims;
