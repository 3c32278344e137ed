#!/usr/bin/env python3
"""Writes the hostile bundle corpus (see README.md beside this file).

Usage: make-corpus.py --work W --out DIR [--table expected.txt]

W is an e2e work directory laid out as tests/e2e/daemon.sh leaves it
(examples/people/NAME.key.pem, pins/NAME, out/NAME.pem, recipient.pem)
plus the extra people t_hostile.sh enrols. DIR gets one file per row of
the table (the case's name), and base-*.cms: bundles that must be
accepted (the scenario submits them before and after the corpus).

Every case is one builder below, registered under its table name; a row
without a builder, or a builder without a row, is an error, so the table
and the corpus never drift apart.
"""
import argparse
import datetime
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import uuid
import zipfile
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

OPERATOR_EKU = "2.25.120470460270521614068996707519230144129.1.2"
NOW = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
BUILDERS = {}


def case(name):
    def reg(fn):
        BUILDERS[name] = fn
        return fn
    return reg


class Env:
    """Paths, signing and encryption with the work directory's keys."""

    def __init__(self, work, out):
        self.w, self.out = work, out
        self.tmp = tempfile.mkdtemp(dir=out, prefix=".tmp")
        self.n = 0

    def cert(self, who):
        for d in ("out", "late", "rogue"):
            p = os.path.join(self.w, d, who + ".pem")
            if os.path.exists(p):
                return p
        raise SystemExit("no certificate for " + who)

    def key(self, who):
        p = os.path.join(self.w, "rogue", who + ".key.pem")
        return p if os.path.exists(p) else \
            os.path.join(self.w, "examples", "people", who + ".key.pem")

    def _file(self, data):
        self.n += 1
        p = os.path.join(self.tmp, "f%d" % self.n)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def openssl(self, *args, data):
        r = subprocess.run(["openssl", "cms", *args, "-in", self._file(data)],
                           capture_output=True, check=False)
        if r.returncode != 0:
            raise SystemExit("openssl cms %s: %s" % (args[0], r.stderr.decode()))
        return r.stdout

    def sign(self, data, who="frank", *extra, signers=None):
        args = ["-sign", "-binary", "-outform", "DER"]
        if "-detach" not in extra:
            args.append("-nodetach")
        if "-md" not in extra:
            args += ["-md", "sha256"]
        for s in signers or [who]:
            args += ["-signer", self.cert(s), "-inkey", self.key(s)]
            pin = os.path.join(self.w, "pins", s)
            if os.path.exists(pin):
                args += ["-passin", "file:" + pin]
        return self.openssl(*args, *[e for e in extra if e != "-detach"], data=data)

    def encrypt(self, data, cipher="-aes-256-cbc", recip=None):
        return self.openssl("-encrypt", "-binary", cipher, "-outform", "DER", "-recip",
                            recip or os.path.join(self.w, "out", "appliance-transport-2026.pem"),
                            data=data)

    def recipient(self):
        with open(os.path.join(self.w, "recipient.pem"), "rb") as f:
            return f.read()


# --- ZIP: a raw writer, so that a case can lie in any header field -------------

def zraw(entries, tail=b"", cd_count=None, cd_offset_delta=0):
    """entries: dicts with name (bytes|str), data, and optionally method
    (0|8|12), flags, unix (mode bits: made on Unix), usize/csize (claimed),
    extra (bytes). Returns the archive's bytes."""
    local, central = b"", b""
    for e in entries:
        name = e["name"].encode() if isinstance(e["name"], str) else e["name"]
        data = e.get("data", b"")
        method = e.get("method", 8)
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            body = c.compress(data) + c.flush()
        else:
            body = data
        crc = zlib.crc32(data)
        usize, csize = e.get("usize", len(data)), e.get("csize", len(body))
        extra, flags = e.get("extra", b""), e.get("flags", 0)
        made = (3 << 8 | 20) if "unix" in e else 20
        attr = e["unix"] << 16 if "unix" in e else 0
        off = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21,
                             crc, csize, usize, len(name), len(extra)) + name + extra + body
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, made, 20, flags, method,
                               0, 0x21, crc, csize, usize, len(name), len(extra), 0, 0, 0,
                               attr, off) + name + extra
    n = len(entries) if cd_count is None else cd_count
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central),
                       len(local) + cd_offset_delta, 0)
    return local + central + eocd + tail


