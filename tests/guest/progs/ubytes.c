// SPDX-License-Identifier: GPL-2.0
/*
 * ubytes: the bytes at a list of addresses in a process and in the file
 * mapped there, for the user-probe tests (one exec for all the points
 * where a dd|od pipeline per point costs seconds on the debug kernel).
 *
 *   ubytes PID PATH <POINTS
 *
 * Reads lines "NAME 0xADDR [REST]" and prints for each
 * "NAME 0xADDR 0xOFF MEM FILE [REST]": OFF is the offset in PATH of ADDR
 * (from /proc/PID/maps, the mapping of PATH that holds ADDR), MEM the byte
 * at ADDR in /proc/PID/mem, FILE the byte at OFF in PATH, both as two hex
 * digits. A field that cannot be had is "-" (ADDR in no mapping of PATH,
 * unreadable memory); the exit status is then 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_MAPS 64

static struct map {
	unsigned long start, end, off;
} maps[MAX_MAPS];
static int nmaps;

static void read_maps(const char *pid, const char *path)
{
	char name[64], line[4096];
	FILE *f;

	snprintf(name, sizeof(name), "/proc/%s/maps", pid);
	f = fopen(name, "r");
	if (!f) {
		perror(name);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) && nmaps < MAX_MAPS) {
		unsigned long s, e, o;
		int n = 0;
		char *p;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*u %n", &s, &e, &o, &n) != 3 || !n)
			continue;
		p = line + n;
		p[strcspn(p, "\n")] = 0;
		if (strcmp(p, path))
			continue;
		maps[nmaps].start = s;
		maps[nmaps].end = e;
		maps[nmaps].off = o;
		nmaps++;
	}
	fclose(f);
}

/* The byte at OFF in FD as two hex digits, or "-". */
static const char *byte_at(int fd, unsigned long off, char *buf)
{
	unsigned char b;

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		return "-";
	snprintf(buf, 3, "%02x", b);
	return buf;
}

int main(int argc, char **argv)
{
	char name[64], line[4096], mb[3], fb[3];
	int mem, file, ret = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: ubytes PID PATH <POINTS\n");
		return 2;
	}
	read_maps(argv[1], argv[2]);
	snprintf(name, sizeof(name), "/proc/%s/mem", argv[1]);
	mem = open(name, O_RDONLY);
	if (mem < 0)
		perror(name);
	file = open(argv[2], O_RDONLY);
	if (file < 0)
		perror(argv[2]);
	while (fgets(line, sizeof(line), stdin)) {
		char pname[256], addr[64], off[32] = "-";
		const char *m, *fv = "-";
		unsigned long a;
		char *rest;
		int n = 0, i;

		if (sscanf(line, "%255s %63s%n", pname, addr, &n) != 2)
			continue;
		rest = line + n;
		rest[strcspn(rest, "\n")] = 0;
		a = strtoul(addr, NULL, 0);
		m = byte_at(mem, a, mb);
		for (i = 0; i < nmaps; i++) {
			if (a >= maps[i].start && a < maps[i].end) {
				unsigned long o = a - maps[i].start + maps[i].off;

				snprintf(off, sizeof(off), "0x%lx", o);
				fv = byte_at(file, o, fb);
				break;
			}
		}
		if (*m == '-' || *fv == '-')
			ret = 1;
		printf("%s %s %s %s %s%s\n", pname, addr, off, m, fv, rest);
	}
	return ret;
}
