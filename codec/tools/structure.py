"""Coding structures: which frames a stream codes, in which order, from what.

One small object that encoders, decoders, ``inrv info`` and range decoding all read, after
Cool-chic's coding structure (Ladune et al., Cool-chic video, ``utils/codingstructure.py``: frame
types, display against coding order, references) and the random-access and low-delay
configurations of HM (JCTVC-L1100, the HEVC common test conditions) and x265.

A :class:`CodingStructure` lists the frames in coding order, each a :class:`CodedFrame` with its
type (intra: decoded from its chunk alone; inter: from its chunk and what came before), the
frames it references (display indices), its depth in the hierarchy and the chunk that holds it;
and the chunks in coding order, each a :class:`StructureChunk` with the frames it holds and the
chunk whose decoded state it builds on (``base``): a group-wise family stores each group's codes
as a residual of the previous group's, so a group depends on the group before, back to a chunk
coded directly. Frame references and chunk bases together say what must be decoded for any range
of frames (:meth:`CodingStructure.needed`).

Constructors: :func:`groups` (fixed groups of frames, cut short at scene cuts, some coded
directly: grid, nirvana, teconerv), :func:`low_delay` (each frame from the one before) and
:func:`random_access` (dyadic hierarchical B frames inside each intra period).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property

INTRA = "intra"
INTER = "inter"
KINDS = (INTRA, INTER)


@dataclass(frozen=True)
class CodedFrame:
    """One frame: ``display`` index, ``kind`` (:data:`INTRA` or :data:`INTER`), the display
    indices of the frames it is predicted from (``refs``, decoded before it), its ``depth`` in the
    hierarchy (0: intra frames and the anchors between them) and the ``chunk`` that holds it."""

    display: int
    kind: str
    refs: tuple[int, ...]
    depth: int
    chunk: int

    @property
    def letter(self) -> str:
        """``I`` (intra), ``B`` (a reference after it in display order) or ``P`` (the rest)."""
        if self.kind == INTRA:
            return "I"
        return "B" if any(r > self.display for r in self.refs) else "P"


@dataclass(frozen=True)
class StructureChunk:
    """One chunk of a stream, in coding order: display frames ``first .. first + count - 1`` (a
    group's run; one frame in a frame-wise structure); ``base``: the chunk whose decoded state this
    one adds to or takes its stream-wide parameters from (None: it needs no other chunk's state);
    ``direct``: its codes are coded directly, not as a residual (it restarts a chain); ``cut``: a
    group ended early at a scene cut."""

    index: int
    first: int
    count: int
    base: int | None
    direct: bool
    cut: bool = False

    @property
    def stop(self) -> int:
        return self.first + self.count


@dataclass(frozen=True)
class Needed:
    """What decoding display frames ``start .. stop - 1`` takes: ``frames``, the display indices
    to reconstruct (those asked for and every frame they reference, transitively), in coding
    order; ``chunks``, the chunks to read, in coding order (those holding ``frames`` and the chain
    of states they build on); ``rendered``, the chunks whose frames are rendered (the rest of
    ``chunks`` only give their decoded state)."""

    frames: tuple[int, ...]
    chunks: tuple[int, ...]
    rendered: tuple[int, ...]


@dataclass(frozen=True)
class CodingStructure:
    """Frames and chunks in coding order (see the module docstring); ``name`` says how it was made."""

    frames: tuple[CodedFrame, ...]
    chunks: tuple[StructureChunk, ...]
    name: str = ""

    def __post_init__(self) -> None:
        n = len(self.frames)
        if sorted(f.display for f in self.frames) != list(range(n)):
            raise ValueError("a coding structure holds each display index 0..n-1 once")
        seen: set[int] = set()
        for f in self.frames:
            if f.kind not in KINDS:
                raise ValueError(f"frame {f.display}: kind {f.kind!r} is not one of {KINDS}")
            if f.kind == INTRA and f.refs:
                raise ValueError(f"intra frame {f.display} has references")
            if not set(f.refs) <= seen:
                raise ValueError(f"frame {f.display} references a frame not decoded before it")
            if not 0 <= f.chunk < len(self.chunks):
                raise ValueError(f"frame {f.display} is in chunk {f.chunk}, of {len(self.chunks)}")
            seen.add(f.display)
        for i, c in enumerate(self.chunks):
            if c.index != i or c.count < 1 or (c.base is not None and not 0 <= c.base < i):
                raise ValueError(f"chunk {i}: index, count or base out of order")
            if any(self.frame(d).chunk != i for d in range(c.first, c.stop)):
                raise ValueError(f"chunk {i}'s frames {c.first}..{c.stop - 1} are not all in it")

    @cached_property
    def _by_display(self) -> dict[int, CodedFrame]:
        return {f.display: f for f in self.frames}

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def frame(self, display: int) -> CodedFrame:
        return self._by_display[display]

    def coding_order(self) -> tuple[int, ...]:
        """Display indices in the order they are coded."""
        return tuple(f.display for f in self.frames)

    def display_order(self) -> tuple[CodedFrame, ...]:
        """The frames sorted by display index."""
        return tuple(sorted(self.frames, key=lambda f: f.display))

    def chain(self, chunk: int) -> tuple[int, ...]:
        """The chunks whose states ``chunk`` builds on, first to last, ending with ``chunk``."""
        out = [chunk]
        while (base := self.chunks[out[-1]].base) is not None:
            out.append(base)
        return tuple(reversed(out))

    def chunk_of_frame(self, display: int) -> StructureChunk:
        return self.chunks[self.frame(display).chunk]

    def needed(self, start: int, stop: int) -> Needed:
        """What must be decoded for display frames ``start .. stop - 1`` (:class:`Needed`)."""
        if not 0 <= start < stop <= self.num_frames:
            raise ValueError(f"frame range {start}..{stop} outside 0..{self.num_frames}")
        frames, todo = set(), list(range(start, stop))
        while todo:
            d = todo.pop()
            if d not in frames:
                frames.add(d)
                todo.extend(self.frame(d).refs)
        rendered = {self.frame(d).chunk for d in frames}
        chunks = {c for r in rendered for c in self.chain(r)}
        position = {f.display: i for i, f in enumerate(self.frames)}
        return Needed(frames=tuple(sorted(frames, key=position.__getitem__)), chunks=tuple(sorted(chunks)),
                      rendered=tuple(sorted(rendered)))

    def summary(self) -> str:
        """One line: how many frames and chunks, of which types, how deep."""
        letters = [f.letter for f in self.frames]
        counts = ", ".join(f"{letters.count(t)} {t}" for t in "IPB" if t in letters)
        direct = sum(c.direct for c in self.chunks)
        return (f"coding structure: {self.name}; {self.num_frames} frames ({counts}), {len(self.chunks)} chunks "
                f"({direct} direct), depth up to {max((f.depth for f in self.frames), default=0)}")

    def table(self) -> str:
        """The summary line and one row per frame in coding order (``order``, ``display``, type,
        references, depth, chunk and the chunk it builds on); a run of frames of one chunk with the
        same type, references and depth, consecutive in both orders, shares a row (``0..7``)."""
        rows: list[list] = []
        for i, f in enumerate(self.frames):
            last = rows[-1] if rows else None
            if (last is not None and last[2] == f.display - 1 and last[3:] == [f.letter, f.refs, f.depth, f.chunk]
                    and last[1] == i - 1):
                last[1], last[2] = i, f.display
            else:
                rows.append([i, i, f.display, f.letter, f.refs, f.depth, f.chunk])
        span = lambda a, b: f"{a}" if a == b else f"{a}..{b}"  # noqa: E731
        lines = [self.summary(),
                 f"{'order':>11} {'display':>11} {'type':>4} {'refs':<12} {'depth':>5} {'chunk':>5} {'base':>5}"]
        for first, last, display, letter, refs, depth, chunk in rows:
            base = self.chunks[chunk].base
            lines.append(f"{span(first, last):>11} {span(display - (last - first), display):>11} {letter:>4} "
                         f"{','.join(map(str, refs)) or '-':<12} {depth:>5} {chunk:>5} "
                         f"{'-' if base is None else base:>5}")
        return "\n".join(lines)


def group_count(total: int, gop: int) -> int:
    """Groups of ``gop`` frames :func:`group_sizes` makes of ``total``, counted without listing them:
    what a decoder checks a stream's chunks against before it builds a structure of the frames a
    header claims (ten million in a few bytes)."""
    if total < 1 or gop < 1:
        raise ValueError(f"{total} frames in groups of {gop}")
    return -(-total // gop)


def group_sizes(total: int, gop: int) -> list[int]:
    """Frames of each group of ``gop`` (the last one shorter): the plan every group-wise family
    starts from."""
    if total < 1 or gop < 1:
        raise ValueError(f"{total} frames in groups of {gop}")
    return [min(gop, total - first) for first in range(0, total, gop)]


def groups(total: int, gop: int, counts: Sequence[int] | None = None, direct: Collection[int] = (0,),
           params: int | None = None) -> CodingStructure:
    """Groups of frames, one chunk each, coded in display order: ``counts`` frames each (default
    :func:`group_sizes`; a group cut short at a scene cut holds fewer than ``min(gop, frames
    left)``, and is marked ``cut``); the groups in ``direct`` are coded directly (their frames
    intra, depth 0), each other group as a residual of the group before (its frames inter, depth
    1, no frame references: the group builds on the previous group's decoded state). ``params``:
    the chunk that carries stream-wide parameters a direct group still needs (teconerv's steps in
    segment 0): a direct group after it builds on it, nothing else."""
    counts = group_sizes(total, gop) if counts is None else list(counts)
    if sum(counts) != total or min(counts, default=0) < 1:
        raise ValueError(f"group counts {counts} do not cover {total} frames")
    if 0 not in direct:
        raise ValueError("the first group is coded directly")
    frames, chunks, first = [], [], 0
    for g, count in enumerate(counts):
        key = g in direct
        base = None if g == 0 else g - 1 if not key else params if params is not None and params < g else None
        chunks.append(StructureChunk(g, first, count, base, key, cut=count < min(gop, total - first)))
        frames += [CodedFrame(d, INTRA if key else INTER, (), 0 if key else 1, g) for d in range(first, first + count)]
        first += count
    return CodingStructure(tuple(frames), tuple(chunks), f"groups of {gop}")


def _frame_wise(entries: list[tuple[int, str, tuple[int, ...], int]], name: str) -> CodingStructure:
    """A structure of one chunk per frame from ``(display, kind, refs, depth)`` in coding order."""
    frames = tuple(CodedFrame(d, kind, refs, depth, i) for i, (d, kind, refs, depth) in enumerate(entries))
    chunks = tuple(StructureChunk(i, d, 1, None, kind == INTRA) for i, (d, kind, _, _) in enumerate(entries))
    return CodingStructure(frames, chunks, name)


def low_delay(n: int, intra_period: int | None = None) -> CodingStructure:
    """Low-delay P: frames in display order, each an inter frame (depth 1) predicted from the one
    before, with an intra frame at 0 and every ``intra_period`` frames (None: only at 0)."""
    if n < 1 or (intra_period is not None and intra_period < 1):
        raise ValueError(f"low delay over {n} frames, intra period {intra_period}")
    entries = [(d, INTRA, (), 0) if d == 0 or (intra_period and d % intra_period == 0) else (d, INTER, (d - 1,), 1)
               for d in range(n)]
    return _frame_wise(entries, "low delay P" + (f", intra period {intra_period}" if intra_period else ""))


def random_access(n: int, intra_period: int = 32) -> CodingStructure:
    """Random access: an intra frame at 0 and at every multiple of ``intra_period`` (HM's choice:
    each period's end is a random-access point, coded intra as HM's CRA pictures, not a P frame
    from the period's start as in Cool-chic), and dyadic hierarchical B frames between them: the
    middle frame of two decoded anchors ``a < b`` references both (depth 1 below the anchors), then
    each half in turn (depth 2, ...; a period of 32 goes down to depth 5).

    Coding order is HM's and x265's: each period's end anchor, then depth first (16, 8, 4, 2, 1,
    3, 6, 5, 7, 12, ...): it holds at most the deepest depth + 1 decoded frames as references at
    a time (six for a period of 32), where coding one depth after the other holds half the period.
    A tail after the last full period (``n - 1`` not a multiple of ``intra_period``) ends with a P
    frame at ``n - 1`` from the last intra frame (depth 0, an anchor), and is split in halves the
    same way (middles rounded down, so not dyadic)."""
    if n < 1 or intra_period < 1:
        raise ValueError(f"random access over {n} frames, intra period {intra_period}")
    entries: list[tuple[int, str, tuple[int, ...], int]] = [(0, INTRA, (), 0)]

    def split(a: int, b: int, depth: int) -> None:
        if b - a < 2:
            return
        mid = (a + b) // 2
        entries.append((mid, INTER, (a, b), depth))
        split(a, mid, depth + 1)
        split(mid, b, depth + 1)

    for a in range(0, n - 1, intra_period):
        b = min(a + intra_period, n - 1)
        entries.append((b, INTRA, (), 0) if b % intra_period == 0 else (b, INTER, (a,), 0))
        split(a, b, 1)
    return _frame_wise(entries, f"random access, intra period {intra_period}")
