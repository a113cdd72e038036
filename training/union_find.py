"""Disjoint sets over the integers 0..n-1: the grouping behind near-duplicates and leakage-free splits."""

from __future__ import annotations

from collections.abc import Iterable


class UnionFind:
    """Union by size with path halving; `groups()` lists every set, singletons included, in a stable order."""

    def __init__(self, size: int) -> None:
        self._parent = list(range(size))
        self._size = [1] * size

    def find(self, element: int) -> int:
        parent = self._parent
        while parent[element] != element:
            parent[element] = parent[parent[element]]
            element = parent[element]
        return element

    def union(self, first: int, second: int) -> None:
        first, second = self.find(first), self.find(second)
        if first == second:
            return
        if self._size[first] < self._size[second]:
            first, second = second, first
        self._parent[second] = first
        self._size[first] += self._size[second]

    def union_all(self, elements: Iterable[int]) -> None:
        """Join every element of `elements` into one set."""
        elements = list(elements)
        for element in elements[1:]:
            self.union(elements[0], element)

    def groups(self) -> list[tuple[int, ...]]:
        """Every set as a sorted tuple, ordered by its smallest element."""
        members: dict[int, list[int]] = {}
        for element in range(len(self._parent)):
            members.setdefault(self.find(element), []).append(element)
        return sorted((tuple(group) for group in members.values()), key=lambda group: group[0])
