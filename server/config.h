/* tulayd configuration: compiled-in defaults, then a file, then the environment, then
 * command-line flags (flags win). Every setting has all three spellings:
 *   file:  max_frame_bytes = 1048576
 *   env:   TULAY_MAX_FRAME_BYTES=1048576
 *   flag:  --max-frame-bytes 1048576 */
#ifndef TULAYD_CONFIG_H
#define TULAYD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

struct config {
	char listen[64];         /* address to listen on */
	unsigned port;           /* 0: any free port (logged at start) */
	char db[1024];           /* libpq connection string; empty: config_find_database */
	char db_replica[1024];   /* libpq connection string for reports and lists; empty: db */
	char db_hint[400];       /* not a setting: config_find_database's advice on failure */
	unsigned db_connections; /* size of the pool */
	unsigned db_min_batch;   /* smallest batch started while another runs */
	unsigned db_queue_timeout_ms;
	unsigned db_query_timeout_ms;
	unsigned max_frame_bytes;
	unsigned max_frame_bytes_before_login;
	unsigned max_requests_in_flight; /* per connection */
	unsigned max_output_bytes;       /* per connection: stop reading above this */
	unsigned max_connections;
	unsigned max_unauthenticated_per_address; /* strangers (strangers.h) per address */
	unsigned max_unauthenticated; /* strangers in all; 0: config_max_unauthenticated */
	unsigned session_ttl_s;
	unsigned drain_timeout_ms;
	char tls_cert[512];            /* PEM certificate chain; empty: plaintext (loopback only) */
	char tls_key[512];             /* PEM private key of tls_cert */
	unsigned handshake_timeout_ms; /* TLS handshake done within this of connecting */
	unsigned login_timeout_ms;     /* Hello and a successful login within this */
	unsigned idle_timeout_ms;      /* no request, nothing in flight or no write progress */
	unsigned login_attempts_per_minute;             /* per username */
	unsigned login_attempts_per_minute_per_address; /* per source address (IPv6: /64) */
	unsigned password_cost;       /* argon2id of new password hashes: 1 interactive, 2 moderate,
					 0 minimal (tests only) */
	unsigned report_min_cell;     /* k: report cells of fewer cases are suppressed */
	unsigned report_perturbation; /* 1: cell-key noise on report figures; 0 tests only */
	unsigned report_refresh_ms;   /* how often networks' whole report rows are checked */
	unsigned audit_seal_ms;       /* how often committed audit rows are sealed */
	unsigned report_fold_ms;      /* how often rollup deltas are folded */
	char migrations[512];         /* directory of NNNN_name.sql files */
	char data_key_file[512];      /* the key that encrypts personal data (vault.h) */
	char log_level[8];
	char metrics_listen[64]; /* address of the metrics endpoint */
	unsigned metrics_port;   /* 0: no metrics endpoint */
	unsigned proxy_protocol; /* 1: connections start with a PROXY v2 header (proxy.c) */
};

/* Fills *cfg with the defaults. */
void config_defaults(struct config *cfg);

/* Applies the config file named by --config or TULAY_CONFIG (if any), the environment
 * (TULAY_*), then the flags in argv[first..argc). Flags that are not settings are left for
 * the caller: their indexes are stored in rest[] (count in *n_rest, rest must hold argc
 * entries). Returns 0, or -1 with a sentence naming the setting and the fix in err. */
int config_load(struct config *cfg, int argc, char **argv, int first, int *rest, int *n_rest,
		char *err, size_t errlen) __attribute__((warn_unused_result));

enum config_role {
	CONFIG_ROLE_APP,   /* tulay_app: serving, bound by row-level security */
	CONFIG_ROLE_OWNER, /* tulay: migrations, bootstrap, the audit chain */
};

/* When no db was given, looks for the cluster scripts/run.sh made (var/pg/run in the working
 * directory, then in the source tree) and connects to it as `role`, taking its var/data.key
 * too when no data_key_file was given; failing that, "dbname=tulay". Writes a sentence for
 * the user into note when it found the cluster, and advice for a failed connection into
 * cfg->db_hint when it did not. Blocking file checks: before the loop. */
void config_find_database(struct config *cfg, enum config_role role, char *note, size_t cap);

/* Fills *addr with the numeric IPv4 or IPv6 address `host` and `port` (a listen or
 * metrics_listen setting). Returns 0, or a libuv error (UV_EINVAL: not numeric). */
int config_address(const char *host, unsigned port, struct sockaddr_storage *addr);

/* True when `listen` is a numeric loopback address (127.0.0.0/8, ::1, ::ffff:127.x.y.z). */
bool config_listen_is_loopback(const char *listen);

/* The cap on connections that have not logged in, in all: max_unauthenticated, or half of
 * max_connections (at least 1) when that is 0. */
unsigned config_max_unauthenticated(const struct config *cfg);

/* The transport rule for serving: tls_cert and tls_key are given together or not at all,
 * and without them `listen` must be a loopback address. Returns 0, or -1 with a sentence
 * naming the settings in err. Reads no files (the server loads them at start). */
int config_check_transport(const struct config *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Writes one `config key=value` log line per setting, with passwords masked. */
void config_log(const struct config *cfg);

/* Prints the settings with their flag, environment name, default and meaning. */
void config_print_help(FILE *out);

/* Copies the libpq connection string with any password replaced by "****". */
void config_mask_conninfo(const char *conninfo, char *out, size_t cap);

#endif
