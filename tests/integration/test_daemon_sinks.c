/* Sinks under the daemon: a file sink on a tiny tmpfs that fills up (counted drops, one error,
 * recovery), SIGHUP rotation with no line lost or split, fan-out to two sinks. */
#include "daemon_fixture.h"
#include "eu_children.h"

#include <sys/mount.h>
#include <sys/statvfs.h>

EU_DFIX_SUITE(F, daemon_sinks, 180);

static size_t file_records(const char *path, const struct dfix_match *m, size_t *lines,
			   size_t *bad)
{
	size_t size;
	char *text = eu_test_read_file(path, &size);
	if (!text) {
		*lines = 0;
		return 0;
	}
	cr_assert(size == 0 || text[size - 1] == '\n', "%s ends mid-line", path);
	size_t n = dfix_count_records_in(text, m, 0, lines, bad);
	free(text);
	return n;
}

static uint64_t stat_of(const char *log, const char *sink, const char *key)
{
	/* the last "counters: sink SINK: ..." line */
	const char *p = NULL, *q = log;
	char head[256];
	snprintf(head, sizeof(head), "counters: sink %s:", sink);
	while ((q = strstr(q, head)))
		p = q++;
	cr_assert(p, "no counters for %s", sink);
	const char *k = strstr(p, key);
	cr_assert(k, "no %s", key);
	return strtoull(k + strlen(key), NULL, 10);
}

Test(daemon_sinks, full_disk_drops_counted_then_recovers)
{
	char mnt[160], out[200], sinkarg[220], filler[200];
	snprintf(mnt, sizeof(mnt), "%s/tmpfs", F.root);
	dfix_sh("mkdir -p %s", mnt);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k"))
		cr_assert_fail("cannot mount a tmpfs on %s: %s", mnt, strerror(errno));
	snprintf(out, sizeof(out), "%s/events.jsonl", mnt);
	snprintf(sinkarg, sizeof(sinkarg), "file:%s", out);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *[]){"--sink", sinkarg, NULL});
	/* fill the disk but a few KiB */
	dfix_sh("dd if=/dev/zero of=%s bs=4k count=60 2>/dev/null; true", filler);
	for (int i = 0; i < 150; i++)
		dfix_exec(&F);
	dfix_pump(&F, 500);
	cr_assert(dfix_wait_log(&F, "No space left on device", 1, 5000), "%s", eu_agent_stderr(F.a));
	kill(eu_agent_pid(F.a), SIGUSR1);
	cr_assert(dfix_wait_log(&F, "counters: sink file:", 1, 5000));
	uint64_t dropped = stat_of(eu_agent_stderr(F.a), sinkarg, "dropped ");
	cr_assert_gt(dropped, 0, "%s", eu_agent_stderr(F.a));
	/* one message per episode, not per batch */
	cr_assert_eq(dfix_count(eu_agent_stderr(F.a), "No space left on device"), 1, "%s",
		     eu_agent_stderr(F.a));
	/* space again: records flow again */
	dfix_sh("rm %s", filler);
	struct dfix_match m = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	size_t lines, bad = 0, before = file_records(out, &m, &lines, &bad);
	int64_t deadline = dfix_now_ms() + 10000;
	size_t after = before;
	while (after <= before && dfix_now_ms() < deadline) {
		dfix_exec(&F);
		dfix_pump(&F, 200);
		after = file_records(out, &m, &lines, &bad);
	}
	cr_assert_gt(after, before, "no records after space was freed: %s", eu_agent_stderr(F.a));
	/* the episode ends at the first write at least 2 s after the last failure: keep events
	 * coming until then */
	deadline = dfix_now_ms() + 15000;
	bool resumed = false;
	while (!(resumed = dfix_wait_log(&F, "writing again after dropping", 1, 200)) &&
	       dfix_now_ms() < deadline)
		dfix_exec(&F);
	cr_assert(resumed, "%s", eu_agent_stderr(F.a));
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	file_records(out, &m, &lines, &bad);
	cr_assert_eq(bad, 0, "every line whole JSON");
	/* conservation: queued = written + dropped */
	uint64_t q = stat_of(eu_agent_stderr(F.a), sinkarg, "queued ");
	uint64_t w = stat_of(eu_agent_stderr(F.a), sinkarg, "written ");
	uint64_t d = stat_of(eu_agent_stderr(F.a), sinkarg, "dropped ");
	cr_assert_eq(q, w + d, "queued %lu written %lu dropped %lu", q, w, d);
	cr_assert_eq(w, lines, "written %lu, lines in the file %zu", w, lines);
	umount2(mnt, MNT_DETACH);
}

