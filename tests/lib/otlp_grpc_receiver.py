#!/usr/bin/python3
"""A real OTLP/gRPC receiver on 127.0.0.1 for the exporter tests (gRPC's own server, grpcio).

The services are built from the official .proto files of the repository (proto/, compiled
with protoc --python_out into WORK), so every request is decoded by the protobuf runtime,
not by our code. Each call appends one JSON line to WORK/calls.jsonl:
  {"service": "logs"|"metrics", "answer": "OK"|CODE, "metadata": {...},
   "peer": "ipv4:127.0.0.1:PORT" (the client's end of the connection the call came on),
   "request": <the request as JSON, proto field names>}
and is answered from the script (--script, comma-separated, one step per call, then OK):
  ok                  OK with an empty response
  partial:N:TEXT      OK with partial_success (N rejected, error_message TEXT)
  CODE                that status code by name (unavailable, resource_exhausted, ...)
  CODE/retry:MS       the same with google.rpc.RetryInfo(retry_delay=MS) in
                      grpc-status-details-bin
With --no-record (a benchmark's receiver) a call is not decoded: its line holds only
  {"service", "answer", "bytes": <size of the serialized request>}
so the calls can still be counted; grpcio's Python server decodes ~30k records/s, slower
than the agent sends, and the records waiting for it would grow the agent's queue (heap
growth the agent would not pay with a real collector) in the figure measured.
Prints "PORT <n>" on stdout once listening; runs until killed.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf import any_pb2, duration_pb2, json_format


def compile_protos(proto_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    protos = glob.glob(os.path.join(proto_dir, "opentelemetry", "**", "*.proto"),
                       recursive=True)
    subprocess.run(["protoc", "-I", proto_dir, "--python_out=" + out_dir] + protos,
                   check=True)
    sys.path.insert(0, out_dir)


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def status_with_retry_info(code, message, delay_ms):
    """google.rpc.Status{code, message, details=[Any(RetryInfo{retry_delay})]} by hand:
    googleapis-common-protos is not in Debian's python3-grpcio."""
    d = duration_pb2.Duration(seconds=delay_ms // 1000, nanos=(delay_ms % 1000) * 1000000)
    retry_info = field_bytes(1, d.SerializeToString())
    a = any_pb2.Any(type_url="type.googleapis.com/google.rpc.RetryInfo", value=retry_info)
    return (varint(1 << 3 | 0) + varint(code) + field_bytes(2, message.encode()) +
            field_bytes(3, a.SerializeToString()))


class Receiver:
    def __init__(self, work, script, record=True):
        self.record = record
        self.lock = threading.Lock()
        self.out = open(os.path.join(work, "calls.jsonl"), "a", buffering=1)
        self.script = [s for s in script.split(",") if s] if script else []

    def next_step(self):
        with self.lock:
            return self.script.pop(0) if self.script else "ok"

    def handle(self, service, request, context, response_cls, partial_field):
        step = self.next_step()
        answer = "OK"
        response = response_cls()
        if step.startswith("partial:"):
            _, n, text = step.split(":", 2)
            ps = response.partial_success
            setattr(ps, partial_field, int(n))
            ps.error_message = text
        elif step != "ok":
            name, _, extra = step.partition("/")
            code = getattr(grpc.StatusCode, name.upper())
            answer = code.name
            details = "injected " + code.name.lower()
            if extra.startswith("retry:"):
                delay = int(extra[len("retry:"):])
                context.set_trailing_metadata([(
                    "grpc-status-details-bin",
                    status_with_retry_info(code.value[0], details, delay))])
            context.set_code(code)
            context.set_details(details)
        if not self.record:
            line = {"service": service, "answer": answer, "bytes": len(request)}
            with self.lock:
                self.out.write(json.dumps(line) + "\n")
            return response
        line = {
            "service": service,
            "answer": answer,
            "metadata": {k: v for k, v in context.invocation_metadata()
                         if not k.endswith("-bin")},
            "peer": context.peer(),
            "request": json_format.MessageToDict(request, preserving_proto_field_name=True),
        }
        with self.lock:
            self.out.write(json.dumps(line) + "\n")
        return response


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("proto_dir")
    ap.add_argument("work")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--script", default="")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--no-record", action="store_true")
    a = ap.parse_args()
    compile_protos(a.proto_dir, os.path.join(a.work, "py"))
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics

    rx = Receiver(a.work, a.script, not a.no_record)

    def decoder(cls):
        # a benchmark's receiver keeps the serialized request: it is not looked at
        return cls.FromString if rx.record else None

    def export_logs(req, ctx):
        return rx.handle("logs", req, ctx, logs.ExportLogsServiceResponse,
                         "rejected_log_records")

    def export_metrics(req, ctx):
        return rx.handle("metrics", req, ctx, metrics.ExportMetricsServiceResponse,
                         "rejected_data_points")

    handlers = [
        grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.logs.v1.LogsService",
            {"Export": grpc.unary_unary_rpc_method_handler(
                export_logs,
                request_deserializer=decoder(logs.ExportLogsServiceRequest),
                response_serializer=logs.ExportLogsServiceResponse.SerializeToString)}),
        grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.metrics.v1.MetricsService",
            {"Export": grpc.unary_unary_rpc_method_handler(
                export_metrics,
                request_deserializer=decoder(metrics.ExportMetricsServiceRequest),
                response_serializer=metrics.ExportMetricsServiceResponse.SerializeToString)}),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=handlers)
    addr = "127.0.0.1:%d" % a.port
    if a.tls:
        with open(a.tls[0], "rb") as f:
            cert = f.read()
        with open(a.tls[1], "rb") as f:
            key = f.read()
        port = server.add_secure_port(addr, grpc.ssl_server_credentials([(key, cert)]))
    else:
        port = server.add_insecure_port(addr)
    if not port:
        sys.exit("cannot listen on " + addr)
    server.start()
    print("PORT %d" % port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
