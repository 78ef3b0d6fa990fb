// SPDX-License-Identifier: GPL-2.0
// ldlibs: -lmany
/*
 * manyhit [-g GOFILE] [-e ENDFILE] N: calls libmany.so's many_all N times
 * (each of its 10000 functions N times), the dynprog.h protocol. Prints
 * "result n=N sum=S" (S = N * (10000 * 0 + sum of 10000..19999) with x = 0:
 * 149995000 per call).
 */
#include <string.h>

#include "dynprog.h"

long many_all(int x);

int main(int argc, char **argv)
{
	const char *go = NULL, *end = NULL, *text = "manyhit [-g GOFILE] [-e ENDFILE] N";
	long n, sum = 0;
	int i = 1;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "-g"))
			go = argv[i + 1];
		else if (!strcmp(argv[i], "-e"))
			end = argv[i + 1];
		else
			usage(text);
	}
	if (i + 1 != argc)
		usage(text);
	n = count_arg(argv[i], text);
	printf("pid %d\n", getpid());
	ready();
	wait_for_file(go);
	for (long k = 0; k < n; k++)
		sum += many_all(0);
	printf("result n=%ld sum=%ld\n", n, sum);
	fflush(stdout);
	wait_for_file(end);
	return sum == n * 149995000L ? 0 : 3;
}