Test(daemon_sinks, sighup_rotation_loses_and_splits_nothing)
{
	char out[200], sinkarg[220];
	snprintf(out, sizeof(out), "%s/events.jsonl", F.root);
	snprintf(sinkarg, sizeof(sinkarg), "file:%s", out);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *[]){"--sink", sinkarg, "--sink", "stdout", NULL});
	/* logrotate's way: move the file, SIGHUP; 5 times while events keep coming */
	const int rounds = 5, per_round = 40;
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < per_round; i++)
			dfix_exec(&F);
		char moved[220];
		snprintf(moved, sizeof(moved), "%s.r%d", out, r);
		cr_assert_eq(rename(out, moved), 0, "%s", strerror(errno));
		kill(eu_agent_pid(F.a), SIGHUP);
		dfix_pump(&F, 50);
	}
	for (int i = 0; i < per_round; i++)
		dfix_exec(&F);
	dfix_pump(&F, 500);
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	struct dfix_match m = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	size_t total = 0, all_lines = 0, bad = 0, lines;
	for (int r = 0; r < rounds; r++) {
		char moved[220];
		snprintf(moved, sizeof(moved), "%s.r%d", out, r);
		total += file_records(moved, &m, &lines, &bad);
		all_lines += lines;
	}
	total += file_records(out, &m, &lines, &bad);
	all_lines += lines;
	cr_assert_eq(bad, 0, "split or broken lines");
	cr_assert_eq(total, (size_t)(rounds + 1) * per_round, "exec records across files: %zu", total);
	/* fan-out: stdout got the same records */
	size_t on_stdout = dfix_count_records_in(eu_agent_stdout(F.a), &m, 0, NULL, NULL);
	cr_assert_eq(on_stdout, total);
	uint64_t w = stat_of(eu_agent_stderr(F.a), sinkarg, "written ");
	cr_assert_eq(w, all_lines);
	cr_assert_eq(stat_of(eu_agent_stderr(F.a), sinkarg, "dropped "), 0);
}

/* SIGTERM while stdout's reader has stopped reading (a pipe into a process that never
 * reads): what the sink will never write is counted dropped BEFORE the final counters are
 * logged — queued = written + dropped from the queue, nothing left "in queue". */
