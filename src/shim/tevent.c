// SPDX-License-Identifier: GPL-2.0
/*
 * rprobes' events as trace events: what must be C.
 *
 * Adding and removing a trace event (trace_add_event_call(),
 * trace_remove_event_call()) needs the tracing core's event_mutex, which is
 * not exported. The core takes it, and calls the module, in one exported
 * path: opening a perf counter on a trace event runs the event's perf_perm()
 * under event_mutex (perf_trace_init()). rprobes has one event of its own
 * for that, rprobes_internal/lock, registered with the module (its
 * _ftrace_events section, as TRACE_EVENT() events are) so under
 * event_mutex too: rprobes_under_event_mutex() opens a kernel counter on
 * it, its perf_perm() runs the work and refuses the counter.
 */
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/trace_events.h>
#include <linux/trace_seq.h>

#include "tevent.h"

/* One work at a time (rprobes' own callers are serialised already). */
static DEFINE_MUTEX(rp_locked_mutex);
static int (*rp_locked_fn)(void *);
static void *rp_locked_arg;
static int rp_locked_ret;
static struct task_struct *rp_locked_task;

static int rprobes_lock_perm(struct trace_event_call *call, struct perf_event *p_event)
{
	/* Anybody else's counter on this event: refused. */
	if (READ_ONCE(rp_locked_task) != current || !rp_locked_fn)
		return -EPERM;
	rp_locked_ret = rp_locked_fn(rp_locked_arg);
	rp_locked_fn = NULL;
	/* The counter itself is not wanted. */
	return -EAGAIN;
}

static int rprobes_lock_reg(struct trace_event_call *call, enum trace_reg type, void *data)
{
	/* Nothing to trace or count. */
	return -EOPNOTSUPP;
}

static enum print_line_t rprobes_lock_print(struct trace_iterator *iter, int flags,
					    struct trace_event *event)
{
	return TRACE_TYPE_HANDLED;
}

static struct trace_event_fields rprobes_lock_fields[] = { {} };

static struct trace_event_class rprobes_lock_class = {
	.system = "rprobes_internal",
	.reg = rprobes_lock_reg,
	.fields_array = rprobes_lock_fields,
	.fields = LIST_HEAD_INIT(rprobes_lock_class.fields),
	.raw_init = trace_event_raw_init,
};

static struct trace_event_functions rprobes_lock_funcs = {
	.trace = rprobes_lock_print,
};

static struct trace_event_call rprobes_lock_call = {
	.class = &rprobes_lock_class,
	.name = "lock",
	.event.funcs = &rprobes_lock_funcs,
	.print_fmt = "\"\"",
	.perf_perm = rprobes_lock_perm,
};

static struct trace_event_call __used __section("_ftrace_events") *rprobes_lock_ptr =
	&rprobes_lock_call;

/*
 * While the module exits, try_module_get() fails, and perf_trace_init()
 * skips an event of a module it cannot pin: the lock event is made the
 * core's (no module) for the removals of rprobes' exit, and given back to
 * the module before the exit returns, so that the tracing core removes it
 * with the module (MODULE_STATE_GOING).
 */
void rprobes_tevent_exit_begin(void)
{
	WRITE_ONCE(rprobes_lock_call.module, NULL);
}

void rprobes_tevent_exit_end(void)
{
	WRITE_ONCE(rprobes_lock_call.module, THIS_MODULE);
}

