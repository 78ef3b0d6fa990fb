// SPDX-License-Identifier: GPL-2.0
/*
 * symoff FILE SYMBOL...: the file offset of each SYMBOL (a function) of the
 * ELF64 file FILE, one "0xOFF" line per SYMBOL, in order: what a probe by
 * offset wants (tracefs `p:GRP/EV FILE:0xOFF`, rprobes `PID:FILE:0xOFF`).
 *
 * The symbol is looked up in .symtab, then in .dynsym (Debian's libc.so.6
 * and ld.so have no .symtab: their functions are found through .dynsym).
 * It must be defined (not SHN_UNDEF) and of type STT_FUNC: an STT_GNU_IFUNC
 * symbol (libc's strlen, memcpy, ...) is its resolver, not the function
 * the program calls, so it is refused. When .dynsym has several versions
 * of the name (memcpy@GLIBC_2.2.5, memcpy@@GLIBC_2.14), the default one
 * (the .gnu.version entry without the hidden bit) is the one, as for the
 * linker (libc's memcpy is then refused: its default version is an IFUNC).
 * The value is mapped through the PT_LOAD program header that holds it
 * in the file: offset = st_value - p_vaddr + p_offset.
 *
 * symoff -l N FILE: the first N distinct function offsets of FILE's .dynsym,
 * in the table's order, one "0xOFF NAME" line each (N = 0: all of them):
 * defined STT_FUNC symbols (no IFUNC) whose value is in the file part of
 * an executable PT_LOAD segment; a symbol at an offset already listed (an
 * alias, another version of the name) is skipped. A reproducible list of
 * probe points on a library (`make bench`'s libc case).
 *
 * Exit status: 0, 1 when a SYMBOL is not found (or not a function; the
 * reason on stderr, the others still printed; -l: fewer than N), 2 on a
 * bad usage or a file that is not a readable ELF64 file with program
 * headers.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char *img;
static size_t size;

/* Is [off, off + len) inside the file? */
static int in_file(unsigned long off, unsigned long len)
{
	return off <= size && len <= size - off;
}

static const Elf64_Shdr *section(const Elf64_Ehdr *eh, unsigned int type)
{
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);

	for (unsigned int i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == type)
			return &sh[i];
	return NULL;
}

/*
 * Looks NAME up in the symbol table SYMS (with its versions VERSYM if not
 * NULL): 0 and *sym set, or -1 (not there), -2 (there but not a defined
 * function; the reason in *why). Of several defined symbols of that name,
 * the default version is the one (the first if none is).
 */
static int lookup(const Elf64_Ehdr *eh, const Elf64_Shdr *syms, const Elf64_Shdr *versym,
		  const char *name, const Elf64_Sym **sym, const char **why)
{
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	const Elf64_Shdr *str;
	unsigned long n, best = 0;
	const Elf64_Sym *s;
	const Elf64_Half *ver = NULL;

	if (!syms || syms->sh_entsize != sizeof(Elf64_Sym) || syms->sh_link >= eh->e_shnum ||
	    !in_file(syms->sh_offset, syms->sh_size))
		return -1;
	str = &sh[syms->sh_link];
	if (!in_file(str->sh_offset, str->sh_size))
		return -1;
	n = syms->sh_size / sizeof(Elf64_Sym);
	s = (const Elf64_Sym *)(img + syms->sh_offset);
	if (versym && in_file(versym->sh_offset, versym->sh_size) &&
	    versym->sh_size / sizeof(Elf64_Half) == n)
		ver = (const Elf64_Half *)(img + versym->sh_offset);
	for (unsigned long i = 1; i < n; i++) {
		const char *nm = (const char *)img + str->sh_offset + s[i].st_name;
		unsigned long room = str->sh_size - s[i].st_name;

		if (s[i].st_name >= str->sh_size || strnlen(nm, room) == room || strcmp(nm, name) ||
		    s[i].st_shndx == SHN_UNDEF)
			continue;
		if (!best || (ver && !(ver[i] & 0x8000) && (ver[best] & 0x8000)))
			best = i;
	}
	if (!best)
		return -1;
	switch (ELF64_ST_TYPE(s[best].st_info)) {
	case STT_FUNC:
		*sym = &s[best];
		return 0;
	case STT_GNU_IFUNC:
		*why = "an IFUNC (its value is the resolver, not the function called)";
		return -2;
	default:
		*why = "not a function (STT_FUNC)";
		return -2;
	}
}

/*
 * The file offset of VALUE through the PT_LOAD header that holds it in the
 * file (with EXEC, an executable one only); -1 if none does.
 */
