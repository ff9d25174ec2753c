-- The data set of the report benchmark (bench/report_bench.sh): organisations shaped like a
-- regional network of national networks of NGOs, unions and associations, one field
-- officer each, and :claims wage-theft claims spread over them with a realistic skew.
--
-- Run by the PostgreSQL superuser (session_replication_role needs it) on a freshly
-- migrated database in which the top network and its coordinator already exist (made with
-- `tulayd org add` and `tulayd user add`):
--
--   psql -X -v claims=1000000 -v orgs=200 -v top=REGNET -v coordinator=regnet.coord \
--        -f bench/report_seed.sql
--
-- orgs counts every organisation, the top network included (at least 3): about one
-- national network per 20 organisations (MY, TH, SG, HK, then origin countries), members
-- of the top network, and the rest NGOs, unions, associations and faith-based groups,
-- members of the national network of their country. One membership in 15 does not share
-- aggregates and one in 40 has ended, so a report's scope is not simply "everyone".
--
-- Deterministic: every attribute of claim n is a function of n (hashint8extended with one
-- seed per attribute), so the same arguments give the same data set. Triggers, foreign-key
-- checks included, are off while loading (session_replication_role = replica): whatever
-- the migrations maintain incrementally (report_cells, the 'opened' case events) is not
-- maintained, and report_rebuild() must run afterwards. The rows satisfy every CHECK and
-- foreign key all the same.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET session_replication_role = replica;
SET work_mem = '256MB';

BEGIN;

-- Claim n's attribute k: uniform in [0, 1), and uniform in [0, m).
CREATE FUNCTION pg_temp.u(n bigint, k bigint) RETURNS float8
LANGUAGE sql IMMUTABLE AS
$$ SELECT (hashint8extended(n, k) & 4294967295)::float8 / 4294967296.0 $$;
CREATE FUNCTION pg_temp.pick(n bigint, k bigint, m bigint) RETURNS integer
LANGUAGE sql IMMUTABLE AS
$$ SELECT ((hashint8extended(n, k) & 9223372036854775807) % m)::integer $$;

SELECT org_id AS top_id FROM organisations WHERE acronym = :'top' \gset
SELECT user_id AS coordinator_id FROM users WHERE username = :'coordinator' \gset
SELECT coalesce(max(case_id), 0) AS case_base FROM cases \gset

-- --- countries ------------------------------------------------------------------------
-- Destinations first (their position orders the national networks), then origins.
CREATE TEMP TABLE bench_country (
    country         char(2) PRIMARY KEY,
    position        integer NOT NULL,
    name            text NOT NULL,
    destination     boolean NOT NULL,
    currency        char(3),     -- destinations: the currency wages are owed in
    wage_minor      bigint,      -- destinations: a migrant worker's monthly wage
    employer_suffix text,        -- destinations
    agency_format   text,        -- origins: format() of a recruitment agency's name
    cities          text[] NOT NULL
);
INSERT INTO bench_country VALUES
    ('MY', 1, 'Malaysia', true, 'MYR', 150000, 'Sdn Bhd', NULL,
     ARRAY['Kuala Lumpur', 'Penang', 'Johor Bahru', 'Kota Kinabalu', 'Kuching']),
    ('TH', 2, 'Thailand', true, 'THB', 1000000, 'Co., Ltd.', NULL,
     ARRAY['Bangkok', 'Mae Sot', 'Chiang Mai', 'Samut Sakhon', 'Ranong']),
    ('SG', 3, 'Singapore', true, 'SGD', 90000, 'Pte Ltd', NULL, ARRAY['Singapore']),
    ('HK', 4, 'Hong Kong', true, 'HKD', 480000, 'Limited', NULL,
     ARRAY['Hong Kong', 'Kowloon', 'Sha Tin']),
    ('PH', 5, 'the Philippines', false, NULL, NULL, NULL, '%s Manpower Services Inc.',
     ARRAY['Manila', 'Cebu', 'Davao']),
    ('ID', 6, 'Indonesia', false, NULL, NULL, NULL, 'PT %s Indonesia',
     ARRAY['Jakarta', 'Surabaya', 'Mataram']),
    ('NP', 7, 'Nepal', false, NULL, NULL, NULL, '%s Human Resources Pvt Ltd',
     ARRAY['Kathmandu', 'Pokhara']),
    ('BD', 8, 'Bangladesh', false, NULL, NULL, NULL, '%s Overseas Ltd',
     ARRAY['Dhaka', 'Chattogram', 'Sylhet']),
    ('KH', 9, 'Cambodia', false, NULL, NULL, NULL, '%s Manpower (Cambodia) Co., Ltd.',
     ARRAY['Phnom Penh', 'Battambang']),
    ('MM', 10, 'Myanmar', false, NULL, NULL, NULL, '%s Overseas Employment Agency',
     ARRAY['Yangon', 'Mandalay']),
    ('LA', 11, 'Lao PDR', false, NULL, NULL, NULL, '%s Labour Services Co.',
     ARRAY['Vientiane', 'Savannakhet']),
    ('VN', 12, 'Viet Nam', false, NULL, NULL, NULL, '%s Manpower JSC',
     ARRAY['Hanoi', 'Ho Chi Minh City']);