Test(daemon_sinks, final_counters_count_what_a_blocked_stdout_never_took)
{
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	char err[200], pidf[200], sleepf[200];
	snprintf(err, sizeof(err), "%s/agent.err", F.root);
	snprintf(pidf, sizeof(pidf), "%s/agent.pid", F.root);
	snprintf(sleepf, sizeof(sleepf), "%s/reader.pid", F.root);
	/* the reader: sleep, which never reads its stdin; it must outlive the 1,000 execs below
	 * (over 120 s under ASan on a loaded machine: its exit closed the pipe and the daemon
	 * rightly exited on EPIPE before the SIGTERM), and is killed below */
	char pipeline[1024];
	snprintf(pipeline, sizeof(pipeline),
		 "sh -c 'echo $$ > %s; exec %s --watch %s --api none --queue-size 100000' 2>%s "
		 "| sleep 600 & echo $! > %s; wait",
		 pidf, dfix_daemon_bin(), F.watch, err, sleepf);
	/* the whole pipeline dies with the test if an assertion fails */
	pid_t shell = eu_child_sh(pipeline);
	cr_assert_gt(shell, 0);
	int64_t deadline = dfix_now_ms() + 20000;
	char *log = NULL;
	size_t size;
	while (dfix_now_ms() < deadline) {
		free(log);
		log = eu_test_read_file(err, &size);
		if (log && strstr(log, "programs attached"))
			break;
		usleep(100 * 1000);
	}
	cr_assert(log && strstr(log, "programs attached"), "%s", log ? log : "");
	free(log);
	/* ~2,000 records: far more than the 64 KiB pipe takes */
	for (int i = 0; i < 1000; i++)
		dfix_exec(&F);
	usleep(500 * 1000);
	char *pids = eu_test_read_file(pidf, &size), *rpids = eu_test_read_file(sleepf, &size);
	cr_assert(pids && rpids);
	pid_t pid = atoi(pids), reader = atoi(rpids);
	free(pids);
	free(rpids);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	deadline = dfix_now_ms() + 20000;
	while (kill(pid, 0) == 0 && dfix_now_ms() < deadline)
		usleep(100 * 1000);
	bool exited = kill(pid, 0) != 0;
	kill(reader, SIGKILL);
	eu_wait_pid(shell, 5000);
	log = eu_test_read_file(err, &size);
	cr_assert(exited, "the daemon did not exit: %s", log);
	uint64_t queued = stat_of(log, "stdout", "queued "), written = stat_of(log, "stdout", "written "),
		 dropped = stat_of(log, "stdout", "dropped "), inq = stat_of(log, "stdout", "in queue ");
	cr_assert_gt(queued, 1000, "%s", log);
	cr_assert_eq(inq, 0, "records left uncounted in the queue: %s", log);
	cr_assert_geq(written + dropped, queued, "queued %llu but written %llu + dropped %llu: %s",
		      (unsigned long long)queued, (unsigned long long)written,
		      (unsigned long long)dropped, log);
	cr_assert_gt(dropped, 0, "%s", log);
	free(log);
}

/* `eunomia-agent --watch W | head -1`: stdout, the only sink, loses its reader: the daemon
 * says why and exits 0, as `run` does. */
Test(daemon_sinks, only_stdout_gone_stops_the_daemon)
{
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *const[]){"--api", "none", NULL});
	cr_assert(dfix_wait_log(&F, "programs attached", 1, 15000), "%s", eu_agent_stderr(F.a));
	struct dfix_match m = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	cr_assert(dfix_exec_until(&F, &m, 0, 10000), "%s", eu_agent_stderr(F.a));
	eu_agent_close_stdout(F.a); /* head -1 got its line */
	int rc = -2;
	for (int i = 0; i < 50 && rc == -2; i++) {
		dfix_exec(&F);
		rc = eu_agent_wait_exit(F.a, 200);
	}
	cr_assert_eq(rc, 0, "the daemon did not exit 0 (%d): %s", rc, eu_agent_stderr(F.a));
	cr_assert(strstr(eu_agent_stderr(F.a), "reader went away (EPIPE) and it is the only sink"),
		  "%s", eu_agent_stderr(F.a));
}

/* With another sink beside stdout, losing stdout's reader stops nothing: the file sink keeps
 * getting records, and stdout's are counted dropped. */
Test(daemon_sinks, stdout_gone_with_other_sinks_keeps_going)
{
	char out[200], spec[220];
	snprintf(out, sizeof(out), "%s/events.jsonl", F.root);
	snprintf(spec, sizeof(spec), "file:%s", out);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *const[]){"--api", "none", "--sink", "stdout", "--sink", spec,
					      NULL});
	cr_assert(dfix_wait_log(&F, "programs attached", 1, 15000), "%s", eu_agent_stderr(F.a));
	struct dfix_match m = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	cr_assert(dfix_exec_until(&F, &m, 0, 10000), "%s", eu_agent_stderr(F.a));
	eu_agent_close_stdout(F.a);
	for (int i = 0; i < 10; i++)
		dfix_exec(&F);
	cr_assert_eq(eu_agent_wait_exit(F.a, 2000), -2, "the daemon exited: %s",
		     eu_agent_stderr(F.a));
	size_t lines, bad = 0, before = file_records(out, &m, &lines, &bad);
	for (int i = 0; i < 10; i++)
		dfix_exec(&F);
	int64_t deadline = dfix_now_ms() + 10000;
	while (file_records(out, &m, &lines, &bad) < before + 10 && dfix_now_ms() < deadline)
		usleep(100 * 1000);
	cr_assert_geq(file_records(out, &m, &lines, &bad), before + 10, "the file sink stopped");
	cr_assert_eq(eu_agent_stop(F.a, 10000), 0, "%s", eu_agent_stderr(F.a));
	cr_assert_gt(stat_of(eu_agent_stderr(F.a), "stdout", "dropped "), 0, "%s",
		     eu_agent_stderr(F.a));
}

