// SPDX-License-Identifier: GPL-2.0
/*
 * uemul [-n ROUNDS] [-s SEED] [-g GOFILE] [-e ENDFILE]: one instance of every form of
 * instruction rprobes emulates (uprobes/emulation), each at a label
 * ins_NAME, run from random registers, flags and memory.
 *
 * Each stub loads every register and the flags from a state, runs its one
 * instruction (a branch lands on land_NAME, right after it), and saves them
 * again. Per round and stub the program prints one line: NAME, the 16
 * registers, the status flags the SDM defines for that instruction, and
 * checksums of the memory it can reach (a buffer %rbx points into, the
 * test stack %rsp and %rbp point into, two %rip-relative words). The same
 * seed gives the same lines, whether the instructions run, are emulated
 * or are stepped. Prints "ready", waits for GOFILE (-g), runs, prints
 * "done", waits for ENDFILE (-e) and exits 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct state {
	uint64_t g[16];
	uint64_t flags;
};

struct state *cur;
uint64_t host_rsp, tmp_rdi;
unsigned char buf[256] __attribute__((aligned(16)));
uint64_t tstack[128] __attribute__((aligned(16)));
uint64_t g_slot, g_slot2, g_fptr;

#define LOAD                                                                        \
	"push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"   \
	"mov %rsp, host_rsp(%rip)\n mov %rdi, cur(%rip)\n pushq 128(%rdi)\n popfq\n" \
	"mov 0(%rdi),%rax\n mov 8(%rdi),%rcx\n mov 16(%rdi),%rdx\n"                 \
	"mov 24(%rdi),%rbx\n mov 32(%rdi),%rsp\n mov 40(%rdi),%rbp\n"               \
	"mov 48(%rdi),%rsi\n mov 64(%rdi),%r8\n mov 72(%rdi),%r9\n"                 \
	"mov 80(%rdi),%r10\n mov 88(%rdi),%r11\n mov 96(%rdi),%r12\n"               \
	"mov 104(%rdi),%r13\n mov 112(%rdi),%r14\n mov 120(%rdi),%r15\n"            \
	"mov 56(%rdi),%rdi\n"
#define SAVE                                                                        \
	"mov %rdi, tmp_rdi(%rip)\n mov cur(%rip), %rdi\n"                           \
	"mov %rax,0(%rdi)\n mov %rcx,8(%rdi)\n mov %rdx,16(%rdi)\n"                 \
	"mov %rbx,24(%rdi)\n mov %rsp,32(%rdi)\n mov %rbp,40(%rdi)\n"               \
	"mov %rsi,48(%rdi)\n mov %r8,64(%rdi)\n mov %r9,72(%rdi)\n"                 \
	"mov %r10,80(%rdi)\n mov %r11,88(%rdi)\n mov %r12,96(%rdi)\n"               \
	"mov %r13,104(%rdi)\n mov %r14,112(%rdi)\n mov %r15,120(%rdi)\n"            \
	"mov host_rsp(%rip), %rsp\n pushfq\n popq 128(%rdi)\n"                      \
	"mov tmp_rdi(%rip), %rax\n mov %rax, 56(%rdi)\n"                            \
	"pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n ret\n"
#define STUB(n, insn)                                                               \
	".globl stub_" #n "\n.type stub_" #n ",@function\nstub_" #n ":\n" LOAD      \
	".globl ins_" #n "\n.type ins_" #n ",@function\nins_" #n ":\n" insn "\n.globl land_" #n "\nland_" #n ":\n" SAVE

/* How a stub's branch finds its landing. */
enum { K_NONE, K_RET, K_RAX, K_BUF, K_FPTR };
/* Flags the SDM leaves undefined: not compared. */
#define CF 0x1
#define PF 0x4
#define AF 0x10
#define ZF 0x40
#define SF 0x80
#define OF 0x800
#define U_LOGIC AF
#define U_SHIFT (AF | OF)
#define U_IMUL (SF | ZF | AF | PF)

