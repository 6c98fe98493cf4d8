/* Every real upstream package meta in the compatibility corpus (EU_COMPAT_DIR) parses, with its values checked. */
#include <criterion/criterion.h>

#include <bpf/libbpf.h>
#include <glob.h>
#include <string.h>

#include "core/codec.h"
#include "eunomia/package.h"

#define COMPAT EU_COMPAT_DIR "/"

static struct eu_package *load(const char *path)
{
	struct eu_package *pkg = NULL;
	eu_error err = {0};
	int rc = eu_package_read_file(path, &pkg, &err);
	cr_assert_eq(rc, 0, "%s: %s", path, err.msg);
	cr_assert_not_null(pkg);
	return pkg;
}

static const struct eu_var_meta *find_var(const struct eu_package *pkg, const char *name)
{
	for (size_t i = 0; i < pkg->n_sections; i++)
		for (size_t j = 0; j < pkg->sections[i].n_vars; j++)
			if (strcmp(pkg->sections[i].vars[j].name, name) == 0)
				return &pkg->sections[i].vars[j];
	cr_assert_fail("no variable %s", name);
	return NULL;
}

static void check_all_in(const char *pattern)
{
	glob_t g;
	cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no files match %s", pattern);
	cr_assert_geq(g.gl_pathc, 5);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct eu_package *pkg = load(g.gl_pathv[i]);
		cr_assert_str_eq(pkg->origin, g.gl_pathv[i]);
		cr_assert_null(pkg->object, "%s has no object", g.gl_pathv[i]);
		cr_assert(pkg->format == EU_PKG_META_ONLY || pkg->format == EU_PKG_LEGACY);
		cr_assert_not_null(pkg->obj_name);
		cr_assert_not_null(pkg->name);
		cr_assert_gt(pkg->n_maps, 0, "%s", g.gl_pathv[i]);
		eu_package_free(pkg);
	}
	globfree(&g);
}

Test(package_compat, every_file_parses)
{
	check_all_in(COMPAT "*.json");
	check_all_in(COMPAT "meta-only/*.json");
}

Test(package_compat, bootstrap)
{
	struct eu_package *pkg = load(COMPAT "bootstrap.meta.json");
	cr_assert_eq(pkg->format, EU_PKG_META_ONLY);
	cr_assert_eq(pkg->declared_object_size, 30800);
	cr_assert_str_eq(pkg->obj_name, "bootstrap_bpf");
	cr_assert_str_eq(pkg->name, "bootstrap");
	cr_assert_str_eq(pkg->eunomia_version, "0.3.4");
	cr_assert_eq(pkg->n_maps, 4);
	cr_assert_str_eq(pkg->maps[1].name, "rb");
	cr_assert_not(pkg->maps[1].mmaped);
	cr_assert_str_eq(pkg->maps[2].name, "bootstra.rodata");
	cr_assert_str_eq(pkg->maps[2].ident, "rodata");
	cr_assert(pkg->maps[2].mmaped);
	cr_assert_eq(pkg->maps[2].sample.type, EU_SAMPLE_NONE);
	cr_assert_eq(pkg->maps[2].export_config.kind, EU_EXPORT_UNSET);
	cr_assert_eq(eu_package_find_map(pkg, "bootstra.bss"), &pkg->maps[3]);
	cr_assert_null(eu_package_find_map(pkg, "nope"));

	cr_assert_eq(pkg->n_progs, 2);
	cr_assert_str_eq(pkg->progs[0].name, "handle_exec");
	cr_assert_str_eq(pkg->progs[0].attach, "tp/sched/sched_process_exec");
	cr_assert(pkg->progs[0].link);
	cr_assert_str_eq(pkg->progs[1].attach, "tp/sched/sched_process_exit");

	cr_assert_eq(pkg->n_sections, 2);
	cr_assert_str_eq(pkg->sections[0].name, ".rodata");
	cr_assert_eq(pkg->sections[0].n_vars, 1);
	cr_assert_str_eq(pkg->sections[0].vars[0].name, "min_duration_ns");
	cr_assert_str_eq(pkg->sections[0].vars[0].type, "unsigned long long");
	cr_assert_not(pkg->sections[0].vars[0].dummy);
	cr_assert_null(pkg->sections[0].vars[0].value_text);
	cr_assert_str_eq(pkg->sections[1].vars[0].name, "__eunomia_dummy_event_ptr");
	cr_assert(pkg->sections[1].vars[0].dummy);

	cr_assert_eq(pkg->n_export_types, 1);
	const struct eu_export_type *t = &pkg->export_types[0];
	cr_assert_str_eq(t->name, "event");
	cr_assert_eq(t->size, 168);
	cr_assert_eq(t->type_id, 314);
	cr_assert_eq(t->n_members, 7);
	cr_assert_str_eq(t->members[0].name, "pid");
	cr_assert_str_eq(t->members[0].type, "int");
	cr_assert_str_eq(t->members[5].name, "filename");
	cr_assert_str_eq(t->members[5].type, "char[127]");
	cr_assert_str_eq(t->members[6].type, "unsigned char");
	cr_assert_not(t->members[6].has_offset);

	/* runtime hints take their defaults */
	cr_assert_eq(pkg->poll_timeout_ms, 100);
	cr_assert_eq(pkg->perf_buffer_pages, 64);
	cr_assert_eq(pkg->perf_buffer_time_ms, 10);
	cr_assert(pkg->print_header);
	cr_assert_not(pkg->debug_verbose);
	cr_assert_not(pkg->multiple_export);
	eu_package_free(pkg);
}

