/* SPDX-License-Identifier: MIT */
/**
 * @file bench_common.h
 *
 * Timing helpers of the bench/ programs: every measured iteration is timed
 * on its own (CLOCK_MONOTONIC), and a run prints one line
 *
 *     median_us=12.3 p90_us=15.0 mean_us=13.1 ops_per_s=76000 n=20000
 *
 * where ops_per_s is n divided by the wall time of the measured loop.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t bench_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* samples[n] in ns; total_ns is the wall time of the whole measured loop. */
static inline void bench_report(uint64_t *samples, size_t n, uint64_t total_ns)
{
	double sum = 0;
	size_t i;

	if (n == 0) {
		printf("median_us=0 p90_us=0 mean_us=0 ops_per_s=0 n=0\n");
		return;
	}
	for (i = 0; i < n; i++)
		sum += (double)samples[i];
	qsort(samples, n, sizeof(*samples), bench_cmp);
	printf("median_us=%.2f p90_us=%.2f mean_us=%.2f ops_per_s=%.0f n=%zu\n",
	       samples[n / 2] / 1000.0, samples[n * 9 / 10] / 1000.0, sum / n / 1000.0,
	       total_ns ? n * 1e9 / (double)total_ns : 0.0, n);
	fflush(stdout);
}

#endif /* BENCH_COMMON_H */
