"""Character vocabularies with the reserved ids every model in this repo relies on.

Id table (shared by `legacy_tf1`, `tf2` and the converter; do not reorder):

| id | token  | meaning                                              |
|----|--------|------------------------------------------------------|
| 0  | <pad>  | padding; masks are derived from `ids != 0`           |
| 1  | <s>    | start of sequence, first decoder input              |
| 2  | </s>   | end of sequence, last decoder target; stops decoding |
| 3  | <unk>  | a character the vocabulary does not have             |
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PAD_ID = 0
SOS_ID = 1
EOS_ID = 2
UNK_ID = 3
RESERVED = ("<pad>", "<s>", "</s>", "<unk>")


@dataclass(frozen=True)
class Vocab:
    """A character vocabulary: ids 0..3 reserved (see the module table), then `chars`."""

    chars: tuple[str, ...]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocab:
        return cls(tuple(sorted({c for t in texts for c in t})))

    @property
    def tokens(self) -> tuple[str, ...]:
        return RESERVED + self.chars

    @property
    def size(self) -> int:
        return len(RESERVED) + len(self.chars)

    def _index(self) -> dict[str, int]:
        index = self.__dict__.get("_cached_index")
        if index is None:
            index = {c: i + len(RESERVED) for i, c in enumerate(self.chars)}
            object.__setattr__(self, "_cached_index", index)
        return index

    def encode(self, text: str) -> list[int]:
        index = self._index()
        return [index.get(c, UNK_ID) for c in text]

    def decode(self, ids: Sequence[int], stop_at_eos: bool = True) -> str:
        out = []
        for i in ids:
            i = int(i)
            if i == EOS_ID and stop_at_eos:
                break
            if i < len(RESERVED):
                continue
            if i < self.size:
                out.append(self.chars[i - len(RESERVED)])
        return "".join(out)

    def save(self, path: str) -> None:
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(list(self.chars), f, ensure_ascii=False)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str) -> Vocab:
        with open(path, encoding="utf-8") as f:
            return cls(tuple(json.load(f)))
