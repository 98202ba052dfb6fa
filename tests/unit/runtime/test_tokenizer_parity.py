#!/usr/bin/env python3
"""Tokenizer parity: the runtime's C tokenizer against the `tokenizers` package.

Both get the same vocabulary and merges and an equivalent configuration: the
HY / DeepSeek-V3 pre-tokenizer as three isolated regex Splits (digits 1-3, CJK
runs, the GPT-like pattern) followed by a regex-free ByteLevel, a BPE model,
and every control / user-defined token as a special added token. The C side
goes through the real path: GGUF metadata -> the compiler's exportTokenizer
(hy-tokenizer-export) -> NAME.tokenizer -> runtime/src/tokenizer.c
(hy-tokenize-tool, which also checks decode(encode(x)) == x).

Three vocabularies:
  tiny     the synthetic HY model's (scripts/models/hy_gguf.py: 512 tokens, merges
           learned from license texts, HY special tokens)
  full     the full-size synthetic HY-1.8B tokenizer (hy_gguf.py: 120,818 tokens, ~72k
           merges learned from text Debian ships, HY's special id block at 120000)
  trained  a byte-level BPE of 8,000 tokens trained by `tokenizers` on the corpus
           itself with the same pre-tokenizer, so merges reach into CJK, emoji and
           every other script of the corpus (written to a tokenizer-only GGUF with
           the `gguf` package)
Records: every corpus line with its "\\n" (see make_corpus.py), plus blocks of 25
consecutive lines. Exit status 0 only if every record matches in both cases.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

import gguf
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts", "models"))
import make_corpus  # noqa: E402
import hy_gguf  # noqa: E402

# The hunyuan-dense / deepseek-v3 pre-split, as llama.cpp and the models' tokenizer.json spell it.
SPLITS = [
    r"\p{N}{1,3}",
    r"[一-龥぀-ゟ゠-ヿ]+",
    r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|"
    r" ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
]
SPECIAL_TYPES = (3, 4)  # control, user-defined


def pre_tokenizer():
    return pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(p), behavior="isolated", invert=False) for p in SPLITS] +
        [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])


def hf_tokenizer(tokens, types, merges):
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ")) for m in merges]
    tk = Tokenizer(models.BPE(vocab=vocab, merges=pairs, ignore_merges=False))
    tk.pre_tokenizer = pre_tokenizer()
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False)
                           for t, ty in zip(tokens, types) if ty in SPECIAL_TYPES])
    return tk


def train(lines, vocab_size):
    specials = make_corpus.SPECIALS
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tk.train_from_iterator(lines, trainer=trainer)
    vocab = tk.get_vocab()
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    import json
    merges = json.loads(tk.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    types = [3 if t in specials else 1 for t in tokens]
    return tokens, types, merges


def write_tokenizer_gguf(path, tokens, types, merges):
    w = gguf.GGUFWriter(path, "hunyuan-dense")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("hunyuan-dense")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(tokens.index(make_corpus.SPECIALS[0]))
    w.add_eos_token_id(tokens.index(make_corpus.SPECIALS[1]))
    w.add_chat_template(hy_gguf.CHAT_TEMPLATE)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def read_gguf_tokenizer(path):
    # hy_gguf's own reader: the gguf package cannot parse Q2_0C (type 40) tensors.
    md = hy_gguf.GGUFFile(path).metadata
    return (list(md["tokenizer.ggml.tokens"]), [int(t) for t in md["tokenizer.ggml.token_type"]],
            list(md["tokenizer.ggml.merges"]))


def compare(name, tokens, types, merges, records, workdir, args):
    g = os.path.join(workdir, name + ".gguf")
    tok_file = os.path.join(workdir, name + ".tokenizer")
    if not os.path.exists(g):
        write_tokenizer_gguf(g, tokens, types, merges)
    subprocess.run([args.export_tool, g, tok_file], check=True)
    rec_path = os.path.join(workdir, name + ".records")
    ids_path = os.path.join(workdir, name + ".ids")
    with open(rec_path, "wb") as f:
        f.write(struct.pack("<I", len(records)))
        for r in records:
            b = r.encode("utf-8")
            f.write(struct.pack("<I", len(b)) + b)
    c = subprocess.run([args.tokenize_tool, tok_file, rec_path, ids_path],
                       capture_output=True, text=True)
    sys.stdout.write(f"  C tool: {c.stdout}")
    sys.stderr.write(c.stderr)
    ok = c.returncode == 0
    ours = []
    with open(ids_path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        (n,) = struct.unpack_from("<I", data, at)
        ours.append(list(struct.unpack_from(f"<{n}i", data, at + 4)))
        at += 4 + 4 * n
    hf = hf_tokenizer(tokens, types, merges)
    theirs = [e.ids for e in hf.encode_batch(records, add_special_tokens=False)]
    mismatches = 0
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            mismatches += 1
            if mismatches <= 5:
                print(f"  MISMATCH record {i}: {records[i]!r}\n    hyc:        {a}\n    tokenizers: {b}")
    if len(ours) != len(theirs):
        print(f"  MISMATCH: {len(ours)} records from the C tool, {len(theirs)} expected")
        mismatches += 1
    n_tok = sum(len(t) for t in theirs)
    print(f"  {name}: vocab {len(tokens)}, merges {len(merges)}: {len(records)} records, "
          f"{n_tok} tokens, {mismatches} mismatching records")
    return ok and mismatches == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export-tool", required=True)
    ap.add_argument("--tokenize-tool", required=True)
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--skip-full", action="store_true", help="leave out the 120k-token case")
    args = ap.parse_args()
    lines, counts = make_corpus.build()
    print("corpus:")
    for k, v in counts.items():
        print(f"  {v:6d} lines  {k}")
    print(f"  {len(lines):6d} lines in all, {sum(len(ln) for ln in lines)} characters")
    records = [ln + "\n" for ln in lines]
    records += ["\n".join(lines[i:i + 25]) + "\n" for i in range(0, len(lines), 25)]
    ok = True
    with tempfile.TemporaryDirectory(prefix="hy-tok-parity-") as tmp:
        tiny = os.path.join(tmp, "tiny.gguf")
        hy_gguf.write_model("tiny", tiny)
        tokens, types, merges = read_gguf_tokenizer(tiny)
        ok &= compare("tiny", tokens, types, merges, records, tmp, args)
        if not args.skip_full:
            c = hy_gguf.CONFIGS["full"]
            tokens, types, merges, _, _ = hy_gguf.build_tokenizer(
                c["vocab_size"], c["corpus"], c["special_base"])
            ok &= compare("full", tokens, types, merges, records, tmp, args)
        tokens, types, merges = train(lines, args.vocab)
        ok &= compare("trained", tokens, types, merges, records, tmp, args)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
