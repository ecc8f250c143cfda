"""Text for the synthetic catalogue, drawn from the words of the 76 real seed papers.

Titles and abstracts are sampled from the seed corpus's own word frequencies
(a Zipf-like distribution, as in real abstracts), with each paper's topic
keywords mixed in, so that full-text search finds common and rare terms at
realistic selectivities and TF-IDF similarity has topics to find.
"""

import json
import re
from collections import Counter
from pathlib import Path

SEED_FILE = Path(__file__).resolve().parent.parent / "papers" / "fixtures" / "seed_papers.jsonl"
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{2,}")
STOPWORDS = frozenset(
    "the and for with that this from are our can its has have not but was were which their these than into "
    "such also more each both other most when over only between while they them there what how who all any "
    "two one use used using show shows shown based new well may many much via does how where".split()
)

FIRST_NAMES = (
    "Ada Alan Amir Ana Anna Arjun Bo Carla Chen Chloe Daniel David Elena Emma Fatima Felix Hana Hiro Ivan Jia "
    "Jonas Julia Kai Kenji Lara Lei Liam Lucia Maria Marta Mei Mohammed Nadia Nina Noah Olga Omar Pablo Priya "
    "Rahul Ravi Rosa Sara Sofia Tariq Tom Wei Xin Yara Yuki Zoe"
).split()
LAST_NAMES = (
    "Abe Ahmed Alvarez Baker Becker Chen Costa Dubois Fischer Garcia Gupta Haddad Hansen Ito Jensen Kim Kumar "
    "Larsen Lee Li Liu Lopez Martin Meyer Moreau Muller Nakamura Nguyen Novak Okafor Park Patel Petrov Rossi "
    "Sato Schmidt Silva Singh Smith Sousa Suzuki Tanaka Wang Weber Wu Xu Yamamoto Yang Zhang Zhou"
).split()


def seed_texts() -> list[str]:
    with SEED_FILE.open(encoding="utf-8") as lines:
        return [f"{row['title']} {row.get('abstract', '')}" for row in map(json.loads, lines)]


def word_frequencies() -> Counter:
    """Words of the seed corpus with their counts (lower-cased, 3+ letters)."""
    counts: Counter = Counter()
    for text in seed_texts():
        counts.update(word.lower() for word in _WORD.findall(text))
    return counts


def content_words(counts: Counter, *, limit: int = 2000) -> list[str]:
    """The most frequent words that carry meaning: candidates for tag names and queries."""
    return [word for word, _ in counts.most_common() if word not in STOPWORDS and len(word) > 3][:limit]
