#include "cli_args.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "civil_date.h"
#include "iso.h"
#include "utf8.h"

/* Help text is wrapped to this many columns. */
#define HELP_WIDTH 90
/* Option help starts at this column at the most; longer options put it on the next line. */
#define HELP_COLUMN_MAX 30
/* A command has at most this many options, common ones included (a bit mask of "seen"). */
#define OPTIONS_MAX    64
#define COMMON_OPTIONS 6

static void common_options(struct cli *cli, struct args_option out[COMMON_OPTIONS + 1])
{
	out[0] = (struct args_option)ARGS_OPT(
	    "--format", ARGS_CHOICE, &cli->format, "FORMAT",
	    "output: table for people (default), json or csv for scripts",
	    .choices = &vocab_formats);
	out[1] = (struct args_option)ARGS_OPT(
	    "--server", ARGS_TEXT, &cli->server, "HOST:PORT",
	    "the tulayd server (default: TULAY_SERVER, else your session's)");
	out[2] = (struct args_option)ARGS_OPT(
	    "--timeout", ARGS_COUNT, &cli->timeout_s, "SECONDS",
	    "give up waiting for the server after this long (default 10)", .min = 1,
	    .max = CLI_TIMEOUT_MAX_S);
	out[3] = (struct args_option)ARGS_OPT(
	    "--ca-file", ARGS_TEXT, &cli->ca_file, "FILE",
	    "talk TLS, trusting the server certificate signed by this CA (PEM); "
	    "required for a server not on this computer (default: TULAY_CA_FILE, else "
	    "your session's)");
	out[4] = (struct args_option)ARGS_OPT(
	    "--retries", ARGS_COUNT, &cli->retries, "N",
	    "send a request the server refused as busy or unavailable again up to N "
	    "times, waiting a little longer each time; writes keep their idempotency key "
	    "(0-20, default: TULAY_RETRIES, else 4)",
	    .min = 0, .max = CLI_RETRIES_MAX);
	out[5] = (struct args_option)ARGS_OPT(
	    "--no-queue", ARGS_FLAG, &cli->no_queue, NULL,
	    "a write the server cannot take now fails (exit 3) instead of waiting in the "
	    "outbox for 'tulay sync' (default: TULAY_NO_QUEUE)");
	out[6] = (struct args_option){0};
}

