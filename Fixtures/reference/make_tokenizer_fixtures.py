#!/usr/bin/env python3
"""Reference token ids for TokenizerParityTests.

Versions: Python 3.11.7, transformers 5.23.0, tokenizers 0.23.3; ftfy NOT
installed (transformers 5.23's CLIPTokenizer is backed by the `tokenizers`
library and never uses ftfy, nor html.unescape as OpenAI's simple_tokenizer did).

    python Fixtures/reference/make_tokenizer_fixtures.py

writes Fixtures/tokenizer/cases.json: [{"text": ..., "ids": [...]}, ...], the ids
from CLIPTokenizer.from_pretrained(Fixtures/clip-vocab)(text, truncation=True,
max_length=77) -- BOS ... EOS, no padding. The script also checks that
CLIPTokenizer(vocab_file, merges_file) agrees.

It also writes Fixtures/tokenizer/unicode.txt: how the backend tokenizer treats
every Unicode scalar on its own -- its class in the pre-tokenizer's regular
expressions (L letter, N number, S white space, O anything else; run-length
encoded) and, where it changes, what the normaliser (NFC, white space, lower
case) turns it into. Swift's Unicode tables are not Oniguruma's; this pins the
difference down exhaustively.
"""
import json
import os
import random

import tokenizers
import transformers
from transformers import CLIPTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.dirname(HERE)
VOCAB = os.path.join(FIX, "clip-vocab")

HAND = [
    "", " ", "   ", "\t\n", "a", "A", "a photo of a cat", "A PHOTO OF A CAT", "A Photo Of A Cat",
    "a photo of a cat.", "a photo of a cat!!!", "a photo of a cat?!", "Hello, world!", "hello world",
    "  leading and trailing spaces  ", "multiple    spaces   between", "tabs\tand\nnewlines\r\nmixed",
    "vertical\x0btab\x0cform feed", "nbsp\u00a0space", "thin\u2009space", "ideographic\u3000space",
    "ogham\u1680space", "line\u2028separator", "paragraph\u2029separator", "nel\u0085char",
    "mongolian\u180evowel", "zero\u200bwidth", "bom\ufeffinside", "zwj\u200dzwnj\u200c",
    "it's", "It's", "IT'S", "don't", "DON'T", "we're", "they've", "I'm", "you'll", "he'd", "'s", "'S",
    "''", "'hello'", "\"quoted\"", "rock 'n' roll", "o'clock", "ma'am", "y'all'd've", "it’s curly",
    "cats' toys", "the 90's", "'twas", "'re 've 'm 'll 'd 't",
    "0", "1", "12", "123", "2024", "3.14159", "1,000,000", "-42", "+7", "1e10", "0x1F", "#1", "50%",
    "$19.99", "€20", "£5", "¥100", "10:30pm", "2024-01-15", "1/2", "½", "²", "³", "Ⅻ", "٣٤٥", "१२३", "①②③",
    "café", "cafe\u0301", "naïve", "Ångström", "\u212bngstr\u00f6m", "\u212a kelvin", "résumé", "ÜBER",
    "straße", "STRASSE", "ẞ", "İstanbul", "ıi", "ΣΑΣ", "Σίσυφος", "ǅ", "ǈ ǋ", "Ωmega", "ﬁ ligature", "ﬃ",
    "Ａ fullwidth ＡＢＣ", "ｈｅｌｌｏ", "𝐁𝐨𝐥𝐝", "Ⓐⓑⓒ", "ᏣᎳᎩ", "Ꭰ", "𐐀𐐨", "Ⴀ", "Გ",
    "日本語のテキスト", "東京タワー", "中文字符测试", "한국어 텍스트", "\u1100\u1161\u11a8", "ไทย ภาษา",
    "עברית", "שָׁלוֹם", "العربية", "مرحبا بالعالم", "Русский текст", "ПРИВЕТ мир", "Ελληνικά", "हिन्दी", "தமிழ்",
    "ქართული", "Հայերեն", "አማርኛ", "ᠮᠣᠩᠭᠣᠯ", "tiếng Việt", "Türkçe", "Polski źdźbło", "Čeština", "Íslenska",
    "😀", "😀😃😄", "I ❤ NY", "❤️", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "1️⃣", "cat🐱dog🐶", "🤖 robots",
    "☃", "★☆", "→←↑↓", "∑∫√∞", "±×÷", "©®™", "§¶†‡", "…", "—–-", "«»", "„“”", "‘’", "•·", "°C",
    "&amp;", "&lt;b&gt;bold&lt;/b&gt;", "&quot;hi&quot;", "&#39;", "&nbsp;", "<b>bold</b>", "<div class=\"x\">",
    "https://example.com/path?q=1&r=2#frag", "http://www.openai.com", "www.google.com", "user@example.com",
    "C:\\Users\\photo.jpg", "/usr/local/bin", "~/.cache/unclip", "snake_case_name", "camelCaseName",
    "kebab-case-name", "SCREAMING_SNAKE", "#hashtag", "@mention", "$variable", "a+b=c", "x^2", "f(x)=y",
    "[brackets]", "{braces}", "(parens)", "<angles>", "a|b", "a\\b", "a/b", "a;b:c", "a,b.c", "a!b?c",
    "...", "!!!", "???", "!?", "--", "__init__", "**bold**", "~~strike~~", "`code`", "```", "=>", "->", "::",
    "<|startoftext|>", "<|endoftext|>", "a <|endoftext|> b", "A<|ENDOFTEXT|>b", "x<|startoftext|>y",
    "<|startoftext|>hello<|endoftext|>", "<|endoftext|><|endoftext|>", "<|endoftext", "|endoftext|>",
    "!<|endoftext|>", "<<|endoftext|>>", "<|StartOfText|>", " <|endoftext|> ", "<|endoftext|>'s",
    "supercalifragilisticexpialidocious", "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abababababababab", "zzzzzzzz", "qwertyuiop",
    "photorealistic 8k render, trending on artstation", "an oil painting of a fox in the snow",
    "a photograph of an astronaut riding a horse", "a close-up of a red rose with dew drops",
    "portrait of a woman, 35mm film, bokeh", "a black and white photo of new york city in the 1950s",
    "low-poly 3D render of a mountain", "watercolor: sunset over the ocean", "a dog wearing sunglasses 😎",
    "kodim23: two parrots", "the quick brown fox jumps over the lazy dog",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG", "Pack my box with five dozen liquor jugs.",
    "e\u0301\u0301", "a\u0308o\u0308u\u0308", "\u0301leading combining", "क्षत्रिय", "ñ", "n\u0303",
    "\u00ad soft hyphen", "control\x01char", "del\x7fchar", "null\x00byte", "\ue000 private use", "\U0010fffd",
    "tab\tseparated\tvalues", "comma,separated,values", "line1\nline2\nline3", "\n\n\n",
]


