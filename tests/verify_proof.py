#!/usr/bin/env python3
"""Check a secfile proof with the master's card alone: Python's standard library and the
stock `minisign` binary, nothing of secfile. It follows the recipe of docs/formats.md
("Proofs", "Checking a proof without secfile") step by step, prints each step as
`<step> ok|FAIL <detail>`, and exits 0 when every step passes, 1 otherwise (2 on usage).

    python3 tests/verify_proof.py PROOF MASTER_CARD [--now 2026-11-23T12:00:00Z]
"""
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile


class Bad(Exception):
    pass


def sha256(b):
    return hashlib.sha256(b).digest()


# ---- RFC 6962 / RFC 9162 -------------------------------------------------------------

def leaf_hash(b):
    return sha256(b"\x00" + b)


def node_hash(l, r):
    return sha256(b"\x01" + l + r)


def root_from_path(leaf, index, size, path):
    """RFC 9162 section 2.1.3.2; None when the path does not fit index and size."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


# ---- the files -----------------------------------------------------------------------

def parse_card(data):
    """`secfile-card 1 <block-len> <sig-len>\\n` then the genesis block, then its signature."""
    nl = data.index(b"\n")
    magic, ver, blen, slen = data[:nl].decode("ascii").split(" ")
    if magic != "secfile-card" or ver != "1":
        raise Bad("not a secfile-card 1 file")
    blen, slen = int(blen), int(slen)
    block = data[nl + 1:nl + 1 + blen]
    sig = data[nl + 1 + blen:nl + 1 + blen + slen]
    if len(data) != nl + 1 + blen + slen:
        raise Bad("card: wrong length")
    return block, sig


def parse_proof(data):
    """The proof format of docs/formats.md: lines, and length-framed parts."""
    pos = 0

    def line():
        nonlocal pos
        nl = data.index(b"\n", pos)
        s = data[pos:nl].decode("ascii")
        pos = nl + 1
        return s

    def field(name):
        s = line()
        if not s.startswith(name + " "):
            raise Bad("expected a %s line" % name)
        return s[len(name) + 1:]

    def number(s):
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", s):
            raise Bad("bad number %r" % s)
        return int(s)

    def part(name):
        nonlocal pos
        n = number(field(name))
        b = data[pos:pos + n]
        if len(b) != n or data[pos + n:pos + n + 1] != b"\n":
            raise Bad("truncated inside the %s part" % name)
        pos += n + 1
        return b

    def peek(word):
        return data.startswith(word.encode() + b" ", pos)

    if line() != "secfile-proof 1":
        raise Bad("not a secfile-proof 1 file")
    p = {"leaf": field("leaf"), "index": number(field("index")), "size": number(field("size"))}
    p["siblings"] = []
    while peek("sibling"):
        h = field("sibling")
        if not re.fullmatch(r"[0-9a-f]{64}", h):
            raise Bad("bad sibling hash")
        p["siblings"].append(bytes.fromhex(h))
    p["manifest"] = part("manifest")
    p["manifest_sig"] = part("manifest.minisig")
    p["rekeys"] = []
    while peek("rekey"):
        p["rekeys"].append((part("rekey"), part("rekey.minisig")))
    p["checkpoint"] = part("checkpoint")
    p["checkpoint_sig"] = part("checkpoint.minisig")
    if line() != "end" or pos != len(data):
        raise Bad("no end line, or bytes after it")
    return p


def yaml_fields(doc):
    """Top-level keys and the keys one level under `body:` of secfile's canonical YAML
    (one `key: value` per line, strings in double quotes)."""
    top, body = {}, {}
    for l in doc.decode("utf-8").split("\n"):
        m = re.fullmatch(r"([a-z_]+): (.*)", l)
        if m:
            top[m.group(1)] = m.group(2)
        m = re.fullmatch(r"  ([a-z_]+): (.*)", l)
        if m:
            body.setdefault(m.group(1), m.group(2))
    value = lambda v: None if v in (None, "null") else json.loads(v)
    return {k: value(v) for k, v in top.items()}, {k: value(v) for k, v in body.items()}


def minisign_verify(data, sig, pubkey):
    """Stock `minisign -Vm`: the trusted comment, or Bad."""
    with tempfile.TemporaryDirectory() as d:
        f, s = os.path.join(d, "doc"), os.path.join(d, "doc.minisig")
        open(f, "wb").write(data)
        open(s, "wb").write(sig)
        out = subprocess.run(["minisign", "-Vm", f, "-x", s, "-P", pubkey], capture_output=True, text=True)
    if out.returncode != 0:
        raise Bad("minisign: " + (out.stderr or out.stdout).strip().splitlines()[-1])
    for l in out.stdout.splitlines():
        if l.startswith("Trusted comment: "):
            return l[len("Trusted comment: "):]
    raise Bad("minisign printed no trusted comment")


def rfc3339(s):
    return int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


# ---- the recipe ----------------------------------------------------------------------

def check(proof_bytes, card_bytes, now):
    steps = []

    def step(name, fn):
        try:
            steps.append((name, True, fn()))
            return True
        except (Bad, ValueError, KeyError, TypeError) as e:
            steps.append((name, False, str(e) or type(e).__name__))
            return False

    st = {}

    def master_key():
        block, sig = parse_card(card_bytes)
        top, body = yaml_fields(block)
        st["master"] = top["chain"]
        pk = body["minisign"]
        if top["kind"] != "genesis" or body["id"] != st["master"]:
            raise Bad("the card is not a genesis block")
        if minisign_verify(block, sig, pk) != "secfile block %s 0" % st["master"]:
            raise Bad("card: wrong trusted comment")
        st["proof"] = p = parse_proof(proof_bytes)
        ctop, cbody = yaml_fields(p["checkpoint"])
        st["cp"] = (ctop, cbody)
        keys, last = [(0, pk)], 0
        key_at = lambda h: [k for f, k in keys if f <= h][-1]
        for blk, s in p["rekeys"]:
            t, b = yaml_fields(blk)
            if t["chain"] != st["master"] or t["kind"] != "rekey" or b["node"] != st["master"]:
                raise Bad("a rekey block that is not the master's own")
            if not last < t["height"] < ctop["height"] or b["from"] <= t["height"]:
                raise Bad("a rekey block out of order")
            if minisign_verify(blk, s, key_at(t["height"])) != "secfile block %s %d" % (t["chain"], t["height"]):
                raise Bad("rekey block: wrong trusted comment")
            keys.append((b["from"], b["minisign"]))
            last = t["height"]
        st["keys"], st["key_at"] = keys, key_at
        return "master %s, %d key(s)" % (st["master"], len(keys))

    if not step("master-key", master_key):
        return steps
    p = st["proof"]
    ctop, cbody = st["cp"]

    def checkpoint_signature():
        if ctop["chain"] != st["master"] or ctop["kind"] != "checkpoint":
            raise Bad("not a checkpoint block of the master")
        want = "secfile block %s %d" % (ctop["chain"], ctop["height"])
        if minisign_verify(p["checkpoint"], p["checkpoint_sig"], st["key_at"](ctop["height"])) != want:
            raise Bad("wrong trusted comment")
        if not re.fullmatch(r"[0-9a-f]{64}", cbody.get("files") or ""):
            raise Bad("no files root")
        return "checkpoint at master height %d" % ctop["height"]

    def manifest_signature():
        mtop, _ = yaml_fields(p["manifest"])
        st["m"] = mtop
        errors = []
        for _, k in st["keys"]:
            try:
                if minisign_verify(p["manifest"], p["manifest_sig"], k) == "secfile manifest %s" % mtop["file"]:
                    return "manifest of file %s" % mtop["file"]
            except Bad as e:
                errors.append(str(e))
        raise Bad("; ".join(errors) or "wrong trusted comment")

    def leaf():
        w = p["leaf"].split(" ")
        if len(w) != 10 or w[0::2] != ["file", "holder", "revoked", "expires", "manifest"] or w[5] not in "01":
            raise Bad("not a leaf line")
        m = st["m"]
        if w[1] != m["file"]:
            raise Bad("the leaf is for another file")
        if w[9] != hashlib.sha256(p["manifest"]).hexdigest():
            raise Bad("the leaf names another manifest")
        exp = None if w[7] == "-" else rfc3339(w[7])
        if exp != (None if m["expires"] is None else rfc3339(m["expires"])):
            raise Bad("the leaf's expiry is not the manifest's")
        st["leaf"] = {"holder": w[3], "revoked": w[5] == "1", "expires": exp, "when": w[7]}
        return "file %s" % w[1]

    def inclusion():
        r = root_from_path(leaf_hash(p["leaf"].encode("ascii")), p["index"], p["size"], p["siblings"])
        if r is None or r.hex() != cbody["files"]:
            raise Bad("the path does not lead to the checkpoint's files root")
        return "leaf %d of %d" % (p["index"], p["size"])

    good = [step("checkpoint-signature", checkpoint_signature), step("manifest-signature", manifest_signature)]
    good.append(good[-1] and step("leaf", leaf))
    good.append(good[-1] and step("inclusion", inclusion))
    if not all(good):
        return steps
    l = st["leaf"]
    steps.append(("holder", True, "held by %s" % l["holder"]))
    steps.append(("revocation", not l["revoked"], "revoked" if l["revoked"] else "not revoked"))
    expired = l["expires"] is not None and now > l["expires"]
    steps.append(("expiry", not expired, "no expiry" if l["expires"] is None else l["when"]))
    steps.append(("as-of", True, "as of checkpoint %d at time %s" % (ctop["height"], ctop["time"])))
    return steps


def main(argv):
    args = argv[1:]
    now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
    if "--now" in args:
        i = args.index("--now")
        now = rfc3339(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    proof = open(args[0], "rb").read(1024 * 1024 + 1)
    card = open(args[1], "rb").read(65536 + 4096 + 128)
    try:
        if len(proof) > 1024 * 1024:
            raise Bad("over the proof limit")
        steps = check(proof, card, now)
    except (Bad, ValueError, IndexError) as e:
        steps = [("proof-format", False, str(e))]
    for name, ok, detail in steps:
        print("%-21s %s %s" % (name, "ok  " if ok else "FAIL", detail))
    passed = len(steps) == 9 and all(ok for _, ok, _ in steps)
    print("ok" if passed else "FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
