-- Memberships take both sides' consent (issue 12, finding 1).
--
-- Until now a network's org admin could make any organisation a member that shares its
-- aggregates, and its coordinators then read that organisation's figures in the network's
-- reports: the member was never asked. Now a membership starts as a proposal by one side
-- and takes effect only when the other side's org admin, or an admin, accepts it. It can
-- be declined by the other side or withdrawn by the proposing one, and, once in effect,
-- ended by either (EndMembership, as before). An admin's own proposal takes effect at
-- once: admins act for both sides.
--
-- membership_proposals holds every proposal and what became of it: who proposed it,
-- who decided, when. memberships keeps meaning "in effect": a row is written there only
-- when a proposal is accepted, so every reader of memberships (report_scope,
-- report_members, network_ancestors and _descendants, report_refresh_next) stays as it
-- was and can never count a proposal. Memberships that exist already become accepted
-- proposals (they were made by admins or by the network's org admin), with the user who
-- made them as proposer and no times (consent was not recorded then).
--
-- Locks: proposing, accepting and declining take the advisory lock (7420006) that
-- add_membership took, so a cycle cannot be closed by two decisions at once; EndMembership
-- updates one memberships row. Neither touches anything a case write needs.

CREATE TABLE membership_proposals (
    proposal_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_org        bigint NOT NULL REFERENCES organisations (org_id),
    network_org       bigint NOT NULL REFERENCES organisations (org_id),
    role              text NOT NULL CHECK (role IN ('member', 'focal_point', 'partner',
                          'secretariat')),
    since             date NOT NULL,
    shares_aggregates boolean NOT NULL,
    -- The side that proposed it; NULL: an admin, for both sides.
    proposed_by_org   bigint REFERENCES organisations (org_id),
    proposed_by       bigint NOT NULL REFERENCES users (user_id),
    proposed_at       timestamptz,  -- NULL: made before 0015
    state             text NOT NULL DEFAULT 'proposed'
                          CHECK (state IN ('proposed', 'accepted', 'declined', 'withdrawn')),
    decided_by        bigint REFERENCES users (user_id),
    decided_at        timestamptz,
    membership_id     bigint UNIQUE REFERENCES memberships (membership_id),
    idempotency_key   bytea CHECK (length(idempotency_key) = 16),
    request_hash      bytea CHECK (length(request_hash) = 32),
    CONSTRAINT membership_proposals_not_self CHECK (member_org <> network_org),
    CONSTRAINT membership_proposals_side CHECK (proposed_by_org IN (member_org, network_org)),
    CONSTRAINT membership_proposals_accepted
        CHECK ((state = 'accepted') = (membership_id IS NOT NULL)),
    CONSTRAINT membership_proposals_decided
        CHECK (state IN ('proposed', 'accepted') OR decided_by IS NOT NULL),
    CONSTRAINT membership_proposals_idempotency_key UNIQUE (network_org, idempotency_key)
);
-- One open proposal per pair.
CREATE UNIQUE INDEX membership_proposals_open ON membership_proposals (member_org, network_org)
    WHERE state = 'proposed';
CREATE INDEX membership_proposals_member ON membership_proposals (member_org);

INSERT INTO membership_proposals (member_org, network_org, role, since, shares_aggregates,
                                  proposed_by_org, proposed_by, state, membership_id,
                                  idempotency_key, request_hash)
SELECT m.member_org, m.network_org, m.role, m.since, m.shares_aggregates,
       CASE WHEN u.role = 'admin' THEN NULL ELSE m.network_org END, m.created_by,
       'accepted', m.membership_id, m.idempotency_key, m.request_hash
  FROM memberships m JOIN users u ON u.user_id = m.created_by
 ORDER BY m.membership_id;

-- The proposal now holds the request's key; memberships are written only by acceptance.
ALTER TABLE memberships DROP COLUMN idempotency_key, DROP COLUMN request_hash,
    ADD COLUMN ended_by bigint REFERENCES users (user_id),
    ADD COLUMN ended_at timestamptz;
COMMENT ON COLUMN memberships.created_by IS 'who accepted it (0015); before 0015, who made it';

ALTER TABLE membership_proposals ENABLE ROW LEVEL SECURITY;
ALTER TABLE membership_proposals FORCE ROW LEVEL SECURITY;
-- An accepted proposal is the record of a membership anyone may see in the directory;
-- open, declined and withdrawn ones only the two sides and admins see.
CREATE POLICY membership_proposals_read ON membership_proposals FOR SELECT
    USING (tulay_org() IS NOT NULL
           AND (state = 'accepted' OR tulay_role() = 'admin'
                OR tulay_org() IN (network_org, member_org)));
CREATE POLICY membership_proposals_insert ON membership_proposals FOR INSERT
    WITH CHECK (tulay_role() = 'admin'
                OR (tulay_role() = 'org_admin' AND proposed_by_org = tulay_org()));
CREATE POLICY membership_proposals_update ON membership_proposals FOR UPDATE
    USING (tulay_role() = 'admin'
           OR (tulay_role() = 'org_admin' AND tulay_org() IN (network_org, member_org)))
    WITH CHECK (tulay_role() = 'admin'
           OR (tulay_role() = 'org_admin' AND tulay_org() IN (network_org, member_org)));
GRANT SELECT, INSERT ON membership_proposals TO tulay_app;
GRANT UPDATE (state, decided_by, decided_at, membership_id) ON membership_proposals
    TO tulay_app;

-- A membership takes effect only as the other side's acceptance of an open proposal (or
-- by an admin): the network's org admin can no longer write one alone.
DROP POLICY memberships_insert ON memberships;
CREATE POLICY memberships_insert ON memberships FOR INSERT
    WITH CHECK (tulay_role() = 'admin'
                OR (tulay_role() = 'org_admin' AND tulay_org() IN (network_org, member_org)
                    AND EXISTS (SELECT 1 FROM membership_proposals p
                                 WHERE p.network_org = memberships.network_org
                                   AND p.member_org = memberships.member_org
                                   AND p.state = 'proposed'
                                   AND p.proposed_by_org <> tulay_org())));