/* name, instruction, kind, undefined flags */
#define STUBS                                                              \
	X(mov_load, "mov 8(%rbx),%rax", K_NONE, 0)                         \
	X(mov_store, "mov %rax,16(%rbx)", K_NONE, 0)                       \
	X(mov_16, "mov %ax,%dx", K_NONE, 0)                                \
	X(mov_imm8m, "movb $0x5a,3(%rbx)", K_NONE, 0)                      \
	X(mov_rip_load, "mov g_slot(%rip),%rdx", K_NONE, 0)                \
	X(mov_rip_store, "mov %esi,g_slot2(%rip)", K_NONE, 0)              \
	X(mov_abs, "movabs $0x1122334455667788,%r9", K_NONE, 0)            \
	X(mov_imm32, "mov $-5,%r10d", K_NONE, 0)                           \
	X(mov_high8, "mov %ah,%dl", K_NONE, 0)                             \
	X(mov_sp, "mov 8(%rsp),%r11", K_NONE, 0)                           \
	X(mov_sib, "mov 0x10(%rbx,%rcx,2),%r12d", K_NONE, 0)               \
	X(movzx_b, "movzbl 5(%rbx),%eax", K_NONE, 0)                       \
	X(movsx_w, "movswq 6(%rbx),%rdx", K_NONE, 0)                       \
	X(movsxd, "movslq %esi,%rdi", K_NONE, 0)                           \
	X(movsx_bw, "movsbw %cl,%ax", K_NONE, 0)                           \
	X(lea_sib, "lea 0x10(%rbx,%rcx,8),%rax", K_NONE, 0)                \
	X(lea_rip, "lea g_slot(%rip),%rsi", K_NONE, 0)                     \
	X(lea_32, "lea (%rsi,%rdi),%r8d", K_NONE, 0)                       \
	X(sub_rsp, "sub $0x28,%rsp", K_NONE, 0)                            \
	X(add_rr, "add %rsi,%rdi", K_NONE, 0)                              \
	X(adc_rr, "adc %r8,%r9", K_NONE, 0)                                \
	X(sbb_32, "sbb %eax,%edx", K_NONE, 0)                              \
	X(and_load, "and 8(%rbx),%rcx", K_NONE, U_LOGIC)                   \
	X(or_store8, "or %al,12(%rbx)", K_NONE, U_LOGIC)                   \
	X(xor_zero, "xor %r10d,%r10d", K_NONE, U_LOGIC)                    \
	X(cmp_imm8, "cmp $0x7f,%dil", K_NONE, 0)                           \
	X(test_rr, "test %rdi,%rdi", K_NONE, U_LOGIC)                      \
	X(test_al, "test $0x80,%al", K_NONE, U_LOGIC)                      \
	X(test_mem, "testb $1,2(%rbx)", K_NONE, U_LOGIC)                   \
	X(cmp_rip, "cmpq $0,g_slot(%rip)", K_NONE, 0)                      \
	X(add_16, "addw $0x1234,%si", K_NONE, 0)                           \
	X(add_ah, "add $1,%ah", K_NONE, 0)                                 \
	X(adc_imm, "adc $-1,%r11", K_NONE, 0)                              \
	X(sbb_8, "sbb $3,%r12b", K_NONE, 0)                                \
	X(sub_mem, "subl %edx,20(%rbx)", K_NONE, 0)                        \
	X(inc_32, "inc %eax", K_NONE, 0)                                   \
	X(dec_mem, "decq 8(%rbx)", K_NONE, 0)                              \
	X(neg_64, "neg %rdx", K_NONE, 0)                                   \
	X(not_16, "not %r13w", K_NONE, 0)                                  \
	X(shl_imm, "shl $3,%rax", K_NONE, U_SHIFT)                         \
	X(shr_cl, "shr %cl,%edx", K_NONE, U_SHIFT)                         \
	X(sar_1, "sar $1,%rsi", K_NONE, U_SHIFT)                           \
	X(rol_16, "rol $7,%r8w", K_NONE, U_SHIFT)                          \
	X(ror_cl8, "ror %cl,%r9b", K_NONE, U_SHIFT)                        \
	X(shl_mem, "shlq %cl,8(%rbx)", K_NONE, U_SHIFT)                    \
	X(sar_31, "sarl $31,%edi", K_NONE, U_SHIFT)                        \
	X(rcl_cl, "rcl %cl,%rdx", K_NONE, U_SHIFT)                         \
	X(rcr_8, "rcrb $3,5(%rbx)", K_NONE, U_SHIFT)                       \
	X(mul_64, "mul %rsi", K_NONE, U_IMUL)                              \
	X(imul1_8, "imulb 7(%rbx)", K_NONE, U_IMUL)                        \
	X(imul_rr, "imul %rsi,%rdi", K_NONE, U_IMUL)                       \
	X(imul_3, "imul $-3,%edx,%eax", K_NONE, U_IMUL)                    \
	X(imul_mem, "imul 8(%rbx),%r14", K_NONE, U_IMUL)                   \
	X(cmovne, "cmovne %rsi,%rax", K_NONE, 0)                           \
	X(cmovl_mem, "cmovl 8(%rbx),%edx", K_NONE, 0)                      \
	X(sete, "sete %al", K_NONE, 0)                                     \
	X(setg_mem, "setg 4(%rbx)", K_NONE, 0)                             \
	X(xchg_rr, "xchg %rsi,%rdi", K_NONE, 0)                            \
	X(xchg_r8, "xchg %r8d,%eax", K_NONE, 0)                            \
	X(cltq, "cltq", K_NONE, 0)                                         \
	X(cqto, "cqto", K_NONE, 0)                                         \
	X(cwtl, "cwtl", K_NONE, 0)                                         \
	X(cltd, "cltd", K_NONE, 0)                                         \
	X(push_imm, "push $0x1234", K_NONE, 0)                             \
	X(push_mem, "pushq 8(%rbx)", K_NONE, 0)                            \
	X(pop_rdx, "pop %rdx", K_NONE, 0)                                  \
	X(pop_r15, "pop %r15", K_NONE, 0)                                  \
	X(leave, "leave", K_NONE, 0)                                       \
	X(ret, "ret", K_RET, 0)                                            \
	X(ret_imm, "ret $16", K_RET, 0)                                    \
	X(call_reg, "call *%rax", K_RAX, 0)                                \
	X(call_mem, "call *(%rbx)", K_BUF, 0)                              \
	X(call_rip, "call *g_fptr(%rip)", K_FPTR, 0)                       \
	X(jmp_reg, "jmp *%rax", K_RAX, 0)                                  \
	X(jmp_mem, "jmp *(%rbx)", K_BUF, 0)                                \
	X(jmp_rip, "jmp *g_fptr(%rip)", K_FPTR, 0)

