/* Counters as OTLP monotonic cumulative Sums, and gauges as Gauges, in an
 * ExportMetricsServiceRequest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h"

#include "otlp.h"
#include "otlp_priv.h"

typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;
typedef Opentelemetry__Proto__Metrics__V1__Sum Sum;
typedef Opentelemetry__Proto__Metrics__V1__Gauge Gauge;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint Point;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

int eu_otlp_metrics_wrap(const void *resource, size_t resource_len, const char *scope_name,
			 const char *scope_version, Metric **metrics, size_t n, eu_buf *out)
{
	Opentelemetry__Proto__Common__V1__InstrumentationScope scope;
	opentelemetry__proto__common__v1__instrumentation_scope__init(&scope);
	scope.name = (char *)str_or_empty(scope_name);
	scope.version = (char *)str_or_empty(scope_version);
	Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm;
	opentelemetry__proto__metrics__v1__scope_metrics__init(&sm);
	sm.scope = &scope;
	sm.metrics = metrics;
	sm.n_metrics = n;
	size_t sm_len = opentelemetry__proto__metrics__v1__scope_metrics__get_packed_size(&sm);
	size_t rm_len = eu_pb_len_field_size(1, resource_len) + eu_pb_len_field_size(2, sm_len);
	if (!eu_buf_reserve(out, eu_pb_len_field_size(1, rm_len)))
		return -ENOMEM;
	/* ExportMetricsServiceRequest { ResourceMetrics(1) { resource(1), ScopeMetrics(2) } } */
	eu_pb_put_len_field(out, 1, rm_len);
	eu_pb_put_len_field(out, 1, resource_len);
	eu_buf_append(out, resource, resource_len);
	eu_pb_put_len_field(out, 2, sm_len);
	if (eu_buf_reserve(out, sm_len)) {
		opentelemetry__proto__metrics__v1__scope_metrics__pack(
			&sm, (uint8_t *)out->data + out->len);
		out->len += sm_len;
		out->data[out->len] = '\0';
	}
	return out->oom ? -ENOMEM : 0;
}

int eu_otlp_metrics_request(const void *resource, size_t resource_len, const char *scope_name,
			    const char *scope_version, uint64_t start_unix_nano,
			    uint64_t now_unix_nano, const struct eu_otlp_counter *c, size_t n,
			    eu_buf *out, eu_error *err)
{
	size_t n_attrs = 0;
	for (size_t i = 0; i < n; i++)
		n_attrs += c[i].n_attrs;
	size_t k = n ? n : 1;
	Metric *metrics = calloc(k, sizeof(*metrics));
	Metric **mptr = calloc(k, sizeof(*mptr));
	Sum *sums = calloc(k, sizeof(*sums));
	Gauge *gauges = calloc(k, sizeof(*gauges));
	Point *points = calloc(k, sizeof(*points));
	Point **pptr = calloc(k, sizeof(*pptr));
	KeyValue *kvs = calloc(n_attrs ? n_attrs : 1, sizeof(*kvs));
	AnyValue *vals = calloc(n_attrs ? n_attrs : 1, sizeof(*vals));
	KeyValue **kptr = calloc(n_attrs ? n_attrs : 1, sizeof(*kptr));
	int ret = -ENOMEM;
	if (!metrics || !mptr || !sums || !gauges || !points || !pptr || !kvs || !vals || !kptr)
		goto out;

	size_t nm = 0, na = 0;
	for (size_t i = 0; i < n; i++) {
		Point *p = &points[i];
		opentelemetry__proto__metrics__v1__number_data_point__init(p);
		p->start_time_unix_nano = c[i].gauge ? 0 : start_unix_nano;
		p->time_unix_nano = now_unix_nano;
		p->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
		p->as_int = c[i].value > INT64_MAX ? INT64_MAX : (int64_t)c[i].value;
		p->attributes = &kptr[na];
		for (size_t j = 0; j < c[i].n_attrs; j++, na++) {
			opentelemetry__proto__common__v1__key_value__init(&kvs[na]);
			opentelemetry__proto__common__v1__any_value__init(&vals[na]);
			kvs[na].key = (char *)str_or_empty(c[i].attrs[j].key);
			kvs[na].value = &vals[na];
			vals[na].value_case =
				OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			vals[na].string_value = (char *)str_or_empty(c[i].attrs[j].value);
			kptr[na] = &kvs[na];
		}
		p->n_attributes = c[i].n_attrs;
		pptr[i] = p;
		/* consecutive entries of one name (and kind) are points of one metric */
		if (nm && !strcmp(metrics[nm - 1].name, str_or_empty(c[i].name)) &&
		    c[i].gauge == c[i - 1].gauge) {
			if (c[i].gauge)
				gauges[nm - 1].n_data_points++;
			else
				sums[nm - 1].n_data_points++;
			continue;
		}
		Metric *m = &metrics[nm];
		opentelemetry__proto__metrics__v1__metric__init(m);
		m->name = (char *)str_or_empty(c[i].name);
		m->description = (char *)str_or_empty(c[i].description);
		m->unit = (char *)str_or_empty(c[i].unit);
		if (c[i].gauge) {
			Gauge *g = &gauges[nm];
			opentelemetry__proto__metrics__v1__gauge__init(g);
			m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
			m->gauge = g;
			g->data_points = &pptr[i];
			g->n_data_points = 1;
		} else {
			Sum *s = &sums[nm];
			opentelemetry__proto__metrics__v1__sum__init(s);
			m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
			m->sum = s;
			s->aggregation_temporality =
				OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
			s->is_monotonic = true;
			s->data_points = &pptr[i];
			s->n_data_points = 1;
		}
		mptr[nm] = m;
		nm++;
	}

	ret = eu_otlp_metrics_wrap(resource, resource_len, scope_name, scope_version, mptr, nm,
				   out);
out:
	free(metrics);
	free(mptr);
	free(sums);
	free(gauges);
	free(points);
	free(pptr);
	free(kvs);
	free(vals);
	free(kptr);
	if (ret)
		return eu_error_set(err, ret, "OTLP metrics request: out of memory");
	return 0;
}
