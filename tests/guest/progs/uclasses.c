// SPDX-License-Identifier: GPL-2.0
/*
 * uclasses: one asm function per class of instruction a user probe must
 * handle (emulated or single-stepped out of line), for tests/22.
 *
 *   uclasses [-n ROUNDS] [-c CLASS,...] [-g GOFILE] [-h]
 *
 * Prints "pid N", "avx 0|1" and "point NAME 0xADDR HITS VERDICT" for every
 * probe point of the selected classes (HITS: how often the instruction
 * runs in ROUNDS rounds), waits for GOFILE (-g), then calls every function
 * ROUNDS times with fixed arguments and prints "CLASS ..." result lines
 * (registers, flags, memory: the same text with or without probes), then
 * "done"; -h then waits for GOFILE.2, runs everything again, prints
 * "done2" and holds until killed (see uprog.h).
 *
 * Classes: nop push mov rip scratch call jmp jcc cc flags ret icall sse avx
 * scratchv loop tf (default: all). avx and scratchv are skipped (no
 * points, no output) without AVX.
 *
 * The scratch classes' points are named scr_REG_...: REG is the scratch
 * register `explain` must show for them (tests/22 checks it); each keeps
 * a value in that register across the instruction, saved afterwards.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>
#include <cpuid.h>
#include "uprog.h"

long g_val = 42, g_store, g_ctr, g_regs[14];
unsigned char g_bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
float g_f1 = 1.5f;
float g_v4[4] __attribute__((aligned(16))) = { 1, 2, 3, 4 };
float g_v4b[4] __attribute__((aligned(16))) = { 10, 20, 30, 40 };
int g_v4i[4] __attribute__((aligned(16))) = { 1, 2, 3, 4 };
float g_vout[4] __attribute__((aligned(16)));
int g_vout2[4] __attribute__((aligned(16)));
float g_y[8] __attribute__((aligned(32))) = { 1, 2, 3, 4, 5, 6, 7, 8 };
float g_y2[8] __attribute__((aligned(32))) = { 0.5, 0.25, 8, 16, 100, 200, 0.125, 1024 };
float g_yout[8], g_yout2[8], g_yout3[8], g_yout4[8];

/* jCC rel8 / rel32 that adds BIT to %rax when taken, flags untouched. */
#define CC8(cc, bit) P(cc8_##cc) "j" #cc " 1f\n jmp 2f\n1: lea " #bit "(%rax),%rax\n2:\n"
#define CC32(cc, bit) P(cc32_##cc) "{disp32} j" #cc " 1f\n jmp 2f\n1: lea " #bit "(%rax),%rax\n2:\n"

