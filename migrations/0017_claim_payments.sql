-- Money on a claim stays in the claim's currency, and recoveries are dated payments
-- (issue 12, finding 6). An award in USD on a MYR claim was accepted and put a "USD 0.00"
-- row in reports; `claim amounts --recovered 1000` replaced a recorded 3000.
--
--  * An amount awarded or recovered in another currency than the claim's is refused
--    ('currency') unless the request names the date whose exchange rate converts it
--    ('no_rate' when there is none): it is then stored converted, and the event says
--    from what, at which rate.
--  * What is recovered is a list of dated payments (claim_payments) that add up into
--    wage_theft_claims.amount_recovered_minor, which the report rollups read as before.
--    A payment never overwrites another. UpdateClaimAmounts.amount_recovered still works
--    for a claim with nothing recovered yet (it is recorded as its first payment); once
--    payments exist it is refused ('payments'): a total would overwrite them.
--  * Recoveries recorded before this migration become one payment each, dated the day
--    the claim was last changed, marked as such.
--
-- Lock order, as every claim update: the case's row in cases (FOR UPDATE) first, then
-- its wage_theft_claims row, then the rows appended (claim_payments, case_events).

CREATE TABLE claim_payments (
    org_id         bigint NOT NULL,
    case_id        bigint NOT NULL,
    payment_id     bigint GENERATED ALWAYS AS IDENTITY,
    paid_on        date NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),  -- in the claim's currency
    currency       char(3) NOT NULL,
    paid_minor     bigint NOT NULL CHECK (paid_minor > 0),    -- as paid
    paid_currency  char(3) NOT NULL,
    rate           numeric,    -- paid_currency -> currency, when converted
    rate_date      date,       -- the day whose rate converted it
    before_dating  boolean NOT NULL DEFAULT false,  -- a total recorded before 0017
    recorded_by    bigint NOT NULL REFERENCES users (user_id),
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, case_id, payment_id),
    FOREIGN KEY (org_id, case_id) REFERENCES wage_theft_claims (org_id, case_id),
    CONSTRAINT claim_payments_converted
        CHECK ((paid_currency = currency) = (rate IS NULL) AND (rate IS NULL) = (rate_date IS NULL))
);
ALTER TABLE claim_payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE claim_payments FORCE ROW LEVEL SECURITY;
-- As the case's other rows: its organisation, and a partner it referred the case to.
CREATE POLICY claim_payments_owner ON claim_payments FOR ALL
    USING (org_id = tulay_org()) WITH CHECK (org_id = tulay_org());
CREATE POLICY claim_payments_shared ON claim_payments FOR ALL
    USING (org_id <> tulay_org()
           AND (org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s))
    WITH CHECK (org_id <> tulay_org()
           AND (org_id, case_id) IN (SELECT s.org_id, s.case_id FROM tulay_shared_cases() s));
GRANT SELECT, INSERT ON claim_payments TO tulay_app;

INSERT INTO claim_payments (org_id, case_id, paid_on, amount_minor, currency, paid_minor,
                            paid_currency, before_dating, recorded_by, recorded_at)
SELECT w.org_id, w.case_id, (c.updated_at AT TIME ZONE 'UTC')::date, w.amount_recovered_minor,
       w.amount_recovered_currency, w.amount_recovered_minor, w.amount_recovered_currency,
       true, c.created_by, c.updated_at
  FROM wage_theft_claims w JOIN cases c USING (org_id, case_id)
 WHERE w.amount_recovered_minor > 0;

-- p_minor of p_from in p_to at the rate in force on p_day: the rate set from p_from to
-- p_to, else the inverse of the one from p_to to p_from. NULLs when there is none.
CREATE FUNCTION money_convert(p_minor bigint, p_from text, p_to text, p_day date,
                              OUT minor bigint, OUT rate numeric)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    e record;
