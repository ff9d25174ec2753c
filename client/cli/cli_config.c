#include "cli_config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SESSION_FILE "session"
/* A session file is two short lines; anything this large is not one. */
#define SESSION_MAX_BYTES 65536

/* The configuration directory as a new string, or NULL when there is none to be found
 * (or memory ran out). */
static char *config_dir(void)
{
	const char *dir = getenv("TULAY_CONFIG_DIR");
	if (dir != NULL && dir[0] != '\0')
		return strdup(dir);
	char *out = NULL;
	const char *xdg = getenv("XDG_CONFIG_HOME");
	/* The XDG spec says to ignore a relative XDG_CONFIG_HOME. */
	if (xdg != NULL && xdg[0] == '/')
		return asprintf(&out, "%s/tulay", xdg) < 0 ? NULL : out;
	const char *home = getenv("HOME");
	if (home == NULL || home[0] == '\0') {
		const struct passwd *pw = getpwuid(getuid());
		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if (home == NULL)
		return NULL;
	return asprintf(&out, "%s/.config/tulay", home) < 0 ? NULL : out;
}

static char *session_path(const struct cli *cli, bool quiet)
{
	char *dir = config_dir(), *path = NULL;
	if (dir == NULL || asprintf(&path, "%s/%s", dir, SESSION_FILE) < 0) {
		path = NULL;
		if (!quiet)
			cli_error(cli, "cannot find the configuration directory: set "
				       "TULAY_CONFIG_DIR or HOME");
	}
	free(dir);
	return path;
}

/* mkdir -p with mode 0700 for what it creates. `path` is changed and restored. */
static int make_dirs(char *path)
{
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(path, 0700);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void replace(char **field, const char *value, bool secret)
{
	if (*field != NULL && secret)
		explicit_bzero(*field, strlen(*field));
	free(*field);
	*field = strdup(value);
}

/* Reads the lines we know; others are left for later versions of tulay. */
static bool parse_session(char *text, struct config_session *s)
{
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		if (strncmp(line, "server=", 7) == 0) {
			replace(&s->server, line + 7, false);
			if (s->server == NULL)
				return false;
		} else if (strncmp(line, "ca_file=", 8) == 0) {
			replace(&s->ca_file, line + 8, false);
			if (s->ca_file == NULL)
				return false;
		} else if (strncmp(line, "user=", 5) == 0) {
			replace(&s->user, line + 5, false);
			if (s->user == NULL)
				return false;
		} else if (strncmp(line, "sealing_key=", 12) == 0) {
			replace(&s->sealing_key, line + 12, false);
			if (s->sealing_key == NULL)
				return false;
		} else if (strncmp(line, "token=", 6) == 0) {
			replace(&s->token, line + 6, true);
			if (s->token == NULL)
				return false;
		}
	}
	return s->token != NULL && s->token[0] != '\0';
}

/* Checks that the open session file is the user's own and private to them. */
static bool session_file_safe(const struct cli *cli, int fd, const char *path, bool quiet)
{
	struct stat st;
	const char *problem = NULL;
	if (fstat(fd, &st) != 0)
		problem = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		problem = "it is not a regular file";
	else if (st.st_uid != geteuid())
		problem = "it belongs to another user; delete it and run 'tulay login'";
	else if (st.st_size > SESSION_MAX_BYTES)
		problem = "it is too large to be a session file; delete it and run 'tulay login'";
	if (problem != NULL) {
		if (!quiet)
			cli_error(cli, "cannot use the session file %s: %s", path, problem);
		return false;
	}
	if ((st.st_mode & 077) != 0) {
		if (!quiet) {
			cli_error(cli,
				  "refusing the session file %s: other users can read or change "
				  "it (mode %04o)",
				  path, (unsigned)(st.st_mode & 07777));
			cli_detail("fix it with: chmod 600 %s", path);
			cli_detail("and run 'tulay login' again if someone may have copied it");
		}
		return false;
	}
	return true;
}

enum config_result config_session_load(const struct cli *cli, struct config_session *s, bool quiet)
{
	*s = (struct config_session){0};
	enum config_result result = CONFIG_FAILED;
	char *text = NULL;
	size_t len = 0;
	int fd = -1;
	char *path = session_path(cli, quiet);
	if (path == NULL)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			result = CONFIG_MISSING;
		else if (!quiet)
			cli_error(cli, "cannot read the session file %s: %s", path,
				  errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		goto out;
	}
	if (!session_file_safe(cli, fd, path, quiet))
		goto out;
	text = malloc(SESSION_MAX_BYTES + 1);
	if (text == NULL)
		goto out;
	for (;;) {
		ssize_t n = read(fd, text + len, SESSION_MAX_BYTES - len);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
		if (n > 0)
			len += (size_t)n;
		if (len == SESSION_MAX_BYTES)
			break;
	}
	text[len] = '\0';
	if (parse_session(text, s))
		result = CONFIG_OK;
	else if (!quiet)
		cli_error(cli, "the session file %s is damaged: run 'tulay login'", path);
out:
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
	if (fd >= 0)
		close(fd);
	free(path);
	return result;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A value on one line of the file: no line breaks or other control characters. */
static bool one_line(const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

int config_session_save(const struct cli *cli, const struct config_session *s)
{
	int rc = -1, fd = -1, dir_fd = -1;
	char *dir = config_dir(), *path = NULL, *tmp = NULL, *text = NULL;
	const char *failed = NULL; /* the file or directory that failed us, with err */
	int err = 0, text_len = -1;
	bool tmp_exists = false; /* the temporary file is there, to be removed on failure */
	if (s->server == NULL || s->token == NULL || !one_line(s->server) || !one_line(s->token) ||
	    (s->ca_file != NULL && !one_line(s->ca_file)) ||
	    (s->sealing_key != NULL && !one_line(s->sealing_key)) ||
	    (s->user != NULL && !one_line(s->user))) {
		cli_error(cli, "the server sent a session token that cannot be stored");
		goto out;
	}
	if (dir == NULL) {
		cli_error(cli, "cannot find the configuration directory: set TULAY_CONFIG_DIR or "
			       "HOME");
		goto out;
	}
	/* asprintf leaves its pointer undefined on failure: reset each one then. */
	if (asprintf(&path, "%s/%s", dir, SESSION_FILE) < 0)
		path = NULL;
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, SESSION_FILE) < 0)
		tmp = NULL;
	/* KEY=value lines, the optional ones only when set. */
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);
	if (mem != NULL) {
		const char *keys[] = {"server", "ca_file", "sealing_key", "user", "token"};
		const char *values[] = {s->server, s->ca_file, s->sealing_key, s->user, s->token};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (values[i] != NULL)
				fprintf(mem, "%s=%s\n", keys[i], values[i]);
		}
		if (fclose(mem) == 0)
			text_len = (int)size;
		else
			text = NULL;
	}
	if (path == NULL || tmp == NULL || text == NULL) {
		cli_error(cli, "out of memory");
		goto out;
	}
	if (make_dirs(dir) != 0) {
		err = errno;
		failed = dir;
		goto out;
	}
	/* mkostemp opens with O_CREAT | O_EXCL and mode 0600; fchmod makes sure of the mode
	 * whatever the umask, before the token is written. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		failed = dir;
		goto out;
	}
	tmp_exists = true;
	if (fchmod(fd, 0600) != 0 || write_all(fd, text, (size_t)text_len) != 0 || fsync(fd) != 0) {
		err = errno;
		failed = tmp;
		goto out;
	}
	int close_rc = close(fd);
	fd = -1;
	if (close_rc != 0) {
		err = errno;
		failed = tmp;
		goto out;
	}
	if (rename(tmp, path) != 0) {
		err = errno;
		failed = path;
		goto out;
	}
	tmp_exists = false; /* renamed: nothing to clean up */
	/* Make the rename durable, so a crash cannot bring the old session back. */
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0 || fsync(dir_fd) != 0) {
		err = errno;
		failed = dir;
		goto out;
	}
	rc = 0;