asm(".data\n .balign 8\n"
    "g_fptr: .quad f_retaddr2\n"
    "g_jptr: .quad ij_target\n"
    "g_sfptr: .quad f_retrsi\n"
    ".text\n"

    /* nop: every emulated nop form, then a plain instruction. */
    ".globl f_nop\n f_nop:\n"
    P(nop_entry) " nop\n"
    P(nop_nopl) " nopl 0x0(%rax)\n"
    P(nop_nopw) " nopw 0x0(%rax,%rax,1)\n"
    P(nop_endbr) " endbr64\n"
    P(nop_lea) " lea 1(%rdi),%rax\n"
    " ret\n"

    /* push: push reg (emulated, incl. REX), push imm (stepped); the pushed
     * values are popped back into the result, %rbp - %rsp must end at 0. */
    ".globl f_push\n f_push:\n"
    P(push_rbp) " push %rbp\n"
    P(push_movrbp) " mov %rsp,%rbp\n"
    P(push_r12) " push %r12\n"
    " mov %rdi,%r12\n"
    P(push_r12b) " push %r12\n"
    P(push_rbx) " push %rbx\n"
    " lea 7(%rdi),%rbx\n"
    P(push_rbx2) " push %rbx\n"
    P(push_imm) " push $-3\n"
    " pop %rax\n pop %rdx\n add %rdx,%rax\n pop %rbx\n pop %rdx\n add %rdx,%rax\n pop %r12\n"
    " mov %rbp,%rdx\n sub %rsp,%rdx\n shl $8,%rdx\n add %rdx,%rax\n"
    " pop %rbp\n ret\n"

    /* push %rsp pushes the value %rsp had before the push. */
    ".globl f_pushrsp\n f_pushrsp:\n"
    " mov %rsp,%rdx\n"
    P(pushrsp) " push %rsp\n"
    " pop %rax\n sub %rdx,%rax\n ret\n"

    /* mov between registers (emulated): 64-bit, 32-bit (zero-extends:
     * the source and the old destination have high bits set), REX.R and
     * REX.B, the 8B form, to and from %rsp; 16-bit (stepped: keeps the
     * destination's high bits); then plain arithmetic (stepped). */
    ".globl f_mov\n f_mov:\n"
    P(mov_entry) " mov %rdi,%rax\n"
    " movabs $0x123456789,%rsi\n add %rdi,%rsi\n mov $-1,%rcx\n"
    P(mov_zext) " mov %esi,%ecx\n"
    " add %rcx,%rax\n lea 0x10(%rdi),%r10\n"
    P(mov_rexrb) " mov %r10,%r11\n"
    P(mov_load) " .byte 0x49,0x8b,0xd3\n" /* mov %r11,%rdx, 8B /r */
    " shl $4,%rdx\n add %rdx,%rax\n"
    " mov $-1,%rdx\n"
    P(mov_16) " mov %si,%dx\n"
    " xor %rdx,%rax\n"
    P(mov_fromsp) " mov %rsp,%r11\n"
    " sub $64,%rsp\n movq $5,(%rsp)\n"
    P(mov_tosp) " mov %r11,%rsp\n"
    " sub %rsp,%r11\n add %r11,%rax\n"
    P(mov_add) " add $3,%rax\n"
    P(mov_imul) " imul $7,%rax,%rax\n"
    " ret\n"

    /* rip-relative loads: into the first scratch candidate (%rsi), lea,
     * a byte load, a compare with an immediate after the displacement. */
    ".globl f_ripload\n f_ripload:\n"
    P(rip_load) " mov g_val(%rip),%rax\n"
    " add %rdi,%rax\n"
    P(rip_load_rsi) " mov g_val(%rip),%rsi\n"
    " add %rsi,%rax\n"
    P(rip_lea) " lea g_val(%rip),%rdx\n"
    " mov $g_val,%ecx\n sub %rcx,%rdx\n add %rdx,%rax\n"
    P(rip_movzb) " movzbl g_bytes+3(%rip),%ecx\n"
    " add %rcx,%rax\n"
    P(rip_cmpimm) " cmpq $40,g_val(%rip)\n"
    " setg %cl\n add %rcx,%rax\n"
    " ret\n"

    /* rip-relative stores and read-modify-writes (imm8 after disp32, lock). */
    ".globl f_ripstore\n f_ripstore:\n"
    P(rip_store) " mov %rdi,g_store(%rip)\n"
    P(rip_addimm) " addq $1,g_store(%rip)\n"
    P(rip_movb) " movb $7,g_bytes+1(%rip)\n"
    " mov $1,%eax\n"
    P(rip_xadd) " lock xadd %rax,g_ctr(%rip)\n"
    P(rip_ld2) " add g_store(%rip),%rax\n"
    " ret\n"

    /* rip-relative instructions whose scratch register (scr_REG_...) holds
     * a value the code uses afterwards: %rsi, %rdi, %rbx start at x+0x101,
     * x+0x202, x+0x303; after each point the registers go into g_regs. */
    ".globl f_scratch\n f_scratch:\n"
    " push %rbx\n"
    " mov %rdi,%rcx\n"
    " lea 0x101(%rdi),%rsi\n lea 0x303(%rdi),%rbx\n lea 0x202(%rdi),%rdi\n"
    P(scr_rsi_load) " mov g_val(%rip),%rdx\n" /* reg rdx: scratch rsi */
    " mov %rsi,g_regs(%rip)\n mov %rdx,g_regs+8(%rip)\n"
    P(scr_rdi_load) " mov g_val(%rip),%rsi\n" /* reg rsi: scratch rdi */
    " mov %rdi,g_regs+16(%rip)\n mov %rsi,g_regs+24(%rip)\n"
    P(scr_rdi_store) " mov %rsi,g_store(%rip)\n"
    " mov %rdi,g_regs+32(%rip)\n"
    " add %rcx,%rsi\n"
    P(scr_rdi_shld) " shld %cl,%rsi,g_store(%rip)\n" /* reg rsi, %cl: scratch rdi */
    " mov %rdi,g_regs+40(%rip)\n"
    " lea 0x404(%rcx),%rsi\n"
    P(scr_rsi_shl) " shlq %cl,g_store(%rip)\n" /* /4, %cl: scratch rsi */
    " mov %rsi,g_regs+48(%rip)\n"
    " mov %rcx,%rdx\n"
    P(scr_rsi_xadd) " lock xadd %rdx,g_ctr(%rip)\n" /* reg rdx: scratch rsi */
    " mov %rsi,g_regs+56(%rip)\n mov %rdx,g_regs+64(%rip)\n"
    " mov g_ctr(%rip),%rax\n lea 0x505(%rcx),%rsi\n"
    P(scr_rdi_cmpxchg) " lock cmpxchg %rsi,g_ctr(%rip)\n" /* reg rsi, %rax: scratch rdi */
    " mov %rdi,g_regs+72(%rip)\n mov %rax,g_regs+80(%rip)\n"
    P(scr_rsi_icall) " call *g_sfptr(%rip)\n" /* /2 (rdx): scratch rsi; callee returns %rsi */
    " mov %rax,g_regs+88(%rip)\n mov %rsi,g_regs+96(%rip)\n"
    " mov %rbx,g_regs+104(%rip)\n"
    " mov g_store(%rip),%rax\n"
    " pop %rbx\n ret\n"
    ".globl f_retrsi\n f_retrsi:\n mov %rsi,%rax\n ret\n"

    /* The same with VEX: %xmm6 in ModRM.reg (%rsi) and no VEX.vvvv operand
     * (field 0: %rax): scratch %rdi; %xmm7 and %xmm6 in ModRM.reg and
     * VEX.vvvv, both ways: scratch %rbx, a callee-saved register, live
     * here. */
    ".globl f_scratchv\n f_scratchv:\n"
    " push %rbx\n"
    " lea 0x101(%rdi),%rsi\n lea 0x303(%rdi),%rbx\n lea 0x202(%rdi),%rdi\n"
    P(scr_rdi_vmov) " vmovdqu g_v4(%rip),%xmm6\n"
    " mov %rbx,g_regs(%rip)\n mov %rsi,g_regs+8(%rip)\n mov %rdi,g_regs+16(%rip)\n"
    " add $0x10,%rbx\n"
    P(scr_rbx_vadd) " vaddps g_v4b(%rip),%xmm6,%xmm7\n"
    " mov %rbx,g_regs+24(%rip)\n mov %rsi,g_regs+32(%rip)\n mov %rdi,g_regs+40(%rip)\n"
    " vmovups %xmm7,g_vout(%rip)\n"
    " add $0x10,%rbx\n"
    P(scr_rbx_vadd2) " vaddps g_v4b(%rip),%xmm7,%xmm6\n"
    " mov %rbx,g_regs+48(%rip)\n mov %rsi,g_regs+56(%rip)\n mov %rdi,g_regs+64(%rip)\n"
    " vmovups %xmm6,g_vout2(%rip)\n"
    " mov %rbx,%rax\n"
    " pop %rbx\n ret\n"

    /* call rel32: the callee returns its return address. */
    ".globl f_call\n f_call:\n"
    " push %rbx\n"
    P(call_rel) " call f_retaddr\n"
    P(call_site) " lea up_call_site(%rip),%rdx\n"
    " sub %rdx,%rax\n add %rdi,%rax\n"
    " pop %rbx\n ret\n"
    "f_retaddr:\n"
    P(retaddr_entry) " mov (%rsp),%rax\n"
    P(retaddr_ret) " ret\n"

    ".globl f_jmp\n f_jmp:\n"
    P(jmp8) " jmp 1f\n"
    " mov $100,%eax\n ret\n"
    "1:\n"
    P(jmp32) " {disp32} jmp 2f\n"
    " mov $200,%eax\n ret\n"
    "2:\n"
    P(jmp_target) " lea 5(%rdi),%rax\n"
    " ret\n"

    /* jcc rel8 and rel32, taken and not taken (probes on both targets). */
    ".globl f_jcc\n f_jcc:\n"
    " cmp %rsi,%rdi\n"
    P(jcc8) " jl 1f\n"
    P(jcc8_fall) " mov $10,%eax\n"
    " jmp 2f\n"
    "1:\n"
    P(jcc8_taken) " mov $20,%eax\n"
    "2:\n"
    " cmp %rsi,%rdi\n"
    P(jcc32) " {disp32} jge 3f\n"
    P(jcc32_fall) " add $1,%eax\n"
    " ret\n"
    "3:\n"
    P(jcc32_taken) " add $2,%eax\n"
    " ret\n"

    /* All 16 conditions, rel8 and rel32, on flags loaded with popf. */
    ".globl f_cc\n f_cc:\n"
    " push %rdi\n popf\n mov $0,%eax\n"
    CC8(o, 0x1) CC8(no, 0x2) CC8(b, 0x4) CC8(ae, 0x8)
    CC8(e, 0x10) CC8(ne, 0x20) CC8(be, 0x40) CC8(a, 0x80)
    CC8(s, 0x100) CC8(ns, 0x200) CC8(p, 0x400) CC8(np, 0x800)
    CC8(l, 0x1000) CC8(ge, 0x2000) CC8(le, 0x4000) CC8(g, 0x8000)
    CC32(o, 0x10000) CC32(no, 0x20000) CC32(b, 0x40000) CC32(ae, 0x80000)
    CC32(e, 0x100000) CC32(ne, 0x200000) CC32(be, 0x400000) CC32(a, 0x800000)
    CC32(s, 0x1000000) CC32(ns, 0x2000000) CC32(p, 0x4000000) CC32(np, 0x8000000)
    CC32(l, 0x10000000) CC32(ge, 0x20000000) CC32(le, 0x40000000) CC32(g, -0x80000000)
    " ret\n"

    /* Flags loaded with popf must survive emulated and stepped probes;
     * pushf (stepped) must not show the single-step TF. */
    ".globl f_flags\n f_flags:\n"
    " push %rdi\n"
    P(flags_popf) " popf\n"
    P(flags_nop) " nop\n"
    P(flags_mov) " mov %rdi,%rdx\n"
    P(flags_push) " push %rdx\n"
    " pop %rdx\n"
    P(flags_jmp) " jmp 1f\n"
    " ud2\n"
    "1:\n"
    P(flags_lea) " lea g_val(%rip),%rcx\n"
    P(flags_pushf) " pushf\n"
    " pop %rax\n cld\n ret\n"

    ".globl f_ret\n f_ret:\n"
    " mov %rdi,%rax\n"
    P(ret) " ret\n"

    /* ret imm16: pops the argument the caller pushed. */
    ".globl f_reti\n f_reti:\n"
    " push %rdi\n call 1f\n ret\n"
    "1:\n"
    P(reti_mov) " mov 8(%rsp),%rax\n"
    P(reti) " ret $8\n"

    /* Indirect call/jmp through rip-relative memory and through a register;
     * each callee returns its return address, compared with the label. */
    ".globl f_icall\n f_icall:\n"
    " push %rbx\n push %r12\n push %r13\n"
    " mov %rdi,%rbx\n"
    P(icall_rip) " call *g_fptr(%rip)\n"
    P(icall_site) " lea up_icall_site(%rip),%rdx\n"
    " sub %rdx,%rax\n mov %rax,%r12\n"
    " lea f_retaddr2(%rip),%rcx\n"
    P(icall_reg) " call *%rcx\n"
    P(icall_site2) " lea up_icall_site2(%rip),%rdx\n"
    " sub %rdx,%rax\n add %rax,%r12\n"
    P(ijmp_rip) " jmp *g_jptr(%rip)\n"
    " ud2\n"
    "ij_target:\n"
    P(ijmp_target) " lea (%rbx,%r12),%rax\n"
    " lea 2f(%rip),%rcx\n"
    P(ijmp_reg) " jmp *%rcx\n"
    " ud2\n"
    "2:\n"
    P(ijmp_reg_target) " add $9,%rax\n"
    " pop %r13\n pop %r12\n pop %rbx\n ret\n"
    "f_retaddr2:\n"
    P(retaddr2_entry) " mov (%rsp),%rax\n"
    " ret\n"

    /* SSE with rip-relative operands (load, arithmetic, store, imm8). */
    ".globl f_sse\n f_sse:\n"
    P(sse_movss) " movss g_f1(%rip),%xmm0\n"
    " cvtsi2ss %edi,%xmm1\n"
    P(sse_addss) " addss %xmm1,%xmm0\n"
    P(sse_movaps) " movaps g_v4(%rip),%xmm2\n"
    P(sse_addps) " addps g_v4b(%rip),%xmm2\n"
    P(sse_store) " movaps %xmm2,g_vout(%rip)\n"
    P(sse_pshufd) " pshufd $0x1b,g_v4i(%rip),%xmm3\n"
    P(sse_store2) " movdqa %xmm3,g_vout2(%rip)\n"
    " addss %xmm0,%xmm0\n cvttss2si %xmm0,%eax\n"
    " ret\n"

    /* AVX (VEX2/VEX3) with rip-relative operands; %ymm6 has the number of
     * %rsi in ModRM.reg and in VEX.vvvv. */
    ".globl f_avx\n f_avx:\n"
    P(avx_load) " vmovdqu g_y(%rip),%ymm0\n"
    P(avx_add) " vaddps g_y2(%rip),%ymm0,%ymm1\n"
    P(avx_store) " vmovdqu %ymm1,g_yout(%rip)\n"
    P(avx_perm) " vpermilps $0x1b,g_y(%rip),%ymm2\n"
    " vmovdqu %ymm2,g_yout2(%rip)\n"
    P(avx_reg6) " vmovdqu g_y(%rip),%ymm6\n"
    P(avx_vvvv6) " vaddps g_y2(%rip),%ymm6,%ymm7\n"
    P(avx_store3) " vmovups %ymm7,g_yout3(%rip)\n"
    P(avx_vex3) " vbroadcastss g_f1(%rip),%ymm9\n"
    " vmovups %ymm9,g_yout4(%rip)\n"
    " vzeroupper\n"
    " ret\n"

    /* loop and jrcxz (stepped relative branches). */
    ".globl f_loop\n f_loop:\n"
    " mov %rdi,%rcx\n xor %eax,%eax\n"
    "1:\n"
    P(loop_body) " add $3,%eax\n"
    P(loop) " loop 1b\n"
    " ret\n"
    ".globl f_jrcxz\n f_jrcxz:\n"
    " mov %rdi,%rcx\n"
    P(jrcxz) " jrcxz 1f\n"
    P(jrcxz_fall) " mov $1,%eax\n"
    " ret\n"
    "1:\n"
    P(jrcxz_taken) " mov $2,%eax\n"
    " ret\n"

    /* The program single-steps itself (TF set with popf): the SIGTRAP
     * sequence must be the same with probes on the traced instructions. */
    ".globl f_tf\n f_tf:\n"
    " pushf\n orl $0x100,(%rsp)\n popf\n"
    P(tf_nop) " nop\n"
    P(tf_mov) " mov %rdi,%rax\n"
    " add $1,%rax\n"
    P(tf_jmp) " jmp 1f\n"
    " ud2\n"
    "1:\n"
    P(tf_push) " push %rax\n"
    " pop %rax\n"
    " pushf\n andl $~0x100,(%rsp)\n popf\n"
    " ret\n");