bool args_count(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	if (text[0] < '0' || text[0] > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return false;
	*out = (uint32_t)n;
	return true;
}

void args_check_length(struct cli *cli, const char *flag, const char *text, size_t max)
{
	size_t chars = text != NULL ? utf8_chars(text) : 0;
	if (chars > max)
		cli_problem(cli, flag, "is %zu characters long: at most %zu, please shorten it",
			    chars, max);
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = (char)tolower((unsigned char)ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static bool parse_key(const char *text, struct args_key *key)
{
	if (strlen(text) != 2 * TULAY_IDEMPOTENCY_KEY_BYTES)
		return false;
	for (size_t i = 0; i < TULAY_IDEMPOTENCY_KEY_BYTES; i++) {
		int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		key->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	key->given = true;
	return true;
}

void args_key_hex(const uint8_t key[TULAY_IDEMPOTENCY_KEY_BYTES],
		  char hex[2 * TULAY_IDEMPOTENCY_KEY_BYTES + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < TULAY_IDEMPOTENCY_KEY_BYTES; i++) {
		hex[2 * i] = digits[key[i] >> 4];
		hex[2 * i + 1] = digits[key[i] & 0xf];
	}
	hex[2 * TULAY_IDEMPOTENCY_KEY_BYTES] = '\0';
}

/* Makes up a random key unless one was given. Returns CLI_EXIT_OK, or CLI_EXIT_LOCAL
 * after saying so when the system has no randomness to give. */
static int args_key_finish(const struct cli *cli, struct args_key *key)
{
	if (key->given)
		return CLI_EXIT_OK;
	if (tulay_new_idempotency_key(key->bytes) < 0) {
		cli_error(cli, "cannot make an idempotency key: the system has no randomness");
		return CLI_EXIT_LOCAL;
	}
	return CLI_EXIT_OK;
}

/* Copies a code of `len` letters, upper-cased, into code[len + 1]; false if it is not. */
static bool upper_code(const char *text, size_t len, char *code)
{
	if (strlen(text) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalpha((unsigned char)text[i]))
			return false;
		code[i] = (char)toupper((unsigned char)text[i]);
	}
	code[len] = '\0';
	return true;
}

static bool acronym(char *text)
{
	size_t len = strlen(text);
	if (len < 2 || len > 20)
		return false;
	for (char *p = text; *p != '\0'; p++) {
		*p = (char)toupper((unsigned char)*p);
		if (!isdigit((unsigned char)*p) && (*p < 'A' || *p > 'Z') && *p != '-' && *p != '_')
			return false;
	}
	return true;
}

/* `value` is the len bytes of the word not found. */
static void choice_problem(struct cli *cli, const struct args_option *opt, const char *value,
			   size_t len)
{
	char words[512];
	bool ok = vocab_join(opt->choices, words, sizeof(words));
	cli_problem(cli, opt->name, "'%.*s' is not a %s: use %s%s", (int)len, value,
		    opt->choices->noun, opt->type == ARGS_CHOICE ? "one of " : "",
		    ok ? words : "the words listed by --help");
}

/* Reads the comma-separated words of an ARGS_CHOICES option (spaces around them allowed)
 * into its target, reporting each empty, unknown or repeated word. */
static void store_choices(struct cli *cli, const struct args_option *opt, const char *value)
{
	struct args_choices *out = opt->target;
	bool empty_said = false;
	out->n = 0;
	for (const char *p = value; p != NULL;) {
		p += strspn(p, " ");
		size_t len = strcspn(p, ",");
		const char *next = p[len] == ',' ? p + len + 1 : NULL;
		while (len > 0 && p[len - 1] == ' ')
			len--;
		char word[32];
		int v = 0;
		bool known = len > 0 && len < sizeof(word);
		if (known) {
			memcpy(word, p, len);
			word[len] = '\0';
			known = vocab_parse(opt->choices, word, &v);
		}
		bool repeated = false;
		for (size_t i = 0; known && i < out->n; i++)
			repeated = repeated || out->values[i] == v;
		if (len == 0 && !empty_said)
			cli_problem(cli, opt->name,
				    "'%s' has an empty word: separate the words by single commas",
				    value);
		empty_said = empty_said || len == 0;
		if (len > 0 && !known)
			choice_problem(cli, opt, p, len);
		else if (repeated)
			cli_problem(cli, opt->name, "'%.*s' is given twice: name each once",
				    (int)len, p);
		else if (known && out->n < ARGS_CHOICES_MAX)
			out->values[out->n++] = v;
		p = next;
	}
}

/* Reads an ARGS_APPROX option's value: a leading '~' says "circa". */
static void store_approx_date(struct cli *cli, const struct args_option *opt, const char *value)
{
	struct args_approx_date *out = opt->target;
	const char *date = value[0] == '~' ? value + 1 : value;
	struct civil_approx span;
	if (civil_approx_parse(date, &span)) {
		out->date = date;
		out->circa = date != value;
	} else {
		cli_problem(cli, opt->name,
			    "'%s' is not a date: write YYYY-MM-DD, or YYYY-MM or YYYY when only "
			    "the month or year is known, with ~ in front when even that is "
			    "approximate (~2025-03)",
			    value);
	}
}

/* The listed country or currency whose upper-case code is `code`: its code (static), or
 * NULL when there is none. */
static const char *country_code(const char *code)
{
	const struct iso_country *country = iso_country_find(code);
	return country != NULL ? country->code : NULL;
}

static const char *currency_code(const char *code)
{
	const struct iso_currency *currency = iso_currency_find(code);
	return currency != NULL ? currency->code : NULL;
}

/* Reads an option whose value is an ISO code of `len` letters, in any case, that `find`
 * knows (country_code, currency_code); else reports "'value' is not <what>". */
static void store_code(struct cli *cli, const struct args_option *opt, const char *value,
		       size_t len, const char *(*find)(const char *code), const char *what)
{
	char code[4];
	assert(len < sizeof(code));
	const char *known = upper_code(value, len, code) ? find(code) : NULL;
	if (known != NULL)
		*(const char **)opt->target = known;
	else
		cli_problem(cli, opt->name, "'%s' is not %s", value, what);
}

static void store(struct cli *cli, const struct args_option *opt, char *value);

/* One more value of an ARGS_REPEATED option, checked by its `each` type as the value of
 * an option of that type would be, and appended to the option's list when good. */
static void store_repeated(struct cli *cli, const struct args_option *opt, char *value)
{
	struct args_list *list = opt->target;
	assert(opt->each == ARGS_TEXT || opt->each == ARGS_COUNTRY || opt->each == ARGS_CURRENCY ||
	       opt->each == ARGS_DATE || opt->each == ARGS_ACRONYM || opt->each == ARGS_CHOICE);
	if (list->n == ARGS_LIST_MAX) {
		if (!list->overflow)
			cli_problem(cli, opt->name,
				    "is given more than %d times: at most %d, please",
				    ARGS_LIST_MAX, ARGS_LIST_MAX);
		list->overflow = true;
		return;
	}
	struct args_option one = *opt;
	one.type = opt->each;
	if (opt->each == ARGS_CHOICE)
		one.target = &list->values[list->n];
	else
		one.target = &list->texts[list->n];
	unsigned problems = cli->problems;
	store(cli, &one, value);
	if (cli->problems != problems)
		return;
	if (opt->each == ARGS_CHOICE)
		list->texts[list->n] = value;
	list->n++;
}

/* Checks `value` by the option's type and stores it; reports a problem otherwise. */
static void store(struct cli *cli, const struct args_option *opt, char *value)
{
	const char **text = opt->target;
	struct civil_date date;
	switch (opt->type) {
	case ARGS_FLAG:
		assert(!"flags take no value");
		break;
	case ARGS_TEXT:
		if (value[0] != '\0')
			*text = value;
		else
			cli_problem(cli, opt->name, "must not be empty");
		break;
	case ARGS_COUNTRY:
		store_code(
		    cli, opt, value, 2, country_code,
		    "a country code: use ISO 3166-1 alpha-2, such as PH, ID, MM, MY, SG, TH");
		break;
	case ARGS_CURRENCY:
		store_code(cli, opt, value, 3, currency_code,
			   "a currency code: use ISO 4217, such as MYR, SGD, THB, PHP, USD");
		break;
	case ARGS_DATE:
		if (civil_date_parse(value, &date))
			*text = value;
		else
			cli_problem(cli, opt->name,
				    "'%s' is not a date: write YYYY-MM-DD, such as 2025-01-31",
				    value);
		break;
	case ARGS_ACRONYM:
		if (acronym(value))
			*text = value;
		else
			cli_problem(cli, opt->name,
				    "'%s' is not an acronym: use 2 to 20 of A-Z, 0-9, '-' and '_'",
				    value);
		break;
	case ARGS_COUNT:
		if (!args_count(value, opt->min, opt->max, opt->target))
			cli_problem(cli, opt->name, "'%s' is not a whole number from %u to %u",
				    value, opt->min, opt->max);
		break;
	case ARGS_CHOICE:
		if (!vocab_parse(opt->choices, value, opt->target))
			choice_problem(cli, opt, value, strlen(value));
		break;
	case ARGS_CHOICES:
		store_choices(cli, opt, value);
		break;
	case ARGS_APPROX:
		store_approx_date(cli, opt, value);
		break;
	case ARGS_REPEATED:
		store_repeated(cli, opt, value);
		break;
	case ARGS_KEY:
		if (!parse_key(value, opt->target))
			cli_problem(
			    cli, opt->name,
			    "'%s' is not an idempotency key: give the 32 hexadecimal digits "
			    "printed by the attempt you are repeating",
			    value);
		break;
	}
}

/* Finds the option named by `arg` ("--name" or "--name=value") among the tables. */
static const struct args_option *find_option(const struct args_option *const tables[2],
					     const char *arg, size_t *index)
{
	size_t len = strcspn(arg, "=");
	*index = 0;
	for (int t = 0; t < 2; t++) {
		for (const struct args_option *o = tables[t]; o->name != NULL; o++, (*index)++) {
			if (strlen(o->name) == len && strncmp(o->name, arg, len) == 0)
				return o;
		}
	}
	return NULL;
}

/* The number of entries of a table of options or operands (NULL: none). */
static size_t table_length(const struct args_option *table)
{
	size_t n = 0;
	while (table != NULL && table[n].name != NULL)
		n++;
	return n;
}

/* One argument that is not an option; `*given` counts the cmd->operands given so far.
 * Returns true when parsing should stop there. */
static bool operand(struct cli *cli, const struct args_command *cmd, char **argv, int i,
		    size_t *given)
{
	if (cmd->rest != NULL) {
		*cmd->rest = i;
		return true;
	}
	if (cmd->operands != NULL && *given < table_length(cmd->operands)) {
		store(cli, &cmd->operands[(*given)++], argv[i]);
	} else if (cmd->operands != NULL) {
		char names[128] = "";
		for (const struct args_option *o = cmd->operands; o->name != NULL; o++) {
			size_t len = strlen(names);
			snprintf(names + len, sizeof(names) - len, "%s%s", len > 0 ? " " : "",
				 o->name);
		}
		cli_problem(cli, argv[i], "unexpected argument: 'tulay %s' takes %s and options",
			    cmd->name, names);
	} else if (cmd->operand != NULL && *cmd->operand_value == NULL)
		*cmd->operand_value = argv[i];
	else if (cmd->operand != NULL)
		cli_problem(cli, argv[i], "unexpected argument: 'tulay %s' takes one %s", cmd->name,
			    cmd->operand);
	else
		cli_problem(cli, argv[i], "unexpected argument: 'tulay %s' takes only options",
			    cmd->name);
	return false;
}

static void print_help(const struct args_command *cmd, const struct args_option *common);

bool args_parse(struct cli *cli, const struct args_command *cmd, int argc, char **argv,
		int *exit_code)
{
	struct args_option common[COMMON_OPTIONS + 1];
	common_options(cli, common);
	const struct args_option *const tables[2] = {cmd->options, common};
	uint64_t seen = 0;
	bool operands_only = false;
	size_t operands_given = 0;

	if (cmd->rest != NULL)
		*cmd->rest = argc;
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		if (operands_only || arg[0] != '-' || arg[1] == '\0') {
			if (operand(cli, cmd, argv, i, &operands_given))
				break;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			operands_only = true;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			print_help(cmd, common);
			*exit_code = ferror(stdout) ? CLI_EXIT_LOCAL : CLI_EXIT_OK;
			return false;
		}
		size_t index;
		const struct args_option *opt = find_option(tables, arg, &index);
		if (opt == NULL) {
			cli_problem(cli, arg, "not an option of 'tulay%s%s'",
				    cmd->name[0] != '\0' ? " " : "", cmd->name);
			continue;
		}
		assert(index < OPTIONS_MAX);
		seen |= UINT64_C(1) << index;
		char *eq = strchr(arg, '=');
		if (opt->type == ARGS_FLAG) {
			if (eq != NULL)
				cli_problem(cli, opt->name, "takes no value");
			else
				*(bool *)opt->target = true;
			continue;
		}
		char *value = eq != NULL ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (value == NULL)
			cli_problem(cli, opt->name, "needs a value: %s %s", opt->name,
				    opt->metavar);
		else
			store(cli, opt, value);
	}

	size_t index = 0;
	for (const struct args_option *o = cmd->options; o->name != NULL; o++, index++) {
		if (o->required && !(seen & UINT64_C(1) << index))
			cli_problem(cli, o->name, "is required: %s", o->help);
	}
	if (cmd->operand != NULL && !cmd->operand_optional && *cmd->operand_value == NULL)
		cli_problem(cli, cmd->operand, "is required: %s", cmd->operand_help);
	for (size_t k = operands_given; k < table_length(cmd->operands); k++)
		cli_problem(cli, cmd->operands[k].name, "is required: %s", cmd->operands[k].help);
	if (cmd->check != NULL)
		cmd->check(cli, cmd->check_ctx);
	*exit_code = cli_usage_result(cli);
	return *exit_code == CLI_EXIT_OK;
}

bool args_parse_write(struct cli *cli, const struct args_command *cmd, int argc, char **argv,
		      struct args_key *key, int *exit_code)
{
	if (!args_parse(cli, cmd, argc, argv, exit_code))
		return false;
	*exit_code = args_key_finish(cli, key);
	return *exit_code == CLI_EXIT_OK;
}

/* --- help ----------------------------------------------------------------------------- */

/* Text being wrapped: units (words, or "[--flag VALUE]") go on the line while they fit. */
struct wrap {
	FILE *out;
	size_t col;    /* where the next character goes */
	size_t indent; /* where continuation lines start */
	bool first;    /* nothing written yet: never break before the first unit */
};

static void wrap_unit(struct wrap *w, const char *unit, size_t len)
{
	if (!w->first && w->col + 1 + len > HELP_WIDTH) {
		fprintf(w->out, "\n%*s", (int)w->indent, "");
		w->col = w->indent;
	} else if (!w->first) {
		fputc(' ', w->out);
		w->col++;
	}
	fwrite(unit, 1, len, w->out);
	w->col += len;
	w->first = false;
}

void args_print_wrapped(FILE *out, size_t col, size_t indent, const char *words)
{
	struct wrap w = {.out = out, .col = col, .indent = indent, .first = true};
	for (const char *p = words + strspn(words, " "); *p != '\0'; p += strspn(p, " ")) {
		size_t len = strcspn(p, " ");
		wrap_unit(&w, p, len);
		p += len;
	}
	fputc('\n', out);
}

static size_t option_width(const struct args_option *o)
{
	return strlen(o->name) + (o->metavar != NULL ? 1 + strlen(o->metavar) : 0);
}

static void print_synopsis(FILE *out, const struct args_command *cmd)
{
	size_t indent = strlen("Usage: tulay ") + strlen(cmd->name) + 1;
	/* Not first: each unit, the first included, follows a space. */
	struct wrap w = {.out = out, .col = indent - 1, .indent = indent, .first = false};
	fprintf(out, "Usage: tulay %s", cmd->name);
	for (int pass = 0; pass < 2; pass++) { /* required options first */
		for (const struct args_option *o = cmd->options; o->name != NULL; o++) {
			if (o->required != (pass == 0))
				continue;
			char *unit = NULL;
			int n = asprintf(
			    &unit, "%s%s%s%s%s%s", o->required ? "" : "[", o->name,
			    o->metavar != NULL ? " " : "", o->metavar != NULL ? o->metavar : "",
			    o->required ? "" : "]", o->type == ARGS_REPEATED ? "..." : "");
			if (n < 0)
				continue; /* out of memory: the synopsis goes without it */
			wrap_unit(&w, unit, (size_t)n);
			free(unit);
		}
	}
	if (cmd->operand != NULL && cmd->operand_optional) {
		char unit[64];
		int n = snprintf(unit, sizeof(unit), "[%s]", cmd->operand);
		wrap_unit(&w, unit, n > 0 && (size_t)n < sizeof(unit) ? (size_t)n : 0);
	} else if (cmd->operand != NULL) {
		wrap_unit(&w, cmd->operand, strlen(cmd->operand));
	}
	for (const struct args_option *o = cmd->operands; o != NULL && o->name != NULL; o++)
		wrap_unit(&w, o->name, strlen(o->name));
	fputc('\n', out);
}

static void print_options(FILE *out, const char *title, const struct args_option *options,
			  size_t column)
{
	fprintf(out, "\n%s:\n", title);
	for (const struct args_option *o = options; o->name != NULL; o++) {
		size_t width = option_width(o);
		fprintf(out, "  %s%s%s", o->name, o->metavar != NULL ? " " : "",
			o->metavar != NULL ? o->metavar : "");
		if (2 + width + 2 > column)
			fprintf(out, "\n%*s", (int)column, "");
		else
			fprintf(out, "%*s", (int)(column - 2 - width), "");
		args_print_wrapped(out, column, column, o->help);
		bool one_word =
		    o->type == ARGS_CHOICE || (o->type == ARGS_REPEATED && o->each == ARGS_CHOICE);
		if (one_word || o->type == ARGS_CHOICES) {
			char words[512];
			bool ok = vocab_join(o->choices, words, sizeof(words));
			const char *lead = one_word ? "one of: " : "any of: ";
			fprintf(out, "%*s%s", (int)column, "", lead);
			args_print_wrapped(out, column + strlen(lead), column + 2,
					   ok ? words : "(too many to list)");
		}
	}
}

static void print_help(const struct args_command *cmd, const struct args_option *common)
{
	FILE *out = stdout;
	if (cmd->help != NULL) {
		cmd->help(out);
		return;
	}
	size_t column = 0;
	const struct args_option *const tables[2] = {cmd->options, common};
	for (int t = 0; t < 2; t++) {
		for (const struct args_option *o = tables[t]; o->name != NULL; o++) {
			if (2 + option_width(o) + 2 > column)
				column = 2 + option_width(o) + 2;
		}
	}
	if (cmd->operand != NULL && 2 + strlen(cmd->operand) + 2 > column)
		column = 2 + strlen(cmd->operand) + 2;
	for (const struct args_option *o = cmd->operands; o != NULL && o->name != NULL; o++) {
		if (2 + strlen(o->name) + 2 > column)
			column = 2 + strlen(o->name) + 2;
	}
	if (column > HELP_COLUMN_MAX)
		column = HELP_COLUMN_MAX;

	print_synopsis(out, cmd);
	fprintf(out, "\n%s\n", cmd->description);
	if (cmd->operand != NULL) {
		fprintf(out, "\nArguments:\n  %-*s", (int)(column - 2), cmd->operand);
		args_print_wrapped(out, column, column, cmd->operand_help);
	}
	if (cmd->operands != NULL)
		fputs("\nArguments:\n", out);
	for (const struct args_option *o = cmd->operands; o != NULL && o->name != NULL; o++) {
		fprintf(out, "  %-*s", (int)(column - 2), o->name);
		args_print_wrapped(out, column, column, o->help);
	}
	if (cmd->options[0].name != NULL)
		print_options(out, "Options", cmd->options, column);
	print_options(out, "Common options", common, column);
	fprintf(out, "  %-*s", (int)(column - 2), "-h, --help");
	args_print_wrapped(out, column, column, "show this help and exit");
	if (cmd->notes != NULL)
		fprintf(out, "\n%s\n", cmd->notes);
	if (cmd->example != NULL)
		fprintf(out, "\nExample:\n%s\n", cmd->example);
}
