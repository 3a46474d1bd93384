#!/usr/bin/env python3
"""Capture golden outputs of the real sg_persist 1.46 (test tool, not product code).

Every case runs /usr/bin/sg_persist (argv[0] = "sg_persist", LC_ALL=C) in a scratch directory.
When a case talks to a device, the device is the regular file "tape0" and an LD_PRELOAD shim
(sgio_shim.c) answers each SG_IO from the case's scripted responses and logs the CDBs and
data-out bytes the real tool sent. Each case becomes Tests/Fixtures/sg_persist/cases/<name>.json:

  argv        arguments after argv[0]
  env         extra environment variables
  stdin       text fed to stdin (for --transport-id=-)
  files       {name: text} files created in the scratch directory (for --transport-id=file=NAME)
  responses   [{status, host, driver, data (hex), sense (hex), errno}] consumed one per SCSI command
  missing     paths that do not exist (open fails with ENOENT)
  sent        [{cdb (hex), dataOut (hex), dataInLength}] what the real tool sent, in order
  stdout, stderr, exit

Usage: capture.py [--out DIR]      (needs gcc, python3, sg3-utils 1.46)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "cases")
DEV = "tape0"
MISSING = "missing0"

# ---------------------------------------------------------------- builders


def hx(b):
    return bytes(b).hex()


def inq(pdt=1, vendor=b"IBM     ", product=b"ULT3580-TD5     ", rev=b"B170", qual=0, length=36):
    b = bytes([(qual << 5) | pdt, 0x80, 6, 2, 31, 0, 0, 0]) + vendor + product + rev
    return b[:length]


LIO = inq(pdt=0, vendor=b"LIO-ORG ", product=b"FILEIO          ", rev=b"4.0 ")
TAPE = inq()


def be(n, v):
    return (v & ((1 << (8 * n)) - 1)).to_bytes(n, "big")


def keys(gen, ks, addlen=None):
    body = b"".join(be(8, k) for k in ks)
    return be(4, gen) + be(4, len(body) if addlen is None else addlen) + body


def resv(gen, key=None, scope=0, typ=3, addlen=None):
    if key is None:
        return be(4, gen) + be(4, 0 if addlen is None else addlen)
    body = be(8, key) + be(4, 0) + bytes([0, (scope << 4) | typ]) + be(2, 0)
    return be(4, gen) + be(4, 16 if addlen is None else addlen) + body


def caps(b2=0x9D, b3=0x90, b4=0xEA, b5=0x01, length=8):
    return be(2, length) + bytes([b2, b3, b4, b5, 0, 0])


def desc(key, tid, holder=False, atp=False, scope=0, typ=0, rtpi=1, addlen=None):
    flags = (0x02 if atp else 0) | (0x01 if holder else 0)
    st = (scope << 4) | typ if holder else 0
    return (be(8, key) + be(4, 0) + bytes([flags, st]) + be(4, 0) + be(2, rtpi)
            + be(4, len(tid) if addlen is None else addlen) + tid)


def fullstatus(gen, descs, addlen=None):
    body = b"".join(descs)
    return be(4, gen) + be(4, len(body) if addlen is None else addlen) + body


def tid_sas(addr, fmt=0):
    return bytes([(fmt << 6) | 6, 0, 0, 0]) + be(8, addr) + bytes(12)


def tid_fc(wwn, fmt=0):
    return bytes([(fmt << 6) | 0]) + bytes(7) + be(8, wwn) + bytes(8)


def tid_iscsi(text, fmt=1, pad_to=None):
    body = text.encode() + b"\0"
    while len(body) % 4 or len(body) < 20:
        body += b"\0"
    if pad_to:
        body = body.ljust(pad_to, b"\0")
    return bytes([(fmt << 6) | 5, 0]) + be(2, len(body)) + body


def tid_proto(proto, fmt=0, fill=0x11, length=24):
    b = bytearray([fill] * length)
    b[0] = (fmt << 6) | proto
    return bytes(b)


def sense_fixed(key, asc=0, ascq=0, sks=None, info=None, deferred=False, fru=0, bits=0, addlen=10):
    b = bytearray(8 + addlen if addlen >= 10 else 18)
    b[0] = (0x71 if deferred else 0x70) | (0x80 if info is not None else 0)
    b[2] = (key & 0xF) | bits
    if info is not None:
        b[3:7] = be(4, info)
    b[7] = addlen
    b[12] = asc
    b[13] = ascq
    b[14] = fru
    if sks is not None:
        b[15:18] = bytes(sks)
    return bytes(b[:8 + addlen]) if addlen < 10 else bytes(b)


def sense_desc(key, asc=0, ascq=0, descs=b"", deferred=False, byte4=0):
    return bytes([0x73 if deferred else 0x72, key, asc, ascq, byte4, 0, 0, len(descs)]) + descs


def ok(data=None):
    r = {}
    if data is not None:
        r["data"] = hx(data)
    return r


def cc(sense):
    return {"status": 2, "sense": hx(sense)}


def status(s):
    return {"status": s}


UA_PREEMPTED = cc(sense_fixed(6, 0x2A, 0x03))
CONFLICT = status(0x18)

# ---------------------------------------------------------------- cases

CASES = []


def case(name, argv, responses=(), env=None, stdin=None, files=None):
    CASES.append(dict(name=name, argv=list(argv), responses=list(responses), env=env or {},
                      stdin=stdin, files=files or {}))


def syntax_cases():
    case("no-arguments", [])
    case("help", ["-h"])
    case("help-twice", ["-hh"])
    case("help-thrice", ["-h", "-h", "-h"])
    case("help-long", ["--help"])
    case("help-with-device", ["-h", DEV])
    case("version", ["-V"])
    case("version-long", ["--version"])
    case("version-verbose", ["-vV"])
    case("version-and-help", ["-V", "-h"])
    case("version-with-bad-in-out", ["-V", "-i", "-o", DEV])
    case("invalid-short", ["-q", DEV])
    case("invalid-short-x", ["-x", DEV])
    case("invalid-short-colon", ["-:", DEV])
    case("invalid-in-cluster", ["-kq", DEV])
    case("unrecognized-long", ["--foo", DEV])
    case("unrecognized-long-with-value", ["--foo=bar", DEV])
    case("ambiguous-read", ["--read", DEV])
    case("ambiguous-param-a", ["--param-a", DEV])
    case("ambiguous-pre", ["--pre", DEV])
    case("ambiguous-re", ["--re", DEV])
    case("ambiguous-empty-name", ["--=x", DEV])
    case("abbrev-alloc-same-option", ["--alloc=20", "-n", DEV], [ok(keys(1, []))])
    case("abbrev-read-full", ["--read-full", "-n", DEV], [ok(fullstatus(1, []))])
    case("abbrev-rep", ["--rep", "-n", DEV], [ok(caps())])
    case("long-no-argument-allowed", ["--in=3", DEV])
    case("long-no-argument-allowed-abbrev", ["--clea=3", DEV])
    case("long-requires-argument", ["--param-rk"])
    case("short-requires-argument", ["-K"])
    case("short-requires-argument-in-cluster", ["-oGS"])
    case("double-dash", ["-k", "--", DEV], [ok(LIO), ok(keys(1, []))])
    case("double-dash-option-after", ["--", "-k"])
    case("device-before-options", [DEV, "-n", "-k"], [ok(keys(1, []))])
    case("posixly-correct", [DEV, "-k"], env={"POSIXLY_CORRECT": "1"})
    case("lone-dash-device", ["-"])
    case("two-devices", ["a", "b"])
    case("three-devices", ["a", "b", "c"])
    case("device-option-and-argument", ["-d", "a", "b"])
    case("device-option-only", ["-n", "-d", DEV], [ok(keys(1, []))])
    case("device-option-long", ["-n", "--device=" + DEV], [ok(keys(1, []))])
    case("device-option-twice", ["-n", "-d", "x", "-d", DEV], [ok(keys(1, []))])
    case("no-device", ["-i", "-k"])
    case("no-device-out", ["-o", "-G"])
    case("in-and-out", ["-i", "-o", DEV])
    case("out-without-sa", ["-o", DEV])
    case("out-two-sas", ["-o", "-G", "-R", DEV])
    case("out-with-prin-sa", ["-o", "-G", "-k", DEV])
    case("prout-sa-without-out", ["-G", DEV])
    case("prout-sa-without-out-in", ["-i", "-C", DEV])
    case("two-prin-sas", ["-k", "-r", DEV])
    case("same-prin-sa-twice", ["-k", "-k", DEV])
    case("unreg-without-move", ["-o", "-G", "-U", DEV])
    case("rtp-without-move", ["-o", "-G", "-Q", "1", DEV])
    case("rtp-zero-without-move", ["-o", "-G", "-Q", "0", "-n", DEV], [ok()])
    case("unreg-in", ["-U", DEV])
    case("move-without-transport-id", ["-o", "-M", DEV])
    case("move-two-transport-ids", ["-o", "-M", "-X", "sas,5000c50000000001", "-X", "sas,5000c50000000002", DEV])
    case("prin-with-rtp-and-noSA", ["-i", "-Q", "1", DEV])
    for opt, val in [("-K", "zz"), ("-K", ""), ("-S", "g"), ("-S", "-"), ("-T", "x"), ("-T", ""),
                     ("-l", "zz"), ("-l", "2001"), ("-l", "ffffffff"), ("-Q", "10000"), ("-Q", "q"),
                     ("-m", "x"), ("-m", "8193"), ("-m", "9k"), ("-m", "5q"), ("-m", ""), ("-m", "-3"),
                     ("-m", "0x"), ("-X", "zz"), ("-X", "1,2,300"), ("-X", "sas,123"), ("-X", "fcp,1234"),
                     ("-X", "sbp,xyz"), ("-X", "srp,12"), ("-X", "spi,1"), ("-X", "sop,1"),
                     ("-X", "file=/nonexistent/tids")]:
        case("bad-arg%s-%s" % (opt, "".join(c if c.isalnum() else "_" for c in val) or "empty"),
             [opt, val, "-o", "-G", DEV])
    case("bad-arg-long-param-rk", ["--param-rk=q", DEV])
    case("bad-arg-long-alloc", ["--alloc-length=q", DEV])
    case("bad-arg-long-maxlen", ["--maxlen=q", DEV])
    case("bad-arg-first-wins", ["-K", "q", "-S", "q", DEV])
    case("bad-arg-after-getopt-error", ["-q", "-K", "q", DEV])
    case("getopt-error-after-bad-arg", ["-K", "q", "-q", DEV])
    case("extra-arg-and-no-sa", ["-o", "a", "b"])
    case("help-and-extra", ["-h", "a", "b"])
    case("prout-type-warning-reserve", ["-o", "-R", "-K", "1", "-n", DEV], [ok()])
    case("prout-type-warning-release", ["-o", "-L", "-K", "1", "-n", DEV], [ok()])
    case("prout-type-warning-preempt", ["-o", "-P", "-K", "1", "-S", "2", "-n", DEV], [ok()])
    case("prout-type-warning-preempt-abort", ["-o", "-A", "-K", "1", "-S", "2", "-n", DEV], [ok()])
    case("prout-type-no-warning-clear", ["-o", "-C", "-K", "1", "-n", DEV], [ok()])
    case("no-sa-assumes-read-keys", [DEV], [ok(TAPE), ok(keys(3, [0xbac001]))])
    case("no-sa-verbose", ["-v", DEV], [ok(TAPE), ok(keys(3, [0xbac001]))])


def open_cases():
    case("open-missing", [MISSING])
    case("open-missing-no-inquiry", ["-n", MISSING])
    case("open-missing-out", ["-o", "-G", "-S", "1", MISSING])
    case("open-missing-out-no-inquiry", ["-n", "-o", "-G", "-S", "1", MISSING])
    case("open-missing-readonly", ["-n", "-y", "-k", MISSING])
    case("open-missing-readonly-twice", ["-n", "-yy", "-k", MISSING])
    case("open-missing-env-readonly", ["-n", "-k", MISSING], env={"SG_PERSIST_IN_RDONLY": "1"})
    case("open-missing-env-readonly-out", ["-n", "-o", "-C", MISSING], env={"SG_PERSIST_IN_RDONLY": "1"})
    case("open-missing-env-readonly-force-rw", ["-n", "-yy", "-k", MISSING], env={"SG_PERSIST_IN_RDONLY": "1"})
    case("open-missing-verbose", ["-vv", MISSING])


def inquiry_cases():
    for pdt in range(32):
        case("inquiry-pdt-%02x" % pdt, ["-k", DEV], [ok(inq(pdt=pdt)), ok(keys(1, []))])
    case("inquiry-qualifier", ["-k", DEV], [ok(inq(pdt=1, qual=1)), ok(keys(1, []))])
    case("inquiry-nul-in-vendor", ["-k", DEV],
         [ok(inq(vendor=b"AB\0DEFGH", product=b"P\0" + b"x" * 14, rev=b"\0REV")), ok(keys(1, []))])
    case("inquiry-short-20", ["-k", DEV], [ok(inq(length=20)), ok(keys(1, []))])
    case("inquiry-short-4", ["-k", DEV], [ok(inq(length=4)), ok(keys(1, []))])
    case("inquiry-short-3", ["-k", DEV], [ok(inq(length=3)), ok(keys(1, []))])
    case("inquiry-short-3-verbose", ["-v", "-k", DEV], [ok(inq(length=3)), ok(keys(1, []))])
    case("inquiry-empty", ["-k", DEV], [ok(b""), ok(keys(1, []))])
    case("inquiry-check-condition", ["-k", DEV], [cc(sense_fixed(5, 0x24, 0))])
    case("inquiry-unit-attention", ["-k", DEV], [cc(sense_fixed(6, 0x29, 0))])
    case("inquiry-busy", ["-k", DEV], [status(8)])
    case("inquiry-os-error", ["-k", DEV], [{"errno": 5}])
    case("inquiry-os-error-verbose", ["-v", "-k", DEV], [{"errno": 19}])
    case("inquiry-not-ready", ["-o", "-C", "-K", "1", DEV], [cc(sense_fixed(2, 0x04, 0x01))])
    case("no-inquiry", ["-n", "-k", DEV], [ok(keys(1, []))])
    case("no-inquiry-long", ["--no-inquiry", "-k", DEV], [ok(keys(1, []))])


def prin_cases():
    case("read-keys-none", ["-i", "-k", DEV], [ok(LIO), ok(keys(0, []))])
    case("read-keys-one", ["-i", "-k", DEV], [ok(TAPE), ok(keys(1, [0xbac001]))])
    case("read-keys-two", ["--in", "--read-keys", DEV], [ok(LIO), ok(keys(2, [0xbac001, 0xbac999]))])
    case("read-keys-big", ["-k", DEV], [ok(TAPE), ok(keys(0xfffffffe, [0xffffffffffffffff, 0, 1, 0x0123456789abcdef]))])
    case("read-keys-addlen-not-multiple", ["-k", DEV], [ok(TAPE), ok(keys(1, [0xa1, 0xa2], addlen=12))])
    case("read-keys-addlen-beyond-data", ["-k", DEV], [ok(TAPE), ok(keys(1, [0xa1], addlen=32))])
    case("read-keys-addlen-negative", ["-k", DEV], [ok(TAPE), ok(keys(1, [0xa1], addlen=0x80000000))])
    case("read-keys-short-data", ["-k", DEV], [ok(TAPE), ok(b"\0\0\0\x05\0")])
    case("read-keys-empty-data", ["-k", DEV], [ok(TAPE), ok(b"")])
    case("read-keys-alloc-16", ["-k", "-l", "10", DEV], [ok(TAPE), ok(keys(1, [0xa1, 0xa2, 0xa3]))])
    case("read-keys-alloc-4", ["-k", "-l", "4", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-alloc-0", ["-k", "-l", "0", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-maxlen-1k", ["-k", "-m", "1k", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-maxlen-hex", ["-k", "--maxlen=0x20", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-maxlen-h-suffix", ["-k", "-m", "20h", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-maxlen-sum", ["-k", "-m", "3+1k", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-maxlen-kb", ["-k", "-m", "8kb", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-maxlen-kib", ["-k", "-m", "8kib", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-maxlen-comma", ["-k", "-m", "16,5", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-maxlen-times", ["-k", "-m", "4x4", DEV], [ok(TAPE), ok(keys(1, [0xa1]))])
    case("read-keys-hex", ["-k", "-H", DEV], [ok(LIO), ok(keys(2, [0xbac001, 0xbac999]))])
    case("read-keys-hex-none", ["-k", "-H", DEV], [ok(LIO), ok(keys(2, []))])
    case("read-keys-hex-too-large", ["-k", "-H", "-l", "18", DEV], [ok(LIO), ok(keys(2, [1, 2, 3]))])
    case("read-keys-hex-twice", ["-k", "-HH", DEV], [ok(LIO), ok(keys(2, [0xbac001, 0xbac999]))])
    case("read-keys-hex-thrice", ["-k", "-HHH", DEV], [ok(LIO), ok(keys(2, [0xbac001, 0xbac999]))])
    case("read-keys-hex-long-list", ["-k", "-HH", DEV], [ok(LIO), ok(keys(2, list(range(1, 9))))])
    case("read-keys-hex-ascii", ["-k", "-H", DEV], [ok(LIO), ok(keys(2, [0x4142434445464748, 0x7e7f80ff20]))])
    case("read-reservation-none", ["-i", "-r", DEV], [ok(LIO), ok(resv(2))])
    case("read-reservation-held", ["-i", "-r", DEV], [ok(LIO), ok(resv(2, 0xbac001, typ=3))])
    for t in range(16):
        case("read-reservation-type-%x" % t, ["-r", "-n", DEV], [ok(resv(5, 0xa1, typ=t))])
    case("read-reservation-scope", ["-r", "-n", DEV], [ok(resv(5, 0xa1, scope=2, typ=1))])
    case("read-reservation-addlen-8", ["-r", "-n", DEV], [ok(resv(5, 0xa1, typ=1, addlen=8))])
    case("read-reservation-addlen-16-no-data", ["-r", "-n", DEV], [ok(resv(5, addlen=16))])
    case("read-reservation-hex", ["-r", "-H", DEV], [ok(LIO), ok(resv(2, 0xabc, typ=3))])
    case("read-reservation-hex2", ["-r", "-HH", DEV], [ok(LIO), ok(resv(2, 0xabc, typ=3))])
    case("report-capabilities-lio", ["--in", "--report-capabilities", DEV], [ok(LIO), ok(caps(0x1D, 0x90, 0xEA, 0x01))])
    case("report-capabilities-all", ["-c", "-n", DEV], [ok(caps(0xFF, 0xFF, 0xFF, 0xFF))])
    case("report-capabilities-none", ["-c", "-n", DEV], [ok(caps(0, 0, 0, 0))])
    case("report-capabilities-no-tmv", ["-c", "-n", DEV], [ok(caps(0x9D, 0x71, 0xEA, 0x01))])
    case("report-capabilities-hex", ["-c", "-H", "-n", DEV], [ok(caps())])
    case("report-capabilities-bad-length", ["-c", "-n", DEV], [ok(caps(length=7))])
    case("report-capabilities-bad-length-hex", ["-c", "-H", "-n", DEV], [ok(caps(length=0x10) + bytes(range(8)))])
    case("report-capabilities-length-256", ["-c", "-n", DEV], [ok(caps(length=0x108))])
    case("report-capabilities-empty", ["-c", "-n", DEV], [ok(b"")])
    # READ FULL STATUS
    sas_a, sas_b = tid_sas(0x50014050000000a1), tid_sas(0x50014050000000b1)
    case("full-status-transcript-loop", ["-i", "-s", DEV], [ok(LIO), ok(fullstatus(2, [
        desc(0xbac001, sas_a, holder=True, typ=3, rtpi=1), desc(0xbac999, sas_b, rtpi=2)]))])
    case("full-status-transcript-iscsi", ["-i", "-s", DEV], [ok(LIO), ok(fullstatus(2, [
        desc(0xbac001, tid_iscsi("iqn.2026-11.org.testbed:initiator-a,i,0x00023d000001"), holder=True, typ=3),
        desc(0xbac999, tid_iscsi("iqn.2026-11.org.testbed:initiator-b,i,0x00023d000002"))]))])
    case("full-status-none", ["-s", "-n", DEV], [ok(fullstatus(7, []))])
    case("full-status-none-verbose", ["-s", "-n", "-v", DEV], [ok(fullstatus(7, []))])
    case("full-status-iscsi-name", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_iscsi("iqn.1994-05.com.redhat:a", fmt=0))]))])
    case("full-status-iscsi-fmt2", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_iscsi("iqn.x", fmt=2))]))])
    case("full-status-iscsi-fmt3-long", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_iscsi("iqn.2026-11.org.testbed:initiator-b,i,0x00023d000002", fmt=3))]))])
    case("full-status-iscsi-nul-early", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, bytes([0x45, 0, 0, 20]) + b"iqn\0zzzz" + bytes(12))]))])
    case("full-status-sas-small", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_sas(0x12))]))])
    case("full-status-sas-fmt1", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_sas(0x5000c50012345678, fmt=1))]))])
    case("full-status-fcp", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_fc(0x21000024ff123456))]))])
    case("full-status-fcp-fmt2", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_fc(0x21000024ff123456, fmt=2))]))])
    for proto, label in [(1, "spi"), (2, "ssa"), (3, "sbp"), (4, "srp"), (7, "adt"), (8, "ata"), (9, "uas"),
                         (10, "sop"), (11, "pcie"), (12, "c"), (13, "d"), (14, "e"), (15, "none")]:
        case("full-status-proto-%s" % label, ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_proto(proto))]))])
        case("full-status-proto-%s-fmt1" % label, ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_proto(proto, fmt=1, fill=0x41))]))])
    case("full-status-sop-routing", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, bytes([10, 0, 0x12, 0x34]) + bytes(20))]))])
    case("full-status-short-tid", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_sas(0xab)[:20])]))])
    case("full-status-odd-tid", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, tid_sas(0xab) + b"\0\0")]))])
    case("full-status-no-tid", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, b"")]))])
    case("full-status-all-target-ports", ["-s", "-n", DEV], [ok(fullstatus(9, [
        desc(0xa1, sas_a, atp=True, holder=True, typ=8, rtpi=5), desc(0xb1, sas_b, atp=True, holder=True, typ=8, rtpi=6)]))])
    case("full-status-holder-scope", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, sas_a, holder=True, scope=1, typ=6)]))])
    case("full-status-holder-obsolete-type", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, sas_a, holder=True, typ=0xc)]))])
    case("full-status-truncated-by-alloc", ["-s", "-n", "-l", "40", DEV], [ok(fullstatus(1, [desc(1, sas_a), desc(2, sas_b)]))])
    case("full-status-addlen-short", ["-s", "-n", DEV], [ok(fullstatus(1, [desc(1, sas_a), desc(2, sas_b)], addlen=30))])
    case("full-status-hex", ["-s", "-H", DEV], [ok(LIO), ok(fullstatus(2, [
        desc(0xabc, sas_a, holder=True, typ=3, rtpi=1), desc(0xdef, sas_b, rtpi=2)]))])
    case("full-status-hex-twice", ["-s", "-HH", "-n", DEV], [ok(fullstatus(2, [desc(0xabc, sas_a, holder=True, typ=3)]))])
    case("full-status-mixed", ["-s", "-n", DEV], [ok(fullstatus(4, [
        desc(0xa1, tid_fc(0x1122334455667788), holder=True, typ=5, rtpi=3),
        desc(0xa2, tid_iscsi("iqn.2001-04.com.example:storage.tape1.sys1.xyz", fmt=0), rtpi=4),
        desc(0xa3, tid_proto(3, fill=0x5a), rtpi=7),
        desc(0xa4, tid_proto(4, fill=0x3c), rtpi=8)]))])


def prin_error_cases():
    for sa, flag in [("read-keys", "-k"), ("read-reservation", "-r"), ("report-capabilities", "-c"), ("read-full-status", "-s")]:
        case("prin-%s-unit-attention" % sa, [flag, DEV], [ok(LIO), UA_PREEMPTED])
        case("prin-%s-invalid-opcode" % sa, [flag, DEV], [ok(TAPE), cc(sense_fixed(5, 0x20, 0))])
        case("prin-%s-invalid-field" % sa, [flag, DEV], [ok(TAPE), cc(sense_fixed(5, 0x24, 0, sks=[0xc8, 0, 1]))])
        case("prin-%s-conflict" % sa, [flag, DEV], [ok(TAPE), CONFLICT])
    case("prin-ua-verbose", ["-k", "-v", DEV], [ok(LIO), UA_PREEMPTED])
    case("prin-ua-verbose2", ["-k", "-vv", DEV], [ok(LIO), UA_PREEMPTED])
    case("prin-ua-verbose3", ["-k", "-vvv", DEV], [ok(LIO), UA_PREEMPTED])
    case("prin-ua-registrations-preempted", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x05))])
    case("prin-ua-released", ["-r", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x04))])
    case("prin-ua-power-on", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x29, 0x00))])
    case("prin-ua-unknown-asc", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x7E, 0x12))])
    case("prin-ua-vendor-asc", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x80, 0x01))])
    case("prin-ua-vendor-ascq", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x90))])
    case("prin-ua-deferred", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x03, deferred=True))])
    case("prin-ua-descriptor", ["-k", DEV], [ok(LIO), cc(sense_desc(6, 0x2A, 0x03))])
    case("prin-ua-descriptor-deferred", ["-k", DEV], [ok(LIO), cc(sense_desc(6, 0x2A, 0x03, deferred=True))])
    case("prin-ua-sks-overflow", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x03, sks=[0x81, 0, 0]))])
    case("prin-ua-info", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x03, info=0x1234))])
    case("prin-ua-info-not-valid", ["-k", DEV], [ok(LIO), {"status": 2, "sense": hx(bytes([0x70, 0, 6, 0, 0, 0x12, 0x34, 10, 0, 0, 0, 0, 0x2a, 3, 0, 0, 0, 0]))}])
    case("prin-ua-fru", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x03, fru=7))])
    case("prin-ua-filemark-eom-ili", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x03, bits=0xE0))])
    case("prin-ua-sdat-ovfl", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x03, bits=0x10))])
    case("prin-ua-short-sense", ["-k", DEV], [ok(LIO), cc(sense_fixed(6, 0x2A, 0x03, addlen=4))])
    case("prin-ua-sense-3-bytes", ["-k", DEV], [ok(LIO), {"status": 2, "sense": "700006"}])
    case("prin-cc-no-sense-data", ["-k", DEV], [ok(LIO), {"status": 2}])
    case("prin-cc-garbage-sense", ["-k", DEV], [ok(LIO), {"status": 2, "sense": "0102030405060708"}])
    case("prin-cc-vendor-sense", ["-k", DEV], [ok(LIO), {"status": 2, "sense": "7f0102030405060708"}])
    case("prin-cc-scsi1-sense", ["-k", DEV], [ok(LIO), {"status": 2, "sense": "8112345600"}])
    case("prin-recovered-error", ["-k", DEV], [ok(LIO), {"status": 2, "sense": hx(sense_fixed(1, 0x5D, 0)), "data": hx(keys(1, [0xa1]))}])
    case("prin-no-sense-key", ["-k", DEV], [ok(LIO), {"status": 2, "sense": hx(sense_fixed(0, 0, 0)), "data": hx(keys(1, [0xa1]))}])
    for key, label in [(2, "not-ready"), (3, "medium"), (4, "hardware"), (7, "data-protect"), (8, "blank"), (9, "vendor"),
                       (0xA, "copy-aborted"), (0xB, "aborted"), (0xC, "equal"), (0xD, "overflow"), (0xE, "miscompare"), (0xF, "completed")]:
        case("prin-sense-key-%s" % label, ["-k", DEV], [ok(LIO), cc(sense_fixed(key, 0x44, 0, sks=[0x80, 0x12, 0x34]))])
    case("prin-aborted-protection", ["-k", DEV], [ok(LIO), cc(sense_fixed(0xB, 0x10, 0x01))])
    case("prin-illegal-lba", ["-k", DEV], [ok(LIO), cc(sense_fixed(5, 0x21, 0x00))])
    case("prin-illegal-sks-bit", ["-k", "-v", DEV], [ok(LIO), cc(sense_fixed(5, 0x24, 0, sks=[0xcd, 0, 1]))])
    case("prin-illegal-sks-data", ["-k", "-v", DEV], [ok(LIO), cc(sense_fixed(5, 0x26, 0, sks=[0x80, 0, 20]))])
    case("prin-not-ready-progress", ["-k", DEV], [ok(LIO), cc(sense_fixed(2, 0x04, 0x04, sks=[0x80, 0x40, 0x00]))])
    case("prin-medium-retry", ["-k", DEV], [ok(LIO), cc(sense_fixed(3, 0x11, 0x00, sks=[0x80, 0x00, 0x05]))])
    case("prin-copy-aborted-segment", ["-k", DEV], [ok(LIO), cc(sense_fixed(0xA, 0x0D, 0x00, sks=[0xA9, 0x00, 0x05]))])
    case("prin-descriptor-sks", ["-k", DEV], [ok(LIO), cc(sense_desc(5, 0x24, 0, descs=bytes([2, 6, 0, 0, 0xc8, 0, 1, 0])))])
    case("prin-descriptor-info", ["-k", DEV], [ok(LIO), cc(sense_desc(6, 0x2A, 3, descs=bytes([0, 10, 0x80, 0]) + be(8, 0x1122)))])
    case("prin-descriptor-unknown", ["-k", DEV], [ok(LIO), cc(sense_desc(6, 0x2A, 3, descs=bytes([0x33, 3, 1, 2, 3])))])
    case("prin-descriptor-vendor", ["-k", DEV], [ok(LIO), cc(sense_desc(6, 0x2A, 3, descs=bytes([0x80, 2, 1, 2])))])
    case("prin-descriptor-fru", ["-k", DEV], [ok(LIO), cc(sense_desc(4, 0x44, 0, descs=bytes([3, 2, 0, 9])))])
    case("prin-descriptor-cmd-specific", ["-k", DEV], [ok(LIO), cc(sense_desc(4, 0x44, 0, descs=bytes([1, 10, 0, 0]) + be(8, 7)))])
    case("prin-descriptor-stream", ["-k", DEV], [ok(LIO), cc(sense_desc(3, 0x00, 1, descs=bytes([4, 2, 0, 0xa0])))])
    case("prin-descriptor-block", ["-k", DEV], [ok(LIO), cc(sense_desc(3, 0x11, 0, descs=bytes([5, 2, 0, 0x20])))])
    case("prin-descriptor-short", ["-k", DEV], [ok(LIO), cc(sense_desc(6, 0x2A, 3, descs=bytes([0, 4, 0x80, 0, 1, 2])))])
    case("prin-descriptor-sdat-ovfl", ["-k", DEV], [ok(LIO), cc(sense_desc(6, 0x2A, 3, byte4=0x80))])
    case("prin-descriptor-verbose2", ["-k", "-vv", DEV], [ok(LIO), cc(sense_desc(5, 0x24, 0, descs=bytes([2, 6, 0, 0, 0xc8, 0, 1, 0])))])
    for st, label in [(0x04, "condition-met"), (0x08, "busy"), (0x10, "intermediate"), (0x14, "intermediate-cm"),
                      (0x22, "terminated"), (0x28, "task-set-full"), (0x30, "aca-active"), (0x40, "task-aborted"),
                      (0x18, "conflict"), (0x0c, "unknown"), (0x19, "conflict-odd-bit")]:
        case("prin-status-%s" % label, ["-k", DEV], [ok(LIO), status(st)])
        case("prin-status-%s-verbose" % label, ["-k", "-v", DEV], [ok(LIO), status(st)])
    for e, label in [(5, "eio"), (19, "enodev"), (6, "enxio"), (1, "eperm"), (22, "einval"), (110, "etimedout"), (4, "eintr")]:
        case("prin-os-error-%s" % label, ["-k", DEV], [ok(LIO), {"errno": e}])
    case("prin-os-error-verbose", ["-k", "-v", DEV], [ok(LIO), {"errno": 5}])
    case("prin-host-status", ["-k", DEV], [ok(LIO), {"host": 0x03}])
    case("prin-host-status-nexus", ["-k", DEV], [ok(LIO), {"host": 0x11, "status": 0x18}])
    case("prin-host-status-unknown", ["-k", DEV], [ok(LIO), {"host": 0x42}])
    case("prin-driver-status", ["-k", DEV], [ok(LIO), {"driver": 0x06}])
    case("prin-driver-status-sense", ["-k", DEV], [ok(LIO), {"driver": 0x08, "sense": hx(sense_fixed(6, 0x2A, 3))}])
    case("prin-host-and-driver", ["-k", DEV], [ok(LIO), {"host": 0x07, "driver": 0x24}])


def prout_cases():
    case("register", ["-o", "-G", "-S", "123abc", DEV], [ok(LIO), ok()])
    case("register-long", ["--out", "--register", "--param-sark=abc123", DEV], [ok(LIO), ok()])
    case("register-long-space", ["--out", "--register", "--param-sark", "abc123", DEV], [ok(LIO), ok()])
    case("register-cluster", ["-oGS", "123abc", DEV], [ok(LIO), ok()])
    case("register-cluster-attached", ["-oGS123abc", DEV], [ok(LIO), ok()])
    case("register-0x", ["-o", "-G", "-S", "0xBAC001", DEV], [ok(LIO), ok()])
    case("register-rk-and-sark", ["-o", "-G", "-K", "1", "-S", "2", DEV], [ok(LIO), ok()])
    case("register-aptpl", ["-o", "-G", "-S", "2", "-Z", DEV], [ok(LIO), ok()])
    case("register-alltgpt", ["-o", "-G", "-S", "2", "--param-alltgpt", DEV], [ok(LIO), ok()])
    case("register-verbose", ["-o", "-G", "-S", "123abc", "-v", DEV], [ok(LIO), ok()])
    case("register-verbose2", ["-o", "-G", "-S", "123abc", "-vv", DEV], [ok(LIO), ok()])
    case("register-verbose3", ["-o", "-G", "-S", "123abc", "-vvv", DEV], [ok(LIO), ok()])
    case("register-ignore", ["-o", "-I", "-S", "bac001", DEV], [ok(LIO), ok()])
    case("reserve", ["-o", "-R", "-K", "123abc", "-T", "3", DEV], [ok(LIO), ok()])
    case("reserve-type-long", ["--out", "--reserve", "--param-rk=0xbac001", "--prout-type=3", DEV], [ok(LIO), ok()])
    case("reserve-type-masked", ["-o", "-R", "-K", "1", "-T", "13", DEV], [ok(LIO), ok()])
    case("reserve-type-negative", ["-o", "-R", "-K", "1", "-T", "-1", DEV], [ok(LIO), ok()])
    case("reserve-conflict", ["-o", "-R", "-K", "def", "-T", "3", DEV], [ok(LIO), CONFLICT])
    case("reserve-conflict-verbose", ["-o", "-R", "-K", "def", "-T", "3", "-v", DEV], [ok(LIO), CONFLICT])
    case("reserve-conflict-verbose2", ["-o", "-R", "-K", "def", "-T", "3", "-vv", DEV], [ok(LIO), CONFLICT])
    case("reserve-unregistered-lio", ["-o", "-R", "-K", "5", "-T", "3", DEV], [ok(LIO), cc(sense_fixed(2, 0x08, 0))])
    case("release", ["-o", "-L", "-K", "123abc", "-T", "3", DEV], [ok(LIO), ok()])
    case("release-wrong-type", ["-o", "-L", "-K", "1", "-T", "1", DEV], [ok(LIO), cc(sense_fixed(5, 0x26, 0x04))])
    case("clear", ["-o", "-C", "-K", "123abc", DEV], [ok(LIO), ok()])
    case("clear-verbose", ["-o", "-C", "-K", "123abc", "-v", DEV], [ok(LIO), ok()])
    case("clear-conflict", ["-o", "-C", "-K", "999", DEV], [ok(LIO), CONFLICT])
    case("preempt", ["-o", "-P", "-K", "a1", "-S", "b1", "-T", "5", DEV], [ok(LIO), ok()])
    case("preempt-abort", ["-o", "-A", "-K", "a1", "-S", "b1", "-T", "5", DEV], [ok(LIO), ok()])
    case("replace-lost", ["-o", "-z", "-K", "a1", "-T", "3", DEV], [ok(LIO), cc(sense_fixed(5, 0x24, 0, sks=[0xc0, 0, 1]))])
    case("replace-lost-long", ["-o", "--replace-lost", "-K", "a1", "-T", "3", "-n", DEV], [ok()])
    case("prout-invalid-opcode", ["-o", "-G", "-S", "1", DEV], [ok(TAPE), cc(sense_fixed(5, 0x20, 0))])
    case("prout-invalid-field", ["-o", "-G", "-S", "1", DEV], [ok(TAPE), cc(sense_fixed(5, 0x26, 0))])
    case("prout-param-list-length", ["-o", "-G", "-S", "1", DEV], [ok(TAPE), cc(sense_fixed(5, 0x1A, 0))])
    case("prout-insufficient-resources", ["-o", "-G", "-S", "1", DEV], [ok(TAPE), cc(sense_fixed(5, 0x55, 0x04))])
    case("prout-unit-attention", ["-o", "-G", "-S", "1", DEV], [ok(TAPE), UA_PREEMPTED])
    case("prout-unit-attention-verbose", ["-o", "-G", "-S", "1", "-v", DEV], [ok(TAPE), UA_PREEMPTED])
    case("prout-busy", ["-o", "-G", "-S", "1", DEV], [ok(TAPE), status(8)])
    case("prout-os-error", ["-o", "-G", "-S", "1", DEV], [ok(TAPE), {"errno": 5}])
    case("prout-host-status", ["-o", "-G", "-S", "1", DEV], [ok(TAPE), {"host": 0x03}])
    case("prout-readonly-flag", ["-o", "-G", "-S", "1", "-y", "-vv", DEV], [ok(TAPE), ok()])
    case("prout-readonly-env-ignored", ["-o", "-G", "-S", "1", "-vv", DEV], [ok(TAPE), ok()], env={"SG_PERSIST_IN_RDONLY": "1"})
    case("prin-readonly-env", ["-k", "-vv", DEV], [ok(TAPE), ok(keys(1, []))], env={"SG_PERSIST_IN_RDONLY": "1"})
    case("prin-readonly-env-forced-rw", ["-k", "-vv", "-yy", DEV], [ok(TAPE), ok(keys(1, []))], env={"SG_PERSIST_IN_RDONLY": "1"})
    case("prin-readonly-thrice", ["-k", "-vv", "-yyy", DEV], [ok(TAPE), ok(keys(1, []))])
    # TransportIDs
    case("spec-i-pt-sas", ["-o", "-G", "-S", "1", "-X", "sas,5000c50005b32001", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-sas-upper", ["-o", "-G", "-S", "1", "-X", "SAS,5000C50005B32001", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-fcp", ["-o", "-G", "-S", "1", "-X", "fcp,21000024ff123456", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-sbp", ["-o", "-G", "-S", "1", "-X", "sbp,0011223344556677", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-srp", ["-o", "-G", "-S", "1", "-X", "srp,00112233445566778899aabbccddeeff", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-spi", ["-o", "-G", "-S", "1", "-X", "spi,7,3", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-iqn", ["-o", "-G", "-S", "1", "-X", "iqn.1994-05.com.redhat:a", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-iqn-isid", ["-o", "-G", "-S", "1", "-X", "iqn.1994-05.com.redhat:a,i,0x400001370000", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-iqn-space", ["-o", "-G", "-S", "1", "-X", "iqn.a b", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-iqn-too-long", ["-o", "-G", "-S", "1", "-X", "iqn." + "x" * 240, DEV], [ok(TAPE), ok()])
    case("spec-i-pt-hex", ["-o", "-G", "-S", "1", "-X", "06,0,0,0,50,0,c5,0,0,5b,32,1", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-hex-spaces", ["-o", "-G", "-S", "1", "-X", "6 0 0 0 50", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-hex-verbose3", ["-o", "-G", "-S", "1", "-vvv", "-X", "6,0,0,0,50,0,c5,0,0,5b,32,1", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-two", ["-o", "-G", "-S", "1", "-X", "sas,5000c50000000001", "-X", "sas,5000c50000000002", DEV], [ok(TAPE), ok()])
    case("spec-i-pt-stdin", ["-o", "-G", "-S", "1", "-X", "-", DEV], [ok(TAPE), ok()],
         stdin="# TransportIDs\nsas,5000c50000000001\n  fcp,21000024ff123456\n\n6,0,0,0,50,0,c5,0,0,5b,32,2 # trailing\niqn.2001-04.com.example:x\n")
    case("spec-i-pt-file", ["-o", "-G", "-S", "1", "-X", "file=tids.txt", DEV], [ok(TAPE), ok()],
         files={"tids.txt": "sas,5000c50000000001\n5 0 0 18 69 71 6e 2e 61\n"})
    case("spec-i-pt-file-bad", ["-o", "-G", "-S", "1", "-X", "file=tids.txt", DEV], [ok(TAPE), ok()],
         files={"tids.txt": "sas,5000c50000000001\nzz top\n"})
    case("spec-i-pt-file-big-hex", ["-o", "-G", "-S", "1", "-X", "file=tids.txt", DEV], [ok(TAPE), ok()],
         files={"tids.txt": "6,0,100\n"})
    case("spec-i-pt-file-empty", ["-o", "-G", "-S", "1", "-X", "file=tids.txt", DEV], [ok(TAPE), ok()],
         files={"tids.txt": ""})
    case("register-move", ["-o", "-M", "-K", "a1", "-S", "b1", "-T", "3", "-Q", "2", "-X", "sas,5000c50000000002", DEV], [ok(TAPE), ok()])
    case("register-move-unreg-aptpl", ["-o", "-M", "-K", "a1", "-S", "b1", "-T", "3", "-Q", "ffff", "-U", "-Z",
                                       "-X", "iqn.2026-11.org.testbed:initiator-b,i,0x00023d000002", DEV], [ok(TAPE), ok()])
    case("register-move-verbose", ["-o", "-M", "-K", "a1", "-S", "b1", "-T", "3", "-X", "sas,5000c50000000002", "-v", DEV], [ok(TAPE), ok()])
    case("register-move-conflict", ["-o", "-M", "-K", "a1", "-S", "b1", "-T", "3", "-X", "sas,5000c50000000002", DEV], [ok(TAPE), CONFLICT])
    case("register-move-invalid-opcode", ["-o", "-M", "-K", "a1", "-S", "b1", "-T", "3", "-X", "sas,5000c50000000002", DEV],
         [ok(TAPE), cc(sense_fixed(5, 0x20, 0))])
    case("register-move-illegal", ["-o", "-M", "-K", "a1", "-S", "b1", "-T", "3", "-X", "sas,5000c50000000002", DEV],
         [ok(TAPE), cc(sense_fixed(5, 0x26, 0))])
    case("register-move-alltgpt-ignored", ["-o", "-M", "-K", "a1", "-S", "b1", "-Y", "-X", "sas,5000c50000000002", "-n", DEV], [ok()])
    # numeric parsing through the bytes sent
    for val in ["0x", "-1", "1g", " 12", "\t12", "12345678901234567", "0x0x1", "+5", "ffffffffffffffff",
                "10000000000000000", "-0x10", "0X1F", "+", "- 5", "0x-5", "00000000000000000000000000000abc", "\n7"]:
        label = "".join(c if c.isalnum() else "%02x" % ord(c) for c in val) or "empty"
        case("numeric-rk-%s" % label, ["-o", "-C", "-K", val, "-n", DEV], [ok()])
    for val in ["0x", "-1", "123456789", "1ffffffffffffffffff", " 3", "8", "g"]:
        label = "".join(c if c.isalnum() else "_" for c in val)
        case("numeric-type-%s" % label, ["-o", "-R", "-K", "1", "-T", val, "-n", DEV], [ok()])
    for val in ["100000000", "-1", "0x10", "ffff", "1 2"]:
        label = "".join(c if c.isalnum() else "_" for c in val)
        case("numeric-rtp-%s" % label, ["-o", "-M", "-Q", val, "-X", "sas,1122334455667788", "-n", DEV], [ok()])
    for val in ["100000014", "-1", " 20", "0x20", "2000"]:
        label = "".join(c if c.isalnum() else "_" for c in val)
        case("numeric-alloc-%s" % label, ["-k", "-l", val, "-n", DEV], [ok(keys(1, []))])
    for val in ["99999999999", "2147483648", "4294967296k", "1m", "1g", "3kd", "3mb", "2kibx", "0x10x2", "20H", "\n8"]:
        label = "".join(c if c.isalnum() else "%02x" % ord(c) for c in val)
        case("numeric-maxlen-%s" % label, ["-k", "-m", val, "-n", DEV], [ok(keys(1, []))])


def edge_cases():
    case("open-missing-verbose1", ["-v", MISSING])
    case("srp-reads-past-argument", ["-o", "-G", "-X", "srp,0011223344556677", "-S", "1", "-n", "-v", DEV], [ok()])
    case("srp-reads-past-long-argument", ["-o", "-G", "--transport-id=srp,8899aabbccddeeff", "-S", "1", "-n", "-v", DEV], [ok()])
    case("transport-id-stale-bytes", ["-o", "-G", "-S", "1", "-X", "iqn.2026-11.org.testbed:initiator-aaaaaaaaaaaa",
                                      "-X", "5,0,0,30", "-n", DEV], [ok()])
    case("transport-id-alias", ["-o", "-G", "-S", "1", "--transport_id=sas,5000c50000000009", "-n", DEV], [ok()])
    case("transport-id-stdin-twice", ["-o", "-G", "-S", "1", "-X", "-", "-X", "-", "-n", DEV], [ok()],
         stdin="sas,5000c50000000001\n")
    case("transport-id-file-split-line", ["-o", "-G", "-S", "1", "-X", "file=tids.txt", "-n", DEV], [ok()],
         files={"tids.txt": "45 0 0 " + "41 " * 339 + "4\n2\nsas,5000c50000000003\n"})
    case("transport-id-file-33-lines", ["-o", "-G", "-S", "1", "-X", "file=tids.txt", "-n", DEV], [ok()],
         files={"tids.txt": "sas,5000c50000000001\n" * 33})
    case("transport-id-file-blank-lines", ["-o", "-G", "-S", "1", "-X", "file=tids.txt", "-n", DEV], [ok()],
         files={"tids.txt": "\n   \n\t\n# only a comment\n  sas,5000c50000000001   \n\n"})
    case("transport-id-file-hash-after-value", ["-o", "-G", "-S", "1", "-X", "file=tids.txt", "-n", DEV], [ok()],
         files={"tids.txt": "6,0,0,0,1#x\n6 0 0 0 2 #y\n"})
    case("transport-id-file-bad-char-after-hex", ["-o", "-G", "-S", "1", "-X", "file=tids.txt", "-n", DEV], [ok()],
         files={"tids.txt": "6,0,0,0,1 ,, ,\n"})
    case("transport-id-hex-trailing-comma", ["-o", "-G", "-S", "1", "-X", "1,2,", DEV])
    case("transport-id-hex-double-comma", ["-o", "-G", "-S", "1", "-X", "1,,2", DEV])
    case("transport-id-hex-wraps-to-zero", ["-o", "-G", "-S", "1", "-X", "6,100000000,0,0,50", "-n", DEV], [ok()])
    case("transport-id-spi-spaces", ["-o", "-G", "-S", "1", "-X", "spi, 7, 3", "-n", DEV], [ok()])
    case("transport-id-spi-bad-sep", ["-o", "-G", "-S", "1", "-X", "spi,7 ,3", DEV])
    case("transport-id-iqn-tab", ["-o", "-G", "-S", "1", "-X", "iqn.a\tb,i,0x1", "-n", DEV], [ok()])
    case("transport-id-iqn-session-after-space", ["-o", "-G", "-S", "1", "-X", "iqn.a b,i,0x1", "-n", DEV], [ok()])
    case("transport-id-empty", ["-o", "-G", "-S", "1", "-X", "", DEV])
    case("transport-id-dash-word", ["-o", "-G", "-S", "1", "-X", "-foo", "-n", DEV], [ok()], stdin="sas,5000c50000000004\n")
    case("short-arg-is-double-dash", ["-o", "-C", "-K", "--", "-n", DEV])
    case("long-abbrev-with-value", ["-o", "-C", "--param-r=5", "-n", DEV], [ok()])
    case("long-abbrev-dev", ["--dev", DEV, "-n", "-k"], [ok(keys(1, []))])
    case("long-hex-with-value", ["--hex=1", DEV])
    case("help-in-cluster", ["-hv"])
    case("help-and-bad-arg", ["-h", "-K", "zz"])
    case("verbose-version-and-missing", ["-vV", MISSING])
    case("operand-between-options", ["-n", DEV, "-k"], [ok(keys(1, [5]))])
    case("only-double-dash", ["--"])
    case("readonly-long", ["--readonly", "-vv", "-k", DEV], [ok(TAPE), ok(keys(1, []))])
    case("hex-read-keys-alloc-0", ["-k", "-l", "0", "-HH", "-n", DEV], [ok(keys(1, [1]))])
    case("hex-read-keys-alloc-4", ["-k", "-l", "4", "-H", "-n", DEV], [ok(keys(1, [1]))])
    case("read-keys-verbose2-short", ["-k", "-vv", "-n", DEV], [ok(keys(1, [1]))])
    case("prout-all-flags", ["-o", "-G", "-K", "fedcba9876543210", "-S", "0123456789abcdef", "-Y", "-Z",
                             "-X", "fcp,1122334455667788", "-n", DEV], [ok()])
    case("prout-register-move-empty-file", ["-o", "-M", "-X", "file=tids.txt", DEV], files={"tids.txt": ""})


def session_cases():
    case("hex-with-verbose3-response", ["-k", "-vvv", "-n", DEV], [ok(keys(2, [0xbac001, 0xbac999]))])
    case("hex-with-verbose4-response", ["-r", "-vvvv", "-n", DEV], [ok(resv(2, 0xbac001, typ=3))])
    case("verbose3-big-response", ["-s", "-vvv", "-n", DEV],
         [ok(fullstatus(1, [desc(i, tid_iscsi("iqn.2026-11.org.testbed:initiator-%d,i,0x00023d00000%d" % (i, i))) for i in range(1, 6)]))])


# ---------------------------------------------------------------- runner


def build_shim(tmp):
    so = os.path.join(tmp, "sgio_shim.so")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", so, os.path.join(HERE, "sgio_shim.c"), "-ldl"], check=True)
    return so


def run_case(c, so, tmp):
    work = tempfile.mkdtemp(dir=tmp)
    open(os.path.join(work, DEV), "w").close()
    for name, text in c["files"].items():
        with open(os.path.join(work, name), "w") as f:
            f.write(text)
    script = os.path.join(work, "script")
    log = os.path.join(work, "log")
    with open(script, "w") as f:
        for r in c["responses"]:
            f.write(" ".join("%s=%s" % (k, (("%x" % v) if k in ("status", "host", "driver") else v))
                             for k, v in r.items()) + "\n")
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "LD_PRELOAD": so,
           "SGIO_SHIM_SCRIPT": script, "SGIO_SHIM_LOG": log}
    env.update(c["env"])
    p = subprocess.run(["sg_persist"] + c["argv"], executable="/usr/bin/sg_persist", cwd=work, env=env,
                       input=(c["stdin"] or "").encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sent = []
    if os.path.exists(log):
        for line in open(log):
            fields = dict(kv.split("=", 1) for kv in line.split())
            sent.append({"cdb": fields["cdb"], "dataOut": fields.get("dout", ""), "dataInLength":
                         int(fields["len"]) if fields["dir"] == "-3" else 0})
    shutil.rmtree(work)
    return {
        "name": c["name"], "argv": c["argv"], "env": c["env"], "stdin": c["stdin"], "files": c["files"],
        "responses": c["responses"], "missing": [MISSING], "sent": sent,
        "stdout": p.stdout.decode("utf-8", "surrogateescape"),
        "stderr": p.stderr.decode("utf-8", "surrogateescape"),
        "exit": p.returncode,
    }


def main():
    out = OUT
    if "--out" in sys.argv:
        out = sys.argv[sys.argv.index("--out") + 1]
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".json"):
            os.remove(os.path.join(out, f))
    for fn in (syntax_cases, open_cases, inquiry_cases, prin_cases, prin_error_cases, prout_cases, edge_cases, session_cases):
        fn()
    names = set()
    tmp = tempfile.mkdtemp()
    try:
        so = build_shim(tmp)
        for c in CASES:
            assert c["name"] not in names, c["name"]
            names.add(c["name"])
            result = run_case(c, so, tmp)
            # Bytes that are not UTF-8 (raw vendor strings) would not survive JSON as text.
            for k in ("stdout", "stderr"):
                result[k] = result[k].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            with open(os.path.join(out, c["name"] + ".json"), "w") as f:
                json.dump(result, f, indent=1, sort_keys=True, ensure_ascii=True)
                f.write("\n")
    finally:
        shutil.rmtree(tmp)
    print("%d cases written to %s" % (len(CASES), out))


if __name__ == "__main__":
    main()
