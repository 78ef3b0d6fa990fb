// SPDX-License-Identifier: GPL-2.0
// ldlibs: -luprobed
/*
 * dynloop [-g GOFILE] [-e ENDFILE] N: a dynamically linked PIE program
 * (Debian's ld.so and libc.so.6, and /tests/lib/libuprobed.so through its
 * rpath) whose loop calls libc and the library an exact number of times.
 * Protocol: dynprog.h. Before "ready" it opens /dev/zero and prints
 *
 *   pid PID
 *   sym lib_add|lib_loop_body|lib_accumulate|malloc|read|free|loop_step 0xADDR
 *
 * (run-time addresses: in libuprobed.so, in libc.so.6, and loop_step in
 * dynloop itself). After GOFILE, iteration i (0 <= i < N) calls, in this
 * order: malloc(64), read(fd, p, 64) from /dev/zero (the buffer was set
 * to 0xff first: the result needs the read), lib_add once, lib_loop_body
 * twice, uprobed::detail::accumulate<long> when i is odd, loop_step
 * (a global function of this PIE executable, in its .symtab) once, free.
 * Between GOFILE and the exit, exactly:
 *
 *   lib_add N, lib_loop_body 2N (and the library's body_step 2N),
 *   _ZN7uprobed6detail10accumulateIlEET_S2_S2_ N/2 (rounded down),
 *   loop_step N, malloc N, read N, free N
 *
 * (glibc allocates stdout's buffer at the first printf, before "ready";
 * nothing after GOFILE allocates or reads but the loop). Counted from the
 * exec instead, lib_add, lib_loop_body, accumulate, loop_step are the same
 * (nothing else calls them), but malloc also counts what the start-up
 * does: with bookworm's glibc 2.36, one malloc (stdout's buffer) and no
 * read, so N + 1 mallocs and N reads in all (uprobes/dynamic checks it
 * with a run of N = 0: compare with one, or with a tracefs uprobe on the
 * same point in the same run, rather than hard-code the 1). It then prints
 *
 *   result n=N add=N(N-1)/2 body=2N^2 odd=(N/2)^2 step=3N calls=N
 *
 * (calls: the library's own count of lib_add calls) and exits with 0 if
 * these are the values computed here without the library, 3 if not.
 */
#include <fcntl.h>
#include <string.h>
#include "dynprog.h"
#include "libuprobed.h"

#define USAGE "dynloop [-g GOFILE] [-e ENDFILE] N"
#define BUF 64

__attribute__((noinline, noipa)) long loop_step(long s)
{
	return s + 3;
}

int main(int argc, char **argv)
{
	const char *go = NULL, *end = NULL;
	long n, add = 0, body = 0, odd = 0, step = 0, calls0, k;
	int fd, c;

	while ((c = getopt(argc, argv, "g:e:")) != -1) {
		if (c == 'g')
			go = optarg;
		else if (c == 'e')
			end = optarg;
		else
			usage(USAGE);
	}
	if (optind != argc - 1)
		usage(USAGE);
	n = count_arg(argv[optind], USAGE);
	fd = open("/dev/zero", O_RDONLY);
	if (fd < 0) {
		perror("dynloop: /dev/zero");
		return 1;
	}
	printf("pid %d\n", getpid());
	print_sym("lib_add", (void *)lib_add);
	print_sym("lib_loop_body", (void *)lib_loop_body);
	print_sym("lib_accumulate", (void *)lib_accumulate);
	print_sym("malloc", (void *)malloc);
	print_sym("read", (void *)read);
	print_sym("free", (void *)free);
	print_sym("loop_step", (void *)loop_step);
	ready();
	wait_for_file(go);
	calls0 = lib_add_calls;
	for (long i = 0; i < n; i++) {
		unsigned char *p = malloc(BUF);

		if (!p) {
			perror("dynloop: malloc");
			return 1;
		}
		memset(p, 0xff, BUF);
		if (read(fd, p, BUF) != BUF) {
			perror("dynloop: read /dev/zero");
			return 1;
		}
		add = lib_add(add, i + p[i % BUF]);
		body = lib_loop_body(body, i);
		body = lib_loop_body(body, i);
		if (i & 1)
			odd = lib_accumulate(odd, i);
		step = loop_step(step);
		free(p);
	}
	printf("result n=%ld add=%ld body=%ld odd=%ld step=%ld calls=%ld\n", n, add, body, odd,
	       step, lib_add_calls - calls0);
	fflush(stdout);
	wait_for_file(end);
	k = n / 2;
	if (add != n * (n - 1) / 2 || body != 2 * n * n || odd != k * k || step != 3 * n ||
	    lib_add_calls - calls0 != n) {
		fprintf(stderr, "dynloop: wrong result\n");
		return 3;
	}
	return 0;
}
