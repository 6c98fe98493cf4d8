/* enable_multiple_export_types: each map's export_config picks what it exports. Here a ring
 * buffer exports struct event_exec by BTF type id and a perf event array exports two custom
 * members of struct event_exit; both decode real exec/exit events of /bin/true. */
#include <bpf/btf.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eu_agent.h"
#include "eu_run_util.h"

static int member_type(const struct btf *btf, int struct_id, const char *name, uint32_t *offset)
{
	const struct btf_type *t = btf__type_by_id(btf, (uint32_t)struct_id);
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		if (!strcmp(btf__name_by_offset(btf, m->name_off), name)) {
			*offset = btf_member_bit_offset(t, (uint32_t)i) / 8;
			return (int)m->type;
		}
	}
	cr_assert_fail("no member %s", name);
	return -1;
}

/* multi.skel.json beside multi.bpf.o, in upstream's shape */
static void write_skel(const char *dir, const char *obj)
{
	struct btf *btf = btf__parse(obj, NULL);
	cr_assert(btf);
	int exec_id = btf__find_by_name_kind(btf, "event_exec", BTF_KIND_STRUCT);
	int exit_id = btf__find_by_name_kind(btf, "event_exit", BTF_KIND_STRUCT);
	cr_assert(exec_id > 0 && exit_id > 0);
	uint32_t pid_off, comm_off;
	int pid_type = member_type(btf, exit_id, "pid", &pid_off);
	int comm_type = member_type(btf, exit_id, "comm", &comm_off);
	btf__free(btf);

	char json[2048];
	snprintf(json, sizeof(json),
		 "{\"bpf_skel\": {\"obj_name\": \"multi_bpf\", \"data_sections\": [],"
		 " \"maps\": ["
		 "  {\"ident\": \"rb_exec\", \"name\": \"rb_exec\", \"export_config\": {\"btf_type_id\": %d}},"
		 "  {\"ident\": \"pb_exit\", \"name\": \"pb_exit\", \"export_config\": {\"custom_members\": ["
		 "    {\"name\": \"exited_comm\", \"offset\": %u, \"btf_type_id\": %d},"
		 "    {\"name\": \"exited_pid\", \"offset\": %u, \"btf_type_id\": %d}]}}],"
		 " \"progs\": [{\"name\": \"handle_exec\", \"attach\": \"tp/sched/sched_process_exec\", \"link\": true},"
		 "  {\"name\": \"handle_exit\", \"attach\": \"tp/sched/sched_process_exit\", \"link\": true}]},"
		 " \"eunomia_version\": \"0.3.3\", \"enable_multiple_export_types\": true}",
		 exec_id, comm_off, comm_type, pid_off, pid_type);
	char path[512];
	snprintf(path, sizeof(path), "%s/multi.skel.json", dir);
	cr_assert_eq(eu_write_file(path, json, strlen(json)), 0);
}

struct want {
	long long pid;
};

static bool exec_of(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	return eu_json_int(rec, "pid", -1) == w->pid;
}

static bool exit_of(const cJSON *rec, void *ctx)
{
	const struct want *w = ctx;
	return eu_json_int(rec, "exited_pid", -1) == w->pid;
}

Test(run_multi, export_config_type_id_and_custom_members)
{
	char *dir = eu_tmpdir("multi");
	cr_assert(dir);
	char obj[512], skel[512];
	snprintf(obj, sizeof(obj), "%s/multi.bpf.o", dir);
	snprintf(skel, sizeof(skel), "%s/multi.skel.json", dir);
	char *log = NULL;
	cr_assert_eq(eu_compile_bpf(EU_TEST_DATA_DIR "/multi_export/multi.bpf.c", obj, &log), 0,
		     "%s", log);
	free(log);
	write_skel(dir, obj);

	struct eu_agent *a = eu_agent_start(skel, NULL);
	cr_assert(a);
	cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
	pid_t child = eu_spawn((const char *const[]){"/bin/true", NULL});
	cr_assert_eq(eu_wait_pid(child, 10000), 0);
	struct want w = {child};

	cJSON *ex = eu_agent_find(a, exec_of, &w, 10000);
	cr_assert(ex, "no exec record; stdout:\n%s\nstderr:\n%s", eu_agent_stdout(a),
		  eu_agent_stderr(a));
	cr_expect_eq(eu_json_int(ex, "tid", -1), child);
	cr_expect_str_eq(eu_json_str(ex, "comm"), "true");
	cr_expect_eq(cJSON_GetArraySize(ex), 3, "struct event_exec has 3 members");
	cJSON_Delete(ex);

	cJSON *xt = eu_agent_find(a, exit_of, &w, 10000);
	cr_assert(xt, "no exit record; stdout:\n%s", eu_agent_stdout(a));
	cr_expect_str_eq(eu_json_str(xt, "exited_comm"), "true");
	cr_expect_eq(cJSON_GetArraySize(xt), 2, "only the two custom members");
	/* custom members print in the order the package lists them */
	cr_expect_str_eq(xt->child->string, "exited_comm");
	cJSON_Delete(xt);
	cr_expect_eq(eu_agent_stop(a, 10000), 0);
	eu_agent_free(a);
	eu_tmpdir_remove(dir);
	free(dir);
}
