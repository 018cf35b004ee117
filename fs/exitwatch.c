/* SPDX-License-Identifier: MIT */
/**
 * @file exitwatch.c
 *
 * Process exits, as the node learns them: every process the node watches
 * (for SEM_UNDO, procwatch.c; for shared-memory attaches, shm) has a pidfd,
 * and all the pidfds sit in one epoll instance that the loop polls.  A pidfd
 * becomes readable when its process exits for any reason, SIGKILL included,
 * and cannot be fooled by pid reuse.
 *
 * Why one epoll fd and not a uv_poll per process: the loop learns of an
 * exit only at its next poll, possibly after a request from a process that
 * has already reaped the exited one (waitpid returns only once the pidfd is
 * readable).  Linux applies SEM_UNDO before the parent can see the exit, so
 * every operation first drains the exits that are already readable
 * (exitwatch_flush).  With one epoll fd that costs one epoll_wait(2) with no
 * wait, whatever the number of watched processes; a poll(2) over every
 * pidfd cost O(processes) on every operation.
 *
 * Watches are one-shot (EPOLLONESHOT) and handed out one event per
 * epoll_wait, so a callback may end any watch, its own or another's, without
 * leaving a stale event behind.  A callback must end its own watch
 * (exitwatch_del), and is called at most once.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "node.h"

static void epoll_ready_cb(uv_poll_t *h, int status, int events)
{
	exitwatch_flush(h->data);
}

int exitwatch_init(dipc_node *n)
{
	n->exit_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (n->exit_epfd < 0)
		return -errno;
	uv_poll_init(n->loop, &n->exit_poll, n->exit_epfd);
	n->exit_poll.data = n;
	uv_poll_start(&n->exit_poll, UV_READABLE, epoll_ready_cb);
	return 0;
}

static void epoll_closed_cb(uv_handle_t *h)
{
	dipc_node *n = h->data;
	close(n->exit_epfd);
	n->exit_epfd = -1;
}

void exitwatch_fini(dipc_node *n)
{
	if (n->exit_epfd < 0)
		return;
	uv_poll_stop(&n->exit_poll);
	uv_close((uv_handle_t *)&n->exit_poll, epoll_closed_cb);
}

int exitwatch_add(dipc_node *n, dipc_exit_watch *w, int pidfd, dipc_exit_fn fn, void *ud)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = w };

	w->pidfd = pidfd;
	w->fn = fn;
	w->ud = ud;
	w->armed = false;
	if (epoll_ctl(n->exit_epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0)
		return -errno;
	w->armed = true;
	return 0;
}

void exitwatch_del(dipc_node *n, dipc_exit_watch *w)
{
	if (!w->armed)
		return;
	w->armed = false;
	epoll_ctl(n->exit_epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
}

void exitwatch_flush(dipc_node *n)
{
	struct epoll_event ev;

	if (n->exit_epfd < 0)
		return;
	while (epoll_wait(n->exit_epfd, &ev, 1, 0) == 1) {
		dipc_exit_watch *w = ev.data.ptr;
		w->fn(w->ud);
	}
}
