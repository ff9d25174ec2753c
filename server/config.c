#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "common.h"
#include "wire.h"
#include "log.h"

enum setting_type { SETTING_STRING, SETTING_UINT };

struct setting {
	const char *name; /* file key; flag is --name with '_' -> '-'; env is TULAY_NAME */
	enum setting_type type;
	size_t offset;
	size_t size; /* for strings: the buffer size */
	unsigned min, max;
	const char *help;
};

#define STR(field, help)                                                                           \
	{                                                                                          \
#field, SETTING_STRING, offsetof(struct config, field),                            \
		    sizeof(((struct config *)0)->field), 0, 0, help                                \
	}
#define UINT(field, lo, hi, help)                                                                  \
	{                                                                                          \
#field, SETTING_UINT, offsetof(struct config, field), 0, lo, hi, help              \
	}

static const struct setting settings[] = {
    STR(listen, "address to listen on (plaintext is for loopback only)"),
    UINT(port, 0, 65535, "TCP port; 0 picks a free one and logs it"),
    STR(db, "libpq connection string of the tulay database; several hosts with "
	    "target_session_attrs=read-write find the primary after a failover (default: the "
	    "cluster scripts/run.sh made in var/pg, found from the working directory or the "
	    "source tree, else \"dbname=tulay\")"),
    STR(db_replica, "libpq connection string of a standby for reports and lists (e.g. "
		    "target_session_attrs=prefer-standby); empty: the primary serves them"),
    UINT(db_connections, 1, 64,
	 "PostgreSQL connections in the pool (default: this machine's processors, 2 to 8)"),
    UINT(
	db_min_batch, 1, 16,
	"while one runs, smallest merged batch of CreateClaims or GetClaims to start (1: no wait)"),
    UINT(db_queue_timeout_ms, 100, 600000,
	 "how long a request may wait for a database connection before UNAVAILABLE"),
    UINT(db_query_timeout_ms, 100, 600000,
	 "how long a database round trip may take before UNAVAILABLE"),
    UINT(max_frame_bytes, 1024, 64u * 1024 * 1024, "largest request once logged in"),
    UINT(max_frame_bytes_before_login, 256, 1024 * 1024, "largest request before login"),
    UINT(max_requests_in_flight, 1, 4096, "requests per connection before reading pauses"),
    UINT(max_output_bytes, 64 * 1024, 1024u * 1024 * 1024,
	 "unsent response bytes per connection before reading pauses"),
    UINT(max_connections, 1, 1000000, "client connections served at once"),
    UINT(max_unauthenticated_per_address, 1, 1000000,
	 "connections from one address (IPv6: one /64) that have not logged in; past it the "
	 "oldest that has sent nothing is closed"),
    UINT(max_unauthenticated, 0, 1000000,
	 "connections in all that have not logged in (0: half of max_connections); past it "
	 "the oldest that has sent nothing is closed"),
    UINT(session_ttl_s, 60, 30 * 24 * 3600, "lifetime of a login session in seconds"),
    UINT(drain_timeout_ms, 0, 600000,
	 "on SIGTERM, how long requests in flight may finish and clients may take to go"),
    STR(tls_cert, "PEM certificate chain for TLS 1.3; required unless listen is loopback"),
    STR(tls_key, "PEM private key of tls_cert (keep it mode 0600)"),
    UINT(handshake_timeout_ms, 100, 600000,
	 "a TLS client must finish its handshake within this of connecting"),
    UINT(login_timeout_ms, 100, 3600000,
	 "Hello and a successful login must come within this of connecting (a login under way is "
	 "answered first)"),
    UINT(idle_timeout_ms, 100, 86400000,
	 "close a connection idle (or with responses unsent and not moving) this long"),
    UINT(login_attempts_per_minute, 1, 100000,
	 "login attempts per username and minute; more are refused unchecked"),
    UINT(login_attempts_per_minute_per_address, 1, 100000,
	 "login attempts per client address (IPv6: per /64) and minute"),
    UINT(password_cost, 0, 2,
	 "memory and time of each new password hash (argon2id): 1 interactive (64 MiB; a "
	 "login costs about as much CPU), 2 moderate (256 MiB, about 5x slower); a login "
	 "hashes a password made at another cost again; 0 (minimal) is for tests only, "
	 "refused unless TULAY_TESTING=1"),
    UINT(report_min_cell, 5, 1000,
	 "reports suppress every cell counting fewer cases than this (k; never below 5)"),
    UINT(report_perturbation, 0, 1,
	 "1: every report figure gets cell-key noise so that differencing reports yields "
	 "noise, not people; 0 (exact figures) is for tests only, refused unless "
	 "TULAY_TESTING=1"),
    UINT(report_refresh_ms, 1000, 86400000,
	 "check this often that networks' report rollups count their current members"),
    UINT(audit_seal_ms, 10, 60000,
	 "seal committed audit entries into the hash chain this often (the unsealed tail)"),
    UINT(report_fold_ms, 10, 60000,
	 "fold new report contributions into the rollups this often (reports stay exact)"),
    STR(migrations, "directory of the NNNN_name.sql migration files"),
    STR(data_key_file, "file with the key that encrypts personal data (tulayd keygen FILE)"),
    STR(log_level, "debug, info, warn or error"),
    STR(metrics_listen, "address of the metrics endpoint (keep it private: loopback, or a "
			"network only operators reach)"),
    UINT(proxy_protocol, 0, 1,
	 "1: every connection starts with a PROXY protocol v2 header naming the client "
	 "(HAProxy's send-proxy-v2), whose address then counts for the caps, throttles and "
	 "logs; only for a tulayd that nothing but the proxy can reach"),
    UINT(metrics_port, 0, 65535,
	 "port of the metrics endpoint (GET /metrics, Prometheus' text format; tulayd stats "
	 "prints it); 0: none"),
};

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1");
	cfg->port = 7420;
	/* As many as processors, 2 to 8. Requests that wait for a connection are sent
	 * together, merged where they can be (server/db.c): on two cores two connections
	 * wrote 2,800 claims a second where four wrote 1,900 (bench/README.md). */
	unsigned processors = uv_available_parallelism();
	cfg->db_connections = processors < 2 ? 2 : processors > 8 ? 8 : processors;
	cfg->db_min_batch = 4;
	cfg->db_queue_timeout_ms = 3000;
	cfg->db_query_timeout_ms = 10000;
	cfg->max_frame_bytes = FRAME_DEFAULT_MAX_PAYLOAD;
	cfg->max_frame_bytes_before_login = FRAME_DEFAULT_MAX_PAYLOAD_BEFORE_LOGIN;
	cfg->max_requests_in_flight = 32;
	cfg->max_output_bytes = 4u * 1024 * 1024;
	cfg->max_connections = 10000;
	cfg->max_unauthenticated_per_address = 32;
	cfg->session_ttl_s = 12 * 3600;
	cfg->drain_timeout_ms = 10000;
	cfg->handshake_timeout_ms = 10000;
	cfg->login_timeout_ms = 30000;
	cfg->idle_timeout_ms = 300000;
	cfg->login_attempts_per_minute = 10;
	cfg->login_attempts_per_minute_per_address = 30;
	cfg->password_cost = 1;
	cfg->report_min_cell = 11;
	cfg->report_perturbation = 1;
	cfg->report_refresh_ms = 60000;
	cfg->audit_seal_ms = 200;
	cfg->report_fold_ms = 500;
	snprintf(cfg->migrations, sizeof(cfg->migrations), "%s", TULAY_MIGRATIONS_DIR);
	snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
	snprintf(cfg->metrics_listen, sizeof(cfg->metrics_listen), "127.0.0.1");
}