BEGIN
    IF p_from = p_to THEN
        minor := p_minor;
        RETURN;
    END IF;
    SELECT x.rate, x.currency_exponent, x.reporting_exponent INTO e FROM exchange_rates x
     WHERE x.currency = p_from AND x.reporting_currency = p_to AND x.valid_from <= p_day
     ORDER BY x.valid_from DESC LIMIT 1;
    IF FOUND THEN
        rate := e.rate;
        minor := round(p_minor * e.rate
                       * power(10::numeric, e.reporting_exponent - e.currency_exponent));
        RETURN;
    END IF;
    SELECT x.rate, x.currency_exponent, x.reporting_exponent INTO e FROM exchange_rates x
     WHERE x.currency = p_to AND x.reporting_currency = p_from AND x.valid_from <= p_day
     ORDER BY x.valid_from DESC LIMIT 1;
    IF FOUND THEN
        rate := round(1 / e.rate, 12);
        minor := round(p_minor / e.rate
                       * power(10::numeric, e.currency_exponent - e.reporting_exponent));
    END IF;
END;
$$;

-- An amount as the claim keeps it: in the claim's currency p_claim_currency, converted
-- at p_rate_date's rate if given in another. outcome NULL when it will do, else
-- 'currency' (another currency and no date) or 'no_rate'; detail for the caller.
CREATE FUNCTION claim_money(p_field text, p_minor bigint, p_currency text,
                            p_claim_currency text, p_rate_date date,
                            OUT minor bigint, OUT rate numeric, OUT outcome text,
                            OUT detail text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
BEGIN
    IF p_currency = p_claim_currency THEN
        minor := p_minor;
        RETURN;
    END IF;
    IF p_rate_date IS NULL THEN
        outcome := 'currency';
        detail := p_field || '|' || p_currency || '|' || p_claim_currency;
        RETURN;
    END IF;
    c := money_convert(p_minor, p_currency, p_claim_currency, p_rate_date);
    IF c.minor IS NULL THEN
        outcome := 'no_rate';
        detail := p_field || '|' || p_currency || '|' || p_claim_currency || '|' || p_rate_date;
        RETURN;
    END IF;
    minor := c.minor;
    rate := c.rate;
END;
$$;

-- Adds one payment to the claim (already locked by the caller) and its total.
CREATE FUNCTION claim_add_payment(p_org bigint, p_case bigint, p_user bigint, p_paid_on date,
                                  p_minor bigint, p_currency text, p_paid_minor bigint,
                                  p_paid_currency text, p_rate numeric, p_rate_date date)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO claim_payments (org_id, case_id, paid_on, amount_minor, currency, paid_minor,
                                paid_currency, rate, rate_date, recorded_by)
    VALUES (p_org, p_case, p_paid_on, p_minor, p_currency, p_paid_minor, p_paid_currency,
            p_rate, CASE WHEN p_rate IS NOT NULL THEN p_rate_date END, p_user);
    UPDATE wage_theft_claims
       SET amount_recovered_minor = coalesce(amount_recovered_minor, 0) + p_minor,
           amount_recovered_currency = p_currency
     WHERE org_id = p_org AND case_id = p_case;
END;
$$;

-- "1000.00 USD at 4.4 (2026-01-01)" for an event's detail, or the amount alone. p_amount:
-- the amount as tulayd wrote it, in major units ("1000.00").
CREATE FUNCTION money_text(p_amount text, p_currency text, p_rate numeric, p_rate_date date)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT p_amount || ' ' || p_currency
        || CASE WHEN p_rate IS NULL THEN ''
                ELSE ' at ' || trim(trailing '.' FROM trim(trailing '0' FROM p_rate::text))
                     || ' (' || p_rate_date || ')' END
$$;

-- The claim a money write changes, locked (cases first, as every claim update), after the
-- replay check: outcome 'replayed' or 'key_reused' for a key already used, 'not_found',
-- else NULL with the claim's case_id, version and currency.
CREATE FUNCTION claim_money_target(p_org_id bigint, p_idempotency_key bytea,
                                   p_request_hash bytea, p_reference text,
                                   OUT case_id bigint, OUT version bigint,
                                   OUT currency text, OUT outcome text)
LANGUAGE plpgsql AS $$
DECLARE
    v_hash bytea;
BEGIN
    SELECT e.request_hash INTO v_hash FROM case_events e
     WHERE e.org_id = p_org_id AND e.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        outcome := CASE WHEN v_hash = p_request_hash THEN 'replayed' ELSE 'key_reused' END;
        RETURN;
    END IF;
    SELECT c.case_id, c.version INTO case_id, version FROM cases c
     WHERE c.org_id = p_org_id AND c.reference = p_reference AND c.kind = 'wage_theft'
     FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT w.amount_claimed_currency INTO currency FROM wage_theft_claims w
     WHERE w.org_id = p_org_id AND w.case_id = claim_money_target.case_id;
    IF NOT FOUND THEN
        -- A partner whose referral was revoked since the case was locked (each statement
        -- sees what has committed): the claim is no longer theirs to see.
        outcome := 'not_found';
    END IF;
END;
$$;

-- UpdateClaimAmounts with the rules above. Outcomes as update_claim_amounts' (changed,
-- replayed, key_reused, not_found, stale), and 'currency', 'no_rate', 'payments'.
CREATE FUNCTION claim_update_amounts(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_expected_version bigint, p_awarded_minor bigint,
    p_awarded_currency text, p_recovered_minor bigint, p_recovered_currency text,
    p_occurred_on date, p_rate_date date, p_awarded_text text, p_recovered_text text,
    OUT outcome text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    v_case record;
    v_currency text;
    a record;
    r record;
    v_detail text := NULL;
BEGIN
    v_case := claim_money_target(p_org_id, p_idempotency_key, p_request_hash, p_reference);
    IF v_case.outcome IS NOT NULL THEN
        outcome := v_case.outcome;
        RETURN;
    END IF;
    IF v_case.version <> p_expected_version THEN
        outcome := 'stale';
        detail := v_case.version::text;
        RETURN;
    END IF;
    v_currency := v_case.currency;
    IF p_awarded_minor IS NOT NULL THEN
        a := claim_money('amount_awarded', p_awarded_minor, p_awarded_currency, v_currency,
                         p_rate_date);
        IF a.outcome IS NOT NULL THEN
            outcome := a.outcome;
            detail := a.detail;
            RETURN;
        END IF;
        UPDATE wage_theft_claims SET amount_awarded_minor = a.minor,
                                     amount_awarded_currency = v_currency
         WHERE org_id = p_org_id AND case_id = v_case.case_id;
        IF a.rate IS NOT NULL THEN
            v_detail := 'awarded ' || money_text(p_awarded_text, p_awarded_currency, a.rate,
                                                 p_rate_date);
        END IF;
    END IF;
    IF p_recovered_minor IS NOT NULL THEN
        SELECT sum(p.amount_minor)::text || ' ' || v_currency INTO detail
          FROM claim_payments p WHERE p.org_id = p_org_id AND p.case_id = v_case.case_id;
        IF detail IS NOT NULL THEN
            outcome := 'payments';
            RETURN;
        END IF;
        r := claim_money('amount_recovered', p_recovered_minor, p_recovered_currency,
                         v_currency, p_rate_date);
        IF r.outcome IS NOT NULL THEN
            outcome := r.outcome;
            detail := r.detail;
            RETURN;
        END IF;
        IF r.minor > 0 THEN
            PERFORM claim_add_payment(p_org_id, v_case.case_id, p_user_id, p_occurred_on,
                                      r.minor, v_currency, p_recovered_minor,
                                      p_recovered_currency, r.rate, p_rate_date);
        ELSE  -- "nothing recovered", as before: no payment to record
            UPDATE wage_theft_claims SET amount_recovered_minor = 0,
                                         amount_recovered_currency = v_currency
             WHERE org_id = p_org_id AND case_id = v_case.case_id;
        END IF;
        IF r.rate IS NOT NULL THEN
            v_detail := concat_ws('; ', v_detail, 'recovered ' || money_text(
                p_recovered_text, p_recovered_currency, r.rate, p_rate_date));
        END IF;
    END IF;
    UPDATE cases SET version = version + 1, updated_at = now()
     WHERE org_id = p_org_id AND case_id = v_case.case_id;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by,
                             idempotency_key, request_hash, detail)
    VALUES (p_org_id, v_case.case_id, 'amounts_updated', p_occurred_on, p_user_id,
            p_idempotency_key, p_request_hash, v_detail);
    outcome := 'changed';
    detail := NULL;
