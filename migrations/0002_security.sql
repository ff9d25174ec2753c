-- Security: row-level security on every table tulayd serves from, a tenant context set
-- per transaction, SECURITY DEFINER entry points for what must run before a tenant is
-- known (login, session lookup), user versions for optimistic updates, and the
-- hash-chained audit log.
--
-- Roles (cluster-wide, created by whoever creates the database, not by migrations):
--   the owner (runs migrations, owns every object, BYPASSRLS: the only role that may),
--   tulay_app (tulayd's login: owns nothing, not superuser, no BYPASSRLS, not a member
--   of the owner). This migration grants tulay_app exactly what tulayd needs.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tulay_app') THEN
        RAISE EXCEPTION 'role tulay_app does not exist: create it first '
            '(CREATE ROLE tulay_app LOGIN; it must own nothing and must not bypass RLS)';
    END IF;
END
$$;

-- The tenant context: set with set_config(name, value, true) at the start of every
-- transaction tulayd runs, so it ends with the transaction and a pooled connection never
-- carries the previous request's organisation. Without it, the functions return NULL and
-- every policy below matches nothing.
CREATE FUNCTION tulay_org() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('tulay.org_id', true), '')::bigint $$;
CREATE FUNCTION tulay_user() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('tulay.user_id', true), '')::bigint $$;
CREATE FUNCTION tulay_role() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('tulay.role', true), '') $$;

-- Users get a version for optimistic updates (disable, password change).
ALTER TABLE users ADD COLUMN version bigint NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN idempotency_key bytea UNIQUE
    CHECK (length(idempotency_key) = 16);
ALTER TABLE users ADD COLUMN request_hash bytea CHECK (length(request_hash) = 32);

-- Claims are read through the view with the caller's rights, so RLS applies to it.
ALTER VIEW wage_theft_claim_view SET (security_invoker = true);

-- --- row-level security -------------------------------------------------------------
ALTER TABLE organisations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organisations FORCE ROW LEVEL SECURITY;
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
ALTER TABLE case_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_counters FORCE ROW LEVEL SECURITY;
ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
ALTER TABLE cases FORCE ROW LEVEL SECURITY;
ALTER TABLE wage_theft_claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE wage_theft_claims FORCE ROW LEVEL SECURITY;

-- The directory of organisations is readable by anyone with a tenant context; only
-- admins register or change organisations.
CREATE POLICY organisations_read ON organisations FOR SELECT
    USING (tulay_org() IS NOT NULL);
CREATE POLICY organisations_insert ON organisations FOR INSERT
    WITH CHECK (tulay_role() = 'admin');
CREATE POLICY organisations_update ON organisations FOR UPDATE
    USING (tulay_role() = 'admin') WITH CHECK (tulay_role() = 'admin');

-- Users: an organisation's own users are visible to it; org admins manage their own
-- organisation's users (never admins), admins everyone; a user may update their own row
-- (password change).
CREATE POLICY users_read ON users FOR SELECT
    USING (org_id = tulay_org() OR tulay_role() = 'admin');
CREATE POLICY users_insert ON users FOR INSERT
    WITH CHECK (tulay_role() = 'admin'
                OR (tulay_role() = 'org_admin' AND org_id = tulay_org() AND role <> 'admin'));
CREATE POLICY users_update ON users FOR UPDATE
    USING (tulay_role() = 'admin' OR user_id = tulay_user()
           OR (tulay_role() = 'org_admin' AND org_id = tulay_org() AND role <> 'admin'))
    WITH CHECK (tulay_role() = 'admin' OR user_id = tulay_user()
           OR (tulay_role() = 'org_admin' AND org_id = tulay_org() AND role <> 'admin'));

-- Sessions belong to their user; admins (anyone's) and org admins (their organisation's
-- non-admins) may end others' sessions, which disabling a user does.
CREATE POLICY sessions_own ON sessions FOR ALL
    USING (user_id = tulay_user()) WITH CHECK (user_id = tulay_user());
CREATE POLICY sessions_managed ON sessions FOR UPDATE
    USING (tulay_role() = 'admin'
           OR (tulay_role() = 'org_admin' AND user_id IN (
               SELECT u.user_id FROM users u WHERE u.org_id = tulay_org() AND u.role <> 'admin')))
    WITH CHECK (true);

-- Tenant tables: the caller's organisation only, for every command.
CREATE POLICY case_counters_tenant ON case_counters FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY cases_tenant ON cases FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY wage_theft_claims_tenant ON wage_theft_claims FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());