def zfiles(files, **kw):
    """A plain archive of (name, data) pairs, regular files made on Unix."""
    return zraw([{"name": n, "data": d, "unix": 0o100644} for n, d in files], **kw)


# --- manifests -------------------------------------------------------------------

MAC_N = [0]


def mac_range(count=2, start=None):
    """A fresh MAC range per case, so that no two cases share a name."""
    MAC_N[0] += 1
    s = start or "00:aa:01:00:%02x:00" % MAC_N[0]
    return '  mode: mac-range\n  start: "%s"\n  count: %d\n' % (s, count)


SMPB = "  format: smpb\n  chain: separate\n  results_log: csv\n  recipient: recipient.pem\n"
PEMZIP = "  format: pem-zip\n  chain: separate\n  results_log: csv\n"


def manifest(name, inp=None, out=SMPB, profile="docsis-3.1-cm", bid=None):
    return ("airlock_bundle: 1\nkind: request\nid: %s\ncreated: %s\nbatch:\n"
            "  name: Hostile %s\nprofile: %s\ninput:\n%soutput:\n%s" %
            (bid or uuid.uuid4(), NOW, name, profile, inp or mac_range(), out))


def revocation(body="reason: keyCompromise\nmessage: \"hostile case\"\n"
               "targets:\n  - serial 0123456789abcdef\n"):
    return "airlock_bundle: 1\nkind: revocation\nid: %s\ncreated: %s\n%s" % (
        uuid.uuid4(), NOW, body)


def mac_bundle(env, name, m=None, who="frank"):
    """The ordinary mac-range bundle: manifest m (or the default) and the
    recipient, signed by who."""
    files = [("manifest.yaml", (m or manifest(name)).encode()),
             ("recipient.pem", env.recipient())]
    return env.sign(zfiles(files), who)


def manifest_only(env, text, who="frank"):
    return env.sign(zfiles([("manifest.yaml", text.encode() if isinstance(text, str)
                             else text)]), who)


# --- CSRs and CSV ---------------------------------------------------------------------