/* The file is truncated under the sink (`: > file`, logrotate's copytruncate) and the disk is
 * then nearly full: a batch cut back after a short write is cut from the file's real end,
 * never extending it with a hole of NUL bytes; writing resumes at the end of the truncated
 * file. */
Test(daemon_sinks, truncated_file_and_full_disk_leave_no_nul_bytes)
{
	char mnt[160], out[200], sinkarg[220], filler[200];
	snprintf(mnt, sizeof(mnt), "%s/tmpfs", F.root);
	dfix_sh("mkdir -p %s", mnt);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=512k"))
		cr_assert_fail("cannot mount a tmpfs on %s: %s", mnt, strerror(errno));
	snprintf(out, sizeof(out), "%s/events.jsonl", mnt);
	snprintf(sinkarg, sizeof(sinkarg), "file:%s", out);
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *[]){"--sink", sinkarg, "--api", "none", NULL});
	cr_assert(dfix_wait_log(&F, "programs attached", 1, 15000), "%s", eu_agent_stderr(F.a));
	/* ~100 KiB of records */
	struct stat st = {0};
	int64_t deadline = dfix_now_ms() + 30000;
	while ((stat(out, &st) || st.st_size < 100 * 1024) && dfix_now_ms() < deadline) {
		for (int i = 0; i < 20; i++)
			dfix_exec(&F);
		dfix_pump(&F, 50);
	}
	cr_assert_geq(st.st_size, 100 * 1024);
	/* truncated by someone else, then the disk fills but a couple of pages */
	dfix_sh(": > %s", out);
	dfix_sh("dd if=/dev/zero of=%s bs=4k 2>/dev/null; truncate -s -8K %s", filler, filler);
	for (int i = 0; i < 300; i++)
		dfix_exec(&F);
	dfix_pump(&F, 500);
	cr_assert(dfix_wait_log(&F, "No space left on device", 1, 5000), "%s", eu_agent_stderr(F.a));
	dfix_sh("rm %s", filler);
	struct dfix_match m = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	size_t lines, bad = 0, before = file_records(out, &m, &lines, &bad);
	deadline = dfix_now_ms() + 10000;
	while (file_records(out, &m, &lines, &bad) <= before && dfix_now_ms() < deadline) {
		dfix_exec(&F);
		dfix_pump(&F, 200);
	}
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	size_t size;
	char *text = eu_test_read_file(out, &size);
	cr_assert(text && size > 0);
	cr_assert_null(memchr(text, '\0', size), "NUL bytes in the file (%zu bytes, first at %td)",
		       size, (char *)memchr(text, '\0', size) - text);
	free(text);
	bad = 0;
	size_t after = file_records(out, &m, &lines, &bad);
	cr_assert_gt(after, before, "no records after space was freed: %s", eu_agent_stderr(F.a));
	cr_assert_eq(bad, 0, "every line whole JSON");
	umount2(mnt, MNT_DETACH);
}

/* The lines of every generation of path (path, path.N, path.N.gz) that are exec records of
 * our binary. */
static size_t records_in_generations(const char *path, size_t *bad)
{
	char cmd[512], *text = NULL;
	snprintf(cmd, sizeof(cmd), "zcat -f %s %s.* 2>/dev/null; true", path, path);
	cr_assert_eq(eu_run_capture((const char *const[]){"/bin/sh", "-c", cmd, NULL}, 30000, &text),
		     0);
	struct dfix_match m = {.package = "bootstrap", .filename = F.bin, .exit_event = 0};
	size_t n = dfix_count_records_in(text ? text : "", &m, 0, NULL, bad);
	free(text);
	return n;
}