static const struct setting *setting_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ELEMS(settings); i++) {
		if (strlen(settings[i].name) == len && strncmp(settings[i].name, name, len) == 0)
			return &settings[i];
	}
	return NULL;
}

static int setting_set(struct config *cfg, const struct setting *s, const char *value,
		       const char *source, char *err, size_t errlen)
{
	char *field = (char *)cfg + s->offset;
	if (s->type == SETTING_STRING) {
		if (strlen(value) >= s->size) {
			snprintf(err, errlen, "%s: %s is longer than %zu characters", source,
				 s->name, s->size - 1);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || !isdigit((unsigned char)value[0]) ||
	    v < s->min || v > s->max) {
		snprintf(err, errlen, "%s: %s must be a whole number from %u to %u, not '%s'",
			 source, s->name, s->min, s->max, value);
		return -1;
	}
	*(unsigned *)(void *)field = (unsigned)v;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Reads `key = value` lines; '#' starts a comment line. Blocking file I/O: this runs
 * before the event loop starts. */
static int config_read_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = 0;
	char line[1200];
	int lineno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		char source[600];
		snprintf(source, sizeof(source), "%s:%d", path, lineno);
		if (eq == NULL) {
			snprintf(err, errlen, "%s: expected 'key = value'", source);
			rc = -1;
			goto out;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		const struct setting *st = setting_by_name(key, strlen(key));
		if (st == NULL) {
			snprintf(err, errlen, "%s: unknown setting '%s' (see tulayd --help)",
				 source, key);
			rc = -1;
			goto out;
		}
		if (setting_set(cfg, st, value, source, err, errlen) != 0) {
			rc = -1;
			goto out;
		}
	}
out:
	fclose(f);
	return rc;
}

static void env_name(const struct setting *s, char *out, size_t cap)
{
	size_t o = snprintf(out, cap, "TULAY_");
	for (const char *p = s->name; *p != '\0' && o + 1 < cap; p++)
		out[o++] = (char)toupper((unsigned char)*p);
	out[o] = '\0';
}

static void flag_name(const struct setting *s, char *out, size_t cap)
{
	size_t o = snprintf(out, cap, "--");
	for (const char *p = s->name; *p != '\0' && o + 1 < cap; p++)
		out[o++] = *p == '_' ? '-' : *p;
	out[o] = '\0';
}

static const struct setting *setting_by_flag(const char *arg)
{
	char flag[64];
	for (size_t i = 0; i < N_ELEMS(settings); i++) {
		flag_name(&settings[i], flag, sizeof(flag));
		if (strcmp(flag, arg) == 0)
			return &settings[i];
	}
	return NULL;
}

int config_load(struct config *cfg, int argc, char **argv, int first, int *rest, int *n_rest,
		char *err, size_t errlen)
{
	/* The file comes first so that environment and flags override it. */
	const char *file = getenv("TULAY_CONFIG");
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "--config needs a file name");
				return -1;
			}
			file = argv[i + 1];
		}
	}
	if (file != NULL && *file != '\0' && config_read_file(cfg, file, err, errlen) != 0)
		return -1;

	for (size_t i = 0; i < N_ELEMS(settings); i++) {
		char name[64];
		env_name(&settings[i], name, sizeof(name));
		const char *v = getenv(name);
		if (v != NULL && setting_set(cfg, &settings[i], v, name, err, errlen) != 0)
			return -1;
	}

	*n_rest = 0;
	for (int i = first; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			i++;
			continue;
		}
		const char *arg = argv[i];
		const char *inline_value = NULL;
		char flag[64];
		const char *eq = strchr(arg, '=');
		if (strncmp(arg, "--", 2) == 0 && eq != NULL && (size_t)(eq - arg) < sizeof(flag)) {
			memcpy(flag, arg, (size_t)(eq - arg));
			flag[eq - arg] = '\0';
			arg = flag;
			inline_value = eq + 1;
		}
		const struct setting *s = setting_by_flag(arg);
		if (s == NULL) {
			rest[(*n_rest)++] = i;
			continue;
		}
		const char *value = inline_value;
		if (value == NULL) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "%s needs a value", arg);
				return -1;
			}
			value = argv[++i];
		}
		if (setting_set(cfg, s, value, arg, err, errlen) != 0)
			return -1;
	}
	if (!log_set_level(cfg->log_level)) {
		snprintf(err, errlen, "log_level must be debug, info, warn or error, not '%s'",
			 cfg->log_level);
		return -1;
	}
	const char *testing = getenv("TULAY_TESTING");
	bool tests = testing != NULL && strcmp(testing, "1") == 0;
	if (cfg->report_perturbation == 0 && !tests) {
		snprintf(err, errlen,
			 "report_perturbation 0 publishes exact report figures, which two "
			 "reports can be differenced to find one person in: it is for tests "
			 "only and needs TULAY_TESTING=1 in the environment");
		return -1;
	}
	if (cfg->password_cost == 0 && !tests) {
		snprintf(err, errlen,
			 "password_cost 0 makes password hashes cheap to guess from a stolen "
			 "database: it is for tests only and needs TULAY_TESTING=1 in the "
			 "environment (use 1 or 2)");
		return -1;
	}
	if (cfg->max_frame_bytes_before_login > cfg->max_frame_bytes) {
		snprintf(err, errlen,
			 "max_frame_bytes_before_login (%u) must not exceed max_frame_bytes (%u)",
			 cfg->max_frame_bytes_before_login, cfg->max_frame_bytes);
		return -1;
	}
	return 0;
}