def long_texts(rng):
    words = ("photo cat dog tree sky river mountain painting portrait city night light shadow red blue green "
             "ancient modern abstract surreal vintage neon misty golden hour cinematic dramatic").split()
    out = []
    out.append(" ".join(["word"] * 80))
    out.append(" ".join(["a"] * 75))
    out.append(" ".join(["a"] * 76))
    out.append(" ".join(["a"] * 77))
    out.append("x" * 500)
    out.append("1234567890" * 10)
    out.append("😀" * 40)
    out.append("日本" * 60)
    out.append(", ".join(rng.choice(words) for _ in range(60)))
    for n in (70, 74, 75, 76, 90, 150, 300):
        out.append(" ".join(rng.choice(words) for _ in range(n)))
    return out


def random_mixes(rng, n):
    pieces = [h for h in HAND if h] + ["The", "QUICK", "brown", "123", "4", "'s", "'LL", "—", "é", "Ü", "ß",
                                        "😀", "🇯🇵", "漢字", "かな", "Ж", "λ", "٣", "  ", "\t", "\n", "!", "?!", ".",
                                        "<|endoftext|>", "&amp;", "http://x.y/z", "#", "@", "_", "-", "'"]
    out = []
    for _ in range(n):
        k = rng.randint(1, 6)
        seps = ["", " ", "  ", "\t", "-", "'"]
        s = ""
        for i in range(k):
            s += rng.choice(pieces)
            if i < k - 1:
                s += rng.choice(seps)
        if rng.random() < 0.3:
            s = s.upper()
        out.append(s)
    return out


def random_scalars(rng, n):
    """Strings of random scalars from every plane, for the Unicode tables."""
    out = []
    for _ in range(n):
        s = ""
        for _ in range(rng.randint(1, 10)):
            r = rng.random()
            cp = (rng.randint(0x20, 0x7E) if r < 0.3 else rng.randint(0xA0, 0x2FFF) if r < 0.6
                  else rng.randint(0x3000, 0xFFEF) if r < 0.8 else rng.randint(0x10000, 0x1FBFF))
            if not 0xD800 <= cp <= 0xDFFF:
                s += chr(cp)
        out.append(s)
    # Letters and digits that Unicode 17 added, unknown to Oniguruma's 16.0 tables.
    out += ["x\u088fy", "\ua7ce\ua7cf", "a\U00018dc0b", "\U00011dd4 \U0001e6e4", "1\U00016ecd2"]
    return out


