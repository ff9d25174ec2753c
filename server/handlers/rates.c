/* Exchange rates (SetExchangeRate, ListExchangeRates): what converts a report's money
 * (reports.c) into one reporting currency, set by admins, dated, never overwritten. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "handlers.h"
#include "iso.h"
#include "request.h"
#include "validate.h"
#include "vault.h"

/* What rate_from_row reads of a rate, each column by its name (struct rate_columns). */
#define RATE_SELECT                                                                                \
	"SELECT e.currency, e.reporting_currency, e.rate::text AS rate, "                          \
	"       to_char(e.valid_from, 'YYYY-MM-DD') AS valid_from, "                               \
	"       coalesce(u.username, '') AS set_by, extract(epoch FROM e.set_at)::bigint AS "      \
	"set_at "                                                                                  \
	"  FROM exchange_rates e LEFT JOIN user_names u ON u.user_id = e.set_by "

const struct db_statement rates_statements[] = {
    {"rate_set", "SELECT set_exchange_rate($1::bytea, $2::bytea, $3::text, $4::text, $5::numeric, "
		 "                         $6::date, $7::smallint, $8::smallint, $9::bigint) "
		 "AS outcome"},
    {"rate_by_key", RATE_SELECT " WHERE e.idempotency_key = $1::bytea"},
    {"rate_list", RATE_SELECT " WHERE ($1::text = '' OR e.currency = $1::text) "
			      "   AND ($2::text = '' OR e.reporting_currency = $2::text) "
			      " ORDER BY e.currency, e.reporting_currency, e.valid_from"},
};
const unsigned rates_statements_count = N_ELEMS(rates_statements);

/* The indexes of the columns of a RATE_SELECT result, looked up once for all its rows. */
struct rate_columns {
	int currency, reporting_currency, rate, valid_from, set_by, set_at;
};

static struct rate_columns rate_columns(const PGresult *res)
{
	return (struct rate_columns){
	    .currency = db_column(res, "currency"),
	    .reporting_currency = db_column(res, "reporting_currency"),
	    .rate = db_column(res, "rate"),
	    .valid_from = db_column(res, "valid_from"),
	    .set_by = db_column(res, "set_by"),
	    .set_at = db_column(res, "set_at"),
	};
}

/* The rate in row `row` of a rate_by_key / rate_list result; NULL when out of memory. */
static Tulay__V1__ExchangeRate *rate_from_row(struct request *req, const PGresult *res, int row,
					      const struct rate_columns *c)
{
	Tulay__V1__ExchangeRate *e = request_alloc(req, sizeof(*e));
	if (e == NULL)
		return NULL;
	tulay__v1__exchange_rate__init(e);
	e->currency = PQgetvalue(res, row, c->currency);
	e->reporting_currency = PQgetvalue(res, row, c->reporting_currency);
	/* numeric(24,12) prints twelve decimals: drop the trailing zeros. */
	char *rate = arena_strdup(&req->arena, PQgetvalue(res, row, c->rate));
	if (rate == NULL)
		return NULL;
	if (strchr(rate, '.') != NULL) {
		size_t len = strlen(rate);
		while (len > 0 && rate[len - 1] == '0')
			rate[--len] = '\0';
		if (len > 0 && rate[len - 1] == '.')
			rate[--len] = '\0';
	}
	e->rate = rate;
	e->valid_from = PQgetvalue(res, row, c->valid_from);
	e->set_by = PQgetvalue(res, row, c->set_by);
	e->set_at = strtoll(PQgetvalue(res, row, c->set_at), NULL, 10); /* seconds since 1970 */
	return e;
}

/* True if `text` is a decimal > 0 with 1-12 digits before the point and at most 12 after. */
static bool rate_is_valid(const char *text)
{
	size_t whole = strspn(text, "0123456789");
	const char *rest = text + whole;
	size_t frac = 0;
	if (*rest == '.') {
		frac = strspn(rest + 1, "0123456789");
		if (frac == 0)
			return false;
		rest += 1 + frac;
	}
	if (*rest != '\0' || whole == 0 || whole > 12 || frac > 12)
		return false;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p >= '1' && *p <= '9')
			return true;
	}
	return false;
}

struct rate_state {
	uint8_t hash[32];
	char user[24], currency_exp[4], reporting_exp[4];
};

static void rate_set_done(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const char *result = db_value(request_result_of(req, "rate_set"), 0, "outcome");
	if (strcmp(result, "key_reused") == 0) {
		request_fail_key_reused(req, "exchange rate");
		return;
	}
	const PGresult *res = request_result_of(req, "rate_by_key");
	struct rate_columns cols = rate_columns(res);
	Tulay__V1__ExchangeRate *e = PQntuples(res) == 1 ? rate_from_row(req, res, 0, &cols) : NULL;
	if (e == NULL) {
		request_fail(req, TULAY__V1__CODE__INTERNAL,
			     "the rate was not found after setting it");
		return;
	}
	REQUEST_REPLY(req, EXCHANGE_RATE, exchange_rate, e);
}

