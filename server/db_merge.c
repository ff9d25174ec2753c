/* tulayd's database pool: merged batches (see the comment at db_merge_fits). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "db_internal.h"
#include "log.h"

/* Forgets the merged batch in flight, if any. */
void dbc_merge_clear(struct db_conn *c)
{
	c->merged = false;
	free(c->merge_buf);
	c->merge_buf = NULL;
	PQclear(c->merge_result);
	c->merge_result = NULL;
}

/* Merged batches. A batch shares one transaction but still runs each job's statements
 * one by one, and for a small write most of PostgreSQL's time is that per-statement
 * set-up. Batchable jobs with the same `merge` whose queries have its shape (plain
 * CreateClaims, GetClaims) that wait together are sent instead as the merge's one
 * statement, which does the work of them all in a few set-based statements: each
 * parameter of the shape's queries becomes a text[] with one element per job, and each
 * job gets, from its rows of the result, the results its own queries would have had. If
 * the statement fails (it refuses anything but the plain case: a replay, a reused key,
 * an ended session), nothing of it happened and each job runs again alone, as a failed
 * batch's jobs do. */
bool db_merge_fits(const struct db_job *job, const struct db_job *first)
{
	const struct db_merge *m = first->merge;
	if (!job->batchable || job->merge != m || job->nqueries != first->nqueries)
		return false;
	int i = 0;
	for (; m->shape[i] != NULL; i++) {
		if (i >= job->nqueries || strcmp(job->queries[i].statement, m->shape[i]) != 0 ||
		    job->queries[i].nparams != first->queries[i].nparams)
			return false;
	}
	return i == job->nqueries;
}

/* One element of a text[] literal at `out` (or only its length, out NULL): NULL, or the
 * value in double quotes with " and \ escaped, a binary value as hex digits. */
static size_t merge_element(char *out, const struct db_query *q, int p)
{
	static const char hex[] = "0123456789abcdef";
	const char *v = q->values[p];
	if (v == NULL) {
		if (out != NULL)
			memcpy(out, "NULL", 4);
		return 4;
	}
	size_t n = 0;
	if (out != NULL)
		out[n] = '"';
	n++;
	if (q->formats[p] == 1) {
		for (int i = 0; i < q->lengths[p]; i++) {
			unsigned char b = (unsigned char)v[i];
			if (out != NULL) {
				out[n] = hex[b >> 4];
				out[n + 1] = hex[b & 15];
			}
			n += 2;
		}
	} else {
		for (const char *t = v; *t != '\0'; t++) {
			if (*t == '"' || *t == '\\') {
				if (out != NULL)
					out[n] = '\\';
				n++;
			}
			if (out != NULL)
				out[n] = *t;
			n++;
		}
	}
	if (out != NULL)
		out[n] = '"';
	return n + 1;
}

/* Builds the merged query of jobs[0..n) into c->merge_query, its parameters in
 * c->merge_buf. Returns false when out of memory or past DB_MAX_PARAMS. */
static bool merge_build(struct db_conn *c, struct db_job *const *jobs, unsigned n)
{
	const struct db_job *first = jobs[0];
	size_t size = 0;
	int nparams = 0;
	for (int q = 0; q < first->nqueries; q++) {
		for (int p = 0; p < first->queries[q].nparams; p++) {
			nparams++;
			size += 3; /* {, } and the terminating NUL */
			for (unsigned j = 0; j < n; j++)
				size += merge_element(NULL, &jobs[j]->queries[q], p) + 1;
		}
	}
	if (nparams > DB_MAX_PARAMS)
		return false;
	char *w = malloc(size);
	if (w == NULL)
		return false;
	c->merge_buf = w;
	struct db_query *mq = &c->merge_query;
	memset(mq, 0, sizeof(*mq));
	mq->statement = first->merge->statement;
	for (int q = 0; q < first->nqueries; q++) {
		for (int p = 0; p < first->queries[q].nparams; p++) {
			mq->values[mq->nparams++] = w;
			*w++ = '{';
			for (unsigned j = 0; j < n; j++) {
				if (j > 0)
					*w++ = ',';
				w += merge_element(w, &jobs[j]->queries[q], p);
			}
			*w++ = '}';
			*w++ = '\0';
		}
	}
	return true;
}

/* Sends jobs[0..n) as one merged statement, or as a plain batch when it cannot be built. */
int dbc_start_merged(struct db_conn *c, struct db_job **jobs, unsigned n)
{
	if (!merge_build(c, jobs, n)) {
		dbc_merge_clear(c);
		return dbc_start_jobs(c, jobs, n);
	}
	memcpy(c->jobs, jobs, sizeof(jobs[0]) * n);
	c->njobs = n;
	c->state = DBC_BUSY;
	c->query_index = 0;
	c->query_open = false;
	c->batch_failed = false;
	c->batch_committed = false;
	c->merged = true;
	uint64_t deadline = db_pool_now(c->pool) + c->pool->opts.query_timeout_ms;
	for (unsigned i = 0; i < n; i++) {
		jobs[i]->sent = true;
		jobs[i]->failed_query = -1;
		jobs[i]->deadline_ms = deadline;
	}
	const struct db_query *q = &c->merge_query;
	if (PQsendQueryPrepared(c->pg, q->statement, q->nparams, q->values, NULL, NULL, 0) != 1 ||
	    PQpipelineSync(c->pg) != 1)
		return dbc_lost(c, "send_query");
	c->syncs_left = 1;
	return dbc_flush_and_watch(c);
}

