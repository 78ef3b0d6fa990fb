// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe_target: a process with functions of known first instructions,
 * for the user-probe tests. Prints "NAME 0xADDR" for each, then waits
 * until killed.
 */
#include <stdio.h>
#include <unistd.h>

long counter = 42;
char vdata[32];

asm(".text\n"
    ".globl f_nop\n f_nop: nop\n ret\n"
    ".globl f_push\n f_push: push %rbp\n pop %rbp\n ret\n"
    ".globl f_rip\n f_rip: mov counter(%rip), %rax\n ret\n"
    ".globl f_call\n f_call: call f_nop\n ret\n"
    ".globl f_jcc\n f_jcc: test %eax, %eax\n jz 1f\n1: ret\n"
    ".globl f_jz\n f_jz: jz 1f\n1: ret\n"
    ".globl f_vex\n f_vex: vmovdqu vdata(%rip), %ymm0\n ret\n"
    ".globl f_syscall\n f_syscall: syscall\n ret\n"
    ".globl f_int3\n f_int3: int3\n ret\n"
    ".globl f_cli\n f_cli: cli\n ret\n"
    ".globl f_movss\n f_movss: mov %eax, %ss\n ret\n");

void f_nop(void), f_push(void), f_rip(void), f_call(void), f_jcc(void), f_jz(void),
	f_vex(void), f_syscall(void), f_int3(void), f_cli(void), f_movss(void);

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} fns[] = {
		{ "f_nop", f_nop },   { "f_push", f_push },       { "f_rip", f_rip },
		{ "f_call", f_call }, { "f_jcc", f_jcc },         { "f_jz", f_jz },
		{ "f_vex", f_vex },   { "f_syscall", f_syscall }, { "f_int3", f_int3 },
		{ "f_cli", f_cli },   { "f_movss", f_movss },
	};

	for (unsigned int i = 0; i < sizeof(fns) / sizeof(fns[0]); i++)
		printf("%s %p\n", fns[i].name, (void *)fns[i].fn);
	printf("data %p\n", (void *)&counter);
	fflush(stdout);
	for (;;)
		pause();
}