-- How the workers of each destination are spread over origins (per destination, sums to
-- 100): Indonesians, Bangladeshis and Nepalis in Malaysia, Myanmar in Thailand, Filipinas
-- and Indonesians in Hong Kong.
CREATE TEMP TABLE bench_corridor_weight (
    origin      char(2) NOT NULL,
    destination char(2) NOT NULL,
    weight      integer NOT NULL,
    PRIMARY KEY (origin, destination)
);
INSERT INTO bench_corridor_weight (destination, origin, weight)
SELECT d.destination, o.origin, o.weight
  FROM (VALUES
        ('MY', ARRAY['ID', 'BD', 'NP', 'MM', 'PH', 'VN', 'KH', 'LA'],
               ARRAY[30, 20, 20, 12, 6, 6, 3, 3]),
        ('TH', ARRAY['MM', 'KH', 'LA', 'VN', 'PH', 'ID', 'BD', 'NP'],
               ARRAY[55, 25, 14, 2, 1, 1, 1, 1]),
        ('SG', ARRAY['BD', 'MM', 'PH', 'ID', 'VN', 'NP', 'KH', 'LA'],
               ARRAY[28, 18, 18, 14, 8, 6, 4, 4]),
        ('HK', ARRAY['PH', 'ID', 'NP', 'BD', 'MM', 'VN', 'KH', 'LA'],
               ARRAY[52, 40, 3, 1, 1, 1, 1, 1])) AS d (destination, origins, weights)
 CROSS JOIN LATERAL unnest(d.origins, d.weights) AS o (origin, weight);

-- The corridor of a claim logged by an organisation in `org_country`, as 10000 slots
-- (claim n takes slot pick(n, 2, 10000)). An organisation in a destination logs claims
-- of its own country 92% of the time (origins as above); one in an origin country logs
-- its own nationals 95% of the time (destinations as its emigrants go).
CREATE TEMP TABLE bench_corridor_slot (
    org_country char(2) NOT NULL,
    slot        integer NOT NULL,
    origin      char(2) NOT NULL,
    destination char(2) NOT NULL,
    PRIMARY KEY (org_country, slot)
);
WITH dest_total AS (
    SELECT destination, sum(weight)::float8 AS total FROM bench_corridor_weight GROUP BY 1
), origin_total AS (
    SELECT origin, sum(weight)::float8 AS total FROM bench_corridor_weight GROUP BY 1
), p AS (
    SELECT c.country AS org_country, w.origin, w.destination,
           CASE WHEN c.destination THEN
                CASE WHEN w.destination = c.country THEN 0.92 * w.weight / dt.total
                     ELSE 0.08 / 3 * w.weight / dt.total END
           ELSE
                CASE WHEN w.origin = c.country THEN 0.95 * w.weight / ot.total
                     ELSE 0.05 / 7 * w.weight / ot.total END
           END AS p
      FROM bench_country c
     CROSS JOIN bench_corridor_weight w
      JOIN dest_total dt ON dt.destination = w.destination
      JOIN origin_total ot ON ot.origin = w.origin
), cum AS (
    SELECT org_country, origin, destination,
           sum(p) OVER (PARTITION BY org_country ORDER BY origin, destination) - p AS lo,
           sum(p) OVER (PARTITION BY org_country ORDER BY origin, destination) AS hi
      FROM p
)
INSERT INTO bench_corridor_slot
SELECT cum.org_country, s, cum.origin, cum.destination
  FROM cum
 CROSS JOIN LATERAL generate_series(round(cum.lo * 10000)::integer,
                                    round(cum.hi * 10000)::integer - 1) AS s;

