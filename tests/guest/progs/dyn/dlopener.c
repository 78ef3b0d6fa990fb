// SPDX-License-Identifier: GPL-2.0
/*
 * dlopener [-g GOFILE] [-e ENDFILE] [-m MIDFILE] [-l LIB] N [ROUNDS]: a
 * dynamic PIE program that does not link libuprobed.so but loads it at run
 * time. Protocol: dynprog.h ("pid", "ready", -g, "result", -e). After
 * GOFILE, each of ROUNDS rounds (default 1) dlopen()s LIB (default
 * /tests/lib/libuprobed.so) with RTLD_NOW, finds lib_add and
 * lib_add_calls with dlsym(), calls lib_add N times and dlclose()s the
 * library (which unmaps it: the next round maps it again, maybe
 * elsewhere), printing after the calls
 *
 *   round R lib_add 0xADDR calls=N
 *
 * (R from 1; calls: the library's own count, N for a fresh mapping). With
 * -m MIDFILE, the first round prints "opened 0xADDR" (lib_add's address)
 * once the library is loaded and waits for MIDFILE before its calls: a
 * test can add a probe while the dlopen()ed library is mapped. lib_add is
 * called exactly N * ROUNDS times (nothing else calls it); dlopen() and
 * dlclose() allocate, so malloc is not counted here. Prints
 *
 *   result n=N rounds=ROUNDS add=ROUNDS*N(N-1)/2
 *
 * and exits with 0 if that is the sum computed here, 3 if not.
 */
#include <dlfcn.h>
#include "dynprog.h"

#define USAGE "dlopener [-g GOFILE] [-e ENDFILE] [-m MIDFILE] [-l LIB] N [ROUNDS]"

int main(int argc, char **argv)
{
	const char *go = NULL, *end = NULL, *mid = NULL, *lib = "/tests/lib/libuprobed.so";
	long n, rounds = 1, add = 0, expect = 0;
	int c;

	while ((c = getopt(argc, argv, "g:e:m:l:")) != -1) {
		if (c == 'g')
			go = optarg;
		else if (c == 'e')
			end = optarg;
		else if (c == 'm')
			mid = optarg;
		else if (c == 'l')
			lib = optarg;
		else
			usage(USAGE);
	}
	if (optind != argc - 1 && optind != argc - 2)
		usage(USAGE);
	n = count_arg(argv[optind], USAGE);
	if (optind == argc - 2)
		rounds = count_arg(argv[optind + 1], USAGE);
	printf("pid %d\n", getpid());
	ready();
	wait_for_file(go);
	for (long r = 1; r <= rounds; r++) {
		void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
		long (*f)(long, long);
		long *calls;

		if (!h) {
			fprintf(stderr, "dlopener: %s\n", dlerror());
			return 1;
		}
		f = (long (*)(long, long))dlsym(h, "lib_add");
		calls = dlsym(h, "lib_add_calls");
		if (!f || !calls) {
			fprintf(stderr, "dlopener: %s: no lib_add or lib_add_calls\n", lib);
			return 1;
		}
		if (r == 1 && mid) {
			printf("opened %p\n", (void *)f);
			fflush(stdout);
			wait_for_file(mid);
		}
		for (long i = 0; i < n; i++) {
			add = f(add, i);
			expect += i;
		}
		printf("round %ld lib_add %p calls=%ld\n", r, (void *)f, *calls);
		fflush(stdout);
		if (dlclose(h)) {
			fprintf(stderr, "dlopener: dlclose: %s\n", dlerror());
			return 1;
		}
	}
	printf("result n=%ld rounds=%ld add=%ld\n", n, rounds, add);
	fflush(stdout);
	wait_for_file(end);
	if (add != expect) {
		fprintf(stderr, "dlopener: wrong result\n");
		return 3;
	}
	return 0;
}
