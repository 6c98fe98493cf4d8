#!/usr/bin/python3
"""Reads an OTLP/HTTP JSON request body with the official protobuf runtime (python3-protobuf's
json_format, into the message classes protoc generates from the repository's proto/), strictly:
a key that is not a field of the message or a value of the wrong type is an error. Writes the
message as protobuf, for `protoc --decode` and the same checks the http/protobuf tests make.
(json_format reads bytes as base64, so a traceId/spanId, hex in OTLP, would not come out
right; the agent's records carry none.)

usage: otlp_json_decode.py PROTO_DIR WORK logs|metrics IN.json OUT.pb
Exit status 0, or 1 with the parser's complaint on stderr.
"""
import os
import sys

from google.protobuf import json_format

from otlp_grpc_receiver import compile_protos


def main():
    proto_dir, work, signal, src, dst = sys.argv[1:6]
    compile_protos(proto_dir, os.path.join(work, "py"))
    if signal == "logs":
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as svc
        msg = svc.ExportLogsServiceRequest()
    else:
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc
        msg = svc.ExportMetricsServiceRequest()
    with open(src, encoding="utf-8") as f:
        text = f.read()
    try:
        json_format.Parse(text, msg)
    except json_format.ParseError as e:
        sys.exit("not an OTLP %s request in JSON: %s" % (signal, e))
    with open(dst, "wb") as f:
        f.write(msg.SerializeToString())


if __name__ == "__main__":
    main()