out:
	if (failed != NULL)
		cli_error(cli, "cannot save the session in %s: %s", failed, strerror(err));
	if (fd >= 0)
		close(fd);
	if (dir_fd >= 0)
		close(dir_fd);
	if (tmp_exists && unlink(tmp) != 0)
		cli_error(cli, "cannot remove the temporary file %s: %s", tmp, strerror(errno));
	if (text != NULL) {
		explicit_bzero(text, (size_t)text_len);
		free(text);
	}
	free(tmp);
	free(path);
	free(dir);
	return rc;
}

char *config_directory(const struct cli *cli, bool create)
{
	char *dir = config_dir();
	if (dir == NULL) {
		cli_error(cli, "cannot find the configuration directory: set TULAY_CONFIG_DIR or "
			       "HOME");
		return NULL;
	}
	if (create && make_dirs(dir) != 0) {
		cli_error(cli, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

int config_session_remove(const struct cli *cli)
{
	char *path = session_path(cli, false);
	if (path == NULL)
		return -1;
	int rc = unlink(path);
	if (rc != 0 && errno == ENOENT)
		rc = 0;
	if (rc != 0)
		cli_error(cli, "cannot delete the session file %s: %s", path, strerror(errno));
	free(path);
	return rc;
}

void config_session_clear(struct config_session *s)
{
	if (s->token != NULL)
		explicit_bzero(s->token, strlen(s->token));
	free(s->token);
	free(s->server);
	free(s->ca_file);
	free(s->sealing_key);
	free(s->user);
	*s = (struct config_session){0};
}
