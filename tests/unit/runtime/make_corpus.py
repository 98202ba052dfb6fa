#!/usr/bin/env python3
# make_corpus.py - the multilingual tokenizer test corpus, built from files on the machine plus generated lines.
"""Builds the tokenizer parity corpus (deterministic for a given machine).

Sources, each used only if present:
  prose   /usr/share/common-licenses/{GPL-3,Apache-2.0,MPL-2.0}
  code    this repository's runtime/compiler/scripts sources (C, C++, Python)
  symbols /usr/share/X11/locale/en_US.UTF-8/Compose (accents, symbols, some CJK)
Generated (random.Random(SEED)), so CJK, emoji and other scripts are always covered:
  CJK lines (Han inside and outside 一-龥, kana, Hangul, CJK punctuation, fullwidth
  forms) mixed with ASCII words and digits; emoji lines (single emoji, skin tones,
  ZWJ families, flags, keycaps, variation selectors); other scripts (Cyrillic, Greek,
  Arabic, Hebrew, Devanagari and Latin with combining marks, Thai); numbers and
  whitespace edge cases (digit runs, fullwidth/Arabic-Indic digits, tabs, CRLF,
  NBSP, ideographic space, space runs); HY special tokens inside text.

Usage: make_corpus.py -o corpus.txt     (one line per record, "\\n"-terminated)
"""
import argparse
import os
import random
import unicodedata

SEED = 20251123
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

PROSE = ["/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0",
         "/usr/share/common-licenses/MPL-2.0"]
CODE_DIRS = ["runtime/src", "runtime/include/hy", "compiler/lib", "scripts/models", "tests/e2e"]
SYMBOLS = "/usr/share/X11/locale/en_US.UTF-8/Compose"
SPECIALS = ["<｜hy_begin▁of▁sentence｜>", "<｜hy_end▁of▁sentence｜>", "<｜hy_User｜>",
            "<｜hy_Assistant｜>", "<｜hy_place▁holder▁no▁3｜>", "<｜hy_place▁holder▁no▁2｜>"]


def read_lines(path, limit=None, stride=1):
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError):
        return []
    lines = [ln for ln in lines[::stride] if ln.strip()]
    return lines[:limit] if limit else lines


def assigned(lo, hi, cats=None):
    out = []
    for cp in range(lo, hi + 1):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat != "Cn" and (cats is None or cat[0] in cats):
            out.append(ch)
    return out


