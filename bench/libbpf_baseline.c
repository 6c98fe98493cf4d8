/* The floor the agent's load times are compared with: a plain libbpf program that opens a
 * BPF object file, loads it and attaches every program, as a user's own loader would.
 *
 *	libbpf_baseline OBJ.bpf.o     (root)
 *
 * Prints "attached in X ms" (open -> every program attached, in-process) to stdout, then
 * exits (detaching). Its exec time is measured by the bench that runs it. */
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: libbpf_baseline OBJ.bpf.o\n");
		return 2;
	}
	libbpf_set_print(silent);
	double t0 = now_ms();
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "libbpf_baseline: cannot open or load %s\n", argv[1]);
		return 1;
	}
	struct bpf_program *prog;
	int n = 0;
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "libbpf_baseline: cannot attach %s\n", bpf_program__name(prog));
			return 1;
		}
		n++;
	}
	printf("attached %d programs in %.3f ms\n", n, now_ms() - t0);
	fflush(stdout);
	bpf_object__close(obj);
	return 0;
}
