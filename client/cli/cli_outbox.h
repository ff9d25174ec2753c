/* The outbox: writes about cases kept on this computer while tulayd cannot be reached (or
 * when it is not known whether one arrived), and sent later by `tulay sync`.
 *
 * An SQLite file, outbox.db in the configuration directory (mode 0600, write-ahead log,
 * every queued write synced to disk before the command says so). Each entry holds the
 * request sealed to the server's public key pinned at login (libsodium's crypto_box_seal):
 * only the server can open it, so the file shows what kind of write is queued, when and by
 * which command, never who it is about. Each keeps its idempotency key, so however often
 * a sync is cut and run again, the server applies it once. */
#ifndef TULAY_CLI_OUTBOX_H
#define TULAY_CLI_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "cli_config.h"
#include "libtulay.h"

#define OUTBOX_MAX_LOCAL 8 /* cases still in the outbox one write may name */

/* The cases a write names by local id ("local:7": the case outbox entry 7 logs) that are
 * still in the outbox: the write must wait there behind them. */
struct outbox_pending {
	size_t n;
	char placeholder[OUTBOX_MAX_LOCAL][32];
	uint8_t key[OUTBOX_MAX_LOCAL][TULAY_IDEMPOTENCY_KEY_BYTES];
};

/* Resolves the local ids among the string fields of `req`'s body: one whose entry was
 * synced is replaced by the case's reference; one still in the outbox goes into *pending.
 * Returns CLI_EXIT_OK, or the exit code after saying why (a local id that names no case). */
int outbox_resolve_local(struct cli *cli, Tulay__V1__Request *req, struct outbox_pending *pending)
    __attribute__((warn_unused_result));

/* True for the writes the outbox may keep (those handlers/sealed.c opens). */
bool outbox_sealable(const Tulay__V1__Request *req);

/* Keeps `req` (whose idempotency key is `key`, naming the queued cases in `pending`, which
 * may be NULL) in the outbox, sealed to `session`'s pinned key, and says so ("queued: 3 in the
 * outbox; run 'tulay sync'"). Returns CLI_EXIT_QUEUED, or the exit code after saying why it could
 * not be kept. */
int outbox_queue(struct cli *cli, const struct config_session *session,
		 const Tulay__V1__Request *req, const uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES],
		 const struct outbox_pending *pending) __attribute__((warn_unused_result));

/* tulay outbox list|show|drop, and tulay sync. */
int outbox_list_command(struct cli *cli, int argc, char **argv);
int outbox_show_command(struct cli *cli, int argc, char **argv);
int outbox_drop_command(struct cli *cli, int argc, char **argv);
int outbox_sync_command(struct cli *cli, int argc, char **argv);

#endif