MARKS = (list(range(0x300, 0x370)) + list(range(0x1AB0, 0x1AD0)) + list(range(0x1DC0, 0x1E00))
         + list(range(0x20D0, 0x20F1)) + [0x093C, 0x094D, 0x09BE, 0x0B3E, 0x0BBE, 0x0F71, 0x0F80, 0x3099, 0x309A])
BASES = (list(range(0x41, 0x7B)) + list(range(0xC0, 0x250)) + list(range(0x370, 0x400)) + list(range(0x1E00, 0x1F00))
         + list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11A8, 0x11C4))
         + list(range(0xAC00, 0xAC40)) + [0x0915, 0x09C7, 0x0B47, 0x0BC6, 0x0F40, 0x304B, 0x30AB])


def combining_sequences(rng, n):
    """Base letters with stacks of combining marks and Hangul jamo: NFC's
    reordering and composition, where the reference uses Unicode 9.0 tables."""
    out = ["\u00ff\u1df7\u1dfb", "\u00ff\u1dfb\u1df7", "a\u1abb\u1abf", "a\u1abf\u1abb", "\uac00\u11c1",
           "\uac00\u11a8", "\uac00\u11c3", "\u1100\u1161\u11a8", "\uac00\u1df7\u11a8", "e\u0301\u0323"]
    for _ in range(n):
        s = ""
        for _ in range(rng.randint(1, 5)):
            s += chr(rng.choice(BASES))
            for _ in range(rng.randint(0, 3)):
                s += chr(rng.choice(MARKS if rng.random() < 0.8 else BASES))
        out.append(s)
    return out


def main():
    rng = random.Random(20261122)
    texts = (HAND + long_texts(rng) + random_mixes(rng, 160) + random_scalars(random.Random(17), 150)
             + combining_sequences(random.Random(9), 140))
    seen, uniq = set(), []
    for t in texts:
        if t not in seen:
            seen.add(t)
            uniq.append(t)
    tok = CLIPTokenizer.from_pretrained(VOCAB)
    tok2 = CLIPTokenizer(os.path.join(VOCAB, "vocab.json"), os.path.join(VOCAB, "merges.txt"))
    cases = []
    for t in uniq:
        ids = tok(t, truncation=True, max_length=77)["input_ids"]
        ids2 = tok2(t, truncation=True, max_length=77)["input_ids"]
        assert ids == ids2, (t, ids, ids2)
        assert ids[0] == 49406 and ids[-1] == 49407 and len(ids) <= 77
        cases.append({"text": t, "ids": ids})
    out = os.path.join(FIX, "tokenizer", "cases.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                   "cases": cases}, f, ensure_ascii=True, indent=0)
        f.write("\n")
    print(f"{len(cases)} cases -> {out} (transformers {transformers.__version__}, tokenizers {tokenizers.__version__})")


def unicode_table(tok):
    pre = tok.backend_tokenizer.pre_tokenizer
    norm = tok.backend_tokenizer.normalizer
    runs, maps = [], []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        if not pre.pre_tokenize_str(c):
            k = "S"
        elif len(pre.pre_tokenize_str("x" + c)) == 1:
            k = "L"
        else:
            k = "N" if len(pre.pre_tokenize_str(c + c)) == 2 else "O"
        if runs and runs[-1][2] == k and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp, k])
        low = norm.normalize_str(c)
        if low != c:
            maps.append((cp, [ord(x) for x in low]))
    path = os.path.join(FIX, "tokenizer", "unicode.txt")
    with open(path, "w") as f:
        f.write(f"# transformers {transformers.__version__}, tokenizers {tokenizers.__version__}: "
                "R start end class (hex, inclusive); M scalar -> normalised scalars\n")
        for a, b, k in runs:
            f.write(f"R {a:X} {b:X} {k}\n")
        for cp, low in maps:
            f.write(f"M {cp:X} " + " ".join(f"{x:X}" for x in low) + "\n")
    print(f"{len(runs)} class runs, {len(maps)} normalised scalars -> {path}")


if __name__ == "__main__":
    main()
    unicode_table(CLIPTokenizer.from_pretrained(VOCAB))
