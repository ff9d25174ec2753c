#include "server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "conn.h"
#include "db.h"
#include "dispatch.h"
#include "request.h"
#include "log.h"

static void server_on_connection(uv_stream_t *listener, int status)
{
	struct server *srv = listener->data;
	if (status < 0) {
		log_warn("event=listen_error error=%s", uv_strerror(status));
		return;
	}
	conn_accept(srv);
}

static void server_on_handle_closed(uv_handle_t *h)
{
	(void)h; /* embedded in struct server: nothing to free */
}

static void server_on_db_closed(void *arg)
{
	struct server *srv = arg;
	srv->db = NULL;
	log_info("event=db_closed");
}

static void server_on_replica_closed(void *arg)
{
	struct server *srv = arg;
	srv->replica = NULL;
	log_info("event=db_closed pool=replica");
}

void server_stop(struct server *srv)
{
	if (srv->stopped)
		return;
	srv->stopped = true;
	log_info("event=stopping conns=%u requests_in_flight=%u", srv->nconns,
		 srv->requests_in_flight);
	uv_close((uv_handle_t *)&srv->drain_timer, server_on_handle_closed);
	uv_close((uv_handle_t *)&srv->log_flusher, server_on_handle_closed);
	uv_close((uv_handle_t *)&srv->pace_timer, server_on_handle_closed);
	chore_stop(&srv->report_refresh, server_on_handle_closed);
	chore_stop(&srv->case_numbering, server_on_handle_closed);
	chore_stop(&srv->audit_seal, server_on_handle_closed);
	chore_stop(&srv->report_fold, server_on_handle_closed);
	metrics_close(srv);
	while (srv->conns != NULL)
		conn_close(srv->conns, "shutdown");
	request_resume_paced(srv, true); /* each ends: its connection is gone */
	if (srv->db != NULL)
		db_pool_close(srv->db, server_on_db_closed, srv);
	if (srv->replica != NULL)
		db_pool_close(srv->replica, server_on_replica_closed, srv);
	uv_close((uv_handle_t *)&srv->sigterm, server_on_handle_closed);
	uv_close((uv_handle_t *)&srv->sigint, server_on_handle_closed);
}

static void server_on_drain_timeout(uv_timer_t *t)
{
	struct server *srv = t->data;
	log_warn("event=drain_timeout requests_in_flight=%u", srv->requests_in_flight);
	server_stop(srv);
}

static void server_on_signal(uv_signal_t *h, int signum)
{
	struct server *srv = h->data;
	if (++srv->signals > 1) {
		log_warn("event=second_signal signal=%d action=exit_now", signum);
		_exit(1);
	}
	log_info("event=draining signal=%d requests_in_flight=%u conns=%u", signum,
		 srv->requests_in_flight, srv->nconns);
	srv->draining = true;
	srv->drain_started_ms = uv_now(&srv->loop);
	uv_close((uv_handle_t *)&srv->listener, server_on_handle_closed);
	for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
		next = c->next; /* conn_drain can close c */
		conn_drain(c);
	}
	UV_MUST(uv_timer_start(&srv->drain_timer, server_on_drain_timeout,
			       srv->cfg.drain_timeout_ms, 0));
	server_check_drained(srv);
}

static int server_listen(struct server *srv)
{
	struct sockaddr_storage addr;
	const char *host = srv->cfg.listen;
	int rc = config_address(host, srv->cfg.port, &addr);
	if (rc != 0) {
		log_error("event=listen_failed listen=%s error=\"not a numeric IP address\"", host);
		return rc;
	}
	rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->listener, 511, server_on_connection);
	if (rc != 0) {
		log_error("event=listen_failed listen=%s port=%u error=%s", host, srv->cfg.port,
			  uv_strerror(rc));
		return rc;
	}
	int len = sizeof(addr);
	UV_MUST(uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&addr, &len));
	int port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
						    : ((struct sockaddr_in *)&addr)->sin_port);
	if (srv->tls_ctx != NULL)
		log_info("event=listening address=%s port=%d transport=tls", host, port);
	else
		log_info("event=listening address=%s port=%d transport=plaintext "
			 "note=\"plaintext on loopback; set tls_cert and tls_key for TLS 1.3\"",
			 host, port);
	return 0;
}

static void server_walk_report(uv_handle_t *h, void *arg)
{
	(void)arg;
	log_error("event=handle_leak type=%s active=%d closing=%d", uv_handle_type_name(h->type),
		  uv_is_active(h), uv_is_closing(h));
}