Test(package_compat, minimal_has_no_export)
{
	struct eu_package *pkg = load(COMPAT "minimal.meta.json");
	cr_assert_eq(pkg->n_export_types, 0);
	cr_assert_null(pkg->export_types);
	cr_assert_str_eq(find_var(pkg, "pid_filter")->type, "pid_t");
	cr_assert_str_eq(pkg->maps[1].name, ".rodata.str1.1");
	cr_assert_str_eq(pkg->maps[1].ident, "rodata_str1_1");
	cr_assert_not(pkg->maps[1].mmaped);
	eu_package_free(pkg);
}

Test(package_compat, opensnoop_doc_and_cmdarg)
{
	struct eu_package *pkg = load(COMPAT "opensnoop.meta.json");
	cr_assert_str_eq(pkg->doc.description, "Trace open family syscalls.");
	cr_assert_null(pkg->doc.version);
	const struct eu_var_meta *v = find_var(pkg, "targ_failed");
	cr_assert_str_eq(v->type, "bool");
	cr_assert_str_eq(v->description, "trace only failed events");
	cr_assert_str_eq(v->cmdarg.short_name, "f");
	cr_assert_str_eq(v->cmdarg.long_name, "failed");
	cr_assert_str_eq(v->cmdarg.default_text, "false");
	cr_assert_null(v->cmdarg.help);
	cr_assert_str_eq(find_var(pkg, "pid_target")->description, "Process ID to trace");
	cr_assert_null(find_var(pkg, "pid_target")->cmdarg.long_name);
	cr_assert_eq(pkg->n_progs, 4);
	cr_assert_str_eq(pkg->progs[3].attach, "tracepoint/syscalls/sys_exit_openat");
	cr_assert_eq(pkg->export_types[0].type_id, 56);
	cr_assert_eq(pkg->export_types[0].size, 296);
	cr_assert_str_eq(pkg->export_types[0].members[6].type, "char[255]");
	eu_package_free(pkg);
}

