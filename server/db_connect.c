/* tulayd's database pool: starting it (reading the connection string), closing it, and
 * connecting. Each connection resolves its host on libuv's thread pool (never on the
 * loop), steps PQconnectPoll as its socket becomes ready (a fresh poll handle per step:
 * libpq may change the socket), prepares the statements, and after a loss reconnects
 * with a doubling backoff. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "db_internal.h"
#include "log.h"

/* --- connecting ---------------------------------------------------------------------- */

int dbc_connect_step(struct db_conn *c, PostgresPollingStatusType st)
{
	switch (st) {
	case PGRES_POLLING_READING:
		return dbc_watch(c, UV_READABLE, true) == 0 ? 0 : dbc_lost(c, "poll");
	case PGRES_POLLING_WRITING:
		return dbc_watch(c, UV_WRITABLE, true) == 0 ? 0 : dbc_lost(c, "poll");
	case PGRES_POLLING_OK:
		break;
	default:
		return dbc_lost(c, "connect_failed");
	}

	/* The connect deadline keeps running until the statements are prepared too: a lock
	 * held by a migration must not leave the connection preparing forever. */
	if (PQsetnonblocking(c->pg, 1) != 0 || PQenterPipelineMode(c->pg) != 1)
		return dbc_lost(c, "pipeline_mode");
	for (unsigned i = 0; i < c->pool->opts.nstatements; i++) {
		const struct db_statement *s = &c->pool->opts.statements[i];
		if (PQsendPrepare(c->pg, s->name, s->sql, 0, NULL) != 1)
			return dbc_lost(c, "send_prepare");
	}
	if (PQpipelineSync(c->pg) != 1)
		return dbc_lost(c, "pipeline_sync");
	c->state = DBC_PREPARING;
	c->query_index = 0;
	c->query_open = false;
	c->prepare_failed = false;
	return dbc_service(c, 0);
}

static void dbc_on_timer(uv_timer_t *t);

/* --- several hosts ----------------------------------------------------------------------- */

static unsigned list_count(const char *list)
{
	unsigned n = 1;
	for (const char *p = list; *p != '\0'; p++)
		n += *p == ',';
	return n;
}

int db_hosts_init(struct db_hosts *h, const char *host, const char *hostaddr, const char *port)
{
	memset(h, 0, sizeof(*h));
	const char *names = host != NULL && *host != '\0' ? host : hostaddr;
	if (names == NULL || *names == '\0' || list_count(names) < 2)
		return 0;
	h->n = list_count(names);
	h->host = host != NULL && *host != '\0' ? strdup(host) : NULL;
	h->hostaddr = hostaddr != NULL && *hostaddr != '\0' ? strdup(hostaddr) : NULL;
	h->port = port != NULL && *port != '\0' ? strdup(port) : NULL;
	if ((host != NULL && *host != '\0' && h->host == NULL) ||
	    (hostaddr != NULL && *hostaddr != '\0' && h->hostaddr == NULL) ||
	    (port != NULL && *port != '\0' && h->port == NULL)) {
		db_hosts_free(h);
		return -ENOMEM;
	}
	return 0;
}

void db_hosts_free(struct db_hosts *h)
{
	free(h->host);
	free(h->hostaddr);
	free(h->port);
	memset(h, 0, sizeof(*h));
}

/* The comma-separated list starting at its `start`-th element and wrapping round; a list
 * of one element (a port for every host) as it is. NULL for NULL, or out of memory. */
static char *list_rotated(const char *list, unsigned start)
{
	if (list == NULL)
		return NULL;
	unsigned n = list_count(list);
	if (n < 2)
		return strdup(list);
	const char *from = list;
	for (unsigned i = 0; i < start % n; i++)
		from = strchr(from, ',') + 1;
	size_t len = strlen(list);
	char *out = malloc(len + 2);
	if (out == NULL)
		return NULL;
	if (from == list)
		memcpy(out, list, len + 1);
	else
		snprintf(out, len + 2, "%s,%.*s", from, (int)(from - list - 1), list);
	return out;
}

/* Sets c->hosts, hostaddrs and ports to the pool's lists, starting with c->host_start.
 * Returns false when out of memory. */
static bool dbc_rotate_hosts(struct db_conn *c)
{
	struct db_hosts *h = &c->pool->hosts;
	unsigned start = c->host_start % h->n;
	free(c->hosts);
	free(c->hostaddrs);
	free(c->ports);
	c->hosts = list_rotated(h->host, start);
	c->hostaddrs = list_rotated(h->hostaddr, start);
	c->ports = list_rotated(h->port, start);
	return (h->host == NULL || c->hosts != NULL) &&
	       (h->hostaddr == NULL || c->hostaddrs != NULL) &&
	       (h->port == NULL || c->ports != NULL);
}

