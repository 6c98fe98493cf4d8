/* What the daemon and the CLI take from the sink registry instead of naming a sink: the
 * default type, the command-line options plugins' keys declare (stdout's --format) and the
 * usage lines for --sink and those options. */
#include <criterion/criterion.h>

#include <errno.h>
#include <string.h>

#include "eunomia/buf.h"
#include "sinks/sink.h"

Test(sink_options, default_type_is_the_registrys_first)
{
	cr_assert_str_eq(eu_sink_default_type(), "stdout");
	struct eu_sink_config c;
	eu_error err = {0};
	cr_assert_eq(eu_sink_config_init(&c, eu_sink_default_type(), &err), 0, "%s", err.msg);
	cr_assert_str_eq(eu_sink_config_type(&c), "stdout");
	eu_sink_config_free(&c);
}

Test(sink_options, format_is_declared_once_by_stdout)
{
	cr_assert_str_eq(eu_sink_option_at(0), "--format");
	cr_assert_null(eu_sink_option_at(1));
}

Test(sink_options, check_says_what_the_option_takes)
{
	eu_error err = {0};
	cr_assert_eq(eu_sink_option_check("--format", "text", &err), 0, "%s", err.msg);
	cr_assert_eq(eu_sink_option_check("--format", "xml", &err), -EINVAL);
	cr_assert_str_eq(err.msg, "--format takes auto, json or text");
	eu_error none = {0};
	cr_assert_eq(eu_sink_option_check("--format", NULL, &none), -EINVAL);
	cr_assert_str_eq(none.msg, "--format takes auto, json or text");
}

Test(sink_options, apply_sets_the_key_only_where_a_plugin_declares_it)
{
	const struct eu_sink_option o = {.option = "--format", .value = "text"};
	struct eu_sink_config out, file;
	eu_error err = {0};
	cr_assert_eq(eu_sink_config_init(&out, "stdout", &err), 0, "%s", err.msg);
	cr_assert_eq(eu_sink_config_from_spec("file:/tmp/x.jsonl", &file, &err), 0, "%s", err.msg);
	cr_assert_null(eu_sink_config_get(&out, "format"));
	cr_assert_eq(eu_sink_config_apply_option(&out, &o, &err), 0, "%s", err.msg);
	cr_assert_str_eq(eu_sink_config_get(&out, "format"), "text");
	struct eu_sink_config before;
	cr_assert_eq(eu_sink_config_copy(&before, &file), 0);
	cr_assert_eq(eu_sink_config_apply_option(&file, &o, &err), 0, "%s", err.msg);
	cr_assert(eu_sink_config_equal(&before, &file), "a file sink was changed by --format");
	eu_sink_config_free(&before);
	eu_sink_config_free(&file);
	eu_sink_config_free(&out);
}

Test(sink_options, usage_lists_every_type_and_option)
{
	eu_buf b;
	eu_buf_init(&b);
	eu_sink_usage(&b);
	cr_assert_not_null(strstr(b.data, "  --sink TYPE[:ARG]     stdout (default), file:PATH, "
					  "otlp[:ENDPOINT]; repeatable"), "%s", b.data);
	cr_assert_not_null(strstr(b.data, "\n  --format FORMAT       sets `format` of every stdout "
					  "sink: auto, json or text"), "%s", b.data);
	/* wrapped under the 24-column gutter, no line past 86 columns */
	for (const char *l = b.data; *l;) {
		size_t n = strcspn(l, "\n");
		cr_assert_leq(n, 86, "%.*s", (int)n, l);
		if (l != b.data && strncmp(l, "  --", 4))
			cr_assert_eq(strspn(l, " "), 24, "%.*s", (int)n, l);
		l += n + (l[n] == '\n');
	}
	eu_buf_free(&b);
}
