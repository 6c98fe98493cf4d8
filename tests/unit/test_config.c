/* The daemon's YAML config: every key, and errors that name the line and the key. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "daemon/config.h"
#include "core/units.h"

static int parse(const char *text, struct eu_config *c, eu_error *err)
{
	return eu_config_parse(text, strlen(text), "agent.yaml", c, err);
}

Test(config, full_example)
{
	const char *y = "watch: [/etc/eunomia.d, /opt/pk]\n"
			"log_level: debug\n"
			"queue_size: 1000\n"
			"sinks:\n"
			"  - type: stdout\n"
			"  - type: file\n"
			"    path: /var/log/ev.jsonl\n"
			"    max_size: 100M\n"
			"    max_age: 1h\n"
			"    keep: 3\n"
			"    compress: true\n"
			"    fsync: interval\n"
			"    fsync_interval_ms: 250\n"
			"    queue_size: 77\n"
			"packages:\n"
			"  bootstrap:\n"
			"    params: {min_duration_ns: 1000000, comm: bash, ports: [80, 443]}\n"
			"    sample_freq: 99\n"
			"    map_sizes: {counts: 4096, stackmap: 1024}\n"
			"    attach: {probe: '/usr/bin/bash:readline@42'}\n"
			"    perf_events: {on_miss: 'hw:cache-misses:period=10000', tick: cpu-clock}\n";
	struct eu_config c;
	eu_error err = {0};
	cr_assert_eq(parse(y, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_watch, 2);
	cr_assert_str_eq(c.watch[1], "/opt/pk");
	cr_assert(c.log_level_set);
	cr_assert_eq(c.log_level, EU_LOG_DEBUG);
	cr_assert_eq(c.queue_size, 1000);
	cr_assert_eq(c.n_sinks, 2);
	cr_assert_str_eq(eu_sink_config_type(&c.sinks[0]), "stdout");
	struct eu_sink_config *f = &c.sinks[1];
	cr_assert_str_eq(eu_sink_config_type(f), "file");
	/* every key as the file sink's table parsed it (canonical text) */
	static const char *const want[][2] = {
		{"path", "/var/log/ev.jsonl"}, {"max_size", "104857600"}, {"max_age", "3600"},
		{"keep", "3"}, {"compress", "true"}, {"fsync", "interval"},
		{"fsync_interval_ms", "250"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_str_eq(eu_sink_config_get(f, want[i][0]), want[i][1], "%s", want[i][0]);
	cr_assert_eq(f->queue_records, 77);
	const struct eu_config_package *p = eu_config_find_package(&c, "x", "bootstrap");
	cr_assert(p);
	cr_assert_eq(p->n_params, 3);
	cr_assert_str_eq(p->params[0].name, "min_duration_ns");
	cr_assert_str_eq(p->params[0].value, "1000000");
	cr_assert_str_eq(p->params[1].value, "bash");
	cr_assert_str_eq(p->params[2].value, "80,443");
	cr_assert_eq(p->sample_freq, 99);
	cr_assert_eq(p->n_map_sizes, 2);
	cr_assert_str_eq(p->map_sizes[0].map, "counts");
	cr_assert_eq(p->map_sizes[0].max_entries, 4096);
	cr_assert_str_eq(p->map_sizes[1].map, "stackmap");
	cr_assert_eq(p->map_sizes[1].max_entries, 1024);
	cr_assert_eq(p->n_attach, 1);
	cr_assert_str_eq(p->attach[0], "probe=/usr/bin/bash:readline@42");
	cr_assert_eq(p->n_perf_events, 2);
	cr_assert_str_eq(p->perf_events[0], "on_miss=hw:cache-misses:period=10000");
	cr_assert_str_eq(p->perf_events[1], "tick=cpu-clock");
	cr_assert_null(eu_config_find_package(&c, "other", "other"));
	eu_config_free(&c);
}

Test(config, otlp_sink_keys)
{
	const char *y = "sinks:\n"
			"  - type: otlp\n"
			"    endpoint: http://collector:4318\n"
			"    protocol: HTTP/JSON\n"
			"    spool_dir: /var/lib/eunomia/spool\n"
			"    spool_max_size: 64M\n"
			"    spool_fsync: true\n"
			"    severity: {opensnoop: WARN, tcpstates: 17}\n"
			"    attributes:\n"
			"      ppid: process.parent_pid\n"
			"      filename: ''\n"
			"      uid: ~\n"
			"      comm: 'odd,name=100% '\n"
			"  - type: otlp\n"
			"    severity: 'bootstrap=ERROR'\n"
			"    spool_write_ahead: false\n"
			"    fsync: interval\n"
			"    fsync_interval_ms: 250\n"
			"    headers: {x-api-key: 'k,1'}\n"
			"    compression: gzip\n"
			"    protocol: GRPC\n"
			"    timeout: 5s\n"
			"    schedule_delay: 250ms\n"
			"    export_timeout: 30000\n"
			"    max_queue_size: 4096\n"
			"    certificate: /etc/ssl/ca.pem\n"
			"    service_name: edge\n"
			"    resource_attributes: {deployment.environment: prod}\n"
			"    metric_export_interval: 1m\n"
			"    metrics_temporality: delta\n";
	struct eu_config c;
	eu_error err = {0};
	cr_assert_eq(parse(y, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_sinks, 2);
	struct eu_sink_config *o = &c.sinks[0];
	cr_assert_str_eq(eu_sink_config_type(o), "otlp");
	cr_assert_str_eq(eu_sink_config_get(o, "endpoint"), "http://collector:4318");
	cr_assert_str_eq(eu_sink_config_getenv(o, "OTEL_EXPORTER_OTLP_PROTOCOL"), "http/json");
	cr_assert_str_eq(eu_sink_config_get(o, "spool_dir"), "/var/lib/eunomia/spool");
	cr_assert_str_eq(eu_sink_config_get(o, "spool_max_size"), "67108864");
	cr_assert_str_eq(eu_sink_config_get(o, "spool_fsync"), "true");
	cr_assert_str_eq(eu_sink_config_get(o, "severity"), "opensnoop=WARN,tcpstates=17");
	/* the list syntax's own characters in a value are %-encoded */
	cr_assert_str_eq(eu_sink_config_get(o, "attributes"),
			 "ppid=process.parent_pid,filename=,uid=,comm=odd%2Cname%3D100%25%20");
	cr_assert_str_eq(eu_sink_config_exclusive(o), "/var/lib/eunomia/spool");
	cr_assert_str_eq(eu_sink_config_get(&c.sinks[1], "severity"), "bootstrap=ERROR");
	cr_assert_null(eu_sink_config_get(&c.sinks[1], "attributes"));
	cr_assert_null(eu_sink_config_get(&c.sinks[1], "spool_dir"));
	/* write-ahead: unset means the variable decides (default on); fsync is the file sink's */
	cr_assert_null(eu_sink_config_get(o, "spool_write_ahead"));
	cr_assert_str_eq(eu_sink_config_get(&c.sinks[1], "spool_write_ahead"), "false");
	cr_assert_str_eq(eu_sink_config_get(&c.sinks[1], "fsync"), "interval");
	cr_assert_str_eq(eu_sink_config_get(&c.sinks[1], "fsync_interval_ms"), "250");
	cr_assert_str_eq(eu_sink_config_getenv(&c.sinks[1], "EUNOMIA_OTLP_SPOOL_WRITE_AHEAD"),
			 "false");
	/* exporter settings become the sink's own OTEL_* variables */
	static const char *const vars[][2] = {
		{"OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=k%2C1"},
		{"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}, /* canonical: the table's spelling */
		{"OTEL_EXPORTER_OTLP_TIMEOUT", "5000"},
		{"OTEL_BLRP_SCHEDULE_DELAY", "250"},
		{"OTEL_BLRP_EXPORT_TIMEOUT", "30000"},
		{"OTEL_BLRP_MAX_QUEUE_SIZE", "4096"},
		{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ssl/ca.pem"},
		{"OTEL_SERVICE_NAME", "edge"},
		{"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod"},
		{"OTEL_METRIC_EXPORT_INTERVAL", "60000"},
		{"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"},
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		cr_assert_str_eq(eu_sink_config_getenv(&c.sinks[1], vars[i][0]), vars[i][1], "%s",
				 vars[i][0]);
	unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
	cr_assert_null(eu_sink_config_getenv(&c.sinks[0], "OTEL_EXPORTER_OTLP_HEADERS"));
	/* a copy is equal; a changed setting is not */
	struct eu_sink_config copy;
	cr_assert_eq(eu_sink_config_copy(&copy, &c.sinks[1]), 0);
	cr_assert(eu_sink_config_equal(&copy, &c.sinks[1]));
	cr_assert_eq(eu_sink_config_set(&copy, "compression", "none", NULL), 0);
	cr_assert_not(eu_sink_config_equal(&copy, &c.sinks[1]));
	eu_sink_config_free(&copy);
	eu_config_free(&c);

	static const struct {
		const char *yaml, *expect;
	} bad[] = {
		{"sinks:\n  - type: otlp\n    severity: {opensnoop: LOUD}\n",
		 "agent.yaml:3: sinks[0].severity: opensnoop: 'LOUD' is not a severity"},
		{"sinks:\n  - type: otlp\n    severity: [WARN]\n",
		 "sinks[0].severity: expected a mapping or a key=value list, got a list"},
		{"sinks:\n  - type: otlp\n    attributes: 'pid'\n",
		 "sinks[0].attributes: member 1 has no '='"},
		{"sinks:\n  - type: otlp\n    attributes: {'a,b': x}\n",
		 "keys must be non-empty strings without ',' or '='"},
		{"sinks:\n  - type: otlp\n    attributes: {a: [x]}\n",
		 "sinks[0].attributes: expected a string value, got a list"},
		{"sinks:\n  - type: otlp\n    spool_write_ahead: maybe\n",
		 "sinks[0].spool_write_ahead: expected"},
		{"sinks:\n  - type: otlp\n    fsync: sometimes\n", "sinks[0].fsync: expected"},
		{"sinks:\n  - type: otlp\n    spool_max_size: 0\n",
		 "sinks[0].spool_max_size: expected a size"},
		{"sinks:\n  - type: file\n    path: /x\n    spool_dir: /y\n",
		 "unknown key 'spool_dir' for a file sink"},
		{"sinks:\n  - type: otlp\n    compression: zstd\n",
		 "agent.yaml:3: sinks[0].compression: expected gzip or none, got zstd"},
		{"sinks:\n  - type: otlp\n    timeout: soon\n",
		 "sinks[0].timeout: expected 1 ms to 49 days"},
		{"sinks:\n  - type: otlp\n    schedule_delay: 0\n",
		 "sinks[0].schedule_delay: expected 1 ms to 49 days"},
		{"sinks:\n  - type: otlp\n    timeout: 99999999999999999999999\n",
		 "sinks[0].timeout: expected 1 ms to 49 days"},
		{"sinks:\n  - type: otlp\n    protocol: http/xml\n",
		 "sinks[0].protocol: expected http/protobuf, http/json or grpc, got http/xml"},
		{"sinks:\n  - type: otlp\n    max_queue_size: 0\n",
		 "sinks[0].max_queue_size: expected an integer from 1 to 16777216, got 0"},
		{"sinks:\n  - type: otlp\n    headers: {a: b\n", "YAML syntax"},
		{"sinks:\n  - type: file\n    path: /x\n    headers: {a: b}\n",
		 "unknown key 'headers' for a file sink"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct eu_config b;
		eu_error e = {0};
		cr_assert_neq(parse(bad[i].yaml, &b, &e), 0, "case %zu accepted", i);
		cr_assert(strstr(e.msg, bad[i].expect), "case %zu: got '%s', expected '%s'", i,
			  e.msg, bad[i].expect);
	}
}

Test(config, single_watch_string_and_empty_file)
{
	struct eu_config c;
	eu_error err = {0};
	cr_assert_eq(parse("watch: /d\n", &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_watch, 1);
	cr_assert_str_eq(c.watch[0], "/d");
	eu_config_free(&c);
	/* empty or comments only: refused (a file caught half-written), {} is all defaults */
	cr_assert_eq(parse("", &c, &err), -EINVAL);
	cr_assert(strstr(err.msg, "empty: no settings"), "%s", err.msg);
	cr_assert_eq(parse("# nothing yet\n\n", &c, &err), -EINVAL);
	cr_assert_eq(parse("{}\n", &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.n_watch, 0);
	eu_config_free(&c);
	/* JSON is YAML */
	cr_assert_eq(parse("{\"watch\": [\"/j\"], \"sinks\": [{\"type\": \"stdout\"}]}", &c, &err), 0,
		     "%s", err.msg);
	cr_assert_str_eq(c.watch[0], "/j");
	eu_config_free(&c);
}

struct bad_case {
	const char *yaml;
	const char *expect; /* a substring of the message */
};

Test(config, errors_name_line_and_key)
{
	static const struct bad_case cases[] = {
		{"watch: [/a]\nsinks:\n  - type: file\n    keep: lots\n",
		 "agent.yaml:4: sinks[0].keep: expected a non-negative integer"},
		{"watch: /a\nsinks:\n  - type: file\n", "agent.yaml:3: sinks[0]: a file sink needs a path"},
		{"watch: /a\nsinkz: []\n", "agent.yaml:2: (top level): unknown key 'sinkz'"},
		{"sinks:\n  - type: kafka\n", "agent.yaml:2: sinks[0]: unknown sink type 'kafka'"},
		{"sinks:\n  - path: /x\n", "sinks[0]: a sink needs a type"},
		{"sinks:\n  - type: file\n    path: /x\n    fsync: sometimes\n",
		 "agent.yaml:4: sinks[0].fsync: expected none, interval or always, got sometimes"},
		{"sinks:\n  - type: file\n    path: /x\n    max_size: 12Q\n",
		 "agent.yaml:4: sinks[0].max_size: expected a size"},
		{"sinks:\n  - type: file\n    path: /x\n    compress: maybe\n",
		 "sinks[0].compress: expected true or false, got maybe"},
		{"sinks:\n  - type: stdout\n    path: /x\n", "unknown key 'path' for a stdout sink"},
		{"log_level: loud\n", "agent.yaml:1: log_level: expected error, warn, info"},
		{"packages:\n  boot:\n    params: {a: {b: 2}}\n",
		 "agent.yaml:3: packages.boot.params.a: expected a number, a string, a bool or a list"},
		{"packages:\n  boot:\n    params: {a: [1, [2]]}\n",
		 "packages.boot.params.a: list elements must be numbers or names without commas"},
		{"packages:\n  boot:\n    map_sizes: {counts: 0}\n",
		 "agent.yaml:3: packages.boot.map_sizes.counts: expected 1..2147483648 entries"},
		{"packages:\n  boot:\n    attach: {p: readline}\n",
		 "agent.yaml:3: packages.boot.attach.p: expected BINARY:FUNCTION[@PID], got readline"},
		{"packages:\n  boot:\n    perf_events: {p: 'hw:page-faults'}\n",
		 "agent.yaml:3: packages.boot.perf_events.p: perf event \"hw:page-faults\": "
		 "\"page-faults\" is not a hardware event"},
		{"packages:\n  boot:\n    perf_events: {p: [1]}\n",
		 "packages.boot.perf_events.p: expected EVENT[:period=N|:freq=HZ], got a list"},
		{"packages:\n  boot:\n    map_sizes: [1]\n",
		 "packages.boot.map_sizes: expected a mapping MAP: ENTRIES"},
		{"packages:\n  boot:\n    parms: {}\n", "agent.yaml:3: packages.boot: unknown key 'parms'"},
		{"packages:\n  boot:\n    sample_freq: 0\n",
		 "agent.yaml:3: packages.boot.sample_freq: expected 1..100000 (Hz)"},
		{"watch: [/a\n", "agent.yaml:2:1: YAML syntax"},
		{"- a\n- b\n", "(top level): expected a mapping of settings, got a list"},
		{"watch: /a\n---\nwatch: /b\n", "only one YAML document"},
		{"queue_size: -4\n", "queue_size: expected a non-negative integer"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct eu_config c;
		eu_error err = {0};
		cr_assert_neq(parse(cases[i].yaml, &c, &err), 0, "case %zu accepted", i);
		cr_assert(strstr(err.msg, cases[i].expect), "case %zu: got '%s', expected '%s'", i,
			  err.msg, cases[i].expect);
		cr_assert_eq(c.n_watch + c.n_sinks + c.n_packages, 0, "case %zu: left data", i);
	}
}

Test(config, sizes_and_durations)
{
	uint64_t v;
	cr_assert_eq(eu_parse_size("64K", &v), 0);
	cr_assert_eq(v, 65536);
	cr_assert_eq(eu_parse_size("1GiB", &v), 0);
	cr_assert_eq(v, 1ull << 30);
	cr_assert_eq(eu_parse_size("123", &v), 0);
	cr_assert_eq(v, 123);
	cr_assert_neq(eu_parse_size("-1", &v), 0);
	cr_assert_neq(eu_parse_size("1T", &v), 0);
	cr_assert_eq(eu_parse_seconds("30m", &v), 0);
	cr_assert_eq(v, 1800);
	cr_assert_eq(eu_parse_seconds("2d", &v), 0);
	cr_assert_eq(v, 172800);
	cr_assert_neq(eu_parse_seconds("5w", &v), 0);
}

Test(config, unit_suffixes_and_ranges)
{
	uint64_t v;
	cr_assert_eq(eu_parse_size("4MB", &v), 0);
	cr_assert_eq(v, 4ull << 20);
	cr_assert_eq(eu_parse_size("2mib", &v), 0);
	cr_assert_eq(v, 2ull << 20);
	cr_assert_eq(eu_parse_size("3kb", &v), 0);
	cr_assert_eq(v, 3072);
	cr_assert_eq(eu_parse_size("1Kx", &v), -EINVAL);
	cr_assert_eq(eu_parse_size("1KBi", &v), -EINVAL);
	cr_assert_eq(eu_parse_size("", &v), -EINVAL);
	cr_assert_eq(eu_parse_size("k", &v), -EINVAL);
	cr_assert_eq(eu_parse_size("17179869183G", &v), 0);
	cr_assert_eq(v, 17179869183ull << 30);
	cr_assert_eq(eu_parse_size("17179869184G", &v), -ERANGE);
	cr_assert_eq(eu_parse_seconds("45", &v), 0);
	cr_assert_eq(v, 45);
	cr_assert_eq(eu_parse_seconds("10s", &v), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(eu_parse_seconds("3h", &v), 0);
	cr_assert_eq(v, 10800);
	/* units are lower case only, and nothing may follow them */
	cr_assert_eq(eu_parse_seconds("5M", &v), -EINVAL);
	cr_assert_eq(eu_parse_seconds("5ms", &v), -EINVAL);
	cr_assert_eq(eu_parse_seconds("4294967295", &v), 0);
	cr_assert_eq(eu_parse_seconds("4294967296", &v), -ERANGE);
	cr_assert_eq(eu_parse_seconds("71582789m", &v), -ERANGE);
}

Test(config, sink_specs)
{
	struct eu_sink_config s;
	eu_error err = {0};
	cr_assert_eq(eu_sink_config_from_spec("file:/tmp/x.jsonl", &s, &err), 0);
	cr_assert_str_eq(eu_sink_config_type(&s), "file");
	cr_assert_str_eq(eu_sink_config_get(&s, "path"), "/tmp/x.jsonl");
	eu_sink_config_free(&s);
	cr_assert_eq(eu_sink_config_from_spec("otlp", &s, &err), 0);
	cr_assert_str_eq(eu_sink_config_type(&s), "otlp");
	cr_assert_null(eu_sink_config_get(&s, "endpoint"));
	eu_sink_config_free(&s);
	cr_assert_eq(eu_sink_config_from_spec("otlp:http://127.0.0.1:4318", &s, &err), 0);
	cr_assert_str_eq(eu_sink_config_type(&s), "otlp");
	cr_assert_str_eq(eu_sink_config_get(&s, "endpoint"), "http://127.0.0.1:4318");
	eu_sink_config_free(&s);
	cr_assert_neq(eu_sink_config_from_spec("file:", &s, &err), 0);
	cr_assert_neq(eu_sink_config_from_spec("kafka", &s, &err), 0);
	cr_assert(strstr(err.msg, "unknown sink 'kafka'"), "%s", err.msg);
}

/* `prometheus: {without_type_suffix: BOOL}`: off by default, on when set; other keys and
 * non-booleans are errors naming the key. */
Test(config, prometheus_without_type_suffix)
{
	struct eu_config c;
	eu_error err = {0};
	cr_assert_eq(parse("watch: /x\n", &c, &err), 0, "%s", err.msg);
	cr_assert_not(c.prom_without_type_suffix);
	eu_config_free(&c);
	cr_assert_eq(parse("prometheus: {without_type_suffix: true}\n", &c, &err), 0, "%s",
		     err.msg);
	cr_assert(c.prom_without_type_suffix);
	eu_config_free(&c);
	cr_assert_eq(parse("prometheus: {without_units: true}\n", &c, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "agent.yaml:1: prometheus: unknown key 'without_units'"),
			   "%s", err.msg);
	cr_assert_eq(parse("prometheus:\n  without_type_suffix: maybe\n", &c, &err), -EINVAL);
	cr_assert_not_null(strstr(err.msg, "agent.yaml:2: prometheus.without_type_suffix: expected "
				  "true or false, got maybe"), "%s", err.msg);
}