Test(package_compat, runqlat_sampled_hist)
{
	struct eu_package *pkg = load(COMPAT "runqlat.meta.json");
	const struct eu_map_meta *m = eu_package_find_map(pkg, "hists");
	cr_assert_not_null(m);
	cr_assert_eq(m->sample.type, EU_SAMPLE_LOG2_HIST);
	cr_assert_eq(m->sample.interval_ms, 1000);
	cr_assert_str_eq(m->sample.unit, "(unit)");
	cr_assert_not(m->sample.clear_map);
	cr_assert_eq(eu_package_find_map(pkg, "start")->sample.type, EU_SAMPLE_NONE);
	cr_assert_null(eu_package_find_map(pkg, "start")->sample.unit);
	cr_assert_str_eq(pkg->progs[2].attach, "raw_tp/sched_switch");
	cr_assert_str_eq(pkg->export_types[0].name, "hist");
	cr_assert_str_eq(pkg->export_types[0].members[0].type, "__u32[26]");
	cr_assert_eq(pkg->sections[0].n_vars, 6);
	eu_package_free(pkg);
}

Test(package_compat, sigsnoop)
{
	struct eu_package *pkg = load(COMPAT "sigsnoop.meta.json");
	cr_assert_eq(pkg->n_progs, 7);
	cr_assert_str_eq(pkg->progs[6].attach, "tracepoint/signal/signal_generate");
	cr_assert_str_eq(find_var(pkg, "target_signal")->type, "int");
	cr_assert_eq(pkg->export_types[0].n_members, 5);
	eu_package_free(pkg);
}

Test(package_compat, kprobe_link_empty_sections)
{
	struct eu_package *pkg = load(COMPAT "kprobe-link.meta.json");
	cr_assert_eq(pkg->n_sections, 0);
	cr_assert_str_eq(pkg->obj_name, "kprobe_link_bpf");
	cr_assert_str_eq(pkg->name, "kprobe_link");
	cr_assert_str_eq(pkg->progs[1].attach, "kretprobe/do_unlinkat");
	eu_package_free(pkg);
}

Test(package_compat, tc_hook)
{
	struct eu_package *pkg = load(COMPAT "tc.meta.json");
	const struct eu_prog_meta *p = &pkg->progs[0];
	cr_assert_str_eq(p->attach, "tc");
	cr_assert_eq(p->tc.ifindex, 1);
	cr_assert_eq(p->tc.attach_point, BPF_TC_INGRESS);
	cr_assert_eq(p->tc.handle, 1);
	cr_assert_eq(p->tc.priority, 1);
	eu_package_free(pkg);
}

Test(package_compat, xdp_ifindex)
{
	struct eu_package *pkg = load(COMPAT "xdp.meta.json");
	const struct eu_prog_meta *p = &pkg->progs[0];
	cr_assert_str_eq(p->attach, "xdp");
	cr_assert_str_eq(p->name, "xdp_pass");
	cr_assert_eq(p->xdp.ifindex, 1);
	cr_assert_eq(p->xdp.flags, 0);
	cr_assert_eq(p->xdp.old_prog_fd, 0);
	eu_package_free(pkg);
}

Test(package_compat, int128_null_progs)
{
	struct eu_package *pkg = load(COMPAT "int128_test.meta.json");
	cr_assert_eq(pkg->n_progs, 0);
	cr_assert_null(pkg->progs);
	cr_assert_str_eq(pkg->obj_name, "prog_bpf");
	cr_assert_str_eq(pkg->name, "prog");
	cr_assert_str_eq(pkg->export_types[0].members[0].type, "__int128_t");
	cr_assert_str_eq(pkg->export_types[0].members[1].type, "__uint128_t");
	cr_assert_eq(pkg->export_types[0].size, 32);
	cr_assert_eq(pkg->export_types[0].type_id, 4);
	cr_assert_str_eq(pkg->eunomia_version, "0.3.2");
	eu_package_free(pkg);
}

