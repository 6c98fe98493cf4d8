/* perf_event programs: the event each samples on (opts' "PROG=SPEC", else the package's
 * "eu_perf_event", else cpu-clock at the run's frequency), one perf event per online CPU.
 * An event this machine cannot count fails the attach naming program, event and reason: a
 * cache-miss profile silently turned into a cpu-clock one would be the worst kind of wrong. */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "eunomia/log.h"
#include "eunomia/package.h"
#include "program_priv.h"

#define EVENT_SOURCES "/sys/bus/event_source/devices"

void program_perf_release(struct eu_program *p)
{
	for (size_t i = 0; i < p->n_perf_events; i++)
		free(p->perf_events[i].prog);
	free(p->perf_events);
	p->perf_events = NULL;
	p->n_perf_events = 0;
}

static struct program_perf_event *find_spec(struct eu_program *p, const char *prog)
{
	for (size_t i = 0; i < p->n_perf_events; i++)
		if (!strcmp(p->perf_events[i].prog, prog))
			return &p->perf_events[i];
	return NULL;
}

/* Lists the object's perf_event programs into buf, for "the package has none named X". */
static const char *perf_programs(struct eu_program *p, char *buf, size_t n)
{
	struct bpf_program *prog;
	size_t used = 0;
	buf[0] = '\0';
	bpf_object__for_each_program(prog, p->obj) {
		if (bpf_program__type(prog) != BPF_PROG_TYPE_PERF_EVENT)
			continue;
		int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "",
				 bpf_program__name(prog));
		if (w < 0 || (size_t)w >= n - used)
			break;
		used += (size_t)w;
	}
	return used ? buf : "none";
}

int program_perf_specs(struct eu_program *p, const char *const *specs, size_t n, eu_error *err)
{
	if (!n)
		return 0;
	p->perf_events = calloc(n, sizeof(*p->perf_events));
	if (!p->perf_events)
		return eu_error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *spec = specs[i] ? specs[i] : "";
		const char *eq = strchr(spec, '=');
		if (!eq || eq == spec)
			return eu_error_set(err, -EINVAL, "--perf-event \"%s\": expected PROGRAM=EVENT"
					    "[:period=N|:freq=HZ]", spec);
		char *name = strndup(spec, (size_t)(eq - spec));
		if (!name)
			return eu_error_set(err, -ENOMEM, "out of memory");
		struct bpf_program *prog = bpf_object__find_program_by_name(p->obj, name);
		char list[256];
		if (!prog || bpf_program__type(prog) != BPF_PROG_TYPE_PERF_EVENT) {
			eu_error_set(err, -ENOENT, "--perf-event %s: the package has no perf_event "
				     "program %s (its perf_event programs: %s)", spec, name,
				     perf_programs(p, list, sizeof(list)));
			free(name);
			return err ? err->code : -ENOENT;
		}
		if (find_spec(p, name)) {
			eu_error_set(err, -EINVAL, "--perf-event: program %s is given twice", name);
			free(name);
			return err ? err->code : -EINVAL;
		}
		struct program_perf_event *pe = &p->perf_events[p->n_perf_events++];
		pe->prog = name;
		int ret = eu_perf_event_parse(eq + 1, &pe->event, err);
		if (ret)
			return eu_error_prefix(err, "--perf-event %s", name);
	}
	return 0;
}

static const struct eu_perf_event *event_of(struct eu_program *p, const char *name,
					    const char **from)
{
	const struct program_perf_event *pe = find_spec(p, name);
	if (pe) {
		*from = "--perf-event";
		return &pe->event;
	}
	for (size_t i = 0; i < p->pkg->n_progs; i++) {
		const struct eu_prog_meta *m = &p->pkg->progs[i];
		if (m->name && !strcmp(m->name, name) && m->perf_event.set) {
			*from = "the package's eu_perf_event";
			return &m->perf_event;
		}
	}
	*from = "the default";
	return NULL;
}

/* Whether a PMU other than the kernel's software ones is registered: hardware events need
 * one ("cpu" on x86, "cpu_core"/"cpu_atom" on hybrid x86, "armv8_*" on arm64). */
static bool has_cpu_pmu(void)
{
	static const char *const not_cpu[] = {"software", "tracepoint", "kprobe", "uprobe",
					      "breakpoint", "msr", "power", "cstate_core",
					      "cstate_pkg", "intel_bts", "intel_pt", "ibs_fetch",
					      "ibs_op", NULL};
	DIR *d = opendir(EVENT_SOURCES);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		bool other = false;
		for (size_t i = 0; not_cpu[i] && !other; i++)
			other = !strcmp(de->d_name, not_cpu[i]);
		found = !other && (!strncmp(de->d_name, "cpu", 3) || !strncmp(de->d_name, "arm", 3));
	}
	closedir(d);
	return found;
}

