// SPDX-License-Identifier: GPL-2.0
/*
 * ufault: stepped instructions that fault, and rep string instructions,
 * for tests/guest/uprobes/faults.tc.
 *
 *   ufault [-n ROUNDS] [-g GOFILE] [-h]
 *
 * Prints "pid N" and "point NAME 0xADDR HITS VERDICT" lines (see uprog.h),
 * "ready", waits for GOFILE (-g), then runs ROUNDS rounds and prints what
 * it saw (the same text with or without probes), then "done"; -h then
 * holds until killed.
 *
 * Each round:
 *   - fault: a `div` by zero (SIGFPE), an EVEX instruction (SIGILL on a CPU
 *     without AVX-512) and two invalid encodings the decoder steps
 *     (vzeroupper with VEX.vvvv != 1111, movmskps/pd with a memory operand:
 *     #UD on hardware), each run twice under SA_SIGINFO handlers that print
 *     the signal, si_code, si_addr and the context's %rip relative to the
 *     instruction, then skip it;
 *   - rep: `rep movsb` and `rep stosq` with counts 0, 1 and 1000, `repe
 *     cmpsb` and `repne scasb`: the registers after, and the bytes;
 *   - storm: `rep movsb` of STORM bytes, STORM_RUNS times, under a SIGALRM
 *     every 50 us (setitimer): the copies are checked;
 *   - tf: `rep movsb` (counts 0 and 3) with TF set by the program itself
 *     (popf), a SIGTRAP handler recording where each trap came from.
 * HITS is the number of times each instruction is executed (a faulting
 * one once per fault, a rep one once however many iterations).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <ucontext.h>
#include "uprog.h"

#define STORM 4096
#define STORM_RUNS 4

/* Faulting instructions; each is followed by its resume label. */
asm(".text\n"
    ".globl f_div\n f_div:\n"
    " mov %rdi,%rax\n xor %edx,%edx\n"
    P(div) " divq %rsi\n"
    ".globl r_div\n r_div:\n ret\n"
    ".globl f_evex\n f_evex:\n"
    P(evex) " .byte 0x62,0xf1,0x7c,0x48,0x28,0xc1\n" /* vmovaps %zmm1,%zmm0 */
    ".globl r_evex\n r_evex:\n ret\n"
    ".globl f_vz\n f_vz:\n"
    P(vz) " .byte 0xc5,0x08,0x77\n" /* vzeroupper, VEX.vvvv = 0001 */
    ".globl r_vz\n r_vz:\n ret\n"
    ".globl f_mm\n f_mm:\n mov %rdi,%rax\n"
    P(mm) " .byte 0x0f,0x50,0x00\n" /* movmskps (%rax),%eax */
    ".globl r_mm\n r_mm:\n ret\n"
    ".globl f_mmd\n f_mmd:\n mov %rdi,%rax\n"
    P(mmd) " .byte 0x66,0x0f,0x50,0x00\n" /* movmskpd (%rax),%eax */
    ".globl r_mmd\n r_mmd:\n ret\n");

/*
 * Rep string instructions: (%rdi, %rsi, %rdx, %rcx) as the C prototypes
 * say; the registers after the instruction go to g_regs (rcx, rsi, rdi,
 * flags).
 */
asm(".text\n"
    ".globl f_movsb\n f_movsb:\n mov %rdx,%rcx\n"
    P(movsb) " rep movsb\n"
    " jmp 9f\n"
    ".globl f_stosq\n f_stosq:\n mov %rsi,%rax\n mov %rdx,%rcx\n"
    P(stosq) " rep stosq\n"
    " jmp 9f\n"
    ".globl f_cmpsb\n f_cmpsb:\n mov %rdx,%rcx\n cmp %rcx,%rcx\n"
    P(cmpsb) " repe cmpsb\n"
    " jmp 9f\n"
    ".globl f_scasb\n f_scasb:\n mov %rdx,%rcx\n xor %eax,%eax\n"
    P(scasb) " repne scasb\n"
    " jmp 9f\n"
    ".globl f_storm\n f_storm:\n mov %rdx,%rcx\n"
    P(storm) " rep movsb\n"
    " jmp 9f\n"
    ".globl f_tfrep\n f_tfrep:\n mov %rdx,%rcx\n"
    " pushf\n orl $0x100,(%rsp)\n popf\n"
    " nop\n"
    P(tfrep) " rep movsb\n"
    " pushf\n andl $~0x100,(%rsp)\n popf\n"
    " jmp 9f\n"
    "9:\n pushf\n pop %rax\n"
    " mov %rcx,g_regs(%rip)\n mov %rsi,g_regs+8(%rip)\n mov %rdi,g_regs+16(%rip)\n"
    " mov %rax,g_regs+24(%rip)\n"
    " ret\n");

