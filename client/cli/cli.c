#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Writes `text` with control characters replaced by '?'. */
static void put_sanitized(const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		fputc(ch < 0x20 || ch == 0x7f ? '?' : ch, stderr);
	}
}

/* Prints one line on stderr: `head` (sanitized too, it may come from the command line)
 * and then the formatted message. */
static void print_line(const char *indent, const char *head, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void print_line(const char *indent, const char *head, const char *fmt, va_list ap)
{
	char *text = NULL;
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	fputs(indent, stderr);
	if (head != NULL) {
		put_sanitized(head);
		fputs(": ", stderr);
	}
	put_sanitized(text != NULL ? text : "(out of memory while reporting an error)");
	fputc('\n', stderr);
	free(text);
}

void cli_error(const struct cli *cli, const char *fmt, ...)
{
	fputs("tulay: ", stderr);
	va_list ap;
	va_start(ap, fmt);
	print_line("", cli->command, fmt, ap);
	va_end(ap);
}

void cli_detail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	print_line("  ", NULL, fmt, ap);
	va_end(ap);
}

void cli_problem(struct cli *cli, const char *what, const char *fmt, ...)
{
	if (cli->problems++ == 0)
		cli_error(cli, "invalid arguments");
	va_list ap;
	va_start(ap, fmt);
	print_line("  ", what, fmt, ap);
	va_end(ap);
}

int cli_usage_result(const struct cli *cli)
{
	if (cli->problems == 0)
		return CLI_EXIT_OK;
	fprintf(stderr, "Run 'tulay%s%s --help' for the options.\n", cli->command ? " " : "",
		cli->command ? cli->command : "");
	return CLI_EXIT_USAGE;
}
