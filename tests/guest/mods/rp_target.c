// SPDX-License-Identifier: GPL-2.0
/*
 * rp_target.ko: a second, tiny module for rprobes' guest tests (it is not
 * part of rprobes.ko; scripts/mkinitramfs puts it in the guest as
 * /rp_target.ko). Its functions are called on demand, an exact number of
 * times, by writing to its debugfs file:
 *
 *   echo 'add N'    > /sys/kernel/debug/rp_target/call
 *	rp_target_add() N times (a function without branches: every
 *	instruction of it runs once per call, so a probe at any
 *	instruction boundary inside it hits N times)
 *   echo 'dup N'    > ...  its own static rprobes_selftest_args() N times
 *   echo 'file N'   > ...  rp_target_file(file, dir) N times: `file` is the
 *	file being written (this `call` file), `dir` the dentry of its
 *	directory (`rp_target`): %pD and %pd
 *   echo 'sym N'    > ...  rp_target_sym(rp_target_add) N times: symstr
 *   echo 'percpu N' > ...  rp_target_percpu(&rp_target_pcpu) N times: each
 *	CPU's copy of rp_target_pcpu holds 1000 + that CPU's number
 *	(this_cpu_read/this_cpu_ptr)
 *   echo 'clone N'  > ...  rp_target_cloned.isra.0() N times and
 *	rp_target_cloned.constprop.0() 2N times: functions named as GCC
 *	names its clones (asm labels), with no rp_target_cloned itself:
 *	test kprobes/clones (a `.cold` part cannot be made so: objtool
 *	looks for its parent function)
 *
 * The static rprobes_selftest_args() has the name of a C function of
 * rprobes.ko (src/shim/selftest_target.c) that is otherwise unique in
 * kallsyms: while this module is loaded, `p rprobes_selftest_args` is
 * refused as not unique, and `p rp_target:rprobes_selftest_args` and
 * `p rprobes:rprobes_selftest_args` name one each; unloaded, the name is
 * unique again (tests control/bad_input and kprobes/limits).
 */
#include <linux/compiler.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include <linux/uaccess.h>

long rp_target_add(long a, long b);
long rp_target_file(struct file *file, struct dentry *dir);
long rp_target_sym(const void *addr);
unsigned long rp_target_percpu(unsigned long __percpu *p);

static DEFINE_PER_CPU(unsigned long, rp_target_pcpu);
static struct dentry *rp_dir;

/* No branch: each instruction runs exactly once per call. */
noinline long rp_target_add(long a, long b)
{
	OPTIMIZER_HIDE_VAR(a);
	OPTIMIZER_HIDE_VAR(b);
	return a * 3 + b;
}

/* The duplicate of rprobes.ko's rprobes_selftest_args (see above). */
static noinline long rprobes_selftest_args(long x)
{
	OPTIMIZER_HIDE_VAR(x);
	return x + 1;
}

noinline long rp_target_file(struct file *file, struct dentry *dir)
{
	OPTIMIZER_HIDE_VAR(file);
	OPTIMIZER_HIDE_VAR(dir);
	return file != NULL && dir != NULL;
}

noinline long rp_target_sym(const void *addr)
{
	OPTIMIZER_HIDE_VAR(addr);
	return addr != NULL;
}

noinline unsigned long rp_target_percpu(unsigned long __percpu *p)
{
	OPTIMIZER_HIDE_VAR(p);
	return this_cpu_read(*p);
}

/*
 * Named as compiler clones are (kallsyms: rp_target_cloned.isra.0, ...):
 * asm labels, so that the test does not depend on what the compiler
 * clones.
 */
static noinline long rp_clone_isra(long x) __asm__("rp_target_cloned.isra.0");
static noinline long rp_clone_isra(long x)
{
	OPTIMIZER_HIDE_VAR(x);
	return x * 3 + 1;
}

static noinline long rp_clone_constprop(long x) __asm__("rp_target_cloned.constprop.0");
static noinline long rp_clone_constprop(long x)
{
	OPTIMIZER_HIDE_VAR(x);
	return x * 5 + 2;
}

static noinline long rp_target_clones(long i)
{
	return rp_clone_isra(i) + rp_clone_constprop(i) + rp_clone_constprop(i + 1);
}

static ssize_t call_write(struct file *file, const char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	char buf[32], *sp;
	unsigned long n, i;
	int ret;

	if (len >= sizeof(buf))
		return -E2BIG;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	sp = strchr(buf, ' ');
	if (!sp)
		return -EINVAL;
	*sp++ = '\0';
	ret = kstrtoul(strim(sp), 0, &n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (!strcmp(buf, "add"))
			rp_target_add(i, 1);
		else if (!strcmp(buf, "dup"))
			rprobes_selftest_args(i);
		else if (!strcmp(buf, "file"))
			rp_target_file(file, file->f_path.dentry->d_parent);
		else if (!strcmp(buf, "sym"))
			rp_target_sym(rp_target_add);
		else if (!strcmp(buf, "percpu"))
			rp_target_percpu(&rp_target_pcpu);
		else if (!strcmp(buf, "clone"))
			rp_target_clones(i);
		else
			return -EINVAL;
	}
	return len;
}

static const struct file_operations call_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = call_write,
	.llseek = noop_llseek,
};

static int __init rp_target_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		per_cpu(rp_target_pcpu, cpu) = 1000 + cpu;
	rp_dir = debugfs_create_dir("rp_target", NULL);
	debugfs_create_file("call", 0200, rp_dir, NULL, &call_fops);
	return 0;
}

static void __exit rp_target_exit(void)
{
	debugfs_remove(rp_dir);
}

module_init(rp_target_init);
module_exit(rp_target_exit);
MODULE_DESCRIPTION("Probe targets for rprobes' guest tests");
MODULE_LICENSE("GPL");
