// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe_loop GOFILE ENDFILE [N]: functions whose probed instructions are
 * emulated (nop, push, mov, call, jcc) or stepped (rip-relative load and
 * store, indirect call through rip-relative memory, ret). Prints
 * "NAME 0xADDR" per probe point and "ready", waits for GOFILE, calls them
 * N times, prints a checksum, waits for ENDFILE, exits.
 * The points u_int3 and u_r_* (never run) hold instructions a user probe
 * must refuse: int3, syscall, sysenter, int $0x80, cli, hlt, far jmp,
 * call and ret, iretq, mov to %ss, pop %fs.
 * u_push (11 bytes) and u_rip are typed functions with a size in the
 * symbol table (STT_FUNC), for the probes by symbol (uprobes/symbols);
 * the other labels are untyped (STT_NOTYPE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

long counter = 5;
long (*fptr)(void);

asm(".text\n"
    ".globl u_nop\n u_nop: nop\n mov $1, %eax\n ret\n"
    ".globl u_push\n .type u_push, @function\n"
    " u_push: push %rbp\n mov %rsp, %rbp\n mov $2, %eax\n pop %rbp\n ret\n"
    " .size u_push, .-u_push\n"
    ".globl u_rip\n .type u_rip, @function\n u_rip: mov counter(%rip), %rax\n ret\n"
    " .size u_rip, .-u_rip\n"
    ".globl u_ripst\n u_ripst: lock addq $3, counter(%rip)\n ret\n"
    ".globl u_mov\n u_mov: mov %rdi, %rax\n add $7, %rax\n ret\n"
    ".globl u_call\n u_call: call u_nop\n add $10, %eax\n ret\n"
    ".globl u_jcc\n u_jcc: test %edi, %edi\n"
    ".globl u_jcc_jz\n u_jcc_jz: jz 1f\n mov $100, %eax\n ret\n1: mov $200, %eax\n ret\n"
    ".globl u_icall\n u_icall: call *fptr(%rip)\n add $1, %eax\n ret\n"
    ".globl u_retp\n u_retp: mov $9, %eax\n"
    ".globl u_retp_ret\n u_retp_ret: ret\n"
    ".globl u_int3\n u_int3: int3\n ret\n"
    ".globl u_r_syscall\n u_r_syscall: syscall\n ret\n"
    ".globl u_r_sysenter\n u_r_sysenter: sysenter\n ret\n"
    ".globl u_r_int80\n u_r_int80: int $0x80\n ret\n"
    ".globl u_r_cli\n u_r_cli: cli\n ret\n"
    ".globl u_r_hlt\n u_r_hlt: hlt\n ret\n"
    ".globl u_r_ljmp\n u_r_ljmp: ljmp *(%rax)\n ret\n"
    ".globl u_r_lcall\n u_r_lcall: lcall *(%rax)\n ret\n"
    ".globl u_r_lret\n u_r_lret: .byte 0xcb\n"
    ".globl u_r_iret\n u_r_iret: iretq\n"
    ".globl u_r_movss\n u_r_movss: mov %eax,%ss\n ret\n"
    ".globl u_r_popfs\n u_r_popfs: pop %fs\n ret\n");

long u_nop(void), u_push(void), u_rip(void), u_ripst(void), u_mov(long), u_call(void),
	u_jcc(long), u_icall(void), u_retp(void);
extern char u_jcc_jz[], u_retp_ret[], u_int3[], u_r_syscall[], u_r_sysenter[], u_r_int80[],
	u_r_cli[], u_r_hlt[], u_r_ljmp[], u_r_lcall[], u_r_lret[], u_r_iret[], u_r_movss[],
	u_r_popfs[];

static void wait_for(const char *f)
{
	while (access(f, F_OK))
		usleep(10000);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void *at;
	} pts[] = {
		{ "u_nop", u_nop },	  { "u_push", u_push },	    { "u_rip", u_rip },
		{ "u_ripst", u_ripst },	  { "u_mov", u_mov },	    { "u_call", u_call },
		{ "u_jcc_jz", u_jcc_jz }, { "u_icall", u_icall },   { "u_retp_ret", u_retp_ret },
		{ "u_int3", u_int3 },	  { "u_jcc", u_jcc },
		{ "u_r_syscall", u_r_syscall }, { "u_r_sysenter", u_r_sysenter },
		{ "u_r_int80", u_r_int80 },	{ "u_r_cli", u_r_cli },
		{ "u_r_hlt", u_r_hlt },		{ "u_r_ljmp", u_r_ljmp },
		{ "u_r_lcall", u_r_lcall },	{ "u_r_lret", u_r_lret },
		{ "u_r_iret", u_r_iret },	{ "u_r_movss", u_r_movss },
		{ "u_r_popfs", u_r_popfs },
	};
	long n = argc > 3 ? atol(argv[3]) : 1000, sum = 0;

	if (argc < 3)
		return 2;
	fptr = u_rip;
	for (unsigned int i = 0; i < sizeof(pts) / sizeof(pts[0]); i++)
		printf("%s %p\n", pts[i].name, pts[i].at);
	printf("ready\n");
	fflush(stdout);
	wait_for(argv[1]);
	for (long i = 0; i < n; i++) {
		sum += u_nop() + u_push() + u_rip() + u_mov(i) + u_call() + u_jcc(i & 1);
		sum += u_icall() + u_retp();
		u_ripst();
		sum = sum * 31 % 1000000007;
	}
	printf("result sum=%ld counter=%ld\n", sum, counter);
	fflush(stdout);
	wait_for(argv[2]);
	return 0;
}
