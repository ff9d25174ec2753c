-- Networks of organisations: memberships (with roles, dates, and whether the member's
-- aggregates count upward) and field offices. Both are directory data, readable by anyone
-- with a tenant context; written by admins and by the organisations' own org admins.

CREATE TABLE memberships (
    membership_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_org        bigint NOT NULL REFERENCES organisations (org_id),
    network_org       bigint NOT NULL REFERENCES organisations (org_id),
    role              text NOT NULL CHECK (role IN ('member', 'focal_point', 'partner',
                          'secretariat')),
    since             date NOT NULL,
    until             date,
    shares_aggregates boolean NOT NULL DEFAULT true,
    version           bigint NOT NULL DEFAULT 1,
    idempotency_key   bytea CHECK (length(idempotency_key) = 16),
    request_hash      bytea CHECK (length(request_hash) = 32),
    created_by        bigint NOT NULL REFERENCES users (user_id),
    CONSTRAINT memberships_not_self CHECK (member_org <> network_org),
    CONSTRAINT memberships_period CHECK (until IS NULL OR until >= since),
    CONSTRAINT memberships_idempotency_key UNIQUE (network_org, idempotency_key)
);
-- One current membership per pair.
CREATE UNIQUE INDEX memberships_current ON memberships (member_org, network_org)
    WHERE until IS NULL;
CREATE INDEX memberships_network ON memberships (network_org);

CREATE TABLE offices (
    org_id            bigint NOT NULL REFERENCES organisations (org_id),
    office_id         bigint GENERATED ALWAYS AS IDENTITY,
    name              text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    city              text NOT NULL CHECK (char_length(city) BETWEEN 1 AND 100),
    country           char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    idempotency_key   bytea NOT NULL CHECK (length(idempotency_key) = 16),
    request_hash      bytea NOT NULL CHECK (length(request_hash) = 32),
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, office_id),
    CONSTRAINT offices_name UNIQUE (org_id, name),
    CONSTRAINT offices_idempotency_key UNIQUE (org_id, idempotency_key)
);

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
ALTER TABLE offices ENABLE ROW LEVEL SECURITY;
ALTER TABLE offices FORCE ROW LEVEL SECURITY;

CREATE POLICY memberships_read ON memberships FOR SELECT USING (tulay_org() IS NOT NULL);
CREATE POLICY memberships_insert ON memberships FOR INSERT
    WITH CHECK (tulay_role() = 'admin'
                OR (tulay_role() = 'org_admin' AND network_org = tulay_org()));
CREATE POLICY memberships_update ON memberships FOR UPDATE
    USING (tulay_role() = 'admin'
           OR (tulay_role() = 'org_admin' AND tulay_org() IN (network_org, member_org)))
    WITH CHECK (tulay_role() = 'admin'
           OR (tulay_role() = 'org_admin' AND tulay_org() IN (network_org, member_org)));
CREATE POLICY offices_read ON offices FOR SELECT USING (tulay_org() IS NOT NULL);
CREATE POLICY offices_insert ON offices FOR INSERT
    WITH CHECK (tulay_role() = 'admin' OR (tulay_role() = 'org_admin' AND org_id = tulay_org()));

GRANT SELECT, INSERT ON memberships, offices TO tulay_app;
GRANT UPDATE (until, version) ON memberships TO tulay_app;

-- The organisations `p_org` belongs to, at every level, with how far up and through
-- which organisation: the networks whose reports include it. Current memberships only.
CREATE FUNCTION network_ancestors(p_org bigint)
RETURNS TABLE (org_id bigint, depth integer, via bigint)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up (org_id, depth, via) AS (
        SELECT m.network_org, 1, NULL::bigint
          FROM memberships m
         WHERE m.member_org = p_org AND (m.until IS NULL OR m.until > current_date)
        UNION
        SELECT m.network_org, up.depth + 1, up.org_id
          FROM memberships m JOIN up ON m.member_org = up.org_id
         WHERE (m.until IS NULL OR m.until > current_date) AND up.depth < 32
    )
    SELECT DISTINCT ON (up.org_id) up.org_id, up.depth, up.via
      FROM up ORDER BY up.org_id, up.depth
$$;

-- Every organisation below `p_org` (its members, their members, ...).
CREATE FUNCTION network_descendants(p_org bigint)
RETURNS TABLE (org_id bigint, depth integer, via bigint)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE down (org_id, depth, via) AS (
        SELECT m.member_org, 1, NULL::bigint
          FROM memberships m
         WHERE m.network_org = p_org AND (m.until IS NULL OR m.until > current_date)
        UNION
        SELECT m.member_org, down.depth + 1, down.org_id
          FROM memberships m JOIN down ON m.network_org = down.org_id
         WHERE (m.until IS NULL OR m.until > current_date) AND down.depth < 32
    )
    SELECT DISTINCT ON (down.org_id) down.org_id, down.depth, down.via
      FROM down ORDER BY down.org_id, down.depth
$$;

-- Adds a membership idempotently. Outcomes: 'created', 'replayed', 'key_reused',
-- 'unknown_network', 'unknown_member',
-- 'self' (an organisation cannot be its own member), 'cycle' (the network is already,
-- at some level, a member of the new member), 'exists' (a current membership of this
-- pair exists). Membership changes are serialised by an advisory lock, so two
-- concurrent additions cannot close a cycle between them.
CREATE FUNCTION add_membership(
    p_idempotency_key bytea, p_request_hash bytea, p_network bigint, p_member bigint,
    p_role text, p_since date, p_shares boolean, p_user bigint,
    OUT membership_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(7420006);
    SELECT m.membership_id, m.request_hash INTO membership_id, v_hash
      FROM memberships m
     WHERE m.network_org = p_network AND m.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    IF p_network IS NULL THEN
        outcome := 'unknown_network';
        RETURN;
    END IF;
    IF p_member IS NULL THEN
        outcome := 'unknown_member';
        RETURN;
    END IF;
    IF p_network = p_member THEN
        outcome := 'self';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM network_ancestors(p_network) a WHERE a.org_id = p_member) THEN
        outcome := 'cycle';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM memberships m WHERE m.member_org = p_member
                  AND m.network_org = p_network AND m.until IS NULL) THEN
        outcome := 'exists';
        RETURN;
    END IF;
    INSERT INTO memberships (member_org, network_org, role, since, shares_aggregates,
                             idempotency_key, request_hash, created_by)
    VALUES (p_member, p_network, p_role, p_since, p_shares, p_idempotency_key,
            p_request_hash, p_user)
    RETURNING memberships.membership_id INTO membership_id;
    outcome := 'created';
END;
$$;

GRANT EXECUTE ON FUNCTION network_ancestors(bigint), network_descendants(bigint),
    add_membership(bytea, bytea, bigint, bigint, text, date, boolean, bigint) TO tulay_app;
