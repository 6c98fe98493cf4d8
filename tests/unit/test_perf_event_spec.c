/* perf event specs (package.h: eu_perf_event_parse): perf's names to type/config by value,
 * raw and numeric events, period/freq, refusals naming what is wrong, the canonical text
 * parsing back to the same event, and the package meta's "eu_perf_event" key read, checked
 * against the program's kind and written back. */
#include <errno.h>
#include <linux/perf_event.h>

#include <cjson/cJSON.h>

#include "pkg_fixture.h"

static struct eu_perf_event parse_ok(const char *spec)
{
	struct eu_perf_event ev;
	eu_error err = {0};
	memset(&ev, 0x5a, sizeof(ev));
	cr_assert_eq(eu_perf_event_parse(spec, &ev, &err), 0, "%s: %s", spec, err.msg);
	cr_assert(ev.set);
	return ev;
}

static void parse_fails(const char *spec, const char *want)
{
	struct eu_perf_event ev = {0};
	eu_error err = {0};
	cr_assert_eq(eu_perf_event_parse(spec, &ev, &err), -EINVAL, "%s parsed", spec);
	cr_expect(strstr(err.msg, want), "%s: got \"%s\", want \"%s\"", spec, err.msg, want);
	cr_expect_not(ev.set, "%s: the event was written on failure", spec);
}

