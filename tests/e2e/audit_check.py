#!/usr/bin/env python3
"""audit_check.py: an independent check of an Airlock audit log.

Written from docs/formats/audit.md alone, with hashlib and the
`cryptography` package and no code of Airlock's, so that the end-to-end
tests do not trust `airlock audit verify` to check itself. It checks the
chain (each record's HASH over its fields 1 to 11, each PREV the HASH of
the record before, sequence numbers without gaps) and every checkpoint
(made by the certificate's key, its signature over fields 1 to 5, its
HASH that of the record it names, which comes before it).

Usage: audit_check.py LOG AUDIT-CERT.pem
Prints one line per problem and a summary; exits 0 when the log checks
out, 1 when a problem was found, 2 on a usage error or unreadable input.
"""
import base64
import hashlib
import re
import sys

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

GENESIS = "0" * 64
HEX64 = re.compile(rb"^[0-9a-f]{64}$")
SEQ = re.compile(rb"^[1-9][0-9]{0,18}$")
TIME = re.compile(rb"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
WORD = re.compile(rb"^[a-z0-9-]{1,48}$")
B64 = re.compile(rb"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
MAX_LINE = 32768


def main(argv):
    if len(argv) != 3:
        print("usage: audit_check.py LOG AUDIT-CERT.pem", file=sys.stderr)
        return 2
    log_path, cert_path = argv[1], argv[2]
    try:
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(log_path, "rb") as f:
            data = f.read()
    except (OSError, ValueError) as e:
        print(f"audit_check: {e}", file=sys.stderr)
        return 2
    key = cert.public_key()
    key_sha = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()

    problems = []

    def problem(lineno, what):
        problems.append(f"{log_path}:{lineno}: {what}")

    lines = data.split(b"\n")
    if lines[-1] != b"":
        problem(len(lines), "the last line has no LF")
    lines = lines[:-1]

    hashes_by_seq = {}
    first = last = None
    prev_hash = None
    checkpoints = good = 0
    last_signed = 0
    for n, line in enumerate(lines, 1):
        if len(line) + 1 > MAX_LINE:
            problem(n, "line too long")
            continue
        if any(b < 0x20 and b != 0x09 for b in line) or 0x7F in line:
            problem(n, "a control byte in the line")
        f = line.split(b"\t")
        if f[0] == b"R":
            if len(f) != 12:
                problem(n, f"a record with {len(f)} fields")
                continue
            if not SEQ.match(f[1]) or not TIME.match(f[2]):
                problem(n, "bad SEQ or TIME")
                continue
            if not (f[3] == b"-" or HEX64.match(f[3])) or not WORD.match(f[5]) \
                    or not WORD.match(f[6]) or f[7] not in (b"ok", b"refused", b"failed"):
                problem(n, "bad ACTOR-SHA256, ROLE, ACTION or OUTCOME")
            if not HEX64.match(f[10]) or not HEX64.match(f[11]):
                problem(n, "bad PREV or HASH")
                continue
            seq = int(f[1])
            computed = hashlib.sha256(b"\t".join(f[:11]) + b"\n").hexdigest()
            if computed != f[11].decode():
                problem(n, f"record {seq}: HASH does not match its fields")
            if first is None:
                first = seq
                if seq == 1 and f[10].decode() != GENESIS:
                    problem(n, "record 1: PREV is not the genesis value")
            elif seq != last + 1:
                problem(n, f"record {seq} follows record {last}")
                if seq <= last:
                    continue
            elif f[10].decode() != prev_hash:
                problem(n, f"record {seq}: PREV is not the HASH of record {last}")
            last = seq
            prev_hash = f[11].decode()
            hashes_by_seq[seq] = prev_hash
        elif f[0] == b"C":
            checkpoints += 1
            if len(f) != 6 or not SEQ.match(f[1]) or not HEX64.match(f[2]) \
                    or not TIME.match(f[3]) or not HEX64.match(f[4]) \
                    or not f[5] or not B64.match(f[5]):
                problem(n, "a malformed checkpoint")
                continue
            seq = int(f[1])
            if f[4].decode() != key_sha:
                problem(n, f"checkpoint {seq}: made by another key")
                continue
            tbs = b"\t".join(f[:5]) + b"\n"
            sig = base64.b64decode(f[5], validate=True)
            try:
                if isinstance(key, rsa.RSAPublicKey):
                    key.verify(sig, tbs, padding.PKCS1v15(), hashes.SHA256())
                elif isinstance(key, ec.EllipticCurvePublicKey):
                    key.verify(sig, tbs, ec.ECDSA(hashes.SHA256()))
                else:
                    problem(n, "the certificate's key is neither RSA nor EC")
                    continue
            except InvalidSignature:
                problem(n, f"checkpoint {seq}: the signature does not verify")
                continue
            if seq not in hashes_by_seq:
                problem(n, f"checkpoint {seq}: its record is not before it in the log")
                continue
            if hashes_by_seq[seq] != f[2].decode():
                problem(n, f"checkpoint {seq}: HASH differs from the record's")
                continue
            good += 1
            last_signed = max(last_signed, seq)
        else:
            problem(n, "neither a record nor a checkpoint")

    if first is None:
        problem(0, "no record")
    elif good == 0:
        problem(0, "no checkpoint verifies")
    for p in problems:
        print(p)
    if first is not None:
        print(f"{log_path}: records {first} to {last}, {checkpoints} checkpoints "
              f"({good} good), last signed record {last_signed}")
        if last_signed and last_signed < last:
            print(f"{log_path}: warning: records {last_signed + 1} to {last} "
                  "come after the last checkpoint")
        if first > 1:
            print(f"{log_path}: note: starts at record {first}; its PREV is not checked")
    print(f"{log_path}: {'FAILED, %d problems' % len(problems) if problems else 'OK'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