/* The var/ directory scripts/run.sh made, if its cluster is running: in the working
 * directory, else in the source tree tulayd was built from. */
static bool local_var_dir(char *out, size_t cap)
{
	char cwd[512];
	const char *candidates[2] = {getcwd(cwd, sizeof(cwd)) != NULL ? cwd : NULL,
				     TULAY_SOURCE_DIR};
	for (size_t i = 0; i < N_ELEMS(candidates); i++) {
		char sock[700];
		if (candidates[i] == NULL)
			continue;
		snprintf(sock, sizeof(sock), "%s/var/pg/run/.s.PGSQL.5432", candidates[i]);
		if (access(sock, F_OK) == 0 &&
		    (size_t)snprintf(out, cap, "%s/var", candidates[i]) < cap)
			return true;
	}
	return false;
}

void config_find_database(struct config *cfg, enum config_role role, char *note, size_t cap)
{
	note[0] = '\0';
	if (cfg->db[0] != '\0')
		return;
	char var[400];
	if (!local_var_dir(var, sizeof(var))) {
		snprintf(cfg->db, sizeof(cfg->db), "dbname=tulay");
		snprintf(cfg->db_hint, sizeof(cfg->db_hint),
			 "no db given (--db, TULAY_DB or the config file) and no local cluster "
			 "running in ./var/pg or %s/var/pg: start one with scripts/run.sh, or name "
			 "the database, e.g. --db 'host=/path/to/socket-dir dbname=tulay user=%s'",
			 TULAY_SOURCE_DIR, role == CONFIG_ROLE_OWNER ? "tulay" : "tulay_app");
		return;
	}
	/* The directory quoted libpq-style: a path may hold spaces or quotes. */
	char quoted[2 * sizeof(var) + 16];
	size_t q = 0;
	for (const char *p = var; *p != '\0' && q + 2 < sizeof(quoted); p++) {
		if (*p == '\'' || *p == '\\')
			quoted[q++] = '\\';
		quoted[q++] = *p;
	}
	quoted[q] = '\0';
	snprintf(cfg->db, sizeof(cfg->db), "host='%s/pg/run' dbname=tulay user=%s", quoted,
		 role == CONFIG_ROLE_OWNER ? "tulay" : "tulay_app");
	char key[sizeof(cfg->data_key_file)];
	if (cfg->data_key_file[0] == '\0' &&
	    (size_t)snprintf(key, sizeof(key), "%s/data.key", var) < sizeof(key) &&
	    access(key, F_OK) == 0)
		memcpy(cfg->data_key_file, key, sizeof(key));
	snprintf(note, cap,
		 "using the local cluster scripts/run.sh made in %s/pg (--db names another)", var);
}

