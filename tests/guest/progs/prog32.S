/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prog32 GOFILE: a 32-bit (IA32) static program, for uprobes/compat
 * (assembled with `as --32`, linked with `ld -m elf_i386` by
 * scripts/mkinitramfs: no 32-bit libc needed). Writes "ready", waits until
 * GOFILE exists, calls f32 1000 times, writes "done" and exits 0 (1 if
 * f32's sum is wrong).
 */
	.text
	.globl f32
	.type f32, @function
f32:	push %ebp
	mov %esp, %ebp
	mov 8(%ebp), %eax
	add $1, %eax
	pop %ebp
	ret
	.size f32, .-f32

	.globl _start
_start:	mov $4, %eax		/* write(1, ready, 6) */
	mov $1, %ebx
	mov $ready, %ecx
	mov $6, %edx
	int $0x80
	mov 8(%esp), %esi	/* argv[1] */
1:	mov $33, %eax		/* access(GOFILE, F_OK) */
	mov %esi, %ebx
	xor %ecx, %ecx
	int $0x80
	test %eax, %eax
	jz 2f
	mov $162, %eax		/* nanosleep(&ts, 0) */
	mov $ts, %ebx
	xor %ecx, %ecx
	int $0x80
	jmp 1b
2:	xor %edi, %edi		/* sum */
	xor %esi, %esi		/* i */
3:	push %esi
	call f32
	add $4, %esp
	add %eax, %edi
	inc %esi
	cmp $1000, %esi
	jne 3b
	mov $4, %eax		/* write(1, done, 5) */
	mov $1, %ebx
	mov $done, %ecx
	mov $5, %edx
	int $0x80
	xor %ebx, %ebx		/* sum 1 + ... + 1000 = 500500 */
	cmp $500500, %edi
	setne %bl
	mov $1, %eax		/* exit(sum wrong) */
	int $0x80

	.data
ready:	.ascii "ready\n"
done:	.ascii "done\n"
ts:	.long 0, 10000000