-- Sectors by destination (each sums to 100): plantations and factories in Malaysia,
-- fishing in Thailand, construction in Singapore, domestic work in Hong Kong.
CREATE TEMP TABLE bench_sector_slot (
    destination char(2) NOT NULL,
    slot        integer NOT NULL,
    sector      text NOT NULL,
    PRIMARY KEY (destination, slot)
);
INSERT INTO bench_sector_slot
SELECT x.destination,
       (row_number() OVER (PARTITION BY x.destination ORDER BY x.sector, g) - 1)::integer,
       x.sector
  FROM (SELECT d.destination, s.sector, s.weight
          FROM (VALUES
                ('MY', ARRAY[22, 20, 18, 10, 8, 8, 5, 3, 6]),
                ('TH', ARRAY[20, 20, 15, 8, 7, 8, 15, 2, 5]),
                ('SG', ARRAY[35, 10, 1, 25, 10, 6, 2, 6, 5]),
                ('HK', ARRAY[3, 1, 0, 75, 5, 5, 0, 8, 3])) AS d (destination, weights)
         CROSS JOIN LATERAL unnest(ARRAY['construction', 'manufacturing', 'agriculture',
                                         'domestic_work', 'services', 'hospitality',
                                         'fisheries', 'care', 'other'],
                                   d.weights) AS s (sector, weight)) x
 CROSS JOIN LATERAL generate_series(1, x.weight) AS g;

-- Status by how long ago the work ended (age 0: under a year, 1: under 2.5 years,
-- 2: older); recent claims are open, old ones mostly closed.
CREATE TEMP TABLE bench_status_slot (
    age    integer NOT NULL,
    slot   integer NOT NULL,
    status text NOT NULL,
    PRIMARY KEY (age, slot)
);
INSERT INTO bench_status_slot
SELECT x.age, (row_number() OVER (PARTITION BY x.age ORDER BY x.status, g) - 1)::integer, x.status
  FROM (SELECT a.age, s.status, s.weight
          FROM (VALUES (0, ARRAY[30, 25, 20, 5, 3, 3, 4, 10]),
                       (1, ARRAY[10, 20, 15, 12, 8, 12, 10, 13]),
                       (2, ARRAY[3, 8, 6, 10, 10, 28, 18, 17])) AS a (age, weights)
         CROSS JOIN LATERAL unnest(ARRAY['intake', 'filed', 'in_mediation', 'awarded',
                                         'partially_paid', 'paid', 'rejected', 'withdrawn'],
                                   a.weights) AS s (status, weight)) x
 CROSS JOIN LATERAL generate_series(1, x.weight) AS g;

-- Where claims past intake are pursued (sums to 100; NULL: not recorded).
CREATE TEMP TABLE bench_forum_slot (
    slot  integer PRIMARY KEY,
    forum text
);
INSERT INTO bench_forum_slot
SELECT (row_number() OVER (ORDER BY f.ord, g) - 1)::integer, f.forum
  FROM unnest(ARRAY[NULL, 'labour_court', 'labour_ministry', 'embassy', 'mediation',
                    'origin_authority', 'claims_mechanism', 'other'],
              ARRAY[15, 18, 25, 12, 15, 8, 4, 3]) WITH ORDINALITY AS f (forum, weight, ord)
 CROSS JOIN LATERAL generate_series(1, f.weight) AS g;

-- Every slot table covers its slots exactly once.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM bench_corridor_slot GROUP BY org_country
                HAVING count(*) <> 10000 OR min(slot) <> 0 OR max(slot) <> 9999)
       OR EXISTS (SELECT 1 FROM bench_sector_slot GROUP BY destination
                   HAVING count(*) <> 100 OR min(slot) <> 0 OR max(slot) <> 99)
       OR EXISTS (SELECT 1 FROM bench_status_slot GROUP BY age
                   HAVING count(*) <> 100 OR min(slot) <> 0 OR max(slot) <> 99)
       OR (SELECT count(*) FROM bench_forum_slot) <> 100 THEN
        RAISE EXCEPTION 'report_seed.sql: a slot table does not cover its slots exactly once';
    END IF;
