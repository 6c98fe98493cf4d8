#!/usr/bin/python3
"""A registry token service for tests, as Docker Hub's and GHCR's work: GET /token?service=S
&scope=repository:NAME:ACTIONS with HTTP Basic credentials answers {"token": JWT}, an RS256
JWT whose x5c header carries the certificate the registry trusts (its rootcertbundle).
Usage: token_server.py PORT KEY.pem CERT.pem USER:PASSWORD ISSUER SERVICE"""
import base64, json, sys, time, uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

port, key_file, cert_file, cred, issuer, service = sys.argv[1:7]
key = open(key_file, "rb").read()
cert = x509.load_pem_x509_certificate(open(cert_file, "rb").read())
x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlparse(self.path)
        q = parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        given = base64.b64decode(auth[6:]).decode() if auth.startswith("Basic ") else None
        if url.path != "/token" or given != cred:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"details":"bad credentials"}')
            return
        access = []
        for scope in q.get("scope", []):
            kind, name, actions = scope.split(":", 2)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": issuer, "sub": cred.split(":")[0], "aud": q.get("service", [service])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()),
                  "access": access}
        token = jwt.encode(claims, key, algorithm="RS256", headers={"x5c": [x5c]})
        body = json.dumps({"token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
