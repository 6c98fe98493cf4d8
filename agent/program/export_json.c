/* One record of an export as the JSON line `run --json` prints: shared by the CLI and the
 * runner (runner.h) so that an embedder sees the same bytes. */
#include <errno.h>
#include <stdbool.h>

#include "eunomia/consumer.h"
#include "eunomia/decoder.h"
#include "eunomia/sampler.h"

bool eu_sample_hist_empty(const struct eu_export *exp, const void *value, size_t value_size)
{
	uint64_t slots[256];
	int n = eu_sample_hist_slots(exp, value, value_size, slots, 256);
	if (n < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (slots[i])
			return false;
	return true;
}

int eu_export_format_json(const struct eu_export *exp, const void *key, size_t key_size,
			  const void *data, size_t size, eu_buf *out)
{
	int ret;
	if (eu_export_kind(exp) == EU_EXPORT_SAMPLE) {
		if (eu_sample_hist_empty(exp, data, size))
			return 1;
		if (eu_export_has_stacks(exp))
			return eu_export_format_stacks_sample(exp, key, key_size, data, size, true,
							      out);
		ret = eu_sample_format_json(exp, key, key_size, data, size, out);
	} else {
		const struct eu_plan *plan = eu_export_plan(exp);
		if (!plan)
			return -EINVAL;
		if (eu_export_has_stacks(exp))
			return eu_export_format_stacks_event(exp, data, size, true, NULL, out);
		ret = eu_plan_format_json(plan, data, size, out);
	}
	if (ret == 0)
		eu_buf_putc(out, '\n');
	return ret;
}
