# A text-processing step: a corpus is tokenized with a regular expression into one big list of short strings (the
# spike), lower-cased, counted into a vocabulary and bigram counts; the token lists go, the top of the vocabulary
# stays.  Allocation character: millions of tiny str objects (pymalloc's territory) and big list arrays (malloc's).
import gc
import random
import re
from collections import Counter

import _kit
import pyalloc_mark

WORD = re.compile(r"[A-Za-z']+|[0-9]+|[^\sA-Za-z0-9]")


def corpus(rng, sentences):
    syllables = ("ka", "lo", "mi", "ren", "sa", "to", "vu", "ex", "qua", "dri", "pel", "zon")
    vocab = ["".join(rng.choice(syllables) for _ in range(rng.randrange(1, 4))) for _ in range(30000)]
    lines = []
    for i in range(sentences):
        words = [rng.choice(vocab) for _ in range(rng.randrange(5, 25))]
        words[0] = words[0].capitalize()
        lines.append(" ".join(words) + rng.choice((".", "!", "?", f", {i}.")))
    return "\n".join(lines)


def main():
    text = corpus(random.Random(5), int(70000 * _kit.scale()))
    tokens = WORD.findall(text)                                # the spike: millions of short strings in one list
    lower = [t.lower() for t in tokens]
    vocab = Counter(lower)
    bigrams = Counter(zip(lower, lower[1:]))
    count, chars = len(tokens), sum(map(len, tokens))
    top = dict(vocab.most_common(1000))
    del tokens, lower, vocab, bigrams, text
    gc.collect()
    pyalloc_mark.mark("after_spike")
    _kit.report("tokenizer", tokens=count, chars=chars, kept=len(top), most_common=next(iter(top)))


if __name__ == "__main__":
    main()
