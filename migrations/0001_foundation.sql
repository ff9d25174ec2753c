-- tulay schema v1: organisations, users and sessions, and the first case kind
-- (wage-theft claims) on the common case table.
--
-- Directory tables (organisations, users, sessions) are looked up before any tenant is
-- known (login): they are global, and become Citus reference tables. Every tenant table
-- (case_counters, cases, wage_theft_claims) leads its primary key, unique constraints and
-- foreign keys with org_id, the future distribution column.

CREATE TABLE organisations (
    org_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    acronym         text NOT NULL CHECK (acronym ~ '^[A-Z0-9_-]{2,20}$'),
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    kind            text NOT NULL CHECK (kind IN ('network', 'ngo', 'trade_union',
                        'migrant_association', 'faith_based', 'research_institute',
                        'parliamentary_caucus', 'other')),
    country         char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    version         bigint NOT NULL DEFAULT 1,
    -- Idempotency of CreateOrganisation: the key the client sent and a hash of what it
    -- asked for, so a retry returns this row and a reused key with other content fails.
    idempotency_key bytea UNIQUE CHECK (length(idempotency_key) = 16),
    request_hash    bytea CHECK (length(request_hash) = 32),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organisations_acronym_key UNIQUE (acronym)
);

CREATE TABLE users (
    user_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES organisations (org_id),
    username        text NOT NULL CHECK (username ~ '^[a-z0-9._-]{2,64}$'),
    password_hash   text NOT NULL,  -- argon2id, libsodium crypto_pwhash_str format
    role            text NOT NULL CHECK (role IN ('field_officer', 'coordinator',
                        'org_admin', 'admin')),
    disabled_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_key UNIQUE (username)
);
CREATE INDEX users_org_id ON users (org_id);