/* Columns [first, end) of the rows [from, to) of `res` whose second column is `tag` (any
 * with tag NULL), as a result of their own. */
static PGresult *merge_part(const PGresult *res, int from, int to, int first, int end,
			    const char *tag)
{
	PGresAttDesc attrs[64];
	int count = end - first;
	if (first < 0 || count < 0 || count > (int)N_ELEMS(attrs))
		return NULL;
	PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	if (r == NULL)
		return NULL;
	for (int k = 0; k < count; k++) {
		attrs[k] = (PGresAttDesc){
		    .name = PQfname(res, first + k),
		    .tableid = PQftable(res, first + k),
		    .columnid = PQftablecol(res, first + k),
		    .format = PQfformat(res, first + k),
		    .typid = PQftype(res, first + k),
		    .typlen = PQfsize(res, first + k),
		    .atttypmod = PQfmod(res, first + k),
		};
	}
	bool ok = PQsetResultAttrs(r, count, attrs) == 1;
	int out = 0;
	for (int row = from; ok && row < to; row++) {
		if (tag != NULL && strcmp(PQgetvalue(res, row, 1), tag) != 0)
			continue;
		for (int k = 0; ok && k < count; k++) {
			bool null = PQgetisnull(res, row, first + k);
			ok = PQsetvalue(r, out, k, null ? NULL : PQgetvalue(res, row, first + k),
					null ? -1 : PQgetlength(res, row, first + k)) == 1;
		}
		out++;
	}
	if (!ok) {
		PQclear(r);
		return NULL;
	}
	return r;
}

/* Gives each job of the merged batch its results from its rows. Returns false when the
 * result does not fit the merge (rows out of order, a part's column missing, an untagged
 * job without exactly one row), or when out of memory. */
static bool merge_split(struct db_conn *c, struct db_job *const *jobs, unsigned n)
{
	const PGresult *res = c->merge_result;
	const struct db_merge *m = jobs[0]->merge;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) < (m->tagged ? 2 : 1))
		return false;
	int first[DB_MERGE_MAX_PARTS], end[DB_MERGE_MAX_PARTS];
	for (unsigned k = 0; k < m->nparts; k++) {
		first[k] = PQfnumber(res, m->parts[k].name) + 1;
		end[k] = PQnfields(res);
		if (first[k] <= 0)
			return false;
	}
	for (unsigned k = 0; k < m->nparts; k++) {
		for (unsigned l = 0; l < m->nparts; l++) {
			if (first[l] > first[k] && first[l] - 1 < end[k])
				end[k] = first[l] - 1;
		}
	}
	int rows = PQntuples(res), row = 0;
	for (unsigned i = 0; i < n; i++) {
		struct db_job *job = jobs[i];
		int from = row;
		while (row < rows && strtoll(PQgetvalue(res, row, 0), NULL, 10) == (long long)i + 1)
			row++;
		if (!m->tagged && row - from != 1)
			return false;
		for (unsigned k = 0; k < m->nparts; k++) {
			const struct db_merge_part *part = &m->parts[k];
			assert(part->query < job->nqueries);
			job->results[part->query] = merge_part(res, from, row, first[k], end[k],
							       m->tagged ? part->name : NULL);
			if (job->results[part->query] == NULL)
				return false;
		}
		for (int q = 0; q < job->nqueries; q++) {
			if (job->results[q] == NULL &&
			    (job->results[q] = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK)) == NULL)
				return false;
		}
	}
	return row == rows;
}

/* The merged batch in flight is complete: each job gets its results, or runs again alone
 * if the statement failed. */
void dbc_merged_done(struct db_conn *c, struct db_job **jobs, unsigned njobs)
{
	if (c->batch_failed || c->merge_result == NULL) {
		char clean[256];
		log_info("event=db_batch_rolled_back db_conn=%u jobs=%u merged=1 error=\"%s\"",
			 c->index, njobs,
			 log_clean(c->merge_result != NULL ? PQresultErrorMessage(c->merge_result)
							   : "no result",
				   clean, sizeof(clean)));
		dbc_merge_clear(c);
		db_pool_requeue_alone(c->pool, jobs, njobs);
		return;
	}
	bool split = merge_split(c, jobs, njobs);
	dbc_merge_clear(c);
	if (!split) {
		/* Committed, but the answers are lost: the outcome is unknown to the clients,
		 * who resend with the same keys and are answered from what was stored. */
		log_error("event=db_merge_split_failed db_conn=%u jobs=%u", c->index, njobs);
		for (unsigned i = 0; i < njobs; i++) {
			db_job_clear(jobs[i]);
			db_job_finish(jobs[i], DB_UNAVAILABLE);
		}
		return;
	}
	log_info("event=db_merged db_conn=%u jobs=%u statement=%s", c->index, njobs,
		 jobs[0]->merge->statement);
	for (unsigned i = 0; i < njobs; i++)
		db_job_finish(jobs[i], DB_OK);
}