long f_nop(long), f_push(long), f_pushrsp(void), f_mov(long), f_ripload(long), f_ripstore(long),
	f_call(long), f_jmp(long), f_jcc(long, long), f_cc(long), f_flags(long), f_ret(long),
	f_reti(long), f_icall(long), f_sse(long), f_avx(void), f_loop(long), f_jrcxz(long), f_tf(long),
	f_scratch(long), f_scratchv(long);

/* Arguments: the hit counts per round below follow from them. */
static const long a_nop[] = { 0, 5 }, a_push[] = { 0, 1, -7 }, a_mov[] = { 1, 2 },
		  a_rip[] = { 0, 10 }, a_store[] = { 3, 4 }, a_call[] = { 0, 1 }, a_jmp[] = { 0, 1 },
		  a_ret[] = { 1, 2 }, a_icall[] = { 5, 6 }, a_sse[] = { 0, 3 }, a_loop[] = { 1, 3, 7 },
		  a_jrcxz[] = { 0, 4 }, a_tf[] = { 1, 2 }, a_scr[] = { 0, 5, 0x30 };
static const long a_jcc[][2] = { { 1, 2 }, { 2, 1 }, { 3, 3 } };
#define A 0x202 /* reserved bit 1, IF */
static const long a_cc[] = { A, A | 0x1, A | 0x4, A | 0x40, A | 0x80, A | 0x800, A | 0x880,
			     A | 0x41, A | 0x8c0, A | 0x8c5 };