int rprobes_under_event_mutex(int (*fn)(void *), void *arg)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = rprobes_lock_call.event.type,
		.disabled = 1,
	};
	struct perf_event *ev;
	int ret;

	if (!rprobes_lock_call.event.type)
		return -ENOSYS;
	mutex_lock(&rp_locked_mutex);
	rp_locked_fn = fn;
	rp_locked_arg = arg;
	rp_locked_ret = -ENOSYS;
	WRITE_ONCE(rp_locked_task, current);
	ev = perf_event_create_kernel_counter(&attr, -1, current, NULL, NULL);
	if (!IS_ERR(ev))
		perf_event_release_kernel(ev);
	if (!rp_locked_fn)
		ret = rp_locked_ret;
	else if (IS_ERR(ev) && PTR_ERR(ev) != -EAGAIN && PTR_ERR(ev) != -EPERM)
		/* perf failed before it asked (no memory): its error. */
		ret = PTR_ERR(ev);
	else
		ret = -ENOSYS;
	rp_locked_fn = NULL;
	WRITE_ONCE(rp_locked_task, NULL);
	mutex_unlock(&rp_locked_mutex);
	return ret;
}

/* ---- rprobes' events as trace events ---- */

/* A tracefs instance that enabled an event (in rprobes_tevent.files). */
struct rp_file_link {
	struct list_head list;
	struct trace_event_file *file;
};

struct rprobes_tevent {
	/* First: the hit path reads it through struct rprobes_tevent_head. */
	struct rprobes_tevent_head head;
	struct trace_event_call call;
	struct trace_event_class class;
	struct trace_event_functions funcs;
	struct trace_event_fields fields_array[2];
	char *group;
	char *name;
	/* A return event: __probe_func and __probe_ret_ip, as kretprobe's. */
	bool ret;
	/* A user probe's: addresses print in hex, as uprobe events'. */
	bool user;
	unsigned int n;
	/* With their own copies of the names and types. */
	struct rprobes_tfield *fields;
	/*
	 * The instances that enabled it: changed under event_mutex (reg()),
	 * read under RCU by the hit path.
	 */
	struct list_head files;
	atomic_t nr_files;
	/* perf counters on it (between TRACE_REG_PERF_REGISTER and _UNREGISTER). */
	atomic_t nr_perf;
};
static_assert(offsetof(struct rprobes_tevent, head) == 0);

/*
 * A record's head: the common fields, then __probe_ip (entry events), or
 * __probe_func and __probe_ret_ip (return events), as kprobe events'.
 */
struct rp_head {
	struct trace_entry ent;
	unsigned long ip;
	unsigned long ret_ip;
};

/* Where the arguments start in a record of @ev. */
static unsigned int rp_args_at(const struct rprobes_tevent *ev)
{
	return ev->ret ? RPROBES_TEVENT_RET_ARGS : RPROBES_TEVENT_ARGS;
}

static struct rprobes_tevent *rp_of_call(struct trace_event_call *call)
{
	return container_of(call, struct rprobes_tevent, call);
}

static int rp_define_fields(struct trace_event_call *call)
{
	struct rprobes_tevent *ev = rp_of_call(call);
	unsigned int i;
	int ret;

	if (ev->ret) {
		ret = trace_define_field(call, "unsigned long", "__probe_func",
					 sizeof(struct trace_entry), sizeof(unsigned long), 0,
					 FILTER_OTHER);
		if (!ret)
			ret = trace_define_field(call, "unsigned long", "__probe_ret_ip",
						 sizeof(struct trace_entry) + sizeof(unsigned long),
						 sizeof(unsigned long), 0, FILTER_OTHER);
	} else {
		ret = trace_define_field(call, "unsigned long", "__probe_ip",
					 sizeof(struct trace_entry), sizeof(unsigned long), 0,
					 FILTER_OTHER);
	}
	for (i = 0; !ret && i < ev->n; i++) {
		const struct rprobes_tfield *f = &ev->fields[i];

		ret = trace_define_field(call, f->type, f->name, f->offset, f->size, f->is_signed,
					 FILTER_OTHER);
	}
	return ret;
}

/*
 * Called by the tracing core under event_mutex: an instance enables or
 * disables the event. Takes no rprobes lock (rprobes takes event_mutex
 * under its registry mutex).
 */
