/* SPDX-License-Identifier: MIT */
/**
 * @file dlopen.c
 *
 * dlopen: keep RTLD_DEEPBIND from hiding the shim.
 *
 * Why.  An object opened with RTLD_DEEPBIND looks its symbols up in its own
 * dependencies (libc among them) before the global scope that holds the
 * LD_PRELOAD libraries, so its SysV calls bind to libc and never reach us.
 * PHP 8.2 loads every extension that way (zend_portability.h DL_LOAD),
 * which made sysvsem.so call the kernel directly (seen with
 * LD_DEBUG=scopes,bindings).  Symbol versions are not the problem: our
 * unversioned definitions satisfy semget@GLIBC_2.2.5 and
 * semtimedop@GLIBC_2.3.3 references alike.
 *
 * What.  When a program dlopens a file by path with RTLD_DEEPBIND, and that
 * file imports one of the functions this library interposes (its .dynsym has
 * them undefined), the flag is dropped, so the object binds like any other
 * and its calls reach the shim.  Every other dlopen passes through
 * unchanged.  Not covered: a name without '/' (resolved by the loader's
 * search path, which we do not repeat), and a dependency of the opened file
 * that makes the SysV calls itself.
 *
 * How.  dlopen is caller-sensitive: glibc takes the namespace and the
 * DT_RUNPATH/$ORIGIN of the *calling* object from the return address.  So
 * the wrapper ends in a guaranteed tail call to the real dlopen (musttail
 * where the compiler has it, else a sibling call that GCC is made to emit
 * even at -O0), and the real function sees the program's return address,
 * not ours.  The ELF check reads the file through a private read-only
 * mapping; it never fails the dlopen: on any doubt the flags stay as given.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#ifndef __has_attribute
#define __has_attribute(x) 0
#endif
#if __has_attribute(musttail)
#define DIPC_TAILCALL __attribute__((musttail))
#define DIPC_TAILCALL_FN
#elif defined(__GNUC__) && !defined(__clang__)
#define DIPC_TAILCALL
#define DIPC_TAILCALL_FN __attribute__((optimize("O2", "optimize-sibling-calls")))
#else
#error "dlopen needs a guaranteed tail call: add this compiler's way here"
#endif

static bool interposed_name(const char *name)
{
	for (const char *const *n = dipc_interposed_names; *n; n++)
		if (strcmp(name, *n) == 0)
			return true;
	return false;
}

/* Does the ELF file at path import one of our functions?  False on doubt. */
static bool imports_interposed(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	struct stat st;
	void *map = MAP_FAILED;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size >= sizeof(ElfW(Ehdr)))
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return false;

	const unsigned char *base = map;
	size_t size = (size_t)st.st_size;
	const ElfW(Ehdr) *eh = map;
	bool found = false;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh->e_shentsize != sizeof(ElfW(Shdr)) || eh->e_shoff == 0 ||
	    eh->e_shoff > size || eh->e_shnum > (size - eh->e_shoff) / sizeof(ElfW(Shdr)))
		goto out;

	const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(base + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum && !found; i++) {
		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum ||
		    sh[i].sh_entsize != sizeof(ElfW(Sym)) || sh[i].sh_offset > size ||
		    sh[i].sh_size > size - sh[i].sh_offset)
			continue;
		const ElfW(Shdr) *strsh = &sh[sh[i].sh_link];
		if (strsh->sh_offset > size || strsh->sh_size > size - strsh->sh_offset ||
		    strsh->sh_size == 0)
			continue;
		const char *strtab = (const char *)base + strsh->sh_offset;
		const ElfW(Sym) *sym = (const ElfW(Sym) *)(base + sh[i].sh_offset);
		size_t nsym = sh[i].sh_size / sizeof(ElfW(Sym));
		for (size_t k = 1; k < nsym; k++) {
			if (sym[k].st_shndx != SHN_UNDEF || sym[k].st_name >= strsh->sh_size)
				continue;
			const char *name = strtab + sym[k].st_name;
			if (memchr(name, '\0', strsh->sh_size - sym[k].st_name) &&
			    interposed_name(name)) {
				found = true;
				break;
			}
		}
	}
out:
	munmap(map, size);
	return found;
}

static __attribute__((noinline)) int dlopen_flags(const char *file, int flags)
{
	int saved = errno;
	dipc_init();
	if ((flags & RTLD_DEEPBIND) && file && strchr(file, '/') && imports_interposed(file)) {
		flags &= ~RTLD_DEEPBIND;
		dipc_log("dlopen(%s): RTLD_DEEPBIND dropped so that its SysV IPC calls reach "
			 "libdipc", file);
	}
	errno = saved;
	return flags;
}

DIPC_EXPORT DIPC_TAILCALL_FN void *dlopen(const char *file, int flags)
{
	flags = dlopen_flags(file, flags);
	/* dipc_real.dlopen is resolved by dlopen_flags(); a program calling
	 * dlopen is dynamically linked, so libc's dlopen exists. */
	DIPC_TAILCALL return dipc_real.dlopen(file, flags);
}
