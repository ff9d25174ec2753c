-- The data key's check value (issue 14: backups keep the key apart from the dump, so a
-- restore can pair a dump with the wrong key). Nothing tied the key to the database: a
-- tulayd started with another key served, answered DATA_LOSS for every worker's name,
-- found nothing by ID number, and sealed new names under the wrong key, mixing two keys in
-- one database. tulayd now records a check value derived from its key (libsodium's KDF,
-- a subkey used for nothing else, so it tells nothing about the others) the first time it
-- serves (if the database holds personal data already, only a key that opens it), and
-- refuses to serve with a key whose value differs. `tulayd keycheck` compares
-- a key file with it (scripts/restore.sh runs it).
CREATE TABLE data_key_check (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    key_check bytea NOT NULL CHECK (length(key_check) = 32),
    recorded_at timestamptz NOT NULL DEFAULT now()
);
-- tulayd records it once (INSERT ... ON CONFLICT DO NOTHING) and reads it, at start, before
-- any tenant context; it never changes or removes it. Not tenant data: the policies let
-- tulay_app read and insert, nothing else (every table has row-level security forced).
GRANT SELECT, INSERT ON data_key_check TO tulay_app;
ALTER TABLE data_key_check ENABLE ROW LEVEL SECURITY;
ALTER TABLE data_key_check FORCE ROW LEVEL SECURITY;
CREATE POLICY data_key_check_read ON data_key_check FOR SELECT USING (true);
CREATE POLICY data_key_check_record ON data_key_check FOR INSERT WITH CHECK (true);

-- One sealed worker name, for a database that holds personal data but no check value yet
-- (one made before 0025, or restored from a dump of one): tulayd records its key's check
-- value there only if the key opens this, and `tulayd keycheck` tries it. A ciphertext is
-- useless without the key; tulay_app reads this one, without a tenant context, through
-- this function only.
CREATE FUNCTION data_key_sample(OUT org_id bigint, OUT idempotency_key bytea,
                                OUT sealed bytea)
RETURNS SETOF record LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
AS $$
    SELECT c.org_id, c.idempotency_key, w.worker_name_enc
      FROM wage_theft_claims w JOIN cases c USING (org_id, case_id)
     WHERE w.worker_name_enc IS NOT NULL
     ORDER BY c.org_id, c.case_id
     LIMIT 1
$$;
REVOKE ALL ON FUNCTION data_key_sample() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION data_key_sample() TO tulay_app;