static int rp_reg(struct trace_event_call *call, enum trace_reg type, void *data)
{
	struct rprobes_tevent *ev = rp_of_call(call);
	struct trace_event_file *file = data;
	struct rp_file_link *l;

	switch (type) {
	case TRACE_REG_REGISTER:
		/* rmmod waits until no instance has it enabled. */
		if (!try_module_get(THIS_MODULE))
			return -ENODEV;
		l = kzalloc(sizeof(*l), GFP_KERNEL);
		if (!l) {
			module_put(THIS_MODULE);
			return -ENOMEM;
		}
		l->file = file;
		list_add_tail_rcu(&l->list, &ev->files);
		atomic_inc(&ev->nr_files);
		atomic_inc(&ev->head.users);
		return 0;
	case TRACE_REG_UNREGISTER:
		list_for_each_entry(l, &ev->files, list) {
			if (l->file != file)
				continue;
			list_del_rcu(&l->list);
			atomic_dec(&ev->nr_files);
			atomic_dec(&ev->head.users);
			/* No hit still writes to the file. */
			synchronize_rcu();
			kfree(l);
			module_put(THIS_MODULE);
			return 0;
		}
		return -ENOENT;
#ifdef CONFIG_PERF_EVENTS
	/* perf: the core keeps the counters (call->perf_events, per CPU). */
	case TRACE_REG_PERF_REGISTER:
		/* rmmod waits until no counter is open on it. */
		if (!try_module_get(THIS_MODULE))
			return -ENODEV;
		atomic_inc(&ev->nr_perf);
		atomic_inc(&ev->head.users);
		return 0;
	case TRACE_REG_PERF_UNREGISTER:
		atomic_dec(&ev->nr_perf);
		atomic_dec(&ev->head.users);
		module_put(THIS_MODULE);
		return 0;
	case TRACE_REG_PERF_OPEN:
	case TRACE_REG_PERF_CLOSE:
	case TRACE_REG_PERF_ADD:
	case TRACE_REG_PERF_DEL:
		return 0;
#endif
	default:
		return -EOPNOTSUPP;
	}
}

static void rp_print_elem(struct trace_seq *s, const struct rprobes_tfield *f, const u8 *rec,
			  unsigned int at, unsigned int size)
{
	u64 v = 0;

	if (f->kind == RPROBES_TF_STRING) {
		u32 loc;
		unsigned int len, off;

		if (at + 4 > size)
			return;
		memcpy(&loc, rec + at, 4);
		len = loc >> 16;
		off = loc & 0xffff;
		if (!len || off + len > size)
			trace_seq_puts(s, "(fault)");
		else
			trace_seq_printf(s, "\"%.*s\"", (int)strnlen(rec + off, len), rec + off);
		return;
	}
	if (at + f->elem > size || f->elem > sizeof(v))
		return;
	memcpy(&v, rec + at, f->elem);
	switch (f->kind) {
	case RPROBES_TF_S:
		if (f->elem < 8)
			v = (u64)sign_extend64(v, f->elem * 8 - 1);
		trace_seq_printf(s, "%lld", (s64)v);
		break;
	case RPROBES_TF_X:
		trace_seq_printf(s, "0x%llx", v);
		break;
	case RPROBES_TF_CHAR:
		trace_seq_printf(s, "'%c'", (int)(u8)v);
		break;
	case RPROBES_TF_SYMBOL:
		trace_seq_printf(s, "%pS", (void *)(unsigned long)v);
		break;
	default:
		trace_seq_printf(s, "%llu", v);
		break;
	}
}

/* The `trace` file's line: as tracefs prints a kprobe event. */
static enum print_line_t rp_print(struct trace_iterator *iter, int flags,
				  struct trace_event *event)
{
	struct rprobes_tevent *ev = container_of(event, struct rprobes_tevent, call.event);
	struct trace_seq *s = &iter->seq;
	const u8 *rec = (const u8 *)iter->ent;
	unsigned int size = iter->ent_size, i, j;
	unsigned long ip = 0, ret_ip = 0;