static long file_offset(const Elf64_Ehdr *eh, unsigned long value, int exec)
{
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);

	for (unsigned int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && value >= ph[i].p_vaddr &&
		    value - ph[i].p_vaddr < ph[i].p_filesz && (!exec || (ph[i].p_flags & PF_X)))
			return value - ph[i].p_vaddr + ph[i].p_offset;
	return -1;
}

/* symoff -l N FILE (above): 0 when N were listed (or N is 0). */
static int list(const Elf64_Ehdr *eh, unsigned long want)
{
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	const Elf64_Shdr *syms = section(eh, SHT_DYNSYM), *str;
	const Elf64_Sym *s;
	unsigned long n, got = 0;
	long *seen;

	if (!syms || syms->sh_entsize != sizeof(Elf64_Sym) || syms->sh_link >= eh->e_shnum ||
	    !in_file(syms->sh_offset, syms->sh_size))
		return 1;
	str = &sh[syms->sh_link];
	if (!in_file(str->sh_offset, str->sh_size))
		return 1;
	n = syms->sh_size / sizeof(Elf64_Sym);
	s = (const Elf64_Sym *)(img + syms->sh_offset);
	seen = calloc(n, sizeof(*seen));
	if (!seen)
		return 2;
	for (unsigned long i = 1; i < n && (!want || got < want); i++) {
		const char *nm = (const char *)img + str->sh_offset + s[i].st_name;
		unsigned long room = str->sh_size - s[i].st_name, j;
		long off;

		if (s[i].st_name >= str->sh_size || strnlen(nm, room) == room ||
		    s[i].st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s[i].st_info) != STT_FUNC)
			continue;
		off = file_offset(eh, s[i].st_value, 1);
		if (off < 0)
			continue;
		for (j = 0; j < got && seen[j] != off; j++)
			;
		if (j < got)
			continue;
		seen[got++] = off;
		printf("0x%lx %s\n", off, nm);
	}
	free(seen);
	return want && got < want;
}

int main(int argc, char **argv)
{
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	struct stat st;
	int fd, rc = 0, lmode = argc == 4 && !strcmp(argv[1], "-l");
	char *end;
	unsigned long want = 0;

	if (lmode) {
		want = strtoul(argv[2], &end, 10);
		if (!*argv[2] || *end) {
			fprintf(stderr, "usage: symoff -l N FILE\n");
			return 2;
		}
		argv += 2;
		argc -= 2;
	}
	if (argc < 2 || (argc < 3 && !lmode)) {
		fprintf(stderr, "usage: symoff FILE SYMBOL... | symoff -l N FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		fprintf(stderr, "symoff: %s: cannot read it\n", argv[1]);
		return 2;
	}
	size = st.st_size;
	img = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED) {
		perror("symoff: mmap");
		return 2;
	}
	eh = (const Elf64_Ehdr *)img;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_file(eh->e_phoff, (unsigned long)eh->e_phnum * sizeof(Elf64_Phdr)) ||
	    !in_file(eh->e_shoff, (unsigned long)eh->e_shnum * sizeof(Elf64_Shdr))) {
		fprintf(stderr, "symoff: %s: not an ELF64 file with program and section headers\n",
			argv[1]);
		return 2;
	}
	if (lmode)
		return list(eh, want);
	ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	for (int a = 2; a < argc; a++) {
		const Elf64_Sym *sym = NULL;
		const char *why = NULL;
		int r = lookup(eh, section(eh, SHT_SYMTAB), NULL, argv[a], &sym, &why);
		unsigned int i;

		if (r < 0) {
			const char *why2 = NULL;
			int r2 = lookup(eh, section(eh, SHT_DYNSYM), section(eh, SHT_GNU_versym),
					argv[a], &sym, &why2);

			if (r2 == 0 || r == -1) {
				r = r2;
				why = why2;
			}
		}
		if (r < 0) {
			fprintf(stderr, "symoff: %s: %s: %s\n", argv[1], argv[a],
				r == -1 ? "no such symbol" : why);
			rc = 1;
			continue;
		}
		for (i = 0; i < eh->e_phnum; i++)
			if (ph[i].p_type == PT_LOAD && sym->st_value >= ph[i].p_vaddr &&
			    sym->st_value - ph[i].p_vaddr < ph[i].p_filesz)
				break;
		if (i == eh->e_phnum) {
			fprintf(stderr, "symoff: %s: %s: 0x%lx is in no PT_LOAD segment's file part\n",
				argv[1], argv[a], (unsigned long)sym->st_value);
			rc = 1;
			continue;
		}
		printf("0x%lx\n", (unsigned long)(sym->st_value - ph[i].p_vaddr + ph[i].p_offset));
	}
	return rc;
}