static const long a_flags[] = { A, A | 0x1, A | 0x4, A | 0x10, A | 0x40, A | 0x80, A | 0x400,
				A | 0x800, A | 0x880, A | 0x41, A | 0x8c0, A | 0xcd5 };
#define N(a) ((long)(sizeof(a) / sizeof((a)[0])))

/* class, point, verdict, hits per round */
#define CCP(c) X(cc, cc8_##c, "emulate-jcc", N(a_cc)) X(cc, cc32_##c, "emulate-jcc", N(a_cc))
#define POINTS                                                          \
	X(nop, nop_entry, "emulate-nop", N(a_nop))                      \
	X(nop, nop_nopl, "emulate-nop", N(a_nop))                       \
	X(nop, nop_nopw, "emulate-nop", N(a_nop))                       \
	X(nop, nop_endbr, "emulate-nop", N(a_nop))                      \
	X(nop, nop_lea, "emulate-lea", N(a_nop))                               \
	X(push, push_rbp, "emulate-push", N(a_push))                    \
	X(push, push_movrbp, "emulate-mov", N(a_push))                  \
	X(push, push_r12, "emulate-push", N(a_push))                    \
	X(push, push_r12b, "emulate-push", N(a_push))                   \
	X(push, push_rbx, "emulate-push", N(a_push))                    \
	X(push, push_rbx2, "emulate-push", N(a_push))                   \
	X(push, push_imm, "emulate-push", N(a_push))                            \
	X(push, pushrsp, "emulate-push", 2)                             \
	X(mov, mov_entry, "emulate-mov", N(a_mov))                      \
	X(mov, mov_zext, "emulate-mov", N(a_mov))                       \
	X(mov, mov_rexrb, "emulate-mov", N(a_mov))                      \
	X(mov, mov_load, "emulate-mov", N(a_mov))                       \
	X(mov, mov_16, "emulate-mov", N(a_mov))                                \
	X(mov, mov_fromsp, "emulate-mov", N(a_mov))                     \
	X(mov, mov_tosp, "emulate-mov", N(a_mov))                       \
	X(mov, mov_add, "emulate-alu", N(a_mov))                               \
	X(mov, mov_imul, "emulate-imul", N(a_mov))                              \
	X(rip, rip_load, "emulate-mov", N(a_rip))                        \
	X(rip, rip_load_rsi, "emulate-mov", N(a_rip))                    \
	X(rip, rip_lea, "emulate-lea", N(a_rip))                         \
	X(rip, rip_movzb, "emulate-mov", N(a_rip))                       \
	X(rip, rip_cmpimm, "emulate-alu", N(a_rip))                      \
	X(rip, rip_store, "emulate-mov", N(a_store))                     \
	X(rip, rip_addimm, "emulate-alu", N(a_store))                    \
	X(rip, rip_movb, "emulate-mov", N(a_store))                      \
	X(rip, rip_xadd, "step-fixup", N(a_store))                      \
	X(rip, rip_ld2, "emulate-alu", N(a_store))                       \
	X(scratch, scr_rsi_load, "emulate-mov", N(a_scr))                \
	X(scratch, scr_rdi_load, "emulate-mov", N(a_scr))                \
	X(scratch, scr_rdi_store, "emulate-mov", N(a_scr))               \
	X(scratch, scr_rdi_shld, "step-fixup", N(a_scr))                \
	X(scratch, scr_rsi_shl, "emulate-shift", N(a_scr))                 \
	X(scratch, scr_rsi_xadd, "step-fixup", N(a_scr))                \
	X(scratch, scr_rdi_cmpxchg, "step-fixup", N(a_scr))             \
	X(scratch, scr_rsi_icall, "emulate-icall", N(a_scr))               \
	X(call, call_rel, "emulate-call", N(a_call))                    \
	X(call, call_site, "emulate-lea", N(a_call))                     \
	X(call, retaddr_entry, "emulate-mov", N(a_call))                       \
	X(call, retaddr_ret, "emulate-ret", N(a_call))                         \
	X(jmp, jmp8, "emulate-jmp", N(a_jmp))                           \
	X(jmp, jmp32, "emulate-jmp", N(a_jmp))                          \
	X(jmp, jmp_target, "emulate-lea", N(a_jmp))                            \
	X(jcc, jcc8, "emulate-jcc", 3)                                  \
	X(jcc, jcc8_fall, "emulate-mov", 2)                                    \
	X(jcc, jcc8_taken, "emulate-mov", 1)                                   \
	X(jcc, jcc32, "emulate-jcc", 3)                                 \
	X(jcc, jcc32_fall, "emulate-alu", 1)                                   \
	X(jcc, jcc32_taken, "emulate-alu", 2)                                  \
	CCP(o) CCP(no) CCP(b) CCP(ae) CCP(e) CCP(ne) CCP(be) CCP(a)     \
	CCP(s) CCP(ns) CCP(p) CCP(np) CCP(l) CCP(ge) CCP(le) CCP(g)     \
	X(flags, flags_popf, "step", N(a_flags))                        \
	X(flags, flags_nop, "emulate-nop", N(a_flags))                  \
	X(flags, flags_mov, "emulate-mov", N(a_flags))                  \
	X(flags, flags_push, "emulate-push", N(a_flags))                \
	X(flags, flags_jmp, "emulate-jmp", N(a_flags))                  \
	X(flags, flags_lea, "emulate-lea", N(a_flags))                   \
	X(flags, flags_pushf, "step", N(a_flags))                       \
	X(ret, ret, "emulate-ret", N(a_ret))                                   \
	X(ret, reti_mov, "emulate-mov", N(a_ret))                              \
	X(ret, reti, "emulate-ret", N(a_ret))                                  \
	X(icall, icall_rip, "emulate-icall", N(a_icall))                   \
	X(icall, icall_site, "emulate-lea", N(a_icall))                  \
	X(icall, icall_reg, "emulate-icall", N(a_icall))                         \
	X(icall, icall_site2, "emulate-lea", N(a_icall))                 \
	X(icall, ijmp_rip, "emulate-ijmp", N(a_icall))                    \
	X(icall, ijmp_target, "emulate-lea", N(a_icall))                       \
	X(icall, ijmp_reg, "emulate-ijmp", N(a_icall))                          \
	X(icall, ijmp_reg_target, "emulate-alu", N(a_icall))                   \
	X(icall, retaddr2_entry, "emulate-mov", 2 * N(a_icall))                \
	X(sse, sse_movss, "step-fixup", N(a_sse))                       \
	X(sse, sse_addss, "step", N(a_sse))                             \
	X(sse, sse_movaps, "step-fixup", N(a_sse))                      \
	X(sse, sse_addps, "step-fixup", N(a_sse))                       \
	X(sse, sse_store, "step-fixup", N(a_sse))                       \
	X(sse, sse_pshufd, "step-fixup", N(a_sse))                      \
	X(sse, sse_store2, "step-fixup", N(a_sse))                      \
	X(avx, avx_load, "step-fixup", 2)                               \
	X(avx, avx_add, "step-fixup", 2)                                \
	X(avx, avx_store, "step-fixup", 2)                              \
	X(avx, avx_perm, "step-fixup", 2)                               \
	X(avx, avx_reg6, "step-fixup", 2)                               \
	X(avx, avx_vvvv6, "step-fixup", 2)                              \
	X(avx, avx_store3, "step-fixup", 2)                             \
	X(avx, avx_vex3, "step-fixup", 2)                               \
	X(scratchv, scr_rdi_vmov, "step-fixup", N(a_scr))               \
	X(scratchv, scr_rbx_vadd, "step-fixup", N(a_scr))               \
	X(scratchv, scr_rbx_vadd2, "step-fixup", N(a_scr))              \
	X(loop, loop_body, "emulate-alu", 11)                                  \
	X(loop, loop, "step", 11)                                       \
	X(loop, jrcxz, "step", N(a_jrcxz))                              \
	X(loop, jrcxz_fall, "emulate-mov", 1)                                  \
	X(loop, jrcxz_taken, "emulate-mov", 1)                                 \
	X(tf, tf_nop, "emulate-nop", N(a_tf))                           \
	X(tf, tf_mov, "emulate-mov", N(a_tf))                           \
	X(tf, tf_jmp, "emulate-jmp", N(a_tf))                           \
	X(tf, tf_push, "emulate-push", N(a_tf))