Test(package_compat, legacy_field_offsets_in_bits)
{
	struct eu_package *pkg = load(COMPAT "legacy-v0.1.eunomia-otel-tests.meta.json");
	cr_assert_eq(pkg->format, EU_PKG_LEGACY);
	cr_assert_null(pkg->object);
	cr_assert_eq(pkg->declared_object_size, 12656);
	cr_assert_str_eq(pkg->name, "template");
	cr_assert_str_eq(pkg->obj_name, "template");
	cr_assert_str_eq(pkg->doc.version, "0.1.0");
	cr_assert_str_eq(pkg->doc.description,
			 "This is a bootstrap template for a ebpm BPF program.");
	cr_assert_eq(pkg->n_maps, 3);
	cr_assert_str_eq(pkg->maps[1].name, "events");
	cr_assert_str_eq(pkg->maps[1].legacy_type, "BPF_MAP_TYPE_PERF_EVENT_ARRAY");
	cr_assert_str_eq(pkg->maps[2].legacy_type, "BPF_MAP_TYPE_UNSPEC");
	cr_assert_eq(pkg->n_export_types, 1);
	const struct eu_export_type *t = &pkg->export_types[0];
	cr_assert_str_eq(t->name, "event");
	cr_assert_eq(t->type_id, 0);
	cr_assert_eq(t->size, 296, "Size 2368 is in bits");
	cr_assert_eq(t->n_members, 7);
	static const uint32_t offsets[] = {0, 64, 96, 128, 160, 192, 320};
	for (size_t i = 0; i < 7; i++) {
		cr_assert(t->members[i].has_offset);
		cr_assert_eq(t->members[i].bit_offset, offsets[i], "member %zu", i);
	}
	cr_assert_str_eq(t->members[5].name, "comm");
	cr_assert_str_eq(t->members[5].type, "char [16]");
	cr_assert_eq(pkg->n_progs, 4);
	cr_assert_str_eq(pkg->progs[0].name, "tracepoint__syscalls__sys_enter_open");
	cr_assert_null(pkg->progs[0].attach, "legacy programs attach by their ELF section");
	eu_package_free(pkg);
}

Test(package_compat, arg_builder_values_and_doc)
{
	struct eu_package *pkg = load(COMPAT "meta-only/arg_builder_test.skel.json");
	cr_assert_eq(pkg->format, EU_PKG_META_ONLY);
	cr_assert_eq(pkg->declared_object_size, 0);
	cr_assert_str_eq(pkg->doc.version, "1.2.3.4");
	cr_assert_str_eq(pkg->doc.brief, "qaqqwq");
	cr_assert_str_eq(pkg->doc.details, "this is details");
	cr_assert_str_eq(pkg->doc.description, "this is description");
	const struct eu_var_meta *v = find_var(pkg, "const_val_1");
	cr_assert_str_eq(v->cmdarg.default_text, "12345");
	cr_assert_str_eq(v->cmdarg.long_name, "cv1");
	cr_assert_str_eq(v->cmdarg.short_name, "1");
	cr_assert_str_eq(v->cmdarg.help, "This is a help message for const_val_1");
	cr_assert_str_eq(find_var(pkg, "boolflag-with-default-true")->value_text, "true");
	cr_assert_str_eq(find_var(pkg, "boolflag-with-default-false")->value_text, "false");
	cr_assert_null(find_var(pkg, "boolflag")->value_text);
	cr_assert_str_eq(find_var(pkg, "const_val_3")->type, "char[100]");
	cr_assert(find_var(pkg, "__eunomia_dummy_OutData_ptr")->dummy);
	cr_assert_str_eq(pkg->export_types[0].name, "OutData");
	cr_assert_eq(pkg->export_types[0].n_members, 6);
	eu_package_free(pkg);
}