static void dbc_connect(struct db_conn *c)
{
	struct db_pool *pool = c->pool;
	const char *keys[14], *values[14];
	int n = 0;
	keys[n] = "dbname"; /* expanded: the whole connection string; later keys override */
	values[n++] = pool->conninfo;
	if (pool->hosts.n > 1) {
		if (!dbc_rotate_hosts(c)) {
			dbc_lost(c, "out_of_memory");
			return;
		}
		const char *lists[][2] = {
		    {"host", c->hosts}, {"hostaddr", c->hostaddrs}, {"port", c->ports}};
		for (size_t i = 0; i < N_ELEMS(lists); i++) {
			if (lists[i][1] != NULL) {
				keys[n] = lists[i][0];
				values[n++] = lists[i][1];
			}
		}
	} else if (c->hostaddrs != NULL) {
		keys[n] = "host";
		values[n++] = c->hosts;
		keys[n] = "hostaddr";
		values[n++] = c->hostaddrs;
	}
	keys[n] = "application_name";
	values[n++] = "tulayd";
	keys[n] = "options";
	values[n++] = pool->options;
	/* Notice a silently vanished server (network partition) within about a minute. */
	keys[n] = "keepalives";
	values[n++] = "1";
	keys[n] = "keepalives_idle";
	values[n++] = "30";
	keys[n] = "keepalives_interval";
	values[n++] = "10";
	keys[n] = "keepalives_count";
	values[n++] = "3";
	keys[n] = NULL;
	values[n] = NULL;

	c->pg = PQconnectStartParams(keys, values, 1);
	if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
		dbc_lost(c, "connect_start");
		return;
	}
	c->state = DBC_CONNECTING;
	UV_MUST(uv_timer_start(&c->timer, dbc_on_timer, DB_CONNECT_TIMEOUT_MS, 0));
	/* libpq's contract: after PQconnectStart, act as if PQconnectPoll said WRITING. */
	dbc_connect_step(c, PGRES_POLLING_WRITING);
}

/* Builds the host and hostaddr lists from every address the name resolved to, so that
 * libpq tries each in turn (localhost may be ::1 first while PostgreSQL listens on
 * 127.0.0.1 only). */
static int dbc_set_addresses(struct db_conn *c, const char *host, const struct addrinfo *res)
{
	size_t cap = 0;
	for (const struct addrinfo *a = res; a != NULL; a = a->ai_next)
		cap += INET6_ADDRSTRLEN + 1 + strlen(host) + 1;
	char *hosts = calloc(1, cap + 1), *addrs = calloc(1, cap + 1);
	if (hosts == NULL || addrs == NULL) {
		free(hosts);
		free(addrs);
		return -ENOMEM;
	}
	size_t nh = 0, na = 0;
	for (const struct addrinfo *a = res; a != NULL; a = a->ai_next) {
		char ip[INET6_ADDRSTRLEN];
		if (uv_ip_name(a->ai_addr, ip, sizeof(ip)) != 0)
			continue;
		/* getaddrinfo may list an address more than once; keep the first. */
		bool seen = false;
		for (const struct addrinfo *b = res; b != a && !seen; b = b->ai_next) {
			char other[INET6_ADDRSTRLEN];
			seen = uv_ip_name(b->ai_addr, other, sizeof(other)) == 0 &&
			       strcmp(ip, other) == 0;
		}
		if (seen)
			continue;
		na += (size_t)snprintf(addrs + na, cap + 1 - na, "%s%s", na ? "," : "", ip);
		nh += (size_t)snprintf(hosts + nh, cap + 1 - nh, "%s%s", nh ? "," : "", host);
	}
	free(c->hosts);
	free(c->hostaddrs);
	c->hosts = hosts;
	c->hostaddrs = addrs;
	return na > 0 ? 0 : -ENOENT;
}

