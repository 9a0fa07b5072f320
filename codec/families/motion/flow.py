"""Classical optical flow that guides ``motion``'s motion decoders before rate-distortion training
(encoder only): OpenCV's DIS (Kroeger et al., "Fast optical flow using dense inverse search", ECCV
2016) or Farneback ("Two-frame motion estimation based on polynomial expansion", SCIA 2003), from
the frame to code to each of its decoded references, in the decoder's convention (the frame at
``x`` is the reference at ``x + flow(x)``), averaged down to the motion grid."""

from __future__ import annotations

import numpy as np
import torch


def _gray(frame: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def optical_flow(frame: np.ndarray, reference: np.ndarray, method: str) -> np.ndarray:
    """``(H, W, 2)`` float32 flow (x, y) from ``frame`` to ``reference`` (both ``(H, W, 3)`` uint8)."""
    import cv2

    cv2.setNumThreads(max(1, torch.get_num_threads()))
    a, b = _gray(frame), _gray(reference)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return dis.calc(a, b, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 3, 5, 1.2, 0)
    raise ValueError(f"unknown optical flow {method!r}")


def flow_targets(frame: np.ndarray, references: list[np.ndarray], method: str, grid: tuple[int, int],
                 channels: int) -> np.ndarray:
    """A motion part's targets ``(1, channels, h, w)`` float32 in pixels: the flow to each
    reference averaged over the ``grid``'s cells (``h x w``), and a B frame's blending channel 0."""
    import cv2

    h, w = grid
    out = np.zeros((1, channels, h, w), dtype=np.float32)
    for j, reference in enumerate(references):
        small = cv2.resize(optical_flow(frame, reference, method), (w, h), interpolation=cv2.INTER_AREA)
        out[0, 2 * j : 2 * j + 2] = small.transpose(2, 0, 1)
    return out
