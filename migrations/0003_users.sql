-- User management through tulayd: idempotent creation, run with the caller's rights so the
-- users policies of 0002 decide who may create whom.

-- Outcomes: 'created'; 'replayed' (this key created this user before, same request);
-- 'key_reused' (the key belongs to another request); 'username_taken'.
CREATE FUNCTION create_user(
    p_idempotency_key bytea, p_request_hash bytea, p_org_id bigint, p_username text,
    p_password_hash text, p_role text,
    OUT user_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_constraint text;
BEGIN
    SELECT u.user_id, u.request_hash INTO user_id, v_hash
      FROM users u WHERE u.idempotency_key = p_idempotency_key;
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
        ELSIF v_constraint = 'users_idempotency_key_key' THEN
            SELECT u.user_id, u.request_hash INTO STRICT user_id, v_hash
              FROM users u WHERE u.idempotency_key = p_idempotency_key;
            outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        ELSE
            RAISE;
        END IF;
    END;
END;
$$;

REVOKE ALL ON FUNCTION create_user(bytea, bytea, bigint, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION create_user(bytea, bytea, bigint, text, text, text) TO tulay_app;