extern char up_div[], up_evex[], up_vz[], up_mm[], up_mmd[], r_div[], r_evex[], r_vz[], r_mm[],
	r_mmd[], up_movsb[], up_stosq[], up_cmpsb[], up_scasb[], up_storm[], up_tfrep[];
long f_div(long, long);
void f_evex(void), f_vz(void), f_mm(const void *), f_mmd(const void *);
void f_movsb(void *, const void *, long), f_stosq(void *, long, long),
	f_cmpsb(const void *, const void *, long), f_scasb(const void *, long, long),
	f_storm(void *, const void *, long), f_tfrep(void *, const void *, long);
unsigned long g_regs[4];

static const struct {
	const char *name;
	char *at, *resume;
} faults[] = {
	{ "div", up_div, r_div }, { "evex", up_evex, r_evex }, { "vz", up_vz, r_vz },
	{ "mm", up_mm, r_mm },	  { "mmd", up_mmd, r_mmd },
};
#define NF ((int)(sizeof(faults) / sizeof(faults[0])))

/* What the fault handler saw (printed after the fault). */
static volatile int f_sig, f_code, f_which;
static volatile long f_addr, f_rip;

static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	long rip = uc->uc_mcontext.gregs[REG_RIP];
	int i;

	f_sig = sig;
	f_code = si->si_code;
	f_which = -1;
	for (i = 0; i < NF; i++)
		if (rip == (long)faults[i].at)
			break;
	if (i == NF) {
		/* Not at a probe point: say where, relative to the first. */
		f_addr = (long)si->si_addr - (long)up_div;
		f_rip = rip - (long)up_div;
		static const char m[] = "fault at an unexpected rip\n";
		write(1, m, sizeof(m) - 1);
		_exit(3);
	}
	f_which = i;
	f_addr = (long)si->si_addr - (long)faults[i].at;
	f_rip = rip - (long)faults[i].at;
	uc->uc_mcontext.gregs[REG_RIP] = (long)faults[i].resume;
}

static void fault_report(int r, int k, const char *name)
{
	if (!f_sig) {
		printf("fault %d %s.%d nosig\n", r, name, k);
		return;
	}
	printf("fault %d %s.%d sig=%d code=%d at=%s addr=%+ld rip=%+ld\n", r, name, k, f_sig, f_code,
	       f_which >= 0 ? faults[f_which].name : "?", f_addr, f_rip);
	f_sig = 0;
}

static unsigned char src[STORM + 64], dst[STORM + 64];
static unsigned long qdst[1100];

static unsigned long sum(const void *p, long n)
{
	const unsigned char *b = p;
	unsigned long h = 1469598103934665603ul;

	for (long i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ul;
	return h;
}

static void regs_report(const char *what, int r, long n, const void *si, const void *di)
{
	printf("rep %d %s n=%ld rcx=%ld si=%+ld di=%+ld zf=%d cf=%d", r, what, n, (long)g_regs[0],
	       si ? (long)(g_regs[1] - (unsigned long)si) : 0,
	       di ? (long)(g_regs[2] - (unsigned long)di) : 0, !!(g_regs[3] & 0x40),
	       !!(g_regs[3] & 1));
}

static volatile long alarms;
static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static volatile long traps[64];
static volatile int ntraps;
static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	if (ntraps < 64)
		traps[ntraps] = ((long)uc->uc_mcontext.gregs[REG_RIP] - (long)up_tfrep) * 1000 +
				((long)si->si_addr - (long)up_tfrep);
	ntraps++;
}

static void round_fault(int r)
{
	static const float v[4] __attribute__((aligned(16))) = { -1, 2, -3, 4 };

	for (int k = 0; k < 2; k++) {
		long q = f_div(1000 + r, 0);

		fault_report(r, k, "div");
		printf("div %d q=%ld\n", r, q);
		f_evex();
		fault_report(r, k, "evex");
		f_vz();
		fault_report(r, k, "vz");
		f_mm(v);
		fault_report(r, k, "mm");
		f_mmd(v);
		fault_report(r, k, "mmd");
	}
}