def generated(rng):
    han = assigned(0x4E00, 0x9FA5)
    han_ext = assigned(0x3400, 0x4DB5) + assigned(0x9FA6, 0x9FFF)
    kana = assigned(0x3041, 0x3096) + assigned(0x30A1, 0x30FA) + ["ー", "・"]
    hangul = assigned(0xAC00, 0xD7A3)
    cjk_punct = list("、。「」『』（）【】《》〈〉！？：；，．・…〜") + ["\u3000"]
    fullwidth = assigned(0xFF01, 0xFF5E)
    words = ["the", "model", "HY-1.8B", "hyc", "token", "2-bit", "Q2_0C", "CPU", "AVX2", "ok"]
    emoji = (assigned(0x1F300, 0x1F5FF, "S") + assigned(0x1F600, 0x1F64F, "S") +
             assigned(0x1F680, 0x1F6FF, "S") + assigned(0x1F900, 0x1F9FF, "S") +
             assigned(0x2600, 0x27BF, "S"))
    skin = [chr(c) for c in range(0x1F3FB, 0x1F400)]
    zwj = ["👩\u200d💻", "👨\u200d👩\u200d👧\u200d👦", "🏳\ufe0f\u200d🌈", "🧑\u200d🚀",
           "❤\ufe0f\u200d🔥", "👁\ufe0f\u200d🗨\ufe0f"]
    flags = ["".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in cc)
             for cc in ["CN", "JP", "US", "FR", "DE", "KR", "BR", "IN"]]
    keycaps = [d + "\ufe0f\u20e3" for d in "0123456789#*"]
    scripts = {
        "cyrillic": assigned(0x0410, 0x044F), "greek": assigned(0x0391, 0x03C9, "L"),
        "arabic": assigned(0x0621, 0x064A), "hebrew": assigned(0x05D0, 0x05EA),
        "devanagari": assigned(0x0905, 0x0939) + assigned(0x093E, 0x094D),
        "thai": assigned(0x0E01, 0x0E3A) + assigned(0x0E40, 0x0E4E),
    }
    combining = [chr(c) for c in range(0x0300, 0x0315)]
    spaces = [" ", "  ", "\t", "\u00a0", "\u3000", " \t ", "   "]
    digits = ["0123456789", "１２３４５", "٠١٢٣٤٥٦٧٨٩", "²³¹", "½¼⅓", "Ⅻ", "१२३", "๑๒๓"]
    lines = []

    def pick(seq, k):
        return "".join(rng.choice(seq) for _ in range(k))

    for i in range(350):  # CJK
        parts = []
        for _ in range(rng.randint(2, 7)):
            kind = rng.random()
            if kind < 0.45:
                parts.append(pick(han, rng.randint(1, 12)))
            elif kind < 0.55:
                parts.append(pick(han_ext, rng.randint(1, 4)))
            elif kind < 0.7:
                parts.append(pick(kana, rng.randint(1, 8)))
            elif kind < 0.8:
                parts.append(pick(hangul, rng.randint(1, 6)))
            elif kind < 0.87:
                parts.append(pick(fullwidth, rng.randint(1, 5)))
            elif kind < 0.94:
                parts.append(rng.choice(words))
            else:
                parts.append(str(rng.randint(0, 10 ** rng.randint(1, 9))))
            parts.append(rng.choice(["", "", " ", "", pick(cjk_punct, 1)]))
        lines.append("".join(parts))
    for i in range(350):  # emoji
        parts = []
        for _ in range(rng.randint(1, 6)):
            kind = rng.random()
            if kind < 0.4:
                parts.append(pick(emoji, rng.randint(1, 3)))
            elif kind < 0.5:
                parts.append(rng.choice(emoji) + rng.choice(skin))
            elif kind < 0.6:
                parts.append(rng.choice(zwj))
            elif kind < 0.68:
                parts.append(rng.choice(flags))
            elif kind < 0.74:
                parts.append(rng.choice(keycaps))
            elif kind < 0.8:
                parts.append(rng.choice(emoji) + "\ufe0f")
            else:
                parts.append(rng.choice(words + ["你好", "こんにちは", "ok!"]))
            parts.append(rng.choice([" ", "", "  ", "!", ", "]))
        lines.append("".join(parts))
    names = sorted(scripts)
    for i in range(250):  # other scripts, combining marks
        parts = []
        for _ in range(rng.randint(2, 8)):
            s = scripts[rng.choice(names)]
            w = pick(s, rng.randint(1, 9))
            if rng.random() < 0.2:
                w = pick("abcdeiouyn", rng.randint(1, 3)) + rng.choice(combining) + pick("rstlm", 2)
            parts.append(w)
        lines.append(rng.choice(["", " ", "«"]) + " ".join(parts) + rng.choice(["", ".", "?", "»", "!!"]))
    for i in range(250):  # numbers, whitespace, specials
        parts = []
        for _ in range(rng.randint(2, 8)):
            kind = rng.random()
            if kind < 0.3:
                parts.append(str(rng.randint(0, 10 ** rng.randint(1, 12))))
            elif kind < 0.4:
                parts.append(rng.choice(digits))
            elif kind < 0.55:
                parts.append(rng.choice(spaces))
            elif kind < 0.65:
                parts.append(rng.choice(SPECIALS))
            elif kind < 0.7:
                parts.append(rng.choice(SPECIALS)[:rng.randint(1, 8)])
            elif kind < 0.8:
                parts.append(rng.choice(["'s", "'ll", ".Net", "#include", "->x", "::std", "x+=1",
                                         "$HOME", "@user", "[0]", "{a:b}", "`code`", "_init_"]))
            else:
                parts.append(rng.choice(words))
        line = "".join(parts)
        line += rng.choice(["", " ", "\t", "\r", "  ", "\u00a0"])
        lines.append(line)
    return lines


def build():
    """-> (lines, {source: line count})."""
    rng = random.Random(SEED)
    lines, counts = [], {}
    for path in PROSE:
        got = read_lines(path, limit=400)
        counts[path] = len(got)
        lines += got
    code = []
    for d in CODE_DIRS:
        full = os.path.join(ROOT, d)
        if not os.path.isdir(full):
            continue
        for name in sorted(os.listdir(full)):
            if name.endswith((".c", ".h", ".cpp", ".py")) and name != "unicode_tables.c":
                code += read_lines(os.path.join(full, name), limit=150)
    code = code[:1200]
    counts["repository sources"] = len(code)
    lines += code
    sym = read_lines(SYMBOLS, stride=9)
    counts[SYMBOLS] = len(sym)
    lines += sym
    gen = generated(rng)
    counts["generated (CJK, emoji, scripts, numbers/whitespace/specials)"] = len(gen)
    lines += gen
    return lines, counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    lines, counts = build()
    with open(args.output, "w", encoding="utf-8", newline="") as f:
        for ln in lines:
            f.write(ln + "\n")
    for k, v in counts.items():
        print(f"{v:6d}  {k}")
    print(f"{len(lines):6d}  lines -> {args.output}")


if __name__ == "__main__":
    main()
