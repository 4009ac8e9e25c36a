#!/usr/bin/env python3
"""Build the seed corpus of the fuzz targets under corpus/<target>/ from the repository.

- scenario:  the scenario suite's files (scenarios/**/*.yaml) up to 7 KB each, so the corpus stays
             small and libFuzzer's maximum input length stays short;
- catalogue: one catalogue file per method of catalogue/{m4,mor}.yaml (the `version`/`product`
             header plus one `methods` entry, original text), and each whole `general` section;
- xml:       each method's documented success sample and the error wrappers, and pairs of them
             separated by a NUL byte (the target's expected/actual form);
- request:   the request text form of fuzz_targets/request.rs: every method and alias of both
             products signed with the default admin secret, as query, form body, JSON body and GET,
             plus bad hashes, unknown paths and malformed bodies.

Run from anywhere: `python3 mock-server/fuzz/seed_corpus.py` (needs PyYAML). Deterministic: the same
repository gives the same files, named by content hash.
"""
import hashlib
import json
import pathlib
import urllib.parse

import yaml

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent.parent
CATALOGUES = [ROOT / "mock-server/model/catalogue/m4.yaml", ROOT / "mock-server/model/catalogue/mor.yaml"]
SECRET = "secret"
MAX_SCENARIO = 7 * 1024


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def scenario_seeds():
    for p in sorted((ROOT / "scenarios").rglob("*.yaml")):
        if p.stat().st_size <= MAX_SCENARIO:
            write("scenario", p.read_bytes())


def catalogue_seeds():
    for cat in CATALOGUES:
        text = cat.read_text()
        lines = text.splitlines(keepends=True)
        header = "".join(l for l in lines if l.startswith(("version:", "product:")))
        start = next(i for i, l in enumerate(lines) if l.startswith("methods:"))
        gstart = next(i for i, l in enumerate(lines) if l.startswith("general:"))
        write("catalogue", header + "".join(lines[gstart:start]))
        items, cur = [], None
        for l in lines[start + 1:]:
            if l.startswith("  - name:"):
                cur = [l]
                items.append(cur)
            elif cur is not None and not l.lstrip().startswith("#"):
                cur.append(l)
        for item in items:
            write("catalogue", header + "methods:\n" + "".join(item))


def xml_seeds():
    samples = []
    for cat in CATALOGUES:
        for m in yaml.safe_load(cat.read_text())["methods"]:
            s = m["response"].get("sample")
            if s and s.lstrip().startswith("<"):
                decl = '<?xml version="1.0" encoding="UTF-8"?>\n'
                samples.append(decl + s)
    samples += [
        "<status><error>Incorrect hash</error></status>",
        "<page><error>Bad login</error></page>",
        '<page a="1" b="x &amp; y"><v>1.4475</v><!-- c --><w/></page>',
    ]
    for s in samples:
        write("xml", s)
    for a, b in zip(samples, samples[1:] + samples[:1]):
        write("xml", a + "\0" + b)


def value(p):
    if p.get("default") is not None and not str(p["default"]).startswith("@"):
        return str(p["default"])
    return {
        "integer": "2", "id": "2", "id_or_all": "all", "number": "5.25", "currency": "USD",
        "flag": "1", "timestamp": "1795392000", "enum": "all",
    }.get(p.get("type"), "user")


def request_seeds():
    for cat in CATALOGUES:
        doc = yaml.safe_load(cat.read_text())
        for m in doc["methods"]:
            params = [("u", "admin")] + [(p["name"], value(p)) for p in m["params"] if p["name"] != "u"]
            values = dict(params)
            if m["name"] == "user_login":
                values["p"] = "admin"
                params.append(("p", "admin"))
            hashed = [n for n in m["hash"] if not (n == "u" and m.get("u_in_hash") == "non_admin")]
            digest = hashlib.sha1(("".join(values.get(n, "") for n in hashed) + SECRET).encode()).hexdigest()
            signed = params + [("hash", digest)]
            q = urllib.parse.urlencode(signed)
            for name in [m["name"]] + (m.get("aliases") or []):
                path = f"/billing/api/{name}"
                write("request", f"POST {path}?{q}\n\n")
            path = f"/billing/api/{m['name']}"
            form = urllib.parse.urlencode(signed[1:])
            write("request", f"POST {path}?u=admin\nContent-Type: application/x-www-form-urlencoded\n\n{form}")
            write("request", f"POST {path}\n\n{q}")
            write("request", f"POST {path}\nContent-Type: application/json\n\n{json.dumps(dict(signed))}")
            write("request", f"GET {path}?{q}\n\n")
            bad = urllib.parse.urlencode(params + [("hash", "0" * 40)])
            write("request", f"POST {path}?{bad}\n\n")
    for raw in [
        "POST /billing/api/quickstats_get?u=admin&hash=E5E9FA1BA31ECD1AE84F75CAAA474F3A663F05F4\n\n",
        "POST /billing/api/no_such_method?u=admin\n\n",
        "POST /billing/api/\n\n",
        "GET /\n\n",
        "POST /billing/api/quickstats_get/extra?u=admin\n\n",
        "POST /billing/api/user_balance_update?u=admin&user_id=2&user_id=3&balance=%zz&hash=\n\n",
        "POST /billing/api/user_balance_update?u=admin\nContent-Type: application/json\n\n{\"user_id\": [1,2], \"balance\": {\"a\": null}, ",
        "POST /billing/api/user_details_get?u=admin\nContent-Type: multipart/form-data; boundary=x\n\n--x\r\n",
        "PUT /billing/api/payments_get?u=admin&u[]=x&a[b]=c&=&&&hash\n\n",
        "POST /billing/api/user_login?u=%00%ff&p=%E2%82%AC\n\nu=admin&p=+%2B+",
    ]:
        write("request", raw)


if __name__ == "__main__":
    scenario_seeds()
    catalogue_seeds()
    xml_seeds()
    request_seeds()
    for t in sorted((FUZZ / "corpus").iterdir()):
        files = list(t.iterdir())
        print(f"{t.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