void handle_set_exchange_rate(struct request *req)
{
	const Tulay__V1__SetExchangeRate *m = req->msg->set_exchange_rate;
	const char *problem;
	struct civil_date from;
	if ((problem = validate_idempotency_key(m->idempotency_key.len)) != NULL)
		request_field_error(req, "idempotency_key", problem);
	if ((problem = validate_currency(m->currency)) != NULL)
		request_field_error(req, "currency", problem);
	if ((problem = validate_currency(m->reporting_currency)) != NULL)
		request_field_error(req, "reporting_currency", problem);
	else if (strcmp(m->currency, m->reporting_currency) == 0)
		request_field_error(req, "reporting_currency", "is the currency itself");
	if (!rate_is_valid(m->rate))
		request_field_error(
		    req, "rate",
		    "is not a rate: a decimal above 0 with at most 12 digits before "
		    "and 12 after the point, such as 0.2135");
	if ((problem = validate_date(m->valid_from, &from)) != NULL)
		request_field_error(req, "valid_from", problem);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "the exchange rate was not set");
		return;
	}
	if (req->session.role != TULAY__V1__ROLE__ROLE_ADMIN) {
		request_fail(req, TULAY__V1__CODE__PERMISSION_DENIED,
			     "only an admin sets exchange rates");
		return;
	}
	struct rate_state *st = request_alloc(req, sizeof(*st));
	if (st == NULL) {
		request_fail_oom(req);
		return;
	}
	req->state = st;
	const char *parts[] = {m->currency, m->reporting_currency, m->rate, m->valid_from};
	vault_fingerprint(parts, N_ELEMS(parts), st->hash, sizeof(st->hash));
	snprintf(st->user, sizeof(st->user), "%lld", (long long)req->session.user_id);
	snprintf(st->currency_exp, sizeof(st->currency_exp), "%d",
		 iso_currency_find(m->currency)->minor_units);
	snprintf(st->reporting_exp, sizeof(st->reporting_exp), "%d",
		 iso_currency_find(m->reporting_currency)->minor_units);
	struct db_query *q = db_job_add(&req->job, "rate_set");
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	db_param_bytes(q, st->hash, sizeof(st->hash));
	DB_PARAMS_TEXT(q, m->currency, m->reporting_currency, m->rate, m->valid_from,
		       st->currency_exp, st->reporting_exp, st->user);
	q = db_job_add(&req->job, "rate_by_key");
	db_param_bytes(q, m->idempotency_key.data, (int)m->idempotency_key.len);
	request_audit(req, "set_exchange_rate", "",
		      arena_printf(&req->arena, "currency=%s reporting_currency=%s rate=%s from=%s",
				   m->currency, m->reporting_currency, m->rate, m->valid_from));
	request_db(req, rate_set_done);
}

static void rates_listed(struct request *req, enum db_outcome outcome)
{
	if (outcome != DB_OK) {
		request_fail_db(req);
		return;
	}
	const PGresult *res = request_result_of(req, "rate_list");
	int n = PQntuples(res);
	Tulay__V1__ExchangeRateList *list = request_alloc(req, sizeof(*list));
	Tulay__V1__ExchangeRate **rates = request_alloc(req, sizeof(*rates) * (size_t)(n + 1));
	if (list == NULL || rates == NULL) {
		request_fail_oom(req);
		return;
	}
	tulay__v1__exchange_rate_list__init(list);
	struct rate_columns cols = rate_columns(res);
	for (int i = 0; i < n; i++) {
		if ((rates[i] = rate_from_row(req, res, i, &cols)) == NULL) {
			request_fail_oom(req);
			return;
		}
	}
	list->rates = rates;
	list->n_rates = (size_t)n;
	REQUEST_REPLY(req, EXCHANGE_RATES, exchange_rates, list);
}

void handle_list_exchange_rates(struct request *req)
{
	const Tulay__V1__ListExchangeRates *m = req->msg->list_exchange_rates;
	const char *problem;
	if (*m->currency != '\0' && (problem = validate_currency(m->currency)) != NULL)
		request_field_error(req, "currency", problem);
	if (*m->reporting_currency != '\0' &&
	    (problem = validate_currency(m->reporting_currency)) != NULL)
		request_field_error(req, "reporting_currency", problem);
	if (request_has_field_errors(req)) {
		request_fail_invalid(req, "invalid exchange rate list");
		return;
	}
	struct db_query *q = db_job_add(&req->job, "rate_list");
	db_param_text(q, m->currency);
	db_param_text(q, m->reporting_currency);
	request_db(req, rates_listed);
}