Test(package_compat, multiple_export_custom_members)
{
	struct eu_package *pkg =
		load(COMPAT "meta-only/multiple_export_ringbuf.multiple-custom-struct.json");
	cr_assert(pkg->multiple_export);
	cr_assert_eq(pkg->n_export_types, 0);
	const struct eu_map_meta *m = eu_package_find_map(pkg, "rb_exec");
	cr_assert_eq(m->export_config.kind, EU_EXPORT_CUSTOM);
	cr_assert_eq(m->export_config.n_members, 4);
	cr_assert_str_eq(m->export_config.members[0].name, "comm?");
	cr_assert_eq(m->export_config.members[0].offset, 8);
	cr_assert_eq(m->export_config.members[0].btf_type_id, 150);
	cr_assert_str_eq(m->export_config.members[2].name, "fname");
	cr_assert_eq(m->export_config.members[2].offset, 24);
	cr_assert_eq(m->export_config.members[2].btf_type_id, 322);
	m = eu_package_find_map(pkg, "rb_exit");
	cr_assert_eq(m->export_config.kind, EU_EXPORT_TYPE_ID);
	cr_assert_eq(m->export_config.btf_type_id, 316);
	cr_assert_eq(eu_package_find_map(pkg, "exec_start")->export_config.kind, EU_EXPORT_UNSET);
	/* __dummy1 is not ecc's injected prefix */
	cr_assert_not(find_var(pkg, "__dummy1")->dummy);
	eu_package_free(pkg);
}

Test(package_compat, multiple_export_type_ids)
{
	struct eu_package *pkg = load(COMPAT "meta-only/multiple_export_ringbuf.multiple.skel.json");
	cr_assert(pkg->multiple_export);
	cr_assert_eq(eu_package_find_map(pkg, "rb_exec")->export_config.btf_type_id, 321);
	cr_assert_eq(eu_package_find_map(pkg, "rb_exit")->export_config.kind, EU_EXPORT_TYPE_ID);
	eu_package_free(pkg);
}

Test(package_compat, sample_map_default_kv_clear)
{
	struct eu_package *pkg =
		load(COMPAT "meta-only/multiple_export_sample_map.multiple.skel.json");
	const struct eu_map_meta *m = eu_package_find_map(pkg, "map_exec");
	cr_assert_eq(m->export_config.kind, EU_EXPORT_DEFAULT);
	cr_assert_eq(m->sample.type, EU_SAMPLE_DEFAULT_KV);
	cr_assert_eq(m->sample.interval_ms, 100);
	cr_assert(m->sample.clear_map);
	cr_assert_str_eq(m->sample.unit, "(unit)");
	eu_package_free(pkg);
}

Test(package_compat, profile_stack_trace)
{
	struct eu_package *pkg = load(COMPAT "meta-only/profile_test.profile.skel.json");
	const struct eu_map_meta *m = eu_package_find_map(pkg, "events");
	cr_assert(m->stack_trace);
	cr_assert_not(m->stack_trace_symbols);
	cr_assert_not(eu_package_find_map(pkg, "profile_.bss")->stack_trace);
	cr_assert_str_eq(pkg->progs[0].attach, "perf_event");
	cr_assert_str_eq(pkg->export_types[0].name, "stacktrace_event");
	cr_assert_str_eq(pkg->export_types[0].members[5].type, "stack_trace_t");
	cr_assert_eq(pkg->export_types[0].size, 2080);
	eu_package_free(pkg);
}

Test(package_compat, sha256_of_the_file)
{
	struct eu_package *a = load(COMPAT "tc.meta.json");
	struct eu_package *b = load(COMPAT "xdp.meta.json");
	struct eu_package *a2 = load(COMPAT "tc.meta.json");
	cr_assert_arr_eq(a->sha256, a2->sha256, 32);
	cr_assert_arr_neq(a->sha256, b->sha256, 32);
	/* the hash of the file's bytes, as `sha256sum tc.meta.json` prints it */
	char hex[2 * EU_SHA256_LEN + 1];
	eu_sha256_hex(a->sha256, hex);
	cr_assert_str_eq(hex, "b313a0bb9eea27ae263d56c6562198ab944d75f00ad540ffefd3cc41fc711c3d");
	eu_package_free(a);
	eu_package_free(b);
	eu_package_free(a2);
}
