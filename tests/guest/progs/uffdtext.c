// SPDX-License-Identifier: GPL-2.0
/*
 * uffdtext FILE: maps FILE (private, read and execute, as a program's text
 * is mapped) and registers the whole mapping with a userfaultfd whose
 * faults nobody answers, in minor mode (FILE on tmpfs, as the guest's
 * initramfs is: a page in the page cache but not mapped yet faults to the
 * userfaultfd); not user-mode only, so an access from
 * the kernel (a ptrace-like read or write of this process's memory) waits
 * too, until the process dies. Prints "map 0xSTART LEN" and "ready", then
 * sleeps until killed. "no-uffd REASON" instead of "ready" when the kernel
 * refuses the registration.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_MINOR_SHMEM };
	struct uffdio_register reg = { 0 };
	struct stat st;
	long pg = sysconf(_SC_PAGESIZE);
	size_t len;
	void *map;
	int fd, uffd;

	if (argc < 2 || (fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &st))
		return 2;
	len = (st.st_size + pg - 1) / pg * pg;
	map = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return 2;
	printf("map %p %zu\n", map, len);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		printf("no-uffd userfaultfd: %s\n", strerror(errno));
		return 0;
	}
	reg.range.start = (unsigned long)map;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MINOR;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		printf("no-uffd UFFDIO_REGISTER: %s\n", strerror(errno));
		return 0;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
