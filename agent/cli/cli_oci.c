/* `pull REF [-o FILE]` and `push FILE REF`: packages and Wasm modules in OCI registries. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_priv.h"
#include "core/file.h"
#include "eunomia/package.h"
#include "fetch/oci.h"

static const char pull_usage[] =
	"Usage: " CLI_NAME " pull REF [-o FILE] [REGISTRY OPTIONS]\n"
	"       " CLI_NAME " push FILE REF [REGISTRY OPTIONS]\n"
	"\n"
	"REF is registry/repository:tag or registry/repository@sha256:DIGEST (Docker Hub names\n"
	"such as docker.io/NAME:TAG too). FILE is a package (package.json), a .tar package or a\n"
	"Wasm module; pull writes the layer's file name (its title) in the current directory\n"
	"unless -o is given, `-o -` writes to stdout. `run REF` runs an image directly.\n"
	"\n"
	"Registry options:\n"
	"  -u, --user USER:PASSWORD   log in with these (default: $EUNOMIA_REGISTRY_USER, then\n"
	"                             the auths of ~/.docker/config.json, as docker login wrote)\n"
	"  --plain-http               http:// instead of https:// (loopback registries always;\n"
	"                             also EUNOMIA_REGISTRY_PLAIN_HTTP=1)\n"
	"  --ca-file FILE             trust this CA for the registry's TLS (also\n"
	"                             EUNOMIA_REGISTRY_CA_FILE)\n";

/* Registry options at argv[*i]; 1 when taken, 0 when not one, -1 on a bad value. */
static int registry_option(int argc, char **argv, int *i, struct eu_oci_opts *o)
{
	bool m = false;
	const char *v;
	if ((v = cli_option_value(argc, argv, i, "--user", &m)) || m ||
	    (v = cli_option_value(argc, argv, i, "-u", &m)) || m) {
		if (!v || !strchr(v, ':')) {
			fprintf(stderr, CLI_NAME ": --user takes USER:PASSWORD\n");
			return -1;
		}
		o->user = v;
		return 1;
	}
	if ((v = cli_option_value(argc, argv, i, "--ca-file", &m)) || m) {
		if (!v) {
			fprintf(stderr, CLI_NAME ": --ca-file takes a file\n");
			return -1;
		}
		o->ca_file = v;
		return 1;
	}
	if (!strcmp(argv[*i], "--plain-http")) {
		o->plain_http = true;
		return 1;
	}
	return 0;
}

static int write_file(const char *path, const void *data, size_t size)
{
	if (!strcmp(path, "-"))
		return fwrite(data, 1, size, stdout) == size && fflush(stdout) == 0 ? 0 : -EIO;
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.part", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	const char *p = data;
	size_t left = size;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			unlink(tmp);
			return -e;
		}
		p += n;
		left -= (size_t)n;
	}
	if (close(fd) || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

/* A layer title is only a file name: never a path that leaves the current directory. */
static const char *safe_title(const char *title)
{
	if (!title || !*title || strchr(title, '/') || !strcmp(title, ".") || !strcmp(title, "..") ||
	    title[0] == '.')
		return NULL;
	return title;
}

int cli_pull(int argc, char **argv)
{
	struct eu_oci_opts o = {.sz = sizeof(o)};
	const char *ref = NULL, *output = NULL;
	for (int i = 0; i < argc; i++) {
		bool m = false;
		const char *v;
		int r = registry_option(argc, argv, &i, &o);
		if (r < 0)
			return CLI_EXIT_USAGE;
		if (r)
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(pull_usage, stdout);
			return CLI_EXIT_OK;
		}
		if ((v = cli_option_value(argc, argv, &i, "-o", &m)) || m ||
		    (v = cli_option_value(argc, argv, &i, "--output", &m)) || m) {
			if (!v) {
				fprintf(stderr, CLI_NAME ": -o takes a file name\n");
				return CLI_EXIT_USAGE;
			}
			output = v;
		} else if (!ref && argv[i][0] != '-') {
			ref = argv[i];
		} else {
			fprintf(stderr, CLI_NAME ": pull: unexpected '%s'\n%s", argv[i], pull_usage);
			return CLI_EXIT_USAGE;
		}
	}
	if (!ref) {
		fprintf(stderr, "%s", pull_usage);
		return CLI_EXIT_USAGE;
	}
	struct eu_oci_blob b;
	eu_error err = {0};
	if (eu_oci_pull(ref, &o, &b, &err)) {
		fprintf(stderr, CLI_NAME ": pull: %s\n", err.msg);
		return CLI_EXIT_FAIL;
	}
	const char *type = eu_oci_media_type_of(b.data, b.size);
	if (!output)
		output = safe_title(b.title);
	if (!output)
		output = type && !strcmp(type, EU_OCI_TYPE_WASM) ? "module.wasm"
			 : type && !strcmp(type, EU_OCI_TYPE_PACKAGE_TAR) ? "package.tar"
									   : "package.json";
	int ret = write_file(output, b.data, b.size);
	if (ret)
		fprintf(stderr, CLI_NAME ": pull: cannot write %s: %s\n", output, strerror(-ret));
	else if (strcmp(output, "-"))
		fprintf(stderr, CLI_NAME ": pulled %s (%zu bytes, %s, manifest %s) into %s\n", ref,
			b.size, b.media_type, b.digest, output);
	eu_oci_blob_free(&b);
	return ret ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_push(int argc, char **argv)
{
	struct eu_oci_opts o = {.sz = sizeof(o)};
	const char *file = NULL, *ref = NULL;
	for (int i = 0; i < argc; i++) {
		int r = registry_option(argc, argv, &i, &o);
		if (r < 0)
			return CLI_EXIT_USAGE;
		if (r)
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(pull_usage, stdout);
			return CLI_EXIT_OK;
		}
		if (argv[i][0] != '-' && !file)
			file = argv[i];
		else if (argv[i][0] != '-' && !ref)
			ref = argv[i];
		else {
			fprintf(stderr, CLI_NAME ": push: unexpected '%s'\n%s", argv[i], pull_usage);
			return CLI_EXIT_USAGE;
		}
	}
	if (!file || !ref) {
		fprintf(stderr, "%s", pull_usage);
		return CLI_EXIT_USAGE;
	}
	void *data = NULL;
	size_t size = 0;
	eu_error err = {0};
	if (eu_file_read(file, EU_PACKAGE_MAX_BYTES, &data, &size, &err)) {
		fprintf(stderr, CLI_NAME ": push: %s\n", err.msg);
		return CLI_EXIT_FAIL;
	}
	const char *slash = strrchr(file, '/');
	char *digest = NULL;
	int ret = eu_oci_push(ref, data, size, slash ? slash + 1 : file, &o, &digest, &err);
	free(data);
	if (ret) {
		fprintf(stderr, CLI_NAME ": push: %s\n", err.msg);
		return CLI_EXIT_FAIL;
	}
	printf("%s@%s\n", ref, digest);
	fprintf(stderr, CLI_NAME ": pushed %s (%zu bytes) as %s@%s\n", file, size, ref, digest);
	free(digest);
	return CLI_EXIT_OK;
}
