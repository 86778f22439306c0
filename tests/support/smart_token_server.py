"""A SMART Backend Services token endpoint on loopback, strict like a real one: it checks the
client's JWT assertion (signature with the registered public key, RS384/ES384 only, iss = sub =
client id, aud = this endpoint, a lifetime of at most 5 minutes, a jti never seen before) and
hands out random access tokens, each written with its expiry to a file the test FHIR server
reads (FHIR_TOKENS_FILE), so only a token issued here opens the FHIR server."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class TokenEndpoint:
    def __init__(self, tokens_file: Path, client_id: str, public_key: Any, key_id: str,
                 lifetime: int = 300) -> None:
        self.tokens_file = tokens_file
        self.client_id = client_id
        self.public_key = public_key
        self.key_id = key_id
        self.lifetime = lifetime
        self.issued: list[str] = []
        self.refusals: list[str] = []
        self.seen_jti: set[str] = set()
        self.scopes: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                status, body = endpoint.answer(self.headers.get("Content-Type", ""), form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/auth/token"

    def answer(self, content_type: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        def refuse(code: str, why: str) -> tuple[int, dict[str, Any]]:
            self.refusals.append(why)
            return (401 if code == "invalid_client" else 400), {
                "error": code, "error_description": why}

        if not content_type.startswith("application/x-www-form-urlencoded"):
            return refuse("invalid_request", "form encoding expected")
        if form.get("grant_type") != "client_credentials":
            return refuse("unsupported_grant_type", "client_credentials expected")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            return refuse("invalid_request", "jwt-bearer assertion expected")
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("kid") != self.key_id:
                return refuse("invalid_client", "unknown kid")
            claims = jwt.decode(assertion, self.public_key, algorithms=["RS384", "ES384"],
                                audience=self.url, issuer=self.client_id,
                                options={"require": ["exp", "iss", "sub", "aud", "jti"]})
        except jwt.PyJWTError as error:
            return refuse("invalid_client", f"assertion rejected: {error}")
        if claims["sub"] != self.client_id:
            return refuse("invalid_client", "sub must be the client id")
        if claims["exp"] - time.time() > 300:
            return refuse("invalid_client", "assertion lives longer than 5 minutes")
        if claims["jti"] in self.seen_jti:
            return refuse("invalid_client", "assertion replayed")
        self.seen_jti.add(claims["jti"])
        token = secrets.token_urlsafe(24)
        with self.tokens_file.open("a", encoding="utf-8") as out:
            out.write(f"{token} {time.time() + self.lifetime}\n")
        self.issued.append(token)
        self.scopes.append(form.get("scope", ""))
        return 200, {"access_token": token, "token_type": "bearer",
                     "expires_in": self.lifetime, "scope": form.get("scope", "")}

    def revoke_all(self) -> None:
        self.tokens_file.write_text("", encoding="utf-8")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