static void dbc_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct db_conn *c = container_of(req, struct db_conn, resolver);
	struct db_pool *pool = c->pool;
	c->resolving = false;
	if (pool->closing) {
		uv_freeaddrinfo(res);
		db_pool_handle_closed(pool);
		return;
	}
	db_pool_handle_closed(pool); /* the request is over; the pool itself stays open */
	if (status != 0 || res == NULL) {
		log_warn("event=db_resolve_failed db_conn=%u host=%s error=%s", c->index,
			 pool->resolve_host, uv_strerror(status));
		uv_freeaddrinfo(res);
		c->state = DBC_DOWN;
		dbc_schedule_reconnect(c);
		return;
	}
	int rc = dbc_set_addresses(c, pool->resolve_host, res);
	uv_freeaddrinfo(res);
	if (rc != 0) {
		c->state = DBC_DOWN;
		dbc_schedule_reconnect(c);
		return;
	}
	dbc_connect(c);
}

void dbc_begin(struct db_conn *c)
{
	struct db_pool *pool = c->pool;
	if (pool->resolve_host == NULL) {
		dbc_connect(c);
		return;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	c->state = DBC_RESOLVING;
	int rc = uv_getaddrinfo(pool->loop, &c->resolver, dbc_on_resolved, pool->resolve_host, NULL,
				&hints);
	if (rc != 0) {
		log_warn("event=db_resolve_failed db_conn=%u error=%s", c->index, uv_strerror(rc));
		c->state = DBC_DOWN;
		dbc_schedule_reconnect(c);
		return;
	}
	c->resolving = true;
	pool->open_handles++;
}

static void dbc_on_timer(uv_timer_t *t)
{
	struct db_conn *c = container_of(t, struct db_conn, timer);
	if (c->state == DBC_DOWN)
		dbc_begin(c);
	else if (c->state == DBC_CONNECTING || c->state == DBC_PREPARING)
		dbc_lost(c, "connect_timeout");
}

void dbc_schedule_reconnect(struct db_conn *c)
{
	c->backoff_ms = c->backoff_ms == 0 ? DB_BACKOFF_MIN_MS : c->backoff_ms * 2;
	if (c->backoff_ms > DB_BACKOFF_MAX_MS)
		c->backoff_ms = DB_BACKOFF_MAX_MS;
	UV_MUST(uv_timer_start(&c->timer, dbc_on_timer, c->backoff_ms, 0));
}

/* --- the pool: start and close ------------------------------------------------------- */

/* True when every element of a host list is a socket directory, an abstract socket, a
 * numeric address, or has a non-empty hostaddr element at the same position. */
static bool hosts_need_no_lookup(const char *host, const char *hostaddr)
{
	if (host == NULL || *host == '\0')
		return true; /* hostaddr alone, or the socket default */
	const char *h = host, *a = hostaddr != NULL ? hostaddr : "";
	for (;;) {
		size_t hl = strcspn(h, ","), al = strcspn(a, ",");
		char name[256];
		unsigned char buf[sizeof(struct in6_addr)];
		snprintf(name, sizeof(name), "%.*s", (int)hl, h);
		bool numeric =
		    inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
		if (name[0] != '/' && name[0] != '@' && !numeric && al == 0)
			return false;
		if (h[hl] == '\0')
			return true;
		h += hl + 1;
		a += a[al] == ',' ? al + 1 : al;
	}
}

/* Reads what the pool needs from the connection string (and libpq's PG* environment
 * defaults, which PQconninfoParse does not apply): whether connecting needs a name lookup
 * first, and the server options to send. A single host name that is not a socket
 * directory or a numeric address, without a hostaddr, would otherwise be resolved by a
 * blocking getaddrinfo() inside PQconnectStartParams. */
static int pool_parse_conninfo(struct db_pool *pool)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(pool->conninfo, &err);
	if (opts == NULL) {
		char clean[256];
		log_error("event=db_conninfo_invalid error=\"%s\"",
			  log_clean(err != NULL ? err : "out of memory", clean, sizeof(clean)));
		PQfreemem(err);
		return -EINVAL;
	}
	const char *host = NULL, *hostaddr = NULL, *port = NULL, *options = NULL;
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || *o->val == '\0')
			continue;
		if (strcmp(o->keyword, "host") == 0)
			host = o->val;
		else if (strcmp(o->keyword, "hostaddr") == 0)
			hostaddr = o->val;
		else if (strcmp(o->keyword, "port") == 0)
			port = o->val;
		else if (strcmp(o->keyword, "options") == 0)
			options = o->val;
	}
	host = host != NULL ? host : getenv("PGHOST");
	hostaddr = hostaddr != NULL ? hostaddr : getenv("PGHOSTADDR");
	options = options != NULL ? options : getenv("PGOPTIONS");

	int rc = db_hosts_init(&pool->hosts, host, hostaddr, port);
	if (rc == 0 && pool->hosts.n > 1 && !hosts_need_no_lookup(host, hostaddr)) {
		log_error(
		    "event=db_conninfo_invalid error=\"each of several hosts must be a socket "
		    "directory or a numeric address, or have its hostaddr= so that connecting "
		    "never blocks on a name lookup\"");
		rc = -EINVAL;
	} else if (rc == 0 && pool->hosts.n < 2 && host != NULL && *host != '\0' &&
		   host[0] != '/' && host[0] != '@' && (hostaddr == NULL || *hostaddr == '\0')) {
		unsigned char buf[sizeof(struct in6_addr)];
		if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1) {
			pool->resolve_host = strdup(host);
			rc = pool->resolve_host != NULL ? 0 : -ENOMEM;
		}
	}

	/* PostgreSQL ends a statement or lock wait that outlives the query timeout by itself,
	 * and notices a client that went away, so a timed-out job never leaves a backend
	 * working (or holding locks) for nobody. The idempotent write functions rely on READ
	 * COMMITTED. No JIT: our statements are short, and compiling a report's plan took
	 * longer (30-40 ms) than running it. */
	unsigned limit = pool->opts.query_timeout_ms * 3 / 4;
	char ours[256];
	snprintf(
	    ours, sizeof(ours),
	    "-c statement_timeout=%u -c lock_timeout=%u -c client_connection_check_interval=5000 "
	    "-c default_transaction_isolation=read\\ committed -c jit=off",
	    limit < 100 ? 100 : limit, limit < 100 ? 100 : limit);
	size_t len = (options != NULL ? strlen(options) + 1 : 0) + strlen(ours) + 1;
	pool->options = malloc(len);
	if (pool->options == NULL)
		rc = -ENOMEM;
	else
		snprintf(pool->options, len, "%s%s%s", options != NULL ? options : "",
			 options != NULL ? " " : "", ours);
	PQconninfoFree(opts);
	return rc;
}