int server_run(const struct config *cfg)
{
	struct server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return 1;
	srv->cfg = *cfg;
	int exit_code = 1;
	int rc = uv_loop_init(&srv->loop);
	if (rc != 0) {
		log_error("event=loop_init_failed error=%s", uv_strerror(rc));
		free(srv);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN); /* a vanished client is an error return, not a signal */

	/* Before anything runs: the transport rule, the certificate and key (blocking file
	 * reads, fine before the loop), and the login throttle's fixed memory. */
	char err[768], clean[768];
	if (config_check_transport(cfg, err, sizeof(err)) != 0) {
		log_error("event=config_invalid error=\"%s\"",
			  log_clean(err, clean, sizeof(clean)));
		goto out_loop;
	}
	if (cfg->tls_cert[0] != '\0') {
		srv->tls_ctx = tls_server_ctx_new(cfg->tls_cert, cfg->tls_key, err, sizeof(err));
		if (srv->tls_ctx == NULL) {
			log_error("event=tls_setup_failed error=\"%s\"",
				  log_clean(err, clean, sizeof(clean)));
			goto out_loop;
		}
	}
	if (login_throttle_init(&srv->login_throttle, cfg->login_attempts_per_minute,
				cfg->login_attempts_per_minute_per_address) != 0) {
		log_error("event=out_of_memory what=login_throttle");
		goto out_loop;
	}
	if (strangers_init(&srv->strangers, cfg->max_unauthenticated_per_address,
			   config_max_unauthenticated(cfg)) != 0) {
		log_error("event=out_of_memory what=strangers");
		goto out_loop;
	}

	unsigned nstatements;
	const struct db_statement *statements = dispatch_statements(&nstatements);
	struct db_pool_options opts = {
	    .conninfo = cfg->db,
	    .connections = cfg->db_connections,
	    .min_batch = cfg->db_min_batch,
	    .queue_timeout_ms = cfg->db_queue_timeout_ms,
	    .query_timeout_ms = cfg->db_query_timeout_ms,
	    .statements = statements,
	    .nstatements = nstatements,
	};
	rc = db_pool_start(&srv->loop, &opts, &srv->db);
	if (rc != 0) {
		log_error("event=db_pool_failed error=%s", strerror(-rc));
		goto out_loop;
	}
	if (cfg->db_replica[0] != '\0') {
		opts.conninfo = cfg->db_replica;
		rc = db_pool_start(&srv->loop, &opts, &srv->replica);
		if (rc != 0) {
			log_error("event=db_pool_failed pool=replica error=%s", strerror(-rc));
			goto out_loop;
		}
	}
	chore_start(&srv->report_refresh, "report_refresh", &srv->loop, srv->db,
		    cfg->report_refresh_ms, true);
	chore_start(&srv->case_numbering, "case_numbering", &srv->loop, srv->db,
		    cfg->report_refresh_ms, false);
	chore_start(&srv->audit_seal, "audit_seal", &srv->loop, srv->db, cfg->audit_seal_ms, false);
	chore_start(&srv->report_fold, "report_fold", &srv->loop, srv->db, cfg->report_fold_ms,
		    false);
	/* Before the loop waits for I/O: the lines logged in this turn, in one write. */
	UV_MUST(uv_prepare_init(&srv->loop, &srv->log_flusher));
	UV_MUST(uv_prepare_start(&srv->log_flusher, log_on_turn_end));
	uv_unref((uv_handle_t *)&srv->log_flusher); /* it alone keeps no loop running */
	log_hold(true);
	UV_MUST(uv_tcp_init(&srv->loop, &srv->listener));
	srv->listener.data = srv;
	UV_MUST(uv_signal_init(&srv->loop, &srv->sigterm));
	UV_MUST(uv_signal_init(&srv->loop, &srv->sigint));
	UV_MUST(uv_timer_init(&srv->loop, &srv->drain_timer));
	UV_MUST(uv_timer_init(&srv->loop, &srv->pace_timer));
	srv->sigterm.data = srv->sigint.data = srv->drain_timer.data = srv;
	UV_MUST(uv_signal_start(&srv->sigterm, server_on_signal, SIGTERM));
	UV_MUST(uv_signal_start(&srv->sigint, server_on_signal, SIGINT));

	if (server_listen(srv) != 0 || metrics_listen(srv) != 0) {
		/* Close what was opened and let the loop finish closing it. */
		uv_close((uv_handle_t *)&srv->listener, server_on_handle_closed);
		srv->draining = true;
		server_stop(srv);
		(void)uv_run(&srv->loop, UV_RUN_DEFAULT); /* returns once no handle is left */
		goto out_loop;
	}

	(void)uv_run(&srv->loop, UV_RUN_DEFAULT); /* returns once no handle is left */
	exit_code = 0;

out_loop:
	log_hold(false);
	rc = uv_loop_close(&srv->loop);
	if (rc != 0) {
		uv_walk(&srv->loop, server_walk_report, NULL);
		log_error("event=loop_close_failed error=%s", uv_strerror(rc));
		exit_code = 1;
	} else if (exit_code == 0) {
		log_info("event=stopped clean=1");
	}
	login_throttle_free(&srv->login_throttle);
	strangers_free(&srv->strangers);
	SSL_CTX_free(srv->tls_ctx);
	free(srv);
	return exit_code;
}