-- Session tokens are random; only their BLAKE2b-256 hash is stored, so a copy of this
-- table does not let anyone log in.
CREATE TABLE sessions (
    token_hash      bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id         bigint NOT NULL REFERENCES users (user_id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    ended_at        timestamptz
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Reference numbers (WT-2026-000123) count per organisation, kind and year. The row lock
-- on the counter serialises reference allocation within one organisation only.
CREATE TABLE case_counters (
    org_id          bigint NOT NULL REFERENCES organisations (org_id),
    kind            text NOT NULL,
    year            integer NOT NULL,
    last_value      bigint NOT NULL,
    PRIMARY KEY (org_id, kind, year)
);

CREATE TABLE cases (
    org_id          bigint NOT NULL REFERENCES organisations (org_id),
    case_id         bigint GENERATED ALWAYS AS IDENTITY,
    reference       text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('wage_theft', 'deportation',
                        'recommendation')),
    status          text NOT NULL,
    opened_on       date NOT NULL,
    closed_on       date,
    version         bigint NOT NULL DEFAULT 1,
    created_by      bigint NOT NULL REFERENCES users (user_id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    idempotency_key bytea NOT NULL CHECK (length(idempotency_key) = 16),
    request_hash    bytea NOT NULL CHECK (length(request_hash) = 32),
    PRIMARY KEY (org_id, case_id),
    CONSTRAINT cases_reference_key UNIQUE (org_id, reference),
    CONSTRAINT cases_idempotency_key UNIQUE (org_id, idempotency_key),
    CONSTRAINT cases_wage_theft_status CHECK (kind <> 'wage_theft' OR status IN (
        'intake', 'filed', 'in_mediation', 'awarded', 'partially_paid', 'paid',
        'rejected', 'withdrawn'))
);
CREATE INDEX cases_by_kind ON cases (org_id, kind, case_id DESC);

CREATE TABLE wage_theft_claims (
    org_id                  bigint NOT NULL,
    case_id                 bigint NOT NULL,
    worker_nationality      char(2) NOT NULL CHECK (worker_nationality ~ '^[A-Z]{2}$'),
    country_of_work         char(2) NOT NULL CHECK (country_of_work ~ '^[A-Z]{2}$'),
    sector                  text NOT NULL CHECK (sector IN ('construction', 'agriculture',
                                'fisheries', 'manufacturing', 'domestic_work', 'hospitality',
                                'care', 'services', 'other')),
    employer                text NOT NULL CHECK (char_length(employer) BETWEEN 1 AND 200),
    work_started_on         date NOT NULL,
    work_ended_on           date NOT NULL,
    -- Money: integer minor units of an ISO 4217 currency, never floating point.
    amount_claimed_minor    bigint NOT NULL CHECK (amount_claimed_minor > 0
                                AND amount_claimed_minor <= 1000000000000000),
    amount_claimed_currency char(3) NOT NULL CHECK (amount_claimed_currency ~ '^[A-Z]{3}$'),
    workers                 integer NOT NULL DEFAULT 1 CHECK (workers BETWEEN 1 AND 100000),
    PRIMARY KEY (org_id, case_id),
    FOREIGN KEY (org_id, case_id) REFERENCES cases (org_id, case_id),
    CONSTRAINT wage_theft_claims_period CHECK (work_ended_on >= work_started_on)
);
CREATE INDEX wage_theft_claims_country_of_work ON wage_theft_claims (org_id, country_of_work);

-- The shape in which tulayd reads a claim.
CREATE VIEW wage_theft_claim_view AS
SELECT c.org_id, c.case_id, c.idempotency_key,
       c.reference, o.acronym AS organisation, c.status,
       w.worker_nationality, w.country_of_work, w.sector, w.employer,
       w.work_started_on, w.work_ended_on,
       w.amount_claimed_minor, w.amount_claimed_currency, w.workers,
       c.opened_on, c.version, u.username AS created_by,
       extract(epoch FROM c.created_at)::bigint AS created_at
  FROM cases c
  JOIN wage_theft_claims w USING (org_id, case_id)
  JOIN organisations o ON o.org_id = c.org_id
  JOIN users u ON u.user_id = c.created_by
 WHERE c.kind = 'wage_theft';

-- Logs a wage-theft claim idempotently, in one statement and so one transaction. Returns
-- the case id and what happened: 'created'; 'replayed' (this key was used before for the
-- same request: nothing new is written); 'key_reused' (used before for another request).
CREATE FUNCTION create_wage_theft_claim(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_worker_nationality text, p_country_of_work text, p_sector text, p_employer text,
    p_work_started_on date, p_work_ended_on date,
    p_amount_claimed_minor bigint, p_amount_claimed_currency text, p_workers integer,
    OUT case_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_constraint text;
    v_seq bigint;
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
        INSERT INTO case_counters AS cc (org_id, kind, year, last_value)
        VALUES (p_org_id, 'wage_theft', v_year, 1)
        ON CONFLICT (org_id, kind, year) DO UPDATE SET last_value = cc.last_value + 1
        RETURNING cc.last_value INTO v_seq;

        INSERT INTO cases (org_id, reference, kind, status, opened_on, created_by,
                           idempotency_key, request_hash)
        VALUES (p_org_id,
                'WT-' || v_year || '-' || CASE WHEN v_seq < 1000000
                    THEN lpad(v_seq::text, 6, '0') ELSE v_seq::text END,
                'wage_theft', 'intake', v_opened, p_user_id,
                p_idempotency_key, p_request_hash)
        RETURNING cases.case_id INTO case_id;

        INSERT INTO wage_theft_claims (org_id, case_id, worker_nationality, country_of_work,
                                       sector, employer, work_started_on, work_ended_on,
                                       amount_claimed_minor, amount_claimed_currency, workers)
        VALUES (p_org_id, case_id, p_worker_nationality, p_country_of_work, p_sector,
                p_employer, p_work_started_on, p_work_ended_on, p_amount_claimed_minor,
                p_amount_claimed_currency, p_workers);
        outcome := 'created';
    EXCEPTION WHEN unique_violation THEN
        -- A concurrent request with the same key committed first: answer as a retry.
        -- Any other unique violation (a reference clash) is a real error.
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

-- Registers an organisation idempotently. Outcomes as above, plus 'acronym_taken'.
CREATE FUNCTION create_organisation(
    p_idempotency_key bytea, p_request_hash bytea, p_acronym text, p_name text,
    p_kind text, p_country text,
    OUT org_id bigint, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
    v_constraint text;
BEGIN
    SELECT o.org_id, o.request_hash INTO org_id, v_hash
      FROM organisations o WHERE o.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    BEGIN
        INSERT INTO organisations (acronym, name, kind, country, idempotency_key, request_hash)
        VALUES (p_acronym, p_name, p_kind, p_country, p_idempotency_key, p_request_hash)
        RETURNING organisations.org_id INTO org_id;
        outcome := 'created';
    EXCEPTION WHEN unique_violation THEN
        GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
        IF v_constraint = 'organisations_acronym_key' THEN
            org_id := NULL;
            outcome := 'acronym_taken';
        ELSIF v_constraint = 'organisations_idempotency_key_key' THEN
            -- A concurrent request with the same key committed first.
            SELECT o.org_id, o.request_hash INTO STRICT org_id, v_hash
              FROM organisations o WHERE o.idempotency_key = p_idempotency_key;
            outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        ELSE
            RAISE;
        END IF;
    END;
END;
$$;