unsigned config_max_unauthenticated(const struct config *cfg)
{
	if (cfg->max_unauthenticated != 0)
		return cfg->max_unauthenticated;
	return cfg->max_connections / 2 > 0 ? cfg->max_connections / 2 : 1;
}

int config_address(const char *host, unsigned port, struct sockaddr_storage *addr)
{
	memset(addr, 0, sizeof(*addr));
	return strchr(host, ':') != NULL ? uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)addr)
					 : uv_ip4_addr(host, (int)port, (struct sockaddr_in *)addr);
}

bool config_listen_is_loopback(const char *listen)
{
	struct in_addr v4;
	struct in6_addr v6;
	if (inet_pton(AF_INET, listen, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, listen, &v6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&v6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

int config_check_transport(const struct config *cfg, char *err, size_t errlen)
{
	bool cert = cfg->tls_cert[0] != '\0', key = cfg->tls_key[0] != '\0';
	if (cert != key) {
		snprintf(err, errlen,
			 "%s is set but %s is not: TLS needs both the certificate and "
			 "its private key",
			 cert ? "tls_cert" : "tls_key", cert ? "tls_key" : "tls_cert");
		return -1;
	}
	if (!cert && !config_listen_is_loopback(cfg->listen)) {
		snprintf(
		    err, errlen,
		    "listen is %s, which is not a loopback address, and TLS is not configured: "
		    "set tls_cert and tls_key (--tls-cert FILE --tls-key FILE), or listen on "
		    "127.0.0.1; plaintext is allowed on loopback only",
		    cfg->listen);
		return -1;
	}
	return 0;
}

/* Masks the value of every password=... (key/value form, or a URI query parameter). */
static void mask_password_keywords(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	const char *p = in;
	while (*p != '\0' && o + 1 < cap) {
		const char *q = p + 8;
		if (strncmp(p, "password", 8) == 0) {
			while (*q == ' ')
				q++;
		}
		if (strncmp(p, "password", 8) != 0 || *q != '=') {
			out[o++] = *p++;
			continue;
		}
		q++;
		while (*q == ' ')
			q++;
		if (*q == '\'') {
			for (q++; *q != '\0' && *q != '\''; q++)
				q += (*q == '\\' && q[1] != '\0');
			q += (*q == '\'');
		} else {
			q += strcspn(q, " &");
		}
		int n = snprintf(out + o, cap - o, "password=****");
		o = n < 0 ? o : o + (size_t)n;
		p = q;
	}
	out[o < cap ? o : cap - 1] = '\0';
}

void config_mask_conninfo(const char *conninfo, char *out, size_t cap)
{
	/* URI form postgresql://user:secret@host/db: mask the userinfo password first. */
	char unmasked_kv[2048];
	const char *scheme = strstr(conninfo, "://");
	snprintf(unmasked_kv, sizeof(unmasked_kv), "%s", conninfo);
	if (scheme != NULL) {
		const char *auth = scheme + 3;
		size_t hostpart = strcspn(auth, "/?");
		const char *at = memrchr(auth, '@', hostpart);
		const char *colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon != NULL)
			snprintf(unmasked_kv, sizeof(unmasked_kv), "%.*s:****%s",
				 (int)(colon - conninfo), conninfo, at);
	}
	mask_password_keywords(unmasked_kv, out, cap);
}

void config_log(const struct config *cfg)
{
	for (size_t i = 0; i < N_ELEMS(settings); i++) {
		const struct setting *s = &settings[i];
		const char *field = (const char *)cfg + s->offset;
		if (s->type == SETTING_UINT) {
			log_info("event=config key=%s value=%u", s->name,
				 *(const unsigned *)(const void *)field);
		} else if (strcmp(s->name, "db") == 0 || strcmp(s->name, "db_replica") == 0) {
			char masked[sizeof(cfg->db)];
			config_mask_conninfo(field, masked, sizeof(masked));
			log_info("event=config key=%s value=\"%s\"", s->name, masked);
		} else {
			log_info("event=config key=%s value=\"%s\"", s->name, field);
		}
	}
}

void config_print_help(FILE *out)
{
	struct config def;
	config_defaults(&def);
	fprintf(out, "Settings (flag / environment / config-file key; flags win over environment,\n"
		     "environment over the file named by --config FILE or TULAY_CONFIG):\n");
	for (size_t i = 0; i < N_ELEMS(settings); i++) {
		const struct setting *s = &settings[i];
		char flag[64], env[64];
		flag_name(s, flag, sizeof(flag));
		env_name(s, env, sizeof(env));
		const char *field = (const char *)&def + s->offset;
		if (s->type == SETTING_UINT)
			fprintf(out, "  %-34s %s\n  %-34s default %u\n", flag, s->help, env,
				*(const unsigned *)(const void *)field);
		else
			fprintf(out, "  %-34s %s\n  %-34s default \"%s\"\n", flag, s->help, env,
				field);
	}
}
