"""The one RGB <-> YUV 4:2:0 conversion of inrv: BT.601, limited (TV) range, 8 bit.

Every path that turns RGB into YUV or back (video readers and writers, metrics, anchors) goes through
this module, so that all codecs are compared after the very same conversion.

Definitions (ITU-R BT.601, Kr = 0.299, Kb = 0.114, as ffmpeg's default for SD material):

* ``rgb_to_yuv420``: R, G, B in [0, 255] are mapped to Y in [16, 235] and Cb, Cr in [16, 240]
  (centre 128) with the BT.601 matrix in float32. Chroma is computed at full resolution and then
  subsampled by averaging each 2x2 block (chroma sited at the centre of the block, as ``C420jpeg``).
  Values are rounded half up (``floor(x + 0.5)``) and clipped to [0, 255].
* ``yuv420_to_rgb``: chroma is upsampled *bilinearly* for centre-sited chroma: every full-resolution
  sample takes 3/4 of its own chroma sample and 1/4 of the neighbour on its side, in each direction
  (the "fancy upsampling" of libjpeg; edges replicate). The inverse BT.601 matrix follows, then
  rounding half up and clipping to [0, 255]. Bilinear upsampling is used for every codec in evaluation.

Any width and height: chroma planes are ``ceil(W/2) x ceil(H/2)`` (as ffmpeg's ``yuv420p`` and y4m
lay them out); at an odd edge the last chroma sample averages the samples it covers (the frame is
edge-replicated to even size before subsampling) and upsampling is cropped to the frame.
Both functions accept a batch ``(N, H, W, 3)`` or a single frame ``(H, W, 3)`` (and planes with or
without the leading frame axis) and return arrays with the same leading shape.
"""

from __future__ import annotations

import numpy as np

from codec.errors import VideoError

__all__ = ["KR", "KB", "RGB_TO_YCBCR", "YCBCR_TO_RGB", "rgb_to_yuv420", "yuv420_to_rgb", "check_even",
           "chroma_size"]

KR = 0.299
KB = 0.114


def _forward_matrix() -> np.ndarray:
    """BT.601 limited range matrix mapping RGB in [0, 255] to (Y-16, Cb-128, Cr-128)."""
    kg = 1.0 - KR - KB
    y = np.array([KR, kg, KB])
    cb = (np.array([0.0, 0.0, 1.0]) - y) / (2.0 * (1.0 - KB))
    cr = (np.array([1.0, 0.0, 0.0]) - y) / (2.0 * (1.0 - KR))
    return np.stack([y * (219.0 / 255.0), cb * (224.0 / 255.0), cr * (224.0 / 255.0)])


RGB_TO_YCBCR: np.ndarray = _forward_matrix().astype(np.float32)
"""3x3 float32 matrix: ``[Y-16, Cb-128, Cr-128] = RGB_TO_YCBCR @ [R, G, B]``."""
_INVERSE = np.linalg.inv(_forward_matrix())
YCBCR_TO_RGB: np.ndarray = np.where(np.abs(_INVERSE) < 1e-12, 0.0, _INVERSE).astype(np.float32)
"""3x3 float32 matrix: ``[R, G, B] = YCBCR_TO_RGB @ [Y-16, Cb-128, Cr-128]``."""
_OFFSETS = np.array([16.0, 128.0, 128.0], dtype=np.float32)


def chroma_size(width: int, height: int) -> tuple[int, int]:
    """``(width, height)`` of the 4:2:0 chroma planes of a ``width x height`` frame."""
    return (width + 1) // 2, (height + 1) // 2


def check_even(width: int, height: int) -> None:
    """Raise :class:`VideoError` unless both dimensions are even (what x264's 4:2:0 needs)."""
    if width % 2 or height % 2:
        raise VideoError(f"4:2:0 needs even width and height, got {width}x{height}")


def _round_into(x: np.ndarray, out: np.ndarray) -> None:
    """Store float ``x`` (already offset by +0.5) into uint8 ``out``: clip to [0, 255] then truncate,
    which is ``floor(value + 0.5)`` clipped, i.e. rounding half up. ``x`` is clobbered."""
    np.clip(x, 0.0, 255.0, out=x)
    out[...] = x


def _subsample(plane: np.ndarray) -> np.ndarray:
    """Average 2x2 blocks of float planes ``(..., H, W)`` -> ``(..., ceil(H/2), ceil(W/2))`` (an odd
    last row or column is replicated first)."""
    h, w = plane.shape[-2:]
    if h % 2 or w % 2:
        pad = [(0, 0)] * (plane.ndim - 2) + [(0, h % 2), (0, w % 2)]
        plane = np.pad(plane, pad, mode="edge")
    out = plane[..., 0::2, 0::2] + plane[..., 1::2, 0::2]
    out += plane[..., 0::2, 1::2]
    out += plane[..., 1::2, 1::2]
    out *= 0.25
    return out