asm(".text\n"
#define X(n, insn, k, u) STUB(n, insn)
    STUBS
#undef X
);

#define X(n, insn, k, u) extern void stub_##n(struct state *); extern char land_##n[];
STUBS
#undef X

static const struct stub {
	const char *name;
	void (*fn)(struct state *);
	const char *land;
	int kind;
	uint64_t undef;
} stubs[] = {
#define X(n, insn, k, u) { #n, stub_##n, land_##n, k, u },
	STUBS
#undef X
};

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A register value: small, a power of two near, a sign bit, or anything. */
static uint64_t value(void)
{
	switch (rnd() % 5) {
	case 0:
		return rnd() % 4;
	case 1:
		return (1ULL << (rnd() % 64)) - rnd() % 2;
	case 2:
		return (uint64_t)(int64_t)(int8_t)rnd();
	default:
		return rnd();
	}
}

static uint64_t sum(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

int main(int argc, char **argv)
{
	long rounds = 20;
	const char *go = NULL, *end = NULL;
	int c;

	rng = 0x9e3779b97f4a7c15ULL;
	while ((c = getopt(argc, argv, "n:s:g:e:")) != -1) {
		if (c == 'n')
			rounds = atol(optarg);
		else if (c == 's')
			rng = strtoull(optarg, NULL, 0) | 1;
		else if (c == 'g')
			go = optarg;
		else if (c == 'e')
			end = optarg;
	}
	printf("ready\n");
	fflush(stdout);
	while (go && access(go, F_OK))
		usleep(10000);
	for (long r = 0; r < rounds; r++) {
		for (size_t i = 0; i < sizeof(stubs) / sizeof(stubs[0]); i++) {
			const struct stub *s = &stubs[i];
			struct state st;

			for (int k = 0; k < 16; k++)
				st.g[k] = value();
			for (size_t k = 0; k < sizeof(buf); k++)
				buf[k] = rnd();
			for (size_t k = 0; k < 128; k++)
				tstack[k] = rnd();
			g_slot = value();
			g_slot2 = value();
			st.flags = 0x202 | (rnd() & (CF | PF | AF | ZF | SF | OF));
			st.g[1] &= 0x3f;
			st.g[3] = (uint64_t)&buf[64];
			st.g[4] = (uint64_t)&tstack[64];
			st.g[5] = (uint64_t)&tstack[80];
			switch (s->kind) {
			case K_RET:
				tstack[64] = (uint64_t)s->land;
				break;
			case K_RAX:
				st.g[0] = (uint64_t)s->land;
				break;
			case K_BUF:
				memcpy(&buf[64], &s->land, 8);
				break;
			case K_FPTR:
				g_fptr = (uint64_t)s->land;
				break;
			}
			s->fn(&st);
			printf("%s", s->name);
			for (int k = 0; k < 16; k++)
				printf(" %lx", (unsigned long)st.g[k]);
			printf(" f=%lx b=%lx s=%lx %lx %lx\n",
			       (unsigned long)(st.flags & (CF | PF | AF | ZF | SF | OF) & ~s->undef),
			       (unsigned long)sum(buf, sizeof(buf)), (unsigned long)sum(tstack, sizeof(tstack)),
			       (unsigned long)g_slot, (unsigned long)g_slot2);
		}
	}
	printf("done\n");
	fflush(stdout);
	while (end && access(end, F_OK))
		usleep(10000);
	return 0;
}