#define X(c, n, v, h) extern const char up_##n[];
POINTS
#undef X

static const struct point {
	const char *cls, *name, *verdict;
	const void *addr;
	long per_round;
} points[] = {
#define X(c, n, v, h) { #c, #n, v, up_##n, h },
	POINTS
#undef X
};

static char *classes =
	"nop,push,mov,rip,scratch,call,jmp,jcc,cc,flags,ret,icall,sse,avx,scratchv,loop,tf";
static int have_avx;

static int selected(const char *cls)
{
	size_t n = strlen(cls);

	if ((!strcmp(cls, "avx") || !strcmp(cls, "scratchv")) && !have_avx)
		return 0;
	for (const char *p = classes; (p = strstr(p, cls)); p += n)
		if ((p == classes || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 1;
	return 0;
}

static void pfloats(const char *what, const float *v, int n)
{
	printf("%s", what);
	for (int i = 0; i < n; i++)
		printf(" %g", v[i]);
	printf("\n");
}

static void pregs(int n)
{
	for (int i = 0; i < n; i++)
		printf(" %#lx", g_regs[i]);
	printf("\n");
	memset(g_regs, 0, sizeof(g_regs));
}

/* SIGTRAP from the program's own TF: the sequence of trap addresses. */
static volatile long traps[64];
static volatile int ntraps;

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	(void)si;
	if (ntraps < 64)
		traps[ntraps] = uc->uc_mcontext.gregs[REG_RIP] - (long)f_tf;
	ntraps++;
}

/* The memory the functions write: the same at the start of every run. */
static void reset(void)
{
	g_store = 0;
	g_ctr = 0;
	g_bytes[1] = 2;
}

static void run_round(int r)
{
	int i;

	if (selected("nop"))
		for (i = 0; i < N(a_nop); i++)
			printf("nop %d %ld -> %ld\n", r, a_nop[i], f_nop(a_nop[i]));
	if (selected("push")) {
		for (i = 0; i < N(a_push); i++)
			printf("push %d %ld -> %ld\n", r, a_push[i], f_push(a_push[i]));
		for (i = 0; i < 2; i++)
			printf("push %d rsp -> %ld\n", r, f_pushrsp());
	}
	if (selected("mov"))
		for (i = 0; i < N(a_mov); i++)
			printf("mov %d %ld -> %ld\n", r, a_mov[i], f_mov(a_mov[i]));
	if (selected("rip")) {
		for (i = 0; i < N(a_rip); i++)
			printf("rip %d load %ld -> %ld\n", r, a_rip[i], f_ripload(a_rip[i]));
		for (i = 0; i < N(a_store); i++) {
			long v = f_ripstore(a_store[i]);

			printf("rip %d store %ld -> %ld store=%ld ctr=%ld bytes=%d,%d\n", r, a_store[i], v,
			       g_store, g_ctr, g_bytes[0], g_bytes[1]);
		}
	}
	if (selected("scratch"))
		for (i = 0; i < N(a_scr); i++) {
			long v;

			g_store = 0;
			g_ctr = a_scr[i];
			v = f_scratch(a_scr[i]);
			printf("scratch %d %#lx -> %#lx ctr=%#lx regs", r, a_scr[i], v, g_ctr);
			pregs(14);
		}
	if (selected("scratchv"))
		for (i = 0; i < N(a_scr); i++) {
			long v = f_scratchv(a_scr[i]);

			printf("scratchv %d %#lx -> %#lx regs", r, a_scr[i], v);
			pregs(9);
			pfloats("scratchv vout", g_vout, 4);
			printf("scratchv vout2 %d %d %d %d\n", g_vout2[0], g_vout2[1], g_vout2[2],
			       g_vout2[3]);
		}
	if (selected("call"))
		for (i = 0; i < N(a_call); i++)
			printf("call %d %ld -> %ld\n", r, a_call[i], f_call(a_call[i]));
	if (selected("jmp"))
		for (i = 0; i < N(a_jmp); i++)
			printf("jmp %d %ld -> %ld\n", r, a_jmp[i], f_jmp(a_jmp[i]));
	if (selected("jcc"))
		for (i = 0; i < 3; i++)
			printf("jcc %d %ld,%ld -> %ld\n", r, a_jcc[i][0], a_jcc[i][1],
			       f_jcc(a_jcc[i][0], a_jcc[i][1]));
	if (selected("cc"))
		for (i = 0; i < N(a_cc); i++)
			printf("cc %d %#lx -> %#lx\n", r, a_cc[i], f_cc(a_cc[i]) & 0xffffffffL);
	if (selected("flags"))
		for (i = 0; i < N(a_flags); i++)
			printf("flags %d %#lx -> %#lx\n", r, a_flags[i], f_flags(a_flags[i]));
	if (selected("ret")) {
		for (i = 0; i < N(a_ret); i++)
			printf("ret %d %ld -> %ld\n", r, a_ret[i], f_ret(a_ret[i]));
		for (i = 0; i < N(a_ret); i++)
			printf("ret %d imm %ld -> %ld\n", r, a_ret[i], f_reti(a_ret[i]));
	}
	if (selected("icall"))
		for (i = 0; i < N(a_icall); i++)
			printf("icall %d %ld -> %ld\n", r, a_icall[i], f_icall(a_icall[i]));
	if (selected("sse"))
		for (i = 0; i < N(a_sse); i++) {
			long v = f_sse(a_sse[i]);

			printf("sse %d %ld -> %ld\n", r, a_sse[i], v);
			pfloats("sse vout", g_vout, 4);
			printf("sse vout2 %d %d %d %d\n", g_vout2[0], g_vout2[1], g_vout2[2], g_vout2[3]);
		}
	if (selected("avx"))
		for (i = 0; i < 2; i++) {
			memset(g_yout, 0, sizeof(g_yout));
			memset(g_yout2, 0, sizeof(g_yout2));
			memset(g_yout3, 0, sizeof(g_yout3));
			memset(g_yout4, 0, sizeof(g_yout4));
			f_avx();
			pfloats("avx yout", g_yout, 8);
			pfloats("avx yout2", g_yout2, 8);
			pfloats("avx yout3", g_yout3, 8);
			pfloats("avx yout4", g_yout4, 8);
		}
	if (selected("loop")) {
		for (i = 0; i < N(a_loop); i++)
			printf("loop %d %ld -> %ld\n", r, a_loop[i], f_loop(a_loop[i]));
		for (i = 0; i < N(a_jrcxz); i++)
			printf("loop %d jrcxz %ld -> %ld\n", r, a_jrcxz[i], f_jrcxz(a_jrcxz[i]));
	}
	if (selected("tf"))
		for (i = 0; i < N(a_tf); i++) {
			long v;

			ntraps = 0;
			v = f_tf(a_tf[i]);
			printf("tf %d %ld -> %ld traps=%d at", r, a_tf[i], v, ntraps);
			for (int t = 0; t < ntraps && t < 64; t++)
				printf(" +%ld", traps[t]);
			printf("\n");
		}
}

int main(int argc, char **argv)
{
	const char *go = NULL;
	int rounds = 10, hold_after = 0, opt;
	unsigned int a, b, c, d;

	while ((opt = getopt(argc, argv, "n:c:g:h")) != -1) {
		switch (opt) {
		case 'n': rounds = atoi(optarg); break;
		case 'c': classes = optarg; break;
		case 'g': go = optarg; break;
		case 'h': hold_after = 1; break;
		default: return 2;
		}
	}
	/* AVX usable: CPUID.1:ECX.AVX and OSXSAVE, and XCR0 has SSE+AVX state. */
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_AVX) && (c & bit_OSXSAVE)) {
		unsigned int lo, hi;

		asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		have_avx = (lo & 6) == 6;
	}
	if (selected("tf")) {
		struct sigaction sa = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO };

		sigaction(SIGTRAP, &sa, NULL);
	}
	printf("pid %d\navx %d\n", getpid(), have_avx);
	for (unsigned int i = 0; i < sizeof(points) / sizeof(points[0]); i++)
		if (selected(points[i].cls))
			print_point(points[i].name, points[i].addr, points[i].per_round * rounds,
				    points[i].verdict);
	printf("ready\n");
	fflush(stdout);
	wait_for_file(go);
	reset();
	for (int r = 1; r <= rounds; r++)
		run_round(r);
	printf("done\n");
	if (hold_after && go) {
		/* Run everything again once GOFILE.2 exists (after the probes are
		 * removed), then hold until killed. */
		char go2[256];

		snprintf(go2, sizeof(go2), "%s.2", go);
		fflush(stdout);
		wait_for_file(go2);
		reset();
		for (int r = 1; r <= rounds; r++)
			run_round(r);
		printf("done2\n");
	}
	if (hold_after)
		hold();
	return 0;
}
