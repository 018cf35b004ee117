/* SPDX-License-Identifier: MIT */
/**
 * @file test_shim_dlopen.c
 *
 * libdipc.so's dlopen keeps RTLD_DEEPBIND from hiding the shim
 * (shim/dlopen.c).  Runs under LD_PRELOAD of the built shim with no mount
 * (DIPC_MOUNT at a directory that does not exist) and DIPC_REQUIRE=1, so a
 * distributed semget that reaches the shim fails with ENOSYS and one that
 * reaches the kernel fails with ENOENT.  Each case opens the plugin
 * (deepbind_sem.so) fresh, in a child:
 *
 *   - dlopen(path, RTLD_DEEPBIND) through the shim: routed by the shim;
 *   - dlopen(path, 0) through the shim: routed by the shim;
 *   - libc's own dlopen with RTLD_DEEPBIND (the shim bypassed): the
 *     plugin's semget binds to libc and reaches the kernel.  This is the
 *     bug the shim works around, and shows that the test can tell.
 *
 * Usage: test_shim_dlopen PLUGIN.so (meson sets the environment).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void *(*dlopen_fn)(const char *, int);
typedef int (*probe_fn)(key_t);

/* In a child: open plugin with open(plugin, flags) and report the errno of
 * its probe as the exit status (255 when it could not be opened). */
static int probe_in_child(dlopen_fn open_fn, const char *plugin, int flags)
{
	pid_t pid = fork();
	if (pid == 0) {
		void *h = open_fn(plugin, RTLD_NOW | flags);
		probe_fn probe = h ? (probe_fn)dlsym(h, "deepbind_probe") : NULL;
		if (!probe) {
			fprintf(stderr, "cannot open %s: %s\n", plugin, dlerror());
			_exit(255);
		}
		_exit(probe((key_t)(0x5e200000u | ((unsigned)getpid() & 0xfffffu))) & 0xff);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static int failures;

static void expect(const char *what, int got, int want)
{
	printf("%s: %s (%d), want %s\n", what, got >= 0 && got < 255 ? strerror(got) : "?", got,
	       strerror(want));
	if (got != want)
		failures++;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	const char *plugin = argv[1];
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	dlopen_fn libc_dlopen = libc ? (dlopen_fn)dlsym(libc, "dlopen") : NULL;
	void *ours = dlsym(RTLD_DEFAULT, "dlopen");

	if (!getenv("LD_PRELOAD") || !libc_dlopen || ours == (void *)libc_dlopen ||
	    dlsym(RTLD_DEFAULT, "semget") == dlsym(libc, "semget")) {
		printf("FAIL: libdipc.so is not preloaded (LD_PRELOAD=%s)\n",
		       getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "");
		return 1;
	}
	expect("RTLD_DEEPBIND through the shim", probe_in_child(dlopen, plugin, RTLD_DEEPBIND),
	       ENOSYS);
	expect("no flag through the shim", probe_in_child(dlopen, plugin, 0), ENOSYS);
	expect("RTLD_DEEPBIND through libc's dlopen", probe_in_child(libc_dlopen, plugin,
								    RTLD_DEEPBIND),
	       ENOENT);
	return failures != 0;
}