static unsigned long read_ulong(const char *path)
{
	FILE *f = fopen(path, "re");
	unsigned long v = 0;
	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* Why perf_event_open refused ev (errno e), as a user can act on it. */
static void open_error(const struct eu_perf_event *ev, uint64_t freq, int e, char *why, size_t n)
{
	char ebuf[128];
	program_errno_text(e, ebuf, sizeof(ebuf));
	bool hw = ev->type == PERF_TYPE_HARDWARE || ev->type == PERF_TYPE_HW_CACHE ||
		  ev->type == PERF_TYPE_RAW;
	if (hw && (e == -ENOENT || e == -EOPNOTSUPP || e == -ENODEV)) {
		if (!has_cpu_pmu())
			snprintf(why, n, "this machine has no hardware PMU (" EVENT_SOURCES " lists "
				 "no cpu PMU; a virtual machine without a virtual PMU?), so hardware "
				 "events cannot be counted (%s); use a software event such as "
				 "cpu-clock, or run on a machine with performance counters", ebuf);
		else
			snprintf(why, n, "this CPU's PMU does not count it (%s)", ebuf);
		return;
	}
	if (e == -ENOENT && ev->type > PERF_TYPE_BREAKPOINT)
		snprintf(why, n, "no PMU of type %u on this machine (" EVENT_SOURCES "/*/type) (%s)",
			 ev->type, ebuf);
	else if (e == -ENOENT || e == -EOPNOTSUPP)
		snprintf(why, n, "this kernel does not provide it (%s)", ebuf);
	else if (e == -EACCES || e == -EPERM)
		snprintf(why, n, "not permitted (%s): needs CAP_PERFMON or a lower "
			 "/proc/sys/kernel/perf_event_paranoid", ebuf);
	else if (e == -EINVAL && freq &&
		 freq > read_ulong("/proc/sys/kernel/perf_event_max_sample_rate"))
		snprintf(why, n, "%llu Hz is above this kernel's perf_event_max_sample_rate (%lu) "
			 "(%s)", (unsigned long long)freq,
			 read_ulong("/proc/sys/kernel/perf_event_max_sample_rate"), ebuf);
	else
		snprintf(why, n, "%s", ebuf);
}

/* Parses /sys/devices/system/cpu/online ("0-3,5") into cpus[]; returns the count. */
static int online_cpus(int *cpus, int max)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	if (!f)
		return -errno;
	char line[1024];
	int n = 0;
	if (fgets(line, sizeof(line), f)) {
		char *s = line;
		while (*s && *s != '\n') {
			char *end;
			long lo = strtol(s, &end, 10), hi = lo;
			if (end == s)
				break;
			s = end;
			if (*s == '-') {
				hi = strtol(s + 1, &end, 10);
				s = end;
			}
			for (long c = lo; c <= hi && n < max; c++)
				cpus[n++] = (int)c;
			if (*s == ',')
				s++;
		}
	}
	fclose(f);
	return n;
}

int program_attach_perf(struct eu_program *p, struct bpf_program *prog,
			struct bpf_link ***links, size_t *n_links, eu_error *err)
{
	const char *name = bpf_program__name(prog);
	const char *from;
	const struct eu_perf_event *ev = event_of(p, name, &from);
	struct eu_perf_event dflt = {.set = true, .type = PERF_TYPE_SOFTWARE,
				     .config = PERF_COUNT_SW_CPU_CLOCK, .name = "cpu-clock"};
	if (!ev)
		ev = &dflt;
	uint64_t freq = ev->sample_period ? 0 : ev->sample_freq ? ev->sample_freq : p->perf_freq;
	char what[96], ebuf[128];
	eu_perf_event_describe(ev, what, sizeof(what));
	int cpus[1024];
	int n = online_cpus(cpus, 1024);
	if (n <= 0)
		return eu_error_set(err, n ? n : -ENOENT,
				    "program %s (perf_event): cannot read the online CPUs", name);
	struct bpf_link **l = calloc((size_t)n, sizeof(*l));
	if (!l)
		return eu_error_set(err, -ENOMEM, "out of memory");
	int ret = 0;
	int i = 0;
	for (; i < n && !ret; i++) {
		struct perf_event_attr attr = {
			.type = ev->type,
			.size = sizeof(attr),
			.config = ev->config,
			.freq = freq ? 1 : 0,
		};
		if (freq)
			attr.sample_freq = freq;
		else
			attr.sample_period = ev->sample_period;
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpus[i], -1,
				      PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			int e = -errno;
			char why[400];
			open_error(ev, freq, e, why, sizeof(why));
			ret = eu_error_set(err, e, "program %s (perf_event): cannot sample on %s "
					   "(from %s) on CPU %d: %s", name, what, from, cpus[i], why);
			break;
		}
		l[i] = bpf_program__attach_perf_event(prog, fd);
		if (!l[i]) {
			int e = -errno;
			close(fd);
			ret = eu_error_set(err, e, "program %s (perf_event): cannot attach to %s on "
					   "CPU %d: %s", name, what, cpus[i],
					   program_errno_text(e, ebuf, sizeof(ebuf)));
		}
	}
	if (ret) {
		for (int k = 0; k < n; k++)
			bpf_link__destroy(l[k]); /* closes the event's fd */
		free(l);
		return ret;
	}
	if (ev->sample_period)
		eu_log(EU_LOG_INFO, "%s: program %s samples %s every %llu events on %d CPUs (%s)",
		       eu_program_name(p), name, what, (unsigned long long)ev->sample_period, n, from);
	else
		eu_log(EU_LOG_INFO, "%s: program %s samples %s at %llu Hz on %d CPUs (%s)",
		       eu_program_name(p), name, what, (unsigned long long)freq, n, from);
	*links = l;
	*n_links = (size_t)n;
	return 0;
}