def csr(cn, key=None, mutate=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    der = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])).sign(
            key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    return mutate(bytearray(der)) if mutate else der


def csr_bundle(env, name, reqs, profile="tls-device", out=PEMZIP, bid=None):
    """A csr-mode bundle with reqs: (file name, bytes) under csr/."""
    m = manifest(name, "  mode: csr\n  directory: csr/\n", out, profile, bid)
    return env.sign(zfiles([("manifest.yaml", m.encode())] +
                           [("csr/" + n, d) for n, d in reqs]))


def csv_bundle(env, name, text, profile="docsis-3.1-cm"):
    m = manifest(name, "  mode: csv\n  file: devices.csv\n", profile=profile)
    return env.sign(zfiles([("manifest.yaml", m.encode()), ("recipient.pem", env.recipient()),
                            ("devices.csv", text)]))


def flip(der, i):
    der[i] ^= 0x55
    return bytes(der)


# --- the bundles that must be accepted -------------------------------------------------

BASE_ID = str(uuid.uuid4())
BASE = {}


def base_bundles(env):
    """base-issued: one tls-device CSR (the scenario has it issued);
    base-pending: a mac-range batch left pending; base-after: a valid
    bundle made like the cases, dropped after the corpus."""
    BASE.update({
        "base-issued.cms": csr_bundle(env, "base issued",
                                      [("held.csr", csr("hostile-held.devices.example.com"))]),
        "base-pending.cms": mac_bundle(env, "base pending", manifest(
            "base pending", mac_range(4, "00:aa:00:00:00:00"), bid=BASE_ID)),
        "base-after.cms": mac_bundle(env, "base after"),
    })
    return BASE


# --- the cases: stage envelope ---------------------------------------------------------

@case("empty")
def _(env):
    return b""


@case("not-cms")
def _(env):
    return b"This is not a bundle at all.\n" * 20


@case("bare-zip")
def _(env):
    return zfiles([("manifest.yaml", manifest("bare").encode())])


@case("pem-garbage")
def _(env):
    return b"-----BEGIN CMS-----\n!!!! this is not base64 ****\n-----END CMS-----\n"


@case("pem-wrong-label")
def _(env):
    with open(env.cert("frank"), "rb") as f:
        return f.read()


@case("pem-trailing-text")
def _(env):
    import base64
    b64 = base64.encodebytes(mac_bundle(env, "pem trailing"))
    return b"-----BEGIN CMS-----\n" + b64 + b"-----END CMS-----\nrm -rf /\n"


@case("der-truncated")
def _(env):
    b = mac_bundle(env, "truncated")
    return b[:len(b) // 2]


@case("der-trailing-bytes")
def _(env):
    return mac_bundle(env, "trailing") + b"\0" * 16


@case("der-wrong-tag")
def _(env):
    b = bytearray(mac_bundle(env, "wrong tag"))
    i = b.find(b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02")  # the signedData OID
    b[i] = 0x04  # an OCTET STRING where the content type's OID must be
    return bytes(b)


@case("der-huge-length")
def _(env):
    # A SEQUENCE claiming 2^31-1 bytes (and an inner one claiming 4 GiB).
    return b"\x30\x84\x7f\xff\xff\xff\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02" \
        b"\xa0\x88\x00\x00\x00\x01\x00\x00\x00\x00" + b"\0" * 64


@case("der-deep-nesting")
def _(env):
    # 10,000 nested indefinite-length SEQUENCEs, then their end markers.
    return b"\x30\x80" * 10000 + b"\0\0" * 10000


@case("der-data-not-signed")
def _(env):
    return env.openssl("-data_create", "-binary", "-outform", "DER",
                       data=zfiles([("manifest.yaml", b"x")]))


@case("detached-signature")
def _(env):
    return env.sign(zfiles([("manifest.yaml", manifest("detached").encode())]), "frank",
                    "-detach")


@case("tampered-content")
def _(env):
    b = bytearray(mac_bundle(env, "tampered"))
    b[b.find(b"Hostile tampered")] ^= 0x20
    return bytes(b)


@case("signer-cert-absent")
def _(env):
    return env.sign(zfiles([("manifest.yaml", manifest("nocerts").encode())]), "frank",
                    "-nocerts")


@case("digest-sha1")
def _(env):
    return env.sign(zfiles([("manifest.yaml", manifest("sha1").encode())]), "frank",
                    "-md", "sha1")


@case("two-signers")
def _(env):
    return env.sign(zfiles([("manifest.yaml", manifest("two").encode())]),
                    signers=["frank", "mallory"])


@case("signer-self-signed")
def _(env):
    return mac_bundle(env, "self-signed", who="mallory")


@case("signer-rogue-people-ca")
def _(env):
    return mac_bundle(env, "rogue ca", who="frank-forged")


@case("signer-officer-request")
def _(env):
    return mac_bundle(env, "officer", who="gina")


@case("signer-auditor")
def _(env):
    return mac_bundle(env, "auditor", who="carol")


@case("signer-expired")
def _(env):
    return mac_bundle(env, "expired", who="kate")


@case("encrypted-aes128")
def _(env):
    return env.encrypt(mac_bundle(env, "aes128"), "-aes-128-cbc")


@case("encrypted-other-recipient")
def _(env):
    return env.encrypt(mac_bundle(env, "other recipient"),
                       recip=os.path.join(env.w, "recipient.pem"))


@case("encrypted-corrupt")
def _(env):
    b = bytearray(env.encrypt(mac_bundle(env, "corrupt")))
    for i in range(len(b) - 40, len(b) - 8):
        b[i] ^= 0xA5
    return bytes(b)


@case("encrypted-twice")
def _(env):
    return env.encrypt(env.encrypt(mac_bundle(env, "twice")))


@case("encrypted-bare-zip")
def _(env):
    return env.encrypt(zfiles([("manifest.yaml", manifest("enc bare").encode())]))


# --- stage signer ----------------------------------------------------------------------

@case("signer-unenrolled")
def _(env):
    return mac_bundle(env, "unenrolled", who="judy")


@case("signer-revoked")
def _(env):
    return mac_bundle(env, "revoked", who="henry")


@case("signer-locked")
def _(env):
    return mac_bundle(env, "locked", who="ivan")


# --- stage archive ---------------------------------------------------------------------

def arc(env, name, entries, **kw):
    """A signed archive of the normal manifest and recipient plus entries."""
    base = [{"name": "manifest.yaml", "data": manifest(name).encode(), "unix": 0o100644},
            {"name": "recipient.pem", "data": env.recipient(), "unix": 0o100644}]
    return env.sign(zraw(base + entries, **kw))


@case("zip-not-a-zip")
def _(env):
    return env.sign(os.urandom(4096))


@case("zip-corrupt-central-directory")
def _(env):
    return arc(env, "corrupt cd", [], cd_offset_delta=7)


@case("zip-entry-count-lies")
def _(env):
    return arc(env, "count lies", [], cd_count=9)


@case("zip-data-after-end")
def _(env):
    return arc(env, "after end", [], tail=b"hidden payload after the archive")


@case("zip-size-points-past-data")
def _(env):
    # notes.txt's headers claim 1 MiB of compressed data; 512 bytes follow.
    return arc(env, "csize lies", [{"name": "notes.txt", "data": os.urandom(512),
                                    "method": 0, "csize": 1 << 20, "usize": 1 << 20,
                                    "unix": 0o100644}])


@case("zip-too-many-entries")
def _(env):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("manifest.yaml", manifest("many"))
        for i in range(100001):
            z.writestr("d/%x" % i, b"")
    return env.sign(buf.getvalue())


@case("zip-entry-over-size")
def _(env):
    return arc(env, "entry size", [{"name": "big.bin", "data": b"x" * 1000,
                                    "usize": 40 << 20, "method": 0, "csize": 1000}])


@case("zip-total-over-size")
def _(env):
    # Nine entries each within 32 MiB and 100:1 by their headers, 270 MiB in all.
    return arc(env, "total size", [{"name": "part%d.bin" % i, "data": os.urandom(320 << 10),
                                    "usize": 30 << 20} for i in range(9)])


@case("zip-bomb-ratio")
def _(env):
    return arc(env, "bomb", [{"name": "zeros.bin", "data": b"\0" * (20 << 20)}])


@case("zip-size-header-lies")
def _(env):
    # manifest.yaml's header gives its true length; it inflates to 20 MiB more.
    m = manifest("lying size").encode()
    return env.sign(zraw([{"name": "manifest.yaml", "data": m + b"\n" * (20 << 20),
                           "usize": len(m), "unix": 0o100644},
                          {"name": "recipient.pem", "data": env.recipient(), "unix": 0o100644}]))


@case("zip-absolute-path")
def _(env):
    return arc(env, "absolute", [{"name": "/etc/cron.d/evil", "data": b"x", "unix": 0o100644}])


@case("zip-dotdot")
def _(env):
    return arc(env, "dotdot", [{"name": "csr/../../evil", "data": b"x", "unix": 0o100644}])


@case("zip-symlink")
def _(env):
    return arc(env, "symlink", [{"name": "evil", "data": b"/etc/shadow", "unix": 0o120777}])


@case("zip-fifo-entry")
def _(env):
    return arc(env, "fifo", [{"name": "pipe", "data": b"", "unix": 0o010644}])


@case("zip-duplicate-name")
def _(env):
    return arc(env, "duplicate", [{"name": "manifest.yaml", "data": b"airlock_bundle: 1\n",
                                   "unix": 0o100644}])


@case("zip-case-collision")
def _(env):
    return arc(env, "case", [{"name": "Recipient.PEM", "data": b"x", "unix": 0o100644}])


@case("zip-nul-in-name")
def _(env):
    return arc(env, "nul name", [{"name": b"recipient.pem\0.exe", "data": b"x",
                                  "unix": 0o100644}])


@case("zip-non-utf8-name")
def _(env):
    return arc(env, "utf8 name", [{"name": b"caf\xe9.txt", "data": b"x", "unix": 0o100644}])


@case("zip-control-in-name")
def _(env):
    return arc(env, "control", [{"name": "a\x1b[2Jb", "data": b"x", "unix": 0o100644}])


@case("zip-backslash-name")
def _(env):
    return arc(env, "backslash", [{"name": "..\\..\\evil", "data": b"x", "unix": 0o100644}])


@case("zip-overlong-name")
def _(env):
    return arc(env, "long name", [{"name": "n" * 300, "data": b"x", "unix": 0o100644}])


@case("zip-too-deep")
def _(env):
    return arc(env, "deep", [{"name": "a/" * 12 + "f", "data": b"x", "unix": 0o100644}])


@case("zip-encrypted-entry")
def _(env):
    return arc(env, "encrypted", [{"name": "secret", "data": b"x", "flags": 1,
                                   "unix": 0o100644}])


@case("zip-bzip2-method")
def _(env):
    return arc(env, "bzip2", [{"name": "x.bz2", "data": b"BZh9", "method": 12,
                               "unix": 0o100644}])


@case("zip-unicode-path-extra")
def _(env):
    other = b"../evil"
    extra = struct.pack("<HHB", 0x7075, 5 + len(other), 1) + \
        struct.pack("<I", zlib.crc32(b"notes.txt")) + other
    return arc(env, "unicode path", [{"name": "notes.txt", "data": b"x", "extra": extra,
                                      "unix": 0o100644}])


@case("zip-unnamed-entry")
def _(env):
    return arc(env, "unnamed", [{"name": "notes.txt", "data": b"not in the manifest",
                                 "unix": 0o100644}])


@case("zip-no-manifest")
def _(env):
    return env.sign(zfiles([("recipient.pem", env.recipient())]))


# --- stage manifest ----------------------------------------------------------------------

def m_case(env, name, old, new):
    """The normal bundle with one edit of its manifest."""
    m = manifest(name)
    assert old in m, old
    return mac_bundle(env, name, m.replace(old, new, 1))


@case("manifest-unknown-key")
def _(env):
    return m_case(env, "unknown key", "profile:", "priority: high\nprofile:")


@case("manifest-missing-key")
def _(env):
    return m_case(env, "missing key", "profile: docsis-3.1-cm\n", "")


@case("manifest-wrong-type")
def _(env):
    return m_case(env, "wrong type", "count: 2", "count: two")


@case("manifest-duplicate-key")
def _(env):
    return m_case(env, "duplicate key", "profile: docsis-3.1-cm\n",
                  "profile: docsis-3.1-cm\nprofile: docsis-3.0-cm\n")


@case("manifest-bad-version")
def _(env):
    return m_case(env, "bad version", "airlock_bundle: 1", "airlock_bundle: 2")


@case("manifest-bad-kind")
def _(env):
    return m_case(env, "bad kind", "kind: request", "kind: payload")


@case("manifest-bad-id")
def _(env):
    return mac_bundle(env, "bad id", manifest("bad id", bid="1; DROP TABLE bundle"))


@case("manifest-alias-bomb")
def _(env):
    return m_case(env, "alias", "batch:\n", "x: &a [1, 2]\ny: [*a, *a, *a]\nbatch:\n")


@case("manifest-tag")
def _(env):
    return m_case(env, "tag", "count: 2", "count: !!python/object:os.system 2")


@case("manifest-deep-nesting")
def _(env):
    return m_case(env, "deep", "batch:\n", "nest: " + "[" * 200 + "]" * 200 + "\nbatch:\n")


@case("manifest-nul-byte")
def _(env):
    return m_case(env, "nul", "Hostile nul", "Hostile nul\0hidden")


@case("manifest-non-utf8")
def _(env):
    m = manifest("nonutf8").encode().replace(b"Hostile nonutf8", b"Hostile \xff\xfe")
    return env.sign(zfiles([("manifest.yaml", m), ("recipient.pem", env.recipient())]))


@case("manifest-overlong-scalar")
def _(env):
    return m_case(env, "overlong", "Hostile overlong", "Hostile " + "A" * 5000)


@case("manifest-two-documents")
def _(env):
    m = manifest("two docs")
    return mac_bundle(env, "two docs", m + "---\n" + m)


@case("manifest-control-in-name")
def _(env):
    return m_case(env, "control", "Hostile control", '"Hostile \\e[31mred"')


@case("manifest-bad-created")
def _(env):
    return m_case(env, "created", "created: " + NOW, "created: yesterday")


@case("manifest-p12-password-unencrypted")
def _(env):
    m = manifest("p12 clear", out="  format: pkcs12\n  chain: separate\n  results_log: csv\n"
                 "  pkcs12:\n    password: \"correct horse battery\"\n")
    return manifest_only(env, m)


@case("manifest-p12-password-short")
def _(env):
    m = manifest("p12 short", out="  format: pkcs12\n  chain: separate\n  results_log: csv\n"
                 "  pkcs12:\n    password: \"abc\"\n")
    return env.encrypt(manifest_only(env, m))


@case("manifest-smpb-no-recipient")
def _(env):
    return manifest_only(env, manifest("no recipient", out=SMPB.replace(
        "  recipient: recipient.pem\n", "")))


@case("manifest-recipient-not-in-archive")
def _(env):
    return manifest_only(env, manifest("recipient missing"))


@case("manifest-recipient-wrong-format")
def _(env):
    return mac_bundle(env, "recipient pemzip", manifest("recipient pemzip",
                      out=PEMZIP + "  recipient: recipient.pem\n"))


@case("manifest-mac-overflow")
def _(env):
    return mac_bundle(env, "overflow", manifest("overflow",
                      mac_range(100, "fe:ff:ff:ff:ff:f0")))


@case("manifest-mac-multicast")
def _(env):
    return mac_bundle(env, "multicast", manifest("multicast",
                      mac_range(2, "01:00:5e:00:00:01")))


@case("manifest-bad-increment")
def _(env):
    return m_case(env, "increment", "count: 2\n", "count: 2\n  increment: 0\n")


@case("manifest-count-zero")
def _(env):
    return m_case(env, "count zero", "count: 2", "count: 0")


@case("manifest-count-over-max")
def _(env):
    return m_case(env, "count max", "count: 2", "count: 500001")


@case("manifest-pkcs12-with-csr")
def _(env):
    m = manifest("p12 csr", "  mode: csr\n  directory: csr/\n",
                 "  format: pkcs12\n  chain: separate\n  results_log: csv\n"
                 "  pkcs12:\n    password: \"correct horse battery\"\n", "tls-device")
    z = zfiles([("manifest.yaml", m.encode()), ("csr/a.csr", csr("a.devices.example.com"))])
    return env.encrypt(env.sign(z))


# --- stage profile -----------------------------------------------------------------------

@case("profile-unknown")
def _(env):
    return m_case(env, "unknown profile", "profile: docsis-3.1-cm", "profile: no-such-profile")


@case("profile-legacy-disabled")
def _(env):
    return m_case(env, "legacy", "profile: docsis-3.1-cm", "profile: docsis-3.0-cm")


@case("profile-not-authorised")
def _(env):
    return m_case(env, "unauthorised", "profile: docsis-3.1-cm", "profile: hostile-no-frank")


@case("profile-over-max-batch")
def _(env):
    return mac_bundle(env, "max batch", manifest("max batch", mac_range(6),
                      profile="hostile-small"))


# --- stage input ---------------------------------------------------------------------------

@case("csr-bad-signature")
def _(env):
    return csr_bundle(env, "csr sig", [("bad.der", csr("bad.devices.example.com",
                                                       mutate=lambda d: flip(d, len(d) - 5)))])


@case("csr-weak-rsa1024")
def _(env):
    return csr_bundle(env, "csr 1024", [("w.der", csr(
        "weak.devices.example.com", rsa.generate_private_key(65537, 1024)))])


@case("csr-wrong-key-type")
def _(env):
    return csr_bundle(env, "csr ec", [("ec.der", csr("00:aa:02:00:00:01"))],
                      profile="docsis-3.1-cm")


@case("csr-truncated-der")
def _(env):
    return csr_bundle(env, "csr cut", [("cut.der", csr("cut.devices.example.com")[:60])])


@case("csr-huge-length")
def _(env):
    return csr_bundle(env, "csr huge", [("huge.der", b"\x30\x84\x7f\xff\xff\xff" +
                                         b"\x30" * 200)])


@case("csr-deep-nesting")
def _(env):
    return csr_bundle(env, "csr deep", [("deep.der", b"\x30\x80" * 5000 + b"\0\0" * 5000)])


@case("csr-pem-garbage")
def _(env):
    return csr_bundle(env, "csr pem", [("g.pem", b"-----BEGIN CERTIFICATE REQUEST-----\n"
                                        b"@@@@ not base64 @@@@\n"
                                        b"-----END CERTIFICATE REQUEST-----\n")])


@case("csr-duplicate-subject")
def _(env):
    return csr_bundle(env, "csr dup", [("a.der", csr("twin.devices.example.com")),
                                       ("b.der", csr("twin.devices.example.com"))])


@case("csv-errors-line-field")
def _(env):
    return csv_bundle(env, "csv errors", b"mac,country\r\n00:aa:03:00:00:01,DE\r\n"
                      b"00:aa:03:00:00:02,Germany\r\nnot-a-mac,FR\r\n")


@case("csv-unknown-column")
def _(env):
    return csv_bundle(env, "csv column", b"mac,shoe_size\n00:aa:03:00:01:01,44\n")


@case("csv-overlong-line")
def _(env):
    return csv_bundle(env, "csv long", b"mac,common_name\n00:aa:03:00:02:01," +
                      b"x" * 9000 + b"\n")


@case("csv-nul-byte")
def _(env):
    return csv_bundle(env, "csv nul", b"mac,locality\n00:aa:03:00:03:01,Ham\0burg\n")


@case("csv-non-utf8")
def _(env):
    return csv_bundle(env, "csv utf8", b"mac,locality\n00:aa:03:00:04:01,K\xf6ln\n")


@case("csv-unterminated-quote")
def _(env):
    return csv_bundle(env, "csv quote", b"mac,locality\n00:aa:03:00:05:01,\"Hamburg\n")


@case("csv-empty")
def _(env):
    return csv_bundle(env, "csv empty", b"")


@case("csv-duplicate-mac")
def _(env):
    return csv_bundle(env, "csv dup", b"mac\n00:aa:03:00:06:01\n00-AA-03-00-06-01\n")


@case("csv-over-max-batch")
def _(env):
    return csv_bundle(env, "csv max", b"mac\n" + b"".join(
        b"00:aa:03:00:08:%02x\n" % i for i in range(6)), profile="hostile-small")


# --- stage output ------------------------------------------------------------------------

@case("manifest-plaintext-keys")
def _(env):
    return manifest_only(env, manifest("plain keys", out=PEMZIP))


@case("output-plaintext-keys")
def _(env):
    m = manifest("csv plain", "  mode: csv\n  file: devices.csv\n", PEMZIP)
    return env.sign(zfiles([("manifest.yaml", m.encode()),
                            ("devices.csv", b"mac\n00:aa:03:00:07:01\n")]))


@case("output-recipient-not-a-cert")
def _(env):
    return env.sign(zfiles([
        ("manifest.yaml", manifest("recipient junk").encode()),
        ("recipient.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")]))


@case("output-recipient-ec")
def _(env):
    with open(env.cert("frank"), "rb") as f:
        ec_cert = f.read()
    return env.sign(zfiles([("manifest.yaml", manifest("recipient ec").encode()),
                            ("recipient.pem", ec_cert)]))


# --- stages replay and records ---------------------------------------------------------

@case("replay-same-id")
def _(env):
    return mac_bundle(env, "replay id", manifest("replay id", bid=BASE_ID))


@case("replay-same-digest")
def _(env):
    return BASE["base-pending.cms"]


@case("over-size-limit")
def _(env):
    return 600 << 20  # a sparse file past the 512 MiB limit: never read


@case("held-by-certificate")
def _(env):
    return csr_bundle(env, "held cert", [("h.der", csr("hostile-held.devices.example.com"))])


@case("held-by-pending-batch")
def _(env):
    return mac_bundle(env, "held pending", manifest("held pending",
                      mac_range(2, "00:aa:00:00:00:02")))


# --- revocation requests ---------------------------------------------------------------

@case("revoke-unknown-serial")
def _(env):
    return manifest_only(env, revocation())


@case("revoke-bad-reason")
def _(env):
    return manifest_only(env, revocation("reason: stolen\nmessage: \"x\"\n"
                                         "targets:\n  - serial 0a\n"))


@case("revoke-bad-target")
def _(env):
    return manifest_only(env, revocation("reason: superseded\nmessage: \"x\"\n"
                                         "targets:\n  - everything\n"))


@case("revoke-no-target")
def _(env):
    return manifest_only(env, revocation("reason: superseded\nmessage: \"x\"\n"))


@case("revoke-invalidity-after-created")
def _(env):
    return manifest_only(env, revocation("reason: keyCompromise\nmessage: \"x\"\n"
                                         "invalidity_date: 2099-01-01T00:00:00Z\n"
                                         "targets:\n  - serial 0a\n"))


@case("revoke-targets-file-bad-lines")
def _(env):
    m = revocation("reason: superseded\nmessage: \"x\"\ntargets_file: targets.txt\n")
    t = b"# from the plant\nserial 0a\nserial 00\nmac zz:zz\nserial " + b"f" * 5000 + b"\n"
    return env.sign(zfiles([("manifest.yaml", m.encode()), ("targets.txt", t)]))


@case("revoke-targets-file-nul")
def _(env):
    m = revocation("reason: superseded\nmessage: \"x\"\ntargets_file: targets.txt\n")
    return env.sign(zfiles([("manifest.yaml", m.encode()),
                            ("targets.txt", b"serial 0a\nserial 0b\0serial 0c\n")]))


@case("revoke-extra-entry")
def _(env):
    return env.sign(zfiles([("manifest.yaml", revocation().encode()),
                            ("recipient.pem", env.recipient())]))


@case("revoke-by-auditor")
def _(env):
    return manifest_only(env, revocation(), who="carol")


@case("revoke-unknown-ca")
def _(env):
    return manifest_only(env, revocation("reason: superseded\nmessage: \"x\"\n"
                                         "targets:\n  - serial 0a ca nowhere\n"))


# --- main ------------------------------------------------------------------------------------

def rogues(env):
    """mallory: a self-signed operator certificate; frank-forged: Frank's
    name and role from a CA that copies the people CA's name."""
    d = os.path.join(env.w, "rogue")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(env.w, "out", "people-ca.pem"), "rb") as f:
        people = x509.load_pem_x509_certificate(f.read())
    with open(env.cert("frank"), "rb") as f:
        frank = x509.load_pem_x509_certificate(f.read())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    eku = x509.ExtendedKeyUsage([x509.ObjectIdentifier(OPERATOR_EKU)])
    for who, subject, issuer, signer in (
            ("mallory", x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mallory")]),
             None, None),
            ("frank-forged", frank.subject, people.subject, ca_key)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = x509.CertificateBuilder().subject_name(subject).issuer_name(
            issuer or subject).public_key(key.public_key()).serial_number(
            x509.random_serial_number()).not_valid_before(
            now - datetime.timedelta(days=1)).not_valid_after(
            now + datetime.timedelta(days=30)).add_extension(eku, critical=False).sign(
            signer or key, hashes.SHA256())
        with open(os.path.join(d, who + ".pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(os.path.join(d, who + ".key.pem"), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))


def read_table(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) != 4:
                raise SystemExit("%s:%d: want NAME, STAGE, PATTERN, ATTACK separated by tabs"
                                 % (path, n))
            rows.append(cols)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--table", default=os.path.join(os.path.dirname(__file__), "expected.txt"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = Env(a.work, a.out)
    rogues(env)
    names = [r[0] for r in read_table(a.table)]
    missing = sorted(set(names) - set(BUILDERS))
    unlisted = sorted(set(BUILDERS) - set(names))
    if missing or unlisted or len(set(names)) != len(names):
        raise SystemExit("table and builders disagree: no builder for %s; no row for %s"
                         % (missing, unlisted))
    for name, data in base_bundles(env).items():
        with open(os.path.join(a.out, name), "wb") as f:
            f.write(data)
    for name in names:
        data = BUILDERS[name](env)
        with open(os.path.join(a.out, name), "wb") as f:
            if isinstance(data, int):
                f.truncate(data)
            else:
                f.write(data)
    shutil.rmtree(env.tmp)
    print("%d cases in %s" % (len(names), a.out))


if __name__ == "__main__":
    sys.exit(main())