int db_pool_start(uv_loop_t *loop, const struct db_pool_options *opts, struct db_pool **out)
{
	*out = NULL;
	struct db_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return -ENOMEM;
	pool->loop = loop;
	pool->opts = *opts;
	pool->conninfo = strdup(opts->conninfo);
	pool->conns = calloc(opts->connections, sizeof(*pool->conns));
	if (pool->conninfo == NULL || pool->conns == NULL) {
		free(pool->conninfo);
		free(pool->conns);
		free(pool);
		return -ENOMEM;
	}
	pool->opts.conninfo = pool->conninfo;
	int rc = pool_parse_conninfo(pool);
	if (rc != 0) {
		db_hosts_free(&pool->hosts);
		free(pool->options);
		free(pool->resolve_host);
		free(pool->conninfo);
		free(pool->conns);
		free(pool);
		return rc;
	}

	UV_MUST(uv_timer_init(loop, &pool->sweep));
	UV_MUST(uv_timer_init(loop, &pool->kick));
	pool->sweep.data = pool;
	pool->kick.data = pool;
	pool->open_handles = 2;
	UV_MUST(uv_timer_start(&pool->sweep, db_pool_on_sweep, DB_SWEEP_MS, DB_SWEEP_MS));
	for (unsigned i = 0; i < opts->connections; i++) {
		struct db_conn *c = &pool->conns[i];
		c->pool = pool;
		c->index = i;
		c->state = DBC_DOWN;
		UV_MUST(uv_timer_init(loop, &c->timer));
		c->timer.data = pool;
		pool->open_handles++;
		dbc_begin(c);
	}
	*out = pool;
	return 0;
}

void db_pool_close(struct db_pool *pool, void (*closed)(void *arg), void *arg)
{
	if (pool->closing)
		return;
	pool->closing = true;
	pool->closed = closed;
	pool->closed_arg = arg;
	db_pool_fail_queue(pool, false);
	for (unsigned i = 0; i < pool->opts.connections; i++) {
		struct db_conn *c = &pool->conns[i];
		if (c->state != DBC_DOWN && c->state != DBC_RESOLVING)
			dbc_lost(c, "shutdown");
		c->state = DBC_CLOSED;
		if (c->resolving)
			/* Fails (UV_EBUSY) once the lookup runs; its callback releases it either
			 * way. */
			(void)uv_cancel((uv_req_t *)&c->resolver);
		uv_close((uv_handle_t *)&c->timer, db_timer_on_close);
	}
	uv_close((uv_handle_t *)&pool->sweep, db_timer_on_close);
	uv_close((uv_handle_t *)&pool->kick, db_timer_on_close);
}
