-- The foreign keys that 0019 replaced, dropped (issue 11).
--
-- 0019 added the per-statement reference checks and the rules that make them safe
-- (organisations, users and cases are never deleted nor re-keyed), but its final version
-- lost the statement that dropped the foreign keys they replace, so every CreateClaim
-- still took its five FOR KEY SHARE row locks, and paid for the new checks as well. Found
-- with pg_stat_statements (track = all) under the write benchmark: one
-- "SELECT ... FROM ONLY organisations x ... FOR KEY SHARE OF x" per claim, two on users
-- and two on cases. Dropping them made CreateClaim at 16 clients over 16 organisations
-- about 18% faster in interleaved runs on one cluster.
--
-- The constraint names stay in use: the checks of 0019 raise foreign_key_violation under
-- them.

ALTER TABLE cases DROP CONSTRAINT cases_org_id_fkey, DROP CONSTRAINT cases_created_by_fkey;
ALTER TABLE case_events DROP CONSTRAINT case_events_org_id_case_id_fkey,
                        DROP CONSTRAINT case_events_recorded_by_fkey;
ALTER TABLE wage_theft_claims DROP CONSTRAINT wage_theft_claims_org_id_case_id_fkey;
ALTER TABLE deportations DROP CONSTRAINT deportations_org_id_case_id_fkey;
ALTER TABLE recommendations DROP CONSTRAINT recommendations_org_id_case_id_fkey;