GRANT UPDATE (ended_by, ended_at) ON memberships TO tulay_app;

-- The organisation and, for the two sides and admins only, the username of a user who
-- acted on the membership of p_member in p_network. Users' rows are private to their
-- organisation, so this reads them with the owner's rights and shows no more than that.
CREATE FUNCTION membership_actor(p_user bigint, p_network bigint, p_member bigint,
                                 OUT org text, OUT username text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT o.acronym,
           CASE WHEN tulay_role() = 'admin' OR tulay_org() IN (p_network, p_member)
                THEN u.username ELSE '' END
      FROM users u JOIN organisations o ON o.org_id = u.org_id
     WHERE u.user_id = p_user AND tulay_org() IS NOT NULL
$$;
REVOKE ALL ON FUNCTION membership_actor(bigint, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION membership_actor(bigint, bigint, bigint) TO tulay_app;

-- Every membership as the protocol shows it (Membership), one row per proposal, read
-- under the caller's row-level security. state: proposed, accepted, declined, withdrawn,
-- or ended (accepted, and its last day has passed).
CREATE VIEW membership_records WITH (security_invoker = true) AS
SELECT p.proposal_id, p.network_org, p.member_org, p.membership_id,
       mo.acronym AS member, no.acronym AS network, p.role, p.since, m.until,
       p.shares_aggregates, coalesce(m.version, 0) AS version,
       CASE WHEN p.state <> 'accepted' THEN p.state
            WHEN m.until IS NOT NULL AND m.until <= current_date THEN 'ended'
            ELSE 'accepted' END AS state,
       pa.org AS proposed_by, pa.username AS proposed_by_user, p.proposed_at,
       da.org AS decided_by, da.username AS decided_by_user, p.decided_at,
       ea.org AS ended_by, ea.username AS ended_by_user, m.ended_at
  FROM membership_proposals p
  JOIN organisations mo ON mo.org_id = p.member_org
  JOIN organisations no ON no.org_id = p.network_org
  LEFT JOIN memberships m ON m.membership_id = p.membership_id
  LEFT JOIN LATERAL membership_actor(p.proposed_by, p.network_org, p.member_org) pa ON true
  LEFT JOIN LATERAL membership_actor(p.decided_by, p.network_org, p.member_org) da ON true
  LEFT JOIN LATERAL membership_actor(m.ended_by, p.network_org, p.member_org) ea ON true;
GRANT SELECT ON membership_records TO tulay_app;

-- Makes the open proposal v_proposal a membership in effect. Caller: the functions below,
-- under the advisory lock. Outcomes: 'accepted', 'cycle' (the network is already, at some
-- level, a member of the member), 'exists' (a membership of the pair is in effect).
CREATE FUNCTION membership_take_effect(p_proposal bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v membership_proposals;
    v_id bigint;
BEGIN
    SELECT * INTO STRICT v FROM membership_proposals p WHERE p.proposal_id = p_proposal;
    IF EXISTS (SELECT 1 FROM network_ancestors(v.network_org) a
                WHERE a.org_id = v.member_org) THEN
        RETURN 'cycle';
    END IF;
    IF EXISTS (SELECT 1 FROM memberships m WHERE m.member_org = v.member_org
                  AND m.network_org = v.network_org AND m.until IS NULL) THEN
        RETURN 'exists';
    END IF;
    INSERT INTO memberships (member_org, network_org, role, since, shares_aggregates,
                             created_by)
    VALUES (v.member_org, v.network_org, v.role, v.since, v.shares_aggregates, tulay_user())
    RETURNING membership_id INTO v_id;
    UPDATE membership_proposals p
       SET state = 'accepted', decided_by = tulay_user(), decided_at = now(),
           membership_id = v_id
     WHERE p.proposal_id = p_proposal;
    RETURN 'accepted';
END;
$$;

-- The checks proposing and deciding share: both organisations exist, and the caller is an
-- admin or an org admin of either side. NULL when they pass, else the outcome.
CREATE FUNCTION membership_sides_problem(p_network bigint, p_member bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_network IS NULL THEN 'unknown_network'
                WHEN p_member IS NULL THEN 'unknown_member'
                WHEN tulay_role() = 'admin' THEN NULL
                WHEN tulay_role() IS DISTINCT FROM 'org_admin'
                     OR tulay_org() NOT IN (p_network, p_member) THEN 'denied' END
$$;

-- Proposes a membership idempotently, as the caller (tulay_user, tulay_org, tulay_role).
-- Outcomes: 'proposed' (waiting for the other side), 'accepted' (an admin's: in effect),
-- 'replayed', 'key_reused', 'unknown_network', 'unknown_member', 'self', 'cycle',
-- 'exists' (a membership of the pair is in effect), 'pending' (the pair has an open
-- proposal), 'denied' (neither an admin nor an org admin of either side).
CREATE FUNCTION propose_membership(
    p_idempotency_key bytea, p_request_hash bytea, p_network bigint, p_member bigint,
    p_role text, p_since date, p_shares boolean,
    OUT proposal_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_admin boolean := tulay_role() = 'admin';
BEGIN
    PERFORM pg_advisory_xact_lock(7420006);
    SELECT p.proposal_id, p.request_hash INTO proposal_id, v_hash
      FROM membership_proposals p
     WHERE p.network_org = p_network AND p.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    outcome := membership_sides_problem(p_network, p_member);
    IF outcome IS NOT NULL THEN
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
    IF EXISTS (SELECT 1 FROM membership_proposals p WHERE p.member_org = p_member
                  AND p.network_org = p_network AND p.state = 'proposed') THEN
        outcome := 'pending';
        RETURN;
    END IF;
    INSERT INTO membership_proposals (member_org, network_org, role, since,
                                      shares_aggregates, proposed_by_org, proposed_by,
                                      proposed_at, idempotency_key, request_hash)
    VALUES (p_member, p_network, p_role, p_since, p_shares,
            CASE WHEN v_admin THEN NULL ELSE tulay_org() END, tulay_user(), now(),
            p_idempotency_key, p_request_hash)
    RETURNING membership_proposals.proposal_id INTO proposal_id;
    IF v_admin THEN
        outcome := membership_take_effect(proposal_id);  -- checked above: 'accepted'
    ELSE
        outcome := 'proposed';
    END IF;
END;
$$;

-- Accepts (p_accept) or declines/withdraws the open proposal of the pair, as the caller.
-- p_proposal: the proposal the caller saw, 0 for whichever is open. Outcomes: 'accepted',
-- 'declined' (by the other side or an admin), 'withdrawn' (by the proposing side),
-- 'replayed' (this caller already made this decision on the latest proposal),
-- 'unknown_network', 'unknown_member', 'no_proposal', 'changed' (the open proposal is
-- not p_proposal), 'own_proposal' (a side cannot accept its own proposal), 'denied',
-- 'cycle', 'exists'. proposal_id: the proposal decided (or found).
CREATE FUNCTION decide_membership(p_network bigint, p_member bigint, p_proposal bigint,
                                  p_accept boolean, OUT proposal_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v membership_proposals;
    v_admin boolean := tulay_role() = 'admin';
BEGIN
    PERFORM pg_advisory_xact_lock(7420006);
    outcome := membership_sides_problem(p_network, p_member);
    IF outcome IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO v FROM membership_proposals p
     WHERE p.network_org = p_network AND p.member_org = p_member AND p.state = 'proposed';
    IF NOT FOUND THEN
        -- A retry of a decision already made answers as the first time did.
        SELECT * INTO v FROM membership_proposals p
         WHERE p.network_org = p_network AND p.member_org = p_member
           AND (p_proposal = 0 OR p.proposal_id = p_proposal)
         ORDER BY p.proposal_id DESC LIMIT 1;
        outcome := CASE WHEN FOUND AND v.decided_by = tulay_user()
                         AND (v.state = 'accepted') = p_accept THEN 'replayed'
                        ELSE 'no_proposal' END;
        proposal_id := v.proposal_id;
        RETURN;
    END IF;
    proposal_id := v.proposal_id;
    IF p_proposal <> 0 AND v.proposal_id <> p_proposal THEN
        outcome := 'changed';
        RETURN;
    END IF;
    IF p_accept THEN
        IF NOT v_admin AND v.proposed_by_org = tulay_org() THEN
            outcome := 'own_proposal';
            RETURN;
        END IF;
        outcome := membership_take_effect(v.proposal_id);
        RETURN;
    END IF;
    outcome := CASE WHEN NOT v_admin AND v.proposed_by_org = tulay_org() THEN 'withdrawn'
                    ELSE 'declined' END;
    UPDATE membership_proposals p
       SET state = outcome, decided_by = tulay_user(), decided_at = now()
     WHERE p.proposal_id = v.proposal_id;
END;
$$;

DROP FUNCTION add_membership(bytea, bytea, bigint, bigint, text, date, boolean, bigint);
REVOKE ALL ON FUNCTION membership_take_effect(bigint), membership_sides_problem(bigint, bigint),
    propose_membership(bytea, bytea, bigint, bigint, text, date, boolean),
    decide_membership(bigint, bigint, bigint, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION membership_take_effect(bigint), membership_sides_problem(bigint, bigint),
    propose_membership(bytea, bytea, bigint, bigint, text, date, boolean),
    decide_membership(bigint, bigint, bigint, boolean) TO tulay_app;
