#!/usr/bin/env python3
"""A minimal OTLP/HTTP logs receiver for the fleet rehearsal (scripts/fleet-rehearsal.sh).

Listens on ADDR:PORT (0: any free port; the port is written to STATE.ready once listening), accepts POST /v1/logs and /v1/metrics (protobuf, optionally gzip) and
answers 200 with an empty ExportLogsServiceResponse. For every ResourceLogs it reads the
resource's string attributes (host.name, k8s.node.name, ...), counts the LogRecords and finds
the marker strings (FLEET_MARKER_RE) inside them. What it saw is kept in a JSON state file,
rewritten after every request and loaded again at start, so a killed and restarted receiver
keeps counting.

The protobuf is walked by hand (no generated code): the few field numbers used are from the
OpenTelemetry protocol's collector/logs/v1, logs/v1, resource/v1 and common/v1 messages:
  ExportLogsServiceRequest.resource_logs = 1
  ResourceLogs.resource = 1, .scope_logs = 2;  ScopeLogs.log_records = 2
  Resource.attributes = 1;  KeyValue.key = 1, .value = 2;  AnyValue.string_value = 1,
  .array_value = 5 (ArrayValue.values = 1), .kvlist_value = 6 (KeyValueList.values = 1)
  LogRecord.body = 5, .attributes = 6
"""
import argparse
import gzip
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FLEET_MARKER_RE = re.compile(r"eu_fleet_[0-9a-z_]+$")


def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf):
    """(field number, wire type, value) for each field of one message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield num, wt, v


def any_strings(anyvalue, out):
    """Every string inside an AnyValue (arrays and kvlists included)."""
    for num, wt, v in fields(anyvalue):
        if wt != 2:
            continue
        if num == 1:
            out.append(v.decode("utf-8", "replace"))
        elif num in (5, 6):
            for n2, w2, v2 in fields(v):
                if n2 == 1 and w2 == 2:
                    kv_or_any_strings(v2, num == 6, out)


def kv_or_any_strings(buf, is_kv, out):
    if not is_kv:
        any_strings(buf, out)
        return
    for n, w, v in fields(buf):
        if n == 2 and w == 2:
            any_strings(v, out)


def record_markers(rec):
    strings = []
    for num, wt, v in fields(rec):
        if num == 5 and wt == 2:
            any_strings(v, strings)
        elif num == 6 and wt == 2:
            kv_or_any_strings(v, True, strings)
    found = set()
    for s in strings:
        m = FLEET_MARKER_RE.search(s)
        if m:
            found.add(m.group(0))
    return found


def resource_attrs(resource):
    attrs = {}
    for num, wt, kv in fields(resource):
        if num != 1 or wt != 2:
            continue
        key, val = None, None
        for n2, w2, v2 in fields(kv):
            if n2 == 1 and w2 == 2:
                key = v2.decode("utf-8", "replace")
            elif n2 == 2 and w2 == 2:
                for n3, w3, v3 in fields(v2):
                    if n3 == 1 and w3 == 2:
                        val = v3.decode("utf-8", "replace")
        if key is not None and val is not None:
            attrs[key] = val
    return attrs


def parse_logs(body):
    """[(resource attributes, number of log records, set of markers)]"""
    out = []
    for num, wt, rl in fields(body):
        if num != 1 or wt != 2:
            continue
        attrs, n, markers = {}, 0, set()
        for n2, w2, v2 in fields(rl):
            if n2 == 1 and w2 == 2:
                attrs = resource_attrs(v2)
            elif n2 == 2 and w2 == 2:
                for n3, w3, rec in fields(v2):
                    if n3 == 2 and w3 == 2:
                        n += 1
                        markers |= record_markers(rec)
        out.append((attrs, n, markers))
    return out


class State:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.data = {"requests": 0, "bad": 0, "metrics_requests": 0, "hosts": {}}
        if os.path.exists(path):
            with open(path) as f:
                self.data = json.load(f)

    def add(self, parsed):
        with self.lock:
            self.data["requests"] += 1
            for attrs, n, markers in parsed:
                h = self.data["hosts"].setdefault(attrs.get("host.name", "?"), {
                    "records": 0, "markers": [], "attributes": {}})
                h["records"] += n
                h["markers"] = sorted(set(h["markers"]) | markers)
                h["attributes"].update(attrs)
            self.save()

    def bump(self, key):
        with self.lock:
            self.data[key] += 1
            self.save()

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding", "") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/logs":
                try:
                    state.add(parse_logs(body))
                except (ValueError, IndexError):
                    state.bump("bad")
                    self.answer(400)
                    return
            elif self.path == "/v1/metrics":
                state.bump("metrics_requests")
            else:
                self.answer(404)
                return
            self.answer(200)

        def answer(self, status):
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="0.0.0.0")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state", required=True)
    a = ap.parse_args()
    state = State(a.state)
    srv = ThreadingHTTPServer((a.addr, a.port), make_handler(state))
    srv.daemon_threads = True
    # the port it listens on (--port 0: a free one), once it listens
    with open(a.state + ".ready.tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(a.state + ".ready.tmp", a.state + ".ready")
    srv.serve_forever()


if __name__ == "__main__":
    main()
