/* What the benchmark programs (report_bench, claim_bench) share: a monotonic clock,
 * nearest-rank percentiles and the benchmark user's password. */
#ifndef TULAY_BENCH_UTIL_H
#define TULAY_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Milliseconds on the monotonic clock. */
double bench_now_ms(void);

/* Sorts n samples in place, ascending. */
void bench_sort(double *samples, size_t n);

/* The q-quantile (0 < q <= 1) of n samples sorted ascending, by the nearest-rank
 * method; 0 for no samples. */
double bench_percentile(const double *sorted, size_t n, double q);

/* The benchmark user's password: TULAY_BENCH_PASSWORD, else the first line of standard
 * input, into out (cap bytes). Returns false, after saying so on stderr behind `program`,
 * when there is none. */
bool bench_read_password(const char *program, char *out, size_t cap);

#endif