	if (size >= RPROBES_TEVENT_RET_ARGS) {
		memcpy(&ip, rec + sizeof(struct trace_entry), sizeof(ip));
		memcpy(&ret_ip, rec + sizeof(struct trace_entry) + sizeof(ip), sizeof(ret_ip));
	} else if (size >= RPROBES_TEVENT_ARGS) {
		memcpy(&ip, rec + sizeof(struct trace_entry), sizeof(ip));
	}
	if (ev->user && ev->ret) {
		/* tracefs' uretprobe line. */
		trace_seq_printf(s, "%s: (0x%lx <- 0x%lx)", ev->name, ret_ip, ip);
	} else if (ev->user) {
		trace_seq_printf(s, "%s: (0x%lx)", ev->name, ip);
	} else if (ev->ret) {
		/*
		 * tracefs' kretprobe line: (caller+off/size [mod] <- func), the
		 * function without its module (seq_print_ip_sym_no_offset()).
		 */
		char func[KSYM_SYMBOL_LEN];

		sprint_symbol_no_offset(func, ip);
		*strchrnul(func, ' ') = '\0';
		trace_seq_printf(s, "%s: (%pS <- %s)", ev->name, (void *)ret_ip, func);
	} else
		trace_seq_printf(s, "%s: (%pS)", ev->name, (void *)ip);
	for (i = 0; i < ev->n; i++) {
		const struct rprobes_tfield *f = &ev->fields[i];

		trace_seq_printf(s, " %s=", f->name);
		if (!f->count) {
			rp_print_elem(s, f, rec, f->offset, size);
			continue;
		}
		trace_seq_putc(s, '{');
		for (j = 0; j < f->count; j++) {
			rp_print_elem(s, f, rec, f->offset + j * f->elem, size);
			trace_seq_putc(s, j + 1 == f->count ? '}' : ',');
		}
	}
	trace_seq_putc(s, '\n');
	return trace_handle_return(s);
}

static void rp_free(struct rprobes_tevent *ev)
{
	unsigned int i;

	if (ev->fields) {
		for (i = 0; i < ev->n; i++) {
			kfree(ev->fields[i].name);
			kfree(ev->fields[i].type);
		}
		kfree(ev->fields);
	}
	kfree(ev->call.print_fmt);
	kfree(ev->group);
	kfree(ev->name);
	kfree(ev);
}

static int rp_add_locked(void *p)
{
	struct rprobes_tevent *ev = p;
	int ret;

	if (!register_trace_event(&ev->call.event))
		return -ENODEV;
	ret = trace_add_event_call(&ev->call);
	if (ret)
		unregister_trace_event(&ev->call.event);
	return ret;
}

struct rprobes_tevent *rprobes_tevent_add(const char *group, const char *name, bool ret,
					  bool user, const struct rprobes_tfield *fields, unsigned int n,
					  const char *print_fmt, int *err)
{
	struct trace_event_file *file;
	struct rprobes_tevent *ev;
	unsigned int i;

	/* tracefs' own events (a kprobe or uprobe event of that name). */
	file = trace_get_event_file(NULL, group, name);
	if (!IS_ERR(file)) {
		trace_put_event_file(file);
		*err = -EEXIST;
		return NULL;
	}
	*err = -ENOMEM;
	ev = kzalloc(sizeof(*ev), GFP_KERNEL);
	if (!ev)
		return NULL;
	ev->ret = ret;
	ev->user = user;
	ev->group = kstrdup(group, GFP_KERNEL);
	ev->name = kstrdup(name, GFP_KERNEL);
	ev->call.print_fmt = kstrdup(print_fmt, GFP_KERNEL);
	ev->fields = kcalloc(n ?: 1, sizeof(*fields), GFP_KERNEL);
	if (!ev->group || !ev->name || !ev->call.print_fmt || !ev->fields)
		goto fail;
	for (i = 0; i < n; i++) {
		ev->fields[i] = fields[i];
		ev->fields[i].name = kstrdup(fields[i].name, GFP_KERNEL);
		ev->fields[i].type = kstrdup(fields[i].type, GFP_KERNEL);
		ev->n = i + 1;
		if (!ev->fields[i].name || !ev->fields[i].type)
			goto fail;
	}
	INIT_LIST_HEAD(&ev->files);
	INIT_LIST_HEAD(&ev->class.fields);
	ev->class.system = ev->group;
	ev->class.reg = rp_reg;
	ev->fields_array[0].type = TRACE_FUNCTION_TYPE;
	ev->fields_array[0].define_fields = rp_define_fields;
	ev->class.fields_array = ev->fields_array;
	ev->funcs.trace = rp_print;
	ev->call.class = &ev->class;
	ev->call.name = ev->name;
	ev->call.event.funcs = &ev->funcs;
	/*
	 * No module (trace_add_event_call() sets none): rprobes removes its
	 * events itself, and tracefs and perf pin the module in reg().
	 */
	*err = rprobes_under_event_mutex(rp_add_locked, ev);
	if (*err)
		goto fail;
	return ev;
fail:
	rp_free(ev);
	return NULL;
}

