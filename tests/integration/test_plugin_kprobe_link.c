/* kprobe-link (kprobe + kretprobe, no export): where kprobes work it attaches and stays until
 * SIGINT; on a kernel without kprobes (this one) it must fail at once with a non-zero exit
 * and a message that says so, leaving nothing attached. */
#include <criterion/criterion.h>
#include <string.h>

#include "eu_agent.h"
#include "eunomia/features.h"

#define PKG EU_TESTBPF_BUILD_DIR "/kprobe_link/package.json"

Test(plugin_kprobe_link, runs_or_fails_clearly)
{
	struct eu_features f;
	eu_features_init(&f);
	bool kprobes = eu_features_has(&f, EU_FEATURE_KPROBES);

	struct eu_agent *a = eu_agent_start(PKG, NULL);
	cr_assert(a);
	if (kprobes) {
		cr_assert(eu_agent_wait_attached(a, 20000), "not attached: %s", eu_agent_stderr(a));
		cr_expect_eq(eu_agent_stop(a, 10000), 0);
	} else {
		int code = eu_agent_wait_exit(a, 20000);
		cr_assert_neq(code, -2, "still running without kprobes; stderr:\n%s",
			      eu_agent_stderr(a));
		cr_expect_neq(code, 0, "exit status 0 without kprobes");
		const char *err = eu_agent_stderr(a);
		cr_expect(strstr(err, "kprobe"), "the message does not mention kprobes:\n%s", err);
		cr_expect(strstr(err, "do_unlinkat"), "the message does not name the program:\n%s",
			  err);
		cr_expect(!strstr(err, EU_AGENT_ATTACHED_MARK " "), "claims to be attached:\n%s", err);
	}
	eu_agent_free(a);
}