END;
$$;

-- RecordPayment: one dated payment added to what the claim has recovered. Outcomes:
-- changed, replayed, key_reused, not_found, currency, no_rate. No expected version: a
-- payment changes no one else's figure, and two recorded at once both count.
CREATE FUNCTION claim_record_payment(
    p_org_id bigint, p_user_id bigint, p_idempotency_key bytea, p_request_hash bytea,
    p_reference text, p_paid_minor bigint, p_paid_currency text, p_paid_on date,
    p_rate_date date, p_paid_text text, OUT outcome text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    v_case record;
    v_currency text;
    m record;
BEGIN
    v_case := claim_money_target(p_org_id, p_idempotency_key, p_request_hash, p_reference);
    IF v_case.outcome IS NOT NULL THEN
        outcome := v_case.outcome;
        RETURN;
    END IF;
    v_currency := v_case.currency;
    m := claim_money('amount', p_paid_minor, p_paid_currency, v_currency, p_rate_date);
    IF m.outcome IS NOT NULL THEN
        outcome := m.outcome;
        detail := m.detail;
        RETURN;
    END IF;
    PERFORM claim_add_payment(p_org_id, v_case.case_id, p_user_id, p_paid_on, m.minor,
                              v_currency, p_paid_minor, p_paid_currency, m.rate, p_rate_date);
    UPDATE cases SET version = version + 1, updated_at = now()
     WHERE org_id = p_org_id AND case_id = v_case.case_id;
    INSERT INTO case_events (org_id, case_id, kind, occurred_on, recorded_by,
                             idempotency_key, request_hash, detail)
    VALUES (p_org_id, v_case.case_id, 'amounts_updated', p_paid_on, p_user_id,
            p_idempotency_key, p_request_hash,
            'payment ' || money_text(p_paid_text, p_paid_currency, m.rate, p_rate_date));
    outcome := 'changed';
END;
$$;

REVOKE ALL ON FUNCTION money_convert(bigint, text, text, date),
    claim_money_target(bigint, bytea, bytea, text),
    claim_money(text, bigint, text, text, date),
    claim_add_payment(bigint, bigint, bigint, date, bigint, text, bigint, text, numeric, date),
    money_text(text, text, numeric, date),
    claim_update_amounts(bigint, bigint, bytea, bytea, text, bigint, bigint, text, bigint, text,
                         date, date, text, text),
    claim_record_payment(bigint, bigint, bytea, bytea, text, bigint, text, date, date, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION money_convert(bigint, text, text, date),
    claim_money_target(bigint, bytea, bytea, text),
    claim_money(text, bigint, text, text, date),
    claim_add_payment(bigint, bigint, bigint, date, bigint, text, bigint, text, numeric, date),
    money_text(text, text, numeric, date),
    claim_update_amounts(bigint, bigint, bytea, bytea, text, bigint, bigint, text, bigint, text,
                         date, date, text, text),
    claim_record_payment(bigint, bigint, bytea, bytea, text, bigint, text, date, date, text)
    TO tulay_app;