END
$$;

-- --- organisations -------------------------------------------------------------------
-- idx 1..n_nat: national networks, members of the top network; then the members of the
-- national networks, member j in the network 1 + (j - 1) % n_nat.
SELECT greatest(1, least(:orgs - 2, ceil((:orgs - 1) / 20.0)))::integer AS n_nat \gset
SELECT :orgs - 1 - :n_nat AS n_members \gset

CREATE TEMP TABLE bench_org (
    idx           integer PRIMARY KEY,
    parent_idx    integer NOT NULL,  -- 0: the top network
    acronym       text NOT NULL,
    name          text NOT NULL,
    kind          text NOT NULL,
    country       char(2) NOT NULL,
    role          text NOT NULL,
    since         date NOT NULL,
    until         date,
    shares        boolean NOT NULL,
    claims_weight integer NOT NULL,  -- relative number of claims it logs
    org_id        bigint,
    officer_id    bigint
);
INSERT INTO bench_org (idx, parent_idx, acronym, name, kind, country, role, since, until,
                       shares, claims_weight)
SELECT k, 0, format('%s-NET%s', c.country, nullif(((k - 1) / 12 + 1)::text, '1')),
       format('Migrant Rights Network of %s%s', c.name,
              CASE WHEN k > 12 THEN ' ' || ((k - 1) / 12 + 1) ELSE '' END),
       'network', c.country, 'member', date '2005-01-01' + k * 97, NULL, true, 15
  FROM generate_series(1, :n_nat) AS k
  JOIN bench_country c ON c.position = 1 + (k - 1) % 12;

INSERT INTO bench_org (idx, parent_idx, acronym, name, kind, country, role, since, until,
                       shares, claims_weight)
SELECT :n_nat + j, p.idx,
       format('%s-%s%s', p.country, k.abbrev, lpad(j::text, 3, '0')),
       format('%s %s %s', c.cities[1 + j % array_length(c.cities, 1)], k.title, j),
       k.kind, p.country,
       CASE WHEN j % 10 = 1 THEN 'focal_point' ELSE 'member' END,
       date '2008-01-01' + (j * 53) % 4000,
       CASE WHEN j % 40 = 3 THEN date '2024-06-30' END,
       j % 15 <> 7,
       -- Zipf-like: the rank of member j is a permutation of 1..n_members.
       ceil(1000 / power(((j::bigint * 7919) % :n_members) + 1, 0.9))::integer
  FROM generate_series(1, :n_members) AS j
  JOIN bench_org p ON p.idx = 1 + (j - 1) % :n_nat
  JOIN bench_country c ON c.country = p.country
 CROSS JOIN LATERAL (
        SELECT * FROM (VALUES
            ('ngo', 'NGO', 'Migrant Workers Centre'),
            ('trade_union', 'TU', 'Migrant Workers Union'),
            ('migrant_association', 'MA', 'Migrant Community Association'),
            ('faith_based', 'FB', 'Migrant Ministry')) AS v (kind, abbrev, title)
         WHERE v.kind = CASE WHEN j % 20 < 12 THEN 'ngo' WHEN j % 20 < 15 THEN 'trade_union'
                             WHEN j % 20 < 18 THEN 'migrant_association'
                             ELSE 'faith_based' END) AS k;

INSERT INTO organisations (acronym, name, kind, country)
SELECT acronym, name, kind, country FROM bench_org ORDER BY idx;
UPDATE bench_org b SET org_id = o.org_id FROM organisations o WHERE o.acronym = b.acronym;

INSERT INTO memberships (member_org, network_org, role, since, until, shares_aggregates,
                         created_by)
SELECT b.org_id, coalesce(p.org_id, :top_id), b.role, b.since, b.until, b.shares,
       :coordinator_id
  FROM bench_org b LEFT JOIN bench_org p ON p.idx = b.parent_idx
 ORDER BY b.idx;

