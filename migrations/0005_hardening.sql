-- Hardening after the security review of 0002-0004.

-- Nobody but the owner creates objects in the schema (PostgreSQL 15 already revokes it
-- from PUBLIC; older servers do not, and a SECURITY DEFINER function could then pick up an
-- operator planted by tulay_app). Functions added later are not executable by PUBLIC.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Enter a transaction as a session's user. Raises (SQLSTATE 28000) unless the session is
-- alive (not ended, not expired, user not disabled) and still belongs to this user, in
-- this organisation, with this role: then the whole transaction, audit entry included,
-- is rolled back and tulayd answers UNAUTHENTICATED. Sets the tenant context from the
-- database's own row, never from what tulayd remembered.
CREATE FUNCTION tulay_enter(p_token_hash bytea, p_org_id bigint, p_user_id bigint,
                            p_role text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v record;
BEGIN
    SELECT s.user_id, u.org_id, u.role INTO v
      FROM sessions s JOIN users u ON u.user_id = s.user_id
     WHERE s.token_hash = p_token_hash AND s.ended_at IS NULL AND s.expires_at > now()
       AND u.disabled_at IS NULL;
    IF NOT FOUND OR v.user_id <> p_user_id OR v.org_id <> p_org_id OR v.role <> p_role THEN
        RAISE EXCEPTION 'session ended, expired or changed' USING ERRCODE = '28000';
    END IF;
    PERFORM set_config('tulay.org_id', v.org_id::text, true),
            set_config('tulay.user_id', v.user_id::text, true),
            set_config('tulay.role', v.role, true);
END;
$$;
REVOKE ALL ON FUNCTION tulay_enter(bytea, bigint, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tulay_enter(bytea, bigint, bigint, text) TO tulay_app;

-- Admins and org admins must see the sessions they may end (an UPDATE only reaches rows
-- its SELECT policies show): disabling a user really ends their sessions in the table.
CREATE POLICY sessions_managed_read ON sessions FOR SELECT
    USING (tulay_role() = 'admin'
           OR (tulay_role() = 'org_admin' AND user_id IN (
               SELECT u.user_id FROM users u WHERE u.org_id = tulay_org() AND u.role <> 'admin')));

-- tulay_app may change only the columns its requests change. Identities (organisation,
-- keys, who created what, a user's role and name) are immutable to it: no self-promotion
-- to admin, and no swapping the idempotency key a ciphertext's associated data is bound to.
REVOKE UPDATE ON organisations, users, sessions, case_counters, cases, wage_theft_claims
    FROM tulay_app;
GRANT UPDATE (name, kind, country, version) ON organisations TO tulay_app;
GRANT UPDATE (password_hash, version, disabled_at) ON users TO tulay_app;
GRANT UPDATE (ended_at) ON sessions TO tulay_app;
GRANT UPDATE (last_value) ON case_counters TO tulay_app;
GRANT UPDATE (status, closed_on, version, updated_at) ON cases TO tulay_app;
GRANT UPDATE (worker_nationality, country_of_work, sector, employer, work_started_on,
              work_ended_on, amount_claimed_minor, amount_claimed_currency, workers,
              worker_name_enc, worker_id_number_enc, worker_phone_enc,
              worker_id_number_index) ON wage_theft_claims TO tulay_app;

-- A user's idempotency key is unique within their organisation (as a case's is), so one
-- organisation's keys neither collide with nor reveal another's.
ALTER TABLE users DROP CONSTRAINT users_idempotency_key_key;
ALTER TABLE users ADD CONSTRAINT users_idempotency_key UNIQUE (org_id, idempotency_key);

CREATE OR REPLACE FUNCTION create_user(
    p_idempotency_key bytea, p_request_hash bytea, p_org_id bigint, p_username text,
    p_password_hash text, p_role text,
    OUT user_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_constraint text;
BEGIN
    SELECT u.user_id, u.request_hash INTO user_id, v_hash
      FROM users u WHERE u.org_id = p_org_id AND u.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    BEGIN
        INSERT INTO users (org_id, username, password_hash, role, idempotency_key, request_hash)
        VALUES (p_org_id, p_username, p_password_hash, p_role, p_idempotency_key,
                p_request_hash)
        RETURNING users.user_id INTO user_id;
        outcome := 'created';
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'users_username_key' THEN
            user_id := NULL;
            outcome := 'username_taken';
        ELSIF v_constraint = 'users_idempotency_key' THEN
            SELECT u.user_id, u.request_hash INTO STRICT user_id, v_hash
              FROM users u WHERE u.org_id = p_org_id AND u.idempotency_key = p_idempotency_key;
            outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        ELSE
            RAISE;
        END IF;
    END;
END;
$$;