/* compress: true and rotated files that cannot be compressed (their .N.gz.tmp is in the
 * way): they stay plain generations, shifted like compressed ones (not overwritten at the
 * next rotation), and are compressed once that works again. Every record written is in some
 * generation. */
Test(daemon_sinks, failed_compression_keeps_the_generation)
{
	char out[200], cfg[200], text[600], blocker[260];
	snprintf(out, sizeof(out), "%s/events.jsonl", F.root);
	snprintf(cfg, sizeof(cfg), "%s/agent.yaml", F.root);
	snprintf(blocker, sizeof(blocker), "%s.{1,2,3,4,5,6,7,8}.gz.tmp", out);
	snprintf(text, sizeof(text),
		 "sinks:\n  - type: file\n    path: %s\n    max_size: 16k\n    keep: 8\n"
		 "    compress: true\n", out);
	FILE *f = fopen(cfg, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
	/* gzip cannot create its temporary files */
	dfix_sh("bash -c 'mkdir -p %s'", blocker);
	dfix_sh("cp %s %s/boot.json", BOOTSTRAP_PKG, F.watch);
	dfix_start(&F, (const char *[]){"--config", cfg, "--api", "none", NULL});
	cr_assert(dfix_wait_log(&F, "programs attached", 1, 15000), "%s", eu_agent_stderr(F.a));
	int64_t deadline = dfix_now_ms() + 30000;
	char gen3[220];
	snprintf(gen3, sizeof(gen3), "%s.3", out);
	while (access(gen3, F_OK) && dfix_now_ms() < deadline) {
		for (int i = 0; i < 10; i++)
			dfix_exec(&F);
		dfix_pump(&F, 100);
	}
	cr_assert_eq(access(gen3, F_OK), 0, "no third plain generation: %s", eu_agent_stderr(F.a));
	cr_assert(strstr(eu_agent_stderr(F.a), "cannot compress"), "%s", eu_agent_stderr(F.a));
	/* compression works again: the plain generations are compressed at the next rotation */
	dfix_sh("bash -c 'rmdir %s'", blocker);
	char gz3[230];
	snprintf(gz3, sizeof(gz3), "%s.4.gz", out);
	deadline = dfix_now_ms() + 30000;
	while (access(gz3, F_OK) && dfix_now_ms() < deadline) {
		for (int i = 0; i < 10; i++)
			dfix_exec(&F);
		dfix_pump(&F, 100);
	}
	cr_assert_eq(access(gz3, F_OK), 0, "the old plain generations were not compressed");
	cr_assert_eq(eu_agent_stop(F.a, 15000), 0, "%s", eu_agent_stderr(F.a));
	char plain_left[220];
	snprintf(plain_left, sizeof(plain_left), "%s.2", out);
	cr_assert_neq(access(plain_left, F_OK), 0, "%s is still plain", plain_left);
	char sink[220];
	snprintf(sink, sizeof(sink), "file:%s", out);
	uint64_t written = stat_of(eu_agent_stderr(F.a), sink, "written ");
	uint64_t rotations = stat_of(eu_agent_stderr(F.a), sink, "rotations ");
	cr_assert_leq(rotations, 8, "more rotations than kept files: the test must not lose "
		      "generations by design");
	size_t bad = 0, have = records_in_generations(out, &bad);
	cr_assert_eq(bad, 0);
	/* every line written is an exec or exit record of some process; ours must all be there:
	 * compare every line instead */
	char cmd[512], *all = NULL;
	snprintf(cmd, sizeof(cmd), "zcat -f %s %s.* 2>/dev/null | wc -l", out, out);
	cr_assert_eq(eu_run_capture((const char *const[]){"/bin/sh", "-c", cmd, NULL}, 30000, &all),
		     0);
	cr_assert_eq(strtoull(all, NULL, 10), written, "written %llu, lines in all generations %s "
		     "(ours %zu)", (unsigned long long)written, all, have);
	free(all);
}
