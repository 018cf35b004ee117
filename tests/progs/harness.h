/* SPDX-License-Identifier: MIT */
/**
 * @file harness.h
 *
 * The harness of the comparison programs (semtest, msgtest): a run of steps
 * whose output must be byte-identical natively and through dipcfs.  A
 * failure of the harness itself (a child that never ends, a waitpid error)
 * is not a result: it is printed as "harness_problem" and makes the program
 * exit non-zero.  Children are forked with spawn() and collected with reap(),
 * which names how they ended ("0", an errno name, "SIGKILL", "timeout").
 *
 * Define HARNESS_NAME and POLL_MS (the bound, in ms, of every wait on
 * another process) before including it, after progs_common.h.
 */
#ifndef DIPC_TESTS_HARNESS_H
#define DIPC_TESTS_HARNESS_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int harness_failed;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, HARNESS_NAME ": HARNESS PROBLEM: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	printf("harness_problem\n");
	fflush(stdout);
	harness_failed = 1;
}

/* One step of the run: "step: ret=R errno=NAME" and optional facts. */
static void rep(const char *step, long r, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void rep(const char *step, long r, int e, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ret=%ld errno=%s", step, r, errname(r < 0 ? e : 0));
	if (fmt && *fmt) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
}

/* For calls that return an id: "ret=id" instead of the number (ids differ
 * between the kernel and the cluster); the id itself goes to stderr. */
static void rep_id(const char *step, int r, int e, const char *name)
{
	if (r >= 0) {
		printf("%s: ret=id errno=0\n", step);
		fprintf(stderr, "# id %s %d\n", name, r);
	} else {
		printf("%s: ret=%d errno=%s\n", step, r, errname(e));
	}
	fflush(stdout);
	fflush(stderr);
}

typedef int (*child_fn)(void *arg);

static pid_t spawn(child_fn fn, void *arg)
{
	pid_t p;

	fflush(NULL);
	p = fork();
	if (p < 0) {
		perror("fork");
		exit(1);
	}
	if (p == 0) {
		int code = fn(arg);

		fflush(NULL);
		_exit(code);
	}
	return p;
}

/* Exit status of a child as a word: "0", "EIDRM", "SIGKILL", "timeout". */
static const char *reap(pid_t p)
{
	static char buf[32];
	int64_t end = now_ms() + POLL_MS;
	int st;

	for (;;) {
		pid_t w = waitpid(p, &st, WNOHANG);

		if (w == p)
			break;
		if (w < 0) {
			problem("waitpid %d: %s", (int)p, strerror(errno));
			return "lost";
		}
		if (now_ms() > end) {
			kill(p, SIGKILL);
			waitpid(p, &st, 0);
			problem("child %d did not finish in time", (int)p);
			return "timeout";
		}
		sleep_ms(2);
	}
	if (WIFSIGNALED(st)) {
		snprintf(buf, sizeof(buf), "SIG%s", sigabbrev_np(WTERMSIG(st)));
		return buf;
	}
	if (WEXITSTATUS(st) == 0)
		return "0";
	if (WEXITSTATUS(st) >= 200) {
		snprintf(buf, sizeof(buf), "status%d", WEXITSTATUS(st));
		return buf;
	}
	return errname(WEXITSTATUS(st));
}

#endif /* DIPC_TESTS_HARNESS_H */
