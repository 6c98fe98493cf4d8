/* One spool_max_size for the whole spool_dir: the logs' spool and the metrics requests' one
 * (spool_dir/metrics) draw on one budget, so the directory never holds twice the cap. Real
 * files on disk, through the spool's own API. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eu_agent.h"
#include "eu_test.h"
#include "sinks/otlp/otlp.h"
#include "sinks/otlp/otlp_priv.h"

static int write_one(struct eu_otlp_spool *s, const char *payload, eu_error *err)
{
	struct eu_otlp_scoped_record r = {"scope", "1", payload, strlen(payload)};
	return eu_otlp_spool_write(s, eu_otlp_spool_reserve(s), &r, 1, err);
}

Test(otlp_spool_cap, logs_and_metrics_share_one_budget)
{
	char dir[] = "/tmp/eu-spool-cap-XXXXXX";
	cr_assert(mkdtemp(dir));
	char mdir[64];
	snprintf(mdir, sizeof(mdir), "%s/metrics", dir);
	char payload[400];
	memset(payload, 'x', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';

	/* measure one batch file, then cap the directory at 1.5 of them */
	struct eu_otlp_spool *probe = NULL;
	eu_error err = {0};
	char pdir[64];
	snprintf(pdir, sizeof(pdir), "%s/probe", dir);
	cr_assert_eq(eu_otlp_spool_open(pdir, 0, false, &probe, &err), 0, "%s", err.msg);
	cr_assert_eq(write_one(probe, payload, &err), 0, "%s", err.msg);
	uint64_t one = eu_otlp_spool_bytes(probe);
	eu_otlp_spool_close(probe);
	cr_assert_gt(one, sizeof(payload));

	struct eu_otlp_spool *logs = NULL, *metrics = NULL;
	cr_assert_eq(eu_otlp_spool_open(dir, one * 3 / 2, false, &logs, &err), 0, "%s", err.msg);
	cr_assert_eq(eu_otlp_spool_open(mdir, one * 3 / 2, false, &metrics, &err), 0, "%s",
		     err.msg);
	eu_otlp_spool_share_cap(logs, metrics);
	cr_assert_eq(write_one(logs, payload, &err), 0, "%s", err.msg);
	/* alone the metrics spool has room; together the directory would pass the cap */
	cr_expect_eq(write_one(metrics, payload, &err), -ENOSPC, "a second batch was spooled");
	cr_expect(strstr(err.msg, "logs and metrics together"), "%s", err.msg);
	cr_expect_eq(eu_otlp_spool_bytes(metrics), 0);
	/* and the other way round: the logs' spool counts what the metrics' one holds */
	eu_otlp_spool_close(logs);
	cr_assert_eq(eu_otlp_spool_open(dir, one * 3 / 2, false, &logs, &err), 0, "%s", err.msg);
	cr_expect_eq(eu_otlp_spool_bytes(logs), one, "the logs' batch file is still on disk");
	eu_otlp_spool_share_cap(logs, metrics);
	cr_expect_eq(write_one(logs, payload, &err), -ENOSPC);
	eu_otlp_spool_close(logs); /* either may close first */
	cr_expect_eq(write_one(metrics, payload, &err), 0, "%s", err.msg);
	eu_otlp_spool_close(metrics);
	char *out = NULL;
	eu_run_capture((const char *const[]){"/bin/rm", "-rf", dir, NULL}, 10000, &out);
	free(out);
}
