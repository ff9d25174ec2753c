#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void bench_sort(double *samples, size_t n)
{
	qsort(samples, n, sizeof(*samples), compare_double);
}

double bench_percentile(const double *sorted, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t rank = (size_t)(q * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

bool bench_read_password(const char *program, char *out, size_t cap)
{
	const char *env = getenv("TULAY_BENCH_PASSWORD");
	if (env != NULL && *env != '\0') {
		snprintf(out, cap, "%s", env);
		return true;
	}
	if (fgets(out, (int)cap, stdin) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\r\n")] = '\0';
	if (out[0] == '\0') {
		fprintf(stderr,
			"%s: no password: set TULAY_BENCH_PASSWORD or give it on standard "
			"input\n",
			program);
		return false;
	}
	return true;
}
