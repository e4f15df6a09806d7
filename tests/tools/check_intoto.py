"""Checks a DSSE envelope holding an in-toto Statement, with tools shipcheck did not write:
the Ed25519 signature over DSSE's PAE (pyca/cryptography), the Statement against the JSON
Schema in tests/data (jsonschema) and against the in-toto project's own Python model
(in-toto-attestation: protobuf parse, then Statement.validate()).

usage: check_intoto.py ENVELOPE PUBLIC_KEY_FILE
Prints the Statement's subject digest; exits 1 with the reason on any failure.
"""
import base64
import json
import pathlib
import sys

import jsonschema
from cryptography.hazmat.primitives.serialization import load_ssh_public_key
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def main() -> int:
    envelope = json.loads(pathlib.Path(sys.argv[1]).read_text())
    key = load_ssh_public_key(pathlib.Path(sys.argv[2]).read_bytes())
    payload = base64.b64decode(envelope["payload"], validate=True)
    if envelope["payloadType"] != "application/vnd.in-toto+json":
        print("wrong payloadType", envelope["payloadType"])
        return 1
    sigs = envelope["signatures"]
    if not sigs:
        print("no signature")
        return 1
    try:
        key.verify(base64.b64decode(sigs[0]["sig"]), pae(envelope["payloadType"], payload))
    except Exception as e:  # InvalidSignature has no message
        print("signature does not verify:", type(e).__name__)
        return 1
    statement = json.loads(payload)
    schema_path = pathlib.Path(__file__).parent.parent / "data/in-toto-statement-v1.schema.json"
    schema = json.loads(schema_path.read_text())
    try:
        jsonschema.validate(statement, schema, format_checker=jsonschema.FormatChecker())
    except jsonschema.ValidationError as e:
        print("schema:", e.message)
        return 1
    pb = json_format.Parse(json.dumps(statement), statement_pb2.Statement())
    try:
        Statement.copy_from_pb(pb).validate()
    except ValueError as e:
        print("in-toto-attestation:", e)
        return 1
    print(statement["subject"][0]["digest"]["sha256"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