def _upsample_axis(p: np.ndarray, axis: int) -> np.ndarray:
    """Double ``axis``: sample 2i = 3/4 p[i] + 1/4 p[i-1], sample 2i+1 = 3/4 p[i] + 1/4 p[i+1] (edges clamp)."""

    def at(index: int | slice) -> tuple:
        key: list = [slice(None)] * p.ndim
        key[axis] = index
        return tuple(key)

    quarter = p * 0.25
    three_quarters = p - quarter
    shape = list(p.shape)
    shape[axis] *= 2
    out = np.empty(shape, np.float32)
    out[at(slice(0, None, 2))] = three_quarters
    out[at(slice(1, None, 2))] = three_quarters
    out[at(slice(2, None, 2))] += quarter[at(slice(None, -1))]
    out[at(0)] += quarter[at(0)]
    out[at(slice(1, -1, 2))] += quarter[at(slice(1, None))]
    out[at(-1)] += quarter[at(-1)]
    return out


def upsample_chroma(plane: np.ndarray) -> np.ndarray:
    """Bilinear 2x upsampling of chroma planes ``(..., h, w)`` -> float32 ``(..., 2h, 2w)``.

    Centre-sited: each output sample is 3/4 of the nearest chroma sample plus 1/4 of the next
    nearest, in each direction; edges replicate.
    """
    p = plane.astype(np.float32)
    return _upsample_axis(_upsample_axis(p, p.ndim - 2), p.ndim - 1)


def _flatten(arr: np.ndarray, core: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """View ``arr`` as ``(N, *core_shape)`` and return it with the leading shape to restore."""
    lead = arr.shape[: arr.ndim - core]
    return arr.reshape((-1,) + arr.shape[arr.ndim - core :]), lead


def _mix(m: np.ndarray, row: int, a: np.ndarray, b: np.ndarray, c: np.ndarray, offset: float) -> np.ndarray:
    """One output channel of a 3x3 colour matrix plus an offset: ``m[row] . (a, b, c) + offset``."""
    out = np.full(a.shape, offset, np.float32)
    for coef, x in zip(m[row], (a, b, c)):
        if coef != 0.0:
            out += coef * x
    return out


def _rgb_frame_to_yuv(rgb: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """Convert one uint8 ``(H, W, 3)`` frame into the given output planes (float32 inside)."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    m = RGB_TO_YCBCR
    _round_into(_mix(m, 0, r, g, b, _OFFSETS[0] + 0.5), y)
    _round_into(_subsample(_mix(m, 1, r, g, b, 0.0)) + (_OFFSETS[1] + 0.5), u)
    _round_into(_subsample(_mix(m, 2, r, g, b, 0.0)) + (_OFFSETS[2] + 0.5), v)


def _yuv_frame_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
    """Convert one frame's uint8 planes into ``out`` ``(H, W, 3)`` (float32 inside)."""
    yf = y.astype(np.float32)
    yf -= _OFFSETS[0]
    h, w = y.shape
    cb = upsample_chroma(u)[:h, :w]
    cb -= _OFFSETS[1]
    cr = upsample_chroma(v)[:h, :w]
    cr -= _OFFSETS[2]
    for ch in range(3):
        _round_into(_mix(YCBCR_TO_RGB, ch, yf, cb, cr, 0.5), out[..., ch])


def rgb_to_yuv420(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Convert uint8 RGB ``(..., H, W, 3)`` to uint8 planes Y ``(..., H, W)``, U and V
    ``(..., ceil(H/2), ceil(W/2))``.

    Frames are converted one at a time, so float temporaries stay at one frame's size.
    """
    if rgb.dtype != np.uint8 or rgb.ndim < 3 or rgb.shape[-1] != 3:
        raise VideoError(f"expected uint8 RGB frames (..., H, W, 3), got {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[-3], rgb.shape[-2]
    frames, lead = _flatten(rgb, 3)
    n = frames.shape[0]
    cw, ch = chroma_size(width, height)
    y = np.empty((n, height, width), np.uint8)
    u = np.empty((n, ch, cw), np.uint8)
    v = np.empty_like(u)
    for i in range(n):
        _rgb_frame_to_yuv(frames[i], y[i], u[i], v[i])
    return y.reshape(lead + y.shape[1:]), u.reshape(lead + u.shape[1:]), v.reshape(lead + v.shape[1:])


def yuv420_to_rgb(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Convert uint8 planes Y ``(..., H, W)``, U, V ``(..., ceil(H/2), ceil(W/2))`` to uint8 RGB
    ``(..., H, W, 3)``.

    Frames are converted one at a time, so float temporaries stay at one frame's size.
    """
    for name, plane in (("y", y), ("u", u), ("v", v)):
        if plane.dtype != np.uint8 or plane.ndim < 2:
            raise VideoError(f"expected uint8 planes, got {name} {plane.dtype} {plane.shape}")
    height, width = y.shape[-2], y.shape[-1]
    cw, ch = chroma_size(width, height)
    expected = y.shape[:-2] + (ch, cw)
    if u.shape != expected or v.shape != expected:
        raise VideoError(f"chroma planes {u.shape}, {v.shape} do not match luma {y.shape} (expected {expected})")
    ys, lead = _flatten(y, 2)
    us, vs = _flatten(u, 2)[0], _flatten(v, 2)[0]
    out = np.empty((ys.shape[0], height, width, 3), np.uint8)
    for i in range(ys.shape[0]):
        _yuv_frame_to_rgb(ys[i], us[i], vs[i], out[i])
    return out.reshape(lead + out.shape[1:])