Test(perf_event_spec, hardware_names_as_perf_spells_them)
{
	static const struct {
		const char *spec;
		uint64_t config;
	} cases[] = {
		{"cpu-cycles", PERF_COUNT_HW_CPU_CYCLES},
		{"cycles", PERF_COUNT_HW_CPU_CYCLES},
		{"hw:instructions", PERF_COUNT_HW_INSTRUCTIONS},
		{"cache-references", PERF_COUNT_HW_CACHE_REFERENCES},
		{"hw:cache-misses", PERF_COUNT_HW_CACHE_MISSES},
		{"hardware:branch-instructions", PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
		{"branches", PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
		{"branch-misses", PERF_COUNT_HW_BRANCH_MISSES},
		{"bus-cycles", PERF_COUNT_HW_BUS_CYCLES},
		{"ref-cycles", PERF_COUNT_HW_REF_CPU_CYCLES},
		{"stalled-cycles-backend", PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
		{"HW:Cache-Misses", PERF_COUNT_HW_CACHE_MISSES},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct eu_perf_event ev = parse_ok(cases[i].spec);
		cr_expect_eq(ev.type, PERF_TYPE_HARDWARE, "%s", cases[i].spec);
		cr_expect_eq(ev.config, cases[i].config, "%s", cases[i].spec);
		cr_expect_eq(ev.sample_period, 0);
		cr_expect_eq(ev.sample_freq, 0, "%s: no freq given: the run's", cases[i].spec);
	}
	struct eu_perf_event ev = parse_ok("branches");
	cr_expect_str_eq(ev.name, "branch-instructions", "the alias is named by perf's full name");
}

Test(perf_event_spec, software_names)
{
	static const struct {
		const char *spec;
		uint64_t config;
	} cases[] = {
		{"cpu-clock", PERF_COUNT_SW_CPU_CLOCK},
		{"sw:task-clock", PERF_COUNT_SW_TASK_CLOCK},
		{"page-faults", PERF_COUNT_SW_PAGE_FAULTS},
		{"faults", PERF_COUNT_SW_PAGE_FAULTS},
		{"software:context-switches", PERF_COUNT_SW_CONTEXT_SWITCHES},
		{"cs", PERF_COUNT_SW_CONTEXT_SWITCHES},
		{"cpu-migrations", PERF_COUNT_SW_CPU_MIGRATIONS},
		{"minor-faults", PERF_COUNT_SW_PAGE_FAULTS_MIN},
		{"major-faults", PERF_COUNT_SW_PAGE_FAULTS_MAJ},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct eu_perf_event ev = parse_ok(cases[i].spec);
		cr_expect_eq(ev.type, PERF_TYPE_SOFTWARE, "%s", cases[i].spec);
		cr_expect_eq(ev.config, cases[i].config, "%s", cases[i].spec);
	}
}

Test(perf_event_spec, hardware_cache_events)
{
	struct eu_perf_event ev = parse_ok("LLC-load-misses");
	cr_expect_eq(ev.type, PERF_TYPE_HW_CACHE);
	cr_expect_eq(ev.config, PERF_COUNT_HW_CACHE_LL | PERF_COUNT_HW_CACHE_OP_READ << 8 |
					(uint64_t)PERF_COUNT_HW_CACHE_RESULT_MISS << 16);
	ev = parse_ok("hw:l1-dcache-stores");
	cr_expect_eq(ev.type, PERF_TYPE_HW_CACHE);
	cr_expect_eq(ev.config, PERF_COUNT_HW_CACHE_L1D | PERF_COUNT_HW_CACHE_OP_WRITE << 8);
	cr_expect_str_eq(ev.name, "L1-dcache-stores");
	ev = parse_ok("dTLB-prefetch-misses");
	cr_expect_eq(ev.config, PERF_COUNT_HW_CACHE_DTLB | PERF_COUNT_HW_CACHE_OP_PREFETCH << 8 |
					(uint64_t)PERF_COUNT_HW_CACHE_RESULT_MISS << 16);
	parse_fails("sw:LLC-load-misses", "is not a software event");
	parse_fails("LLC-load-hits", "unknown event \"LLC-load-hits\"");
}

Test(perf_event_spec, raw_and_numeric_events)
{
	struct eu_perf_event ev = parse_ok("raw:0x1a");
	cr_expect_eq(ev.type, PERF_TYPE_RAW);
	cr_expect_eq(ev.config, 0x1a);
	cr_expect_str_eq(ev.name, "");
	ev = parse_ok("8:0x3");
	cr_expect_eq(ev.type, 8);
	cr_expect_eq(ev.config, 3);
	ev = parse_ok("4294967295:18446744073709551615");
	cr_expect_eq(ev.type, UINT32_MAX);
	cr_expect_eq(ev.config, UINT64_MAX);
	ev = parse_ok("0:0XfF");
	cr_expect_eq(ev.type, PERF_TYPE_HARDWARE);
	cr_expect_eq(ev.config, 0xff);
	parse_fails("4294967296:1", "type \"4294967296\" is not a number up to 4294967295");
	parse_fails("1:18446744073709551616", "TYPE:CONFIG");
	parse_fails("raw:", "raw needs a number");
	parse_fails("raw:12g", "raw needs a number");
	parse_fails("raw:-1", "raw needs a number");
	parse_fails("4", "a numeric event is TYPE:CONFIG");
	parse_fails("4: 1", "a numeric event is TYPE:CONFIG");
	parse_fails("0x:1", "type \"0x\"");
}

Test(perf_event_spec, period_and_frequency)
{
	struct eu_perf_event ev = parse_ok("hw:cache-misses:period=10000");
	cr_expect_eq(ev.config, PERF_COUNT_HW_CACHE_MISSES);
	cr_expect_eq(ev.sample_period, 10000);
	cr_expect_eq(ev.sample_freq, 0);
	ev = parse_ok("page-faults:period=1");
	cr_expect_eq(ev.sample_period, 1);
	ev = parse_ok("cpu-clock:freq=99");
	cr_expect_eq(ev.sample_freq, 99);
	cr_expect_eq(ev.sample_period, 0);
	ev = parse_ok("raw:0x1a:period=0x100");
	cr_expect_eq(ev.sample_period, 256);
	ev = parse_ok("cpu-clock:freq=100000");
	cr_expect_eq(ev.sample_freq, 100000);
	parse_fails("cpu-clock:freq=100001", "freq \"100001\" is not a number from 1 to 100000");
	parse_fails("cpu-clock:freq=0", "freq \"0\"");
	parse_fails("cpu-clock:period=0", "period \"0\" is not a number from 1");
	parse_fails("cpu-clock:period=9223372036854775808", "period \"9223372036854775808\"");
	parse_fails("cpu-clock:period=10:freq=10", "give one period= or freq=");
	parse_fails("cpu-clock:period=1:period=2", "give one period= or freq=");
	parse_fails("cpu-clock:every=3", "unknown option \"every=3\"");
	parse_fails("cpu-clock:", "unknown option \"\"");
	parse_fails("hw:cache-misses:period=1:freq=2:x", "too many ':' parts");
}

Test(perf_event_spec, refusals_name_the_problem)
{
	parse_fails("", "empty");
	parse_fails("hw:", "hw: needs an event name");
	parse_fails("sw:cache-misses", "\"cache-misses\" is not a software event");
	parse_fails("hw:page-faults", "\"page-faults\" is not a hardware event");
	parse_fails("cache-mises", "unknown event \"cache-mises\" (expected a hardware event");
	char longspec[300];
	memset(longspec, 'a', sizeof(longspec) - 1);
	longspec[sizeof(longspec) - 1] = '\0';
	parse_fails(longspec, "longer than 128 bytes");
	struct eu_perf_event ev;
	eu_error err = {0};
	cr_expect_eq(eu_perf_event_parse(NULL, &ev, &err), -EINVAL);
}

Test(perf_event_spec, canonical_text_parses_back)
{
	static const char *const specs[] = {
		"cycles",          "hw:cache-misses:period=10000", "faults:period=1",
		"raw:0x1a:freq=7", "8:3",                          "task-clock:freq=1000",
		"LLC-loads",       "4294967295:0xffffffffffffffff:period=9223372036854775807",
	};
	static const char *const canonical[] = {
		"hw:cpu-cycles",   "hw:cache-misses:period=10000", "sw:page-faults:period=1",
		"raw:0x1a:freq=7", "8:0x3",                        "sw:task-clock:freq=1000",
		"hw:LLC-loads",    "4294967295:0xffffffffffffffff:period=9223372036854775807",
	};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct eu_perf_event ev = parse_ok(specs[i]);
		char text[EU_PERF_EVENT_SPEC_MAX + 1];
		cr_expect_str_eq(eu_perf_event_format(&ev, text, sizeof(text)), canonical[i]);
		struct eu_perf_event back = parse_ok(text);
		cr_expect(back.type == ev.type && back.config == ev.config &&
				  back.sample_period == ev.sample_period &&
				  back.sample_freq == ev.sample_freq && !strcmp(back.name, ev.name),
			  "%s -> %s parses to another event", specs[i], text);
	}
	char what[96];
	struct eu_perf_event ev = parse_ok("cache-misses");
	cr_expect_str_eq(eu_perf_event_describe(&ev, what, sizeof(what)),
			 "hardware event cache-misses");
	ev = parse_ok("raw:0x1a");
	cr_expect_str_eq(eu_perf_event_describe(&ev, what, sizeof(what)), "raw event 0x1a");
	ev = parse_ok("9:2");
	cr_expect_str_eq(eu_perf_event_describe(&ev, what, sizeof(what)),
			 "event 9:0x2 (PMU type 9)");
}

#define PERF_PROG "{\"attach\": \"perf_event\", \"link\": true, \"name\": \"on_sample\""
#define EXEC_PROG "{\"attach\": \"tp/sched/sched_process_exec\", \"link\": true, \"name\": \"handle_exec\"}"

Test(perf_event_spec, package_meta_key)
{
	char *skel = skel_with(EXEC_PROG,
			       PERF_PROG ", \"eu_perf_event\": \"hw:cache-misses:period=5000\"}");
	struct eu_package *pkg = expect_parse(skel, strlen(skel), "perf.skel.json");
	cr_assert_eq(pkg->n_progs, 1);
	const struct eu_perf_event *ev = &pkg->progs[0].perf_event;
	cr_expect(ev->set);
	cr_expect_eq(ev->type, PERF_TYPE_HARDWARE);
	cr_expect_eq(ev->config, PERF_COUNT_HW_CACHE_MISSES);
	cr_expect_eq(ev->sample_period, 5000);
	/* written back as the same key, so a re-packed package keeps its event */
	eu_error err = {0};
	char *meta = eu_package_meta_json(pkg, &err);
	cr_assert_not_null(meta, "%s", err.msg);
	cJSON *j = cJSON_Parse(meta);
	cr_assert_not_null(j, "%s", meta);
	const cJSON *progs = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "bpf_skel"), "progs");
	const cJSON *key = cJSON_GetObjectItem(cJSON_GetArrayItem(progs, 0), "eu_perf_event");
	cr_expect(cJSON_IsString(key) && !strcmp(key->valuestring, "hw:cache-misses:period=5000"),
		  "%s", meta);
	cJSON_Delete(j);
	free(meta);
	eu_package_free(pkg);
	free(skel);

	/* without the key: the default (cpu-clock at the run's frequency) */
	skel = skel_with(EXEC_PROG, PERF_PROG "}");
	pkg = expect_parse(skel, strlen(skel), "perf.skel.json");
	cr_expect_not(pkg->progs[0].perf_event.set);
	eu_package_free(pkg);
	free(skel);
}

Test(perf_event_spec, package_meta_key_refused)
{
	char *skel = skel_with(EXEC_PROG, PERF_PROG ", \"eu_perf_event\": \"hw:cache-mises\"}");
	expect_fail_str(skel, "perf.skel.json",
			"perf.skel.json: bpf_skel.progs[0].eu_perf_event: perf event "
			"\"hw:cache-mises\": \"cache-mises\" is not a hardware event");
	free(skel);
	skel = skel_with(EXEC_PROG, PERF_PROG ", \"eu_perf_event\": 3}");
	expect_fail_str(skel, "perf.skel.json", "bpf_skel.progs[0].eu_perf_event: expected a string");
	free(skel);
	skel = skel_with("\"name\": \"handle_exec\"}",
			 "\"name\": \"handle_exec\", \"eu_perf_event\": \"cpu-clock\"}");
	expect_fail_str(skel, "perf.skel.json",
			"program handle_exec is attached as \"tp/sched/sched_process_exec\": only "
			"perf_event programs take an event");
	free(skel);
}