-- --- before a tenant is known -------------------------------------------------------
-- Login must find a user by name and Authenticate a session by token hash before any
-- tenant context exists. These functions run with the owner's rights and return only
-- the one row asked for.
CREATE FUNCTION login_lookup(p_username text)
RETURNS TABLE (user_id bigint, org_id bigint, password_hash text, role text,
               acronym text, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.user_id, u.org_id, u.password_hash, u.role, o.acronym,
           u.disabled_at IS NOT NULL
      FROM users u JOIN organisations o ON o.org_id = u.org_id
     WHERE u.username = p_username
$$;

CREATE FUNCTION session_lookup(p_token_hash bytea)
RETURNS TABLE (user_id bigint, org_id bigint, username text, role text, acronym text,
               expires_at bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT s.user_id, u.org_id, u.username, u.role, o.acronym,
           extract(epoch FROM s.expires_at)::bigint
      FROM sessions s JOIN users u ON u.user_id = s.user_id
      JOIN organisations o ON o.org_id = u.org_id
     WHERE s.token_hash = p_token_hash AND s.ended_at IS NULL AND s.expires_at > now()
       AND u.disabled_at IS NULL
$$;

-- --- audit ----------------------------------------------------------------------------
-- Append-only and hash-chained: row n's hash is SHA-256(hash of row n-1 || payload of
-- row n), payload being every column as length:value; pairs (see audit_payload). The
-- head row holds the last sequence number and hash; appends serialise on its row lock, so
-- the chain has no forks. tulayd can only append, through audit_append(); it can neither
-- read nor change the log. `tulayd audit verify` recomputes the chain independently and
-- reports the first broken link: an edited, deleted, reordered or truncated row.
CREATE TABLE audit_log (
    seq         bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    org_id      bigint,
    user_id     bigint,
    action      text NOT NULL,
    target      text NOT NULL,
    detail      text NOT NULL,
    hash        bytea NOT NULL
);
CREATE TABLE audit_head (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq         bigint NOT NULL,
    hash        bytea NOT NULL
);
-- No policies: only the owner (through audit_append and tulayd audit verify) touches them.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_head ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_head FORCE ROW LEVEL SECURITY;
INSERT INTO audit_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_payload(p_seq bigint, p_at timestamptz, p_org bigint, p_user bigint,
                              p_action text, p_target text, p_detail text)
RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT convert_to(
        octet_length(p_seq::text) || ':' || p_seq::text || ';' ||
        octet_length(x.at_us) || ':' || x.at_us || ';' ||
        octet_length(coalesce(p_org::text, '')) || ':' || coalesce(p_org::text, '') || ';' ||
        octet_length(coalesce(p_user::text, '')) || ':' || coalesce(p_user::text, '') || ';' ||
        octet_length(p_action) || ':' || p_action || ';' ||
        octet_length(p_target) || ':' || p_target || ';' ||
        octet_length(p_detail) || ':' || p_detail || ';', 'UTF8')
      FROM (SELECT ((extract(epoch FROM p_at) * 1000000)::bigint)::text AS at_us) x
$$;

-- Appends one entry for the current transaction's tenant context (organisation and user
-- from tulay.org_id / tulay.user_id, which may be unset, e.g. for a failed login).
CREATE FUNCTION audit_append(p_action text, p_target text, p_detail text)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_seq bigint;
    v_hash bytea;
    v_at timestamptz := date_trunc('microseconds', clock_timestamp());
    v_org bigint := tulay_org();
    v_user bigint := tulay_user();
    v_target text := coalesce(p_target, '');
    v_detail text := coalesce(p_detail, '');
BEGIN
    UPDATE audit_head
       SET seq = seq + 1,
           hash = sha256(hash || audit_payload(seq + 1, v_at, v_org, v_user, p_action,
                                               v_target, v_detail))
     RETURNING seq, hash INTO v_seq, v_hash;
    INSERT INTO audit_log (seq, at, org_id, user_id, action, target, detail, hash)
    VALUES (v_seq, v_at, v_org, v_user, p_action, v_target, v_detail, v_hash);
    RETURN v_seq;
END;
$$;

-- --- what tulayd may do ---------------------------------------------------------------
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tulay_app;
GRANT SELECT ON schema_migrations TO tulay_app;
GRANT SELECT, INSERT, UPDATE ON organisations, users, sessions, case_counters, cases,
    wage_theft_claims TO tulay_app;
GRANT SELECT ON wage_theft_claim_view TO tulay_app;
GRANT EXECUTE ON FUNCTION tulay_org(), tulay_user(), tulay_role(),
    login_lookup(text), session_lookup(bytea), audit_append(text, text, text),
    create_wage_theft_claim(bigint, bigint, bytea, bytea, text, text, text, text, date,
                            date, bigint, text, integer),
    create_organisation(bytea, bytea, text, text, text, text)
    TO tulay_app;