-- One field officer per organisation, who logged its claims. They cannot log in: '!' is
-- no password hash.
INSERT INTO users (org_id, username, password_hash, role)
SELECT org_id, lower(acronym) || '.officer', '!', 'field_officer' FROM bench_org ORDER BY idx;
UPDATE bench_org b SET officer_id = u.user_id
  FROM users u WHERE u.username = lower(b.acronym) || '.officer';

-- Claim n is logged by the organisation of slot pick(n, 1, org_slots).
CREATE TEMP TABLE bench_org_slot AS
SELECT (row_number() OVER (ORDER BY b.idx, g) - 1)::integer AS slot, b.org_id, b.officer_id,
       b.country
  FROM bench_org b CROSS JOIN LATERAL generate_series(1, b.claims_weight) AS g;
ALTER TABLE bench_org_slot ADD PRIMARY KEY (slot);
SELECT count(*) AS org_slots FROM bench_org_slot \gset
ANALYZE bench_country, bench_corridor_slot, bench_sector_slot, bench_status_slot,
    bench_forum_slot, bench_org_slot;

-- --- claims ---------------------------------------------------------------------------
-- The data set's today is 2026-11-15. Work ended between 2017-01-01 and 2026-10-31, more
-- in later years (the density grows linearly), and the case was opened up to 240 days
-- later; employers (500 per destination) and agencies (38 per origin) are Zipf-like; most
-- claims are one worker's, some a group's of up to 50; amounts are months of wages in the
-- destination's currency; awarded and recovered amounts only where the status says
-- something was awarded or paid.
WITH claim AS (
    SELECT n, :case_base + n AS case_id, os.org_id, os.officer_id,
           cs.origin, cs.destination, d.currency, ss.sector,
           format('%s %s %s',
                  (ARRAY['Sinar', 'Jaya', 'Maju', 'Harmoni', 'Cahaya', 'Golden', 'Eastern',
                         'Pacific', 'Lotus', 'Mekong', 'Royal', 'Prima', 'Global', 'Asia',
                         'Star', 'Delta', 'Emerald', 'Phoenix', 'Summit', 'United', 'Harbour',
                         'Orient', 'Crown', 'Evergreen', 'Pearl'])[1 + e.e % 25],
                  (ARRAY['Construction', 'Plantation', 'Seafood', 'Garments', 'Electronics',
                         'Logistics', 'Engineering', 'Foods', 'Manufacturing', 'Builders',
                         'Agro', 'Marine', 'Textiles', 'Hospitality', 'Services', 'Cleaning',
                         'Security', 'Furniture', 'Rubber', 'Palm Oil'])
                      [1 + (3 * (e.e / 25) + e.e % 25) % 20],
                  d.employer_suffix) AS employer,
           CASE WHEN pg_temp.u(n, 8) < 0.35 THEN NULL
                ELSE format(oc.agency_format,
                            (ARRAY['Bright', 'Horizon', 'Unity', 'Fortune', 'Silver',
                                   'Blue Sky', 'Rising Sun', 'Liberty', 'Pioneer', 'Crescent',
                                   'Himalaya', 'Everest', 'Sunrise', 'Ocean', 'Anchor',
                                   'Bridge', 'Compass', 'Beacon', 'Victory'])
                                [1 + (a.a + 5 * oc.position) % 19]
                            || CASE WHEN a.a >= 19 THEN ' Global' ELSE '' END) END AS agency,
           t.ended, t.ended - (30 + pg_temp.pick(n, 18, 700)) AS started,
           t.ended + pg_temp.pick(n, 17, least(240, date '2026-11-15' - t.ended + 1)) AS opened,
           st.status,
           CASE WHEN st.status = 'intake' AND pg_temp.u(n, 10) < 0.9 THEN NULL
                ELSE fs.forum END AS forum,
           w.workers,
           round(w.workers * (1 + floor(12 * pg_temp.u(n, 13) ^ 2)) * d.wage_minor
                 * (0.7 + 0.6 * pg_temp.u(n, 14)))::bigint AS claimed
      FROM generate_series(1, :claims) AS n
      JOIN bench_org_slot os ON os.slot = pg_temp.pick(n, 1, :org_slots)
      JOIN bench_corridor_slot cs
        ON cs.org_country = os.country AND cs.slot = pg_temp.pick(n, 2, 10000)
      JOIN bench_country d ON d.country = cs.destination
      JOIN bench_country oc ON oc.country = cs.origin
      JOIN bench_sector_slot ss
        ON ss.destination = cs.destination AND ss.slot = pg_temp.pick(n, 3, 100)
     CROSS JOIN LATERAL (
            SELECT date '2017-01-01'
                   + floor((date '2026-11-01' - date '2017-01-01') * sqrt(pg_temp.u(n, 4)))::integer
                   AS ended) t
      JOIN bench_status_slot st
        ON st.age = CASE WHEN t.ended >= date '2025-11-01' THEN 0
                         WHEN t.ended >= date '2024-06-01' THEN 1 ELSE 2 END
       AND st.slot = pg_temp.pick(n, 5, 100)
      JOIN bench_forum_slot fs ON fs.slot = pg_temp.pick(n, 6, 100)
     CROSS JOIN LATERAL (SELECT floor(500 * pg_temp.u(n, 7) ^ 2)::integer AS e) e
     CROSS JOIN LATERAL (SELECT floor(38 * pg_temp.u(n, 9) ^ 2)::integer AS a) a
     CROSS JOIN LATERAL (
            SELECT CASE WHEN pg_temp.u(n, 11) < 0.8 THEN 1
                        ELSE 2 + floor(49 * pg_temp.u(n, 12) ^ 3)::integer END AS workers) w
), money AS MATERIALIZED (
    SELECT claim.*,
           CASE WHEN status IN ('awarded', 'partially_paid', 'paid')
                THEN round(claimed * (0.4 + 0.6 * pg_temp.u(n, 15)))::bigint END AS awarded,
           CASE WHEN status IN ('paid', 'rejected', 'withdrawn')
                THEN opened + pg_temp.pick(n, 19, least(730, date '2026-11-15' - opened + 1))
           END AS closed
      FROM claim
), new_cases AS (
    INSERT INTO cases (org_id, case_id, reference, kind, status, opened_on, closed_on,
                       version, created_by, created_at, updated_at, idempotency_key,
                       request_hash)
    OVERRIDING SYSTEM VALUE
    SELECT org_id, case_id,
           'WT-' || extract(year FROM opened) || '-'
               || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END,
           'wage_theft', status, opened, closed,
           CASE status WHEN 'intake' THEN 1 WHEN 'filed' THEN 2 WHEN 'in_mediation' THEN 3
                       WHEN 'awarded' THEN 4 WHEN 'partially_paid' THEN 6 WHEN 'paid' THEN 6
                       WHEN 'rejected' THEN 3 ELSE 2 END,
           officer_id, opened + time '09:00', coalesce(closed, opened) + time '17:00',
           decode(lpad(to_hex(n), 32, '0'), 'hex'), decode(lpad(to_hex(n), 64, 'b'), 'hex')
      FROM money
)
INSERT INTO wage_theft_claims (org_id, case_id, worker_nationality, country_of_work, sector,
                               employer, work_started_on, work_ended_on, amount_claimed_minor,
                               amount_claimed_currency, workers, recruitment_agency, forum,
                               amount_awarded_minor, amount_awarded_currency,
                               amount_recovered_minor, amount_recovered_currency)
SELECT org_id, case_id, origin, destination, sector, employer, started, ended, claimed,
       currency, workers, agency, forum, awarded, CASE WHEN awarded IS NOT NULL THEN currency END,
       CASE status
           WHEN 'paid' THEN awarded
           WHEN 'partially_paid' THEN round(awarded * (0.1 + 0.8 * pg_temp.u(n, 16)))::bigint
       END,
       CASE WHEN status IN ('paid', 'partially_paid') THEN currency END
  FROM money;

-- What the server would have kept up: the identity and the reference counters, so claims
-- logged later get fresh case ids and references.
SELECT setval(pg_get_serial_sequence('cases', 'case_id'), max(case_id)) FROM cases \gset
SELECT count(*) FROM (
    SELECT case_next_number(org_id, 'wage_theft', y),
           setval(case_number_sequence(org_id, 'wage_theft', y)::regclass, n)
      FROM (SELECT org_id, split_part(reference, '-', 2)::integer AS y,
                   max(split_part(reference, '-', 3)::bigint) AS n
              FROM cases WHERE kind = 'wage_theft' AND case_id > :case_base
             GROUP BY 1, 2) m) x \gset

COMMIT;
