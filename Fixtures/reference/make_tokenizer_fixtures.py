#!/usr/bin/env python3
"""Reference token ids for TokenizerParityTests.

Versions: Python 3, transformers 5.23.0, tokenizers (as pinned by that
transformers), ftfy NOT installed (transformers 5.23's CLIPTokenizer is backed by
the `tokenizers` library and never uses ftfy).

    /work/venv/bin/python Fixtures/reference/make_tokenizer_fixtures.py

writes Fixtures/tokenizer/cases.json: [{"text": ..., "ids": [...]}, ...], the ids
from CLIPTokenizer.from_pretrained(Fixtures/clip-vocab)(text, truncation=True,
max_length=77) -- BOS ... EOS, no padding. The script also checks that
CLIPTokenizer(vocab_file, merges_file) agrees.
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


def main():
    rng = random.Random(20261122)
    texts = HAND + long_texts(rng) + random_mixes(rng, 160)
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


if __name__ == "__main__":
    main()