static void round_rep(int r)
{
	static const long counts[] = { 0, 1, 1000 };

	for (int i = 0; i < STORM + 64; i++)
		src[i] = (unsigned char)(i * 7 + r);
	for (int c = 0; c < 3; c++) {
		long n = counts[c];

		memset(dst, 0xee, sizeof(dst));
		f_movsb(dst + 3, src + 1, n);
		regs_report("movsb", r, n, src + 1, dst + 3);
		printf(" sum=%lx ok=%d\n", sum(dst, sizeof(dst)),
		       !memcmp(dst + 3, src + 1, n) && dst[2] == 0xee && dst[3 + n] == 0xee);
		memset(qdst, 0x11, sizeof(qdst));
		f_stosq(qdst + 1, 0x0123456789abcdef + r, n);
		regs_report("stosq", r, n, NULL, qdst + 1);
		printf(" sum=%lx\n", sum(qdst, sizeof(qdst)));
	}
	memcpy(dst, src, 300);
	dst[57] ^= 1;
	f_cmpsb(src, dst, 300);
	regs_report("cmpsb", r, 300, dst, src);
	printf("\n");
	src[211] = 0;
	f_scasb(src + 11, 0, 300);
	regs_report("scasb", r, 300, NULL, src + 11);
	printf("\n");
}

static void round_storm(int r)
{
	struct itimerval it = { { 0, 50 }, { 0, 50 } }, off = { { 0, 0 }, { 0, 0 } };
	int bad = 0;

	for (int i = 0; i < STORM; i++)
		src[i] = (unsigned char)(i * 13 + r);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int k = 0; k < STORM_RUNS; k++) {
		memset(dst, 0, sizeof(dst));
		f_storm(dst, src, STORM);
		bad += g_regs[0] != 0 || g_regs[1] != (unsigned long)(src + STORM) ||
		       g_regs[2] != (unsigned long)(dst + STORM) || memcmp(dst, src, STORM) ||
		       dst[STORM] != 0;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	printf("storm %d runs=%d bad=%d\n", r, STORM_RUNS, bad);
}

static void round_tf(int r)
{
	static const long counts[] = { 0, 3 };

	for (int c = 0; c < 2; c++) {
		long n = counts[c];

		memset(dst, 0, 16);
		ntraps = 0;
		f_tfrep(dst, src, n);
		regs_report("tfrep", r, n, src, dst);
		printf(" ok=%d traps=%d:", !memcmp(dst, src, n), ntraps);
		for (int i = 0; i < ntraps && i < 64; i++)
			printf(" %ld", traps[i]);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	const char *go = NULL;
	int rounds = 2, hold_after = 0, opt;
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
	struct sigaction st = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO };
	struct sigaction sal = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };

	while ((opt = getopt(argc, argv, "n:g:h")) != -1) {
		switch (opt) {
		case 'n': rounds = atoi(optarg); break;
		case 'g': go = optarg; break;
		case 'h': hold_after = 1; break;
		default: return 2;
		}
	}
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGTRAP, &st, NULL);
	sigaction(SIGALRM, &sal, NULL);
	printf("pid %d\n", getpid());
	print_point("div", up_div, 2L * rounds, "step");
	print_point("evex", up_evex, 2L * rounds, "step");
	print_point("vz", up_vz, 2L * rounds, "step");
	print_point("mm", up_mm, 2L * rounds, "step");
	print_point("mmd", up_mmd, 2L * rounds, "step");
	print_point("movsb", up_movsb, 3L * rounds, "step");
	print_point("stosq", up_stosq, 3L * rounds, "step");
	print_point("cmpsb", up_cmpsb, 1L * rounds, "step");
	print_point("scasb", up_scasb, 1L * rounds, "step");
	print_point("storm", up_storm, (long)STORM_RUNS * rounds, "step");
	print_point("tfrep", up_tfrep, 2L * rounds, "step");
	printf("ready\n");
	fflush(stdout);
	wait_for_file(go);
	for (int r = 1; r <= rounds; r++) {
		round_fault(r);
		round_rep(r);
		round_storm(r);
		round_tf(r);
	}
	printf("done\n");
	fflush(stdout);
	if (hold_after)
		hold();
	return 0;
}