static int rp_remove_locked(void *p)
{
	struct rprobes_tevent *ev = p;

	return trace_remove_event_call(&ev->call);
}

int rprobes_tevent_remove(struct rprobes_tevent *ev)
{
	int ret = rprobes_under_event_mutex(rp_remove_locked, ev);

	if (ret)
		return ret;
	rp_free(ev);
	return 0;
}

bool rprobes_tevent_on(const struct rprobes_tevent *ev)
{
	return atomic_read(&ev->nr_files) != 0 || atomic_read(&ev->nr_perf) != 0;
}

#ifdef CONFIG_PERF_EVENTS
/* The hit for the perf counters of this CPU, as kprobe_perf_func() does. */
static void rp_perf_write(struct rprobes_tevent *ev, struct pt_regs *regs, unsigned long ip,
			  unsigned long ret_ip, unsigned int dsize,
			  void (*fill)(void *ctx, unsigned char *args, unsigned int size), void *ctx)
{
	struct hlist_head *head = this_cpu_ptr(ev->call.perf_events);
	unsigned int at = rp_args_at(ev);
	struct rp_head *entry;
	int size, rctx;

	if (hlist_empty(head))
		return;
	size = ALIGN(at + dsize + sizeof(u32), sizeof(u64)) - sizeof(u32);
	entry = perf_trace_buf_alloc(size, NULL, &rctx);
	if (!entry)
		return;
	entry->ip = ip;
	if (ev->ret)
		entry->ret_ip = ret_ip;
	fill(ctx, (unsigned char *)entry + at, dsize);
	perf_trace_buf_submit(entry, size, rctx, ev->call.event.type, 1, regs, head, NULL);
}
#endif

void rprobes_tevent_write(struct rprobes_tevent *ev, struct pt_regs *regs, unsigned long ip,
			  unsigned long ret_ip, unsigned int dsize,
			  void (*fill)(void *ctx, unsigned char *args, unsigned int size),
			  void *ctx)
{
	unsigned int at = rp_args_at(ev);
	struct rp_file_link *l;

#ifdef CONFIG_PERF_EVENTS
	if (atomic_read(&ev->nr_perf))
		rp_perf_write(ev, regs, ip, ret_ip, dsize, fill, ctx);
#endif
	rcu_read_lock();
	list_for_each_entry_rcu(l, &ev->files, list) {
		struct trace_event_file *file = l->file;
		struct trace_event_buffer fbuffer;
		struct rp_head *entry;

		if (trace_trigger_soft_disabled(file))
			continue;
		entry = trace_event_buffer_reserve(&fbuffer, file, at + dsize);
		if (!entry)
			continue;
		entry->ip = ip;
		if (ev->ret)
			entry->ret_ip = ret_ip;
		fill(ctx, (unsigned char *)entry + at, dsize);
		trace_event_buffer_commit(&fbuffer);
	}
	rcu_read_unlock();
}
