/* ecc's <bpf/bpf_helpers.h>: libbpf's installed header, then what newer libbpf versions added to it
 * and the installed one lacks (eu_bpf_compat.h). No include guard of its own: the installed
 * header has one and every section of eu_bpf_compat.h runs once. */
#include_next <bpf/bpf_helpers.h>
#include "../eu_bpf_compat.h"
