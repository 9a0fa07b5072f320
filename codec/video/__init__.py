"""Video I/O of inrv: streamed readers and atomic writers for raw YUV, Y4M, PNG folders and ffmpeg files.

Reading::

    with open_video("Beauty_1920x1080_120fps_420_8bit_YUV.yuv") as video:
        print(video.info)                      # VideoInfo(width, height, num_frames, fps, path, kind)
        for rgb in video.iter_chunks(chunk=8): # uint8 (n, H, W, 3), at most 8 frames at a time
            ...
        planes = video.read_yuv(10, 5)         # YUVFrames y (5, H, W), u/v (5, H/2, W/2)

What an encode reads (:func:`open_input`): a path, a :class:`VideoFile` (a path with the geometry or
rate its file does not state), or a :class:`Y4mPipe` (Y4M on standard input, read as asked for).

Writing::

    write_video("out.mkv", frames, fps=25)     # lossless FFV1 (bit-exact RGB); .y4m .yuv .mp4, folder -> PNG

All RGB <-> YUV conversions go through :mod:`codec.color` (BT.601 limited range, bilinear chroma
upsampling). Every problem raises :class:`codec.errors.VideoError` with a one-line message.
"""

from codec.video.frames import DEFAULT_FPS, ReaderKind, VideoInfo, YUVFrames, i420_frame_bytes
from codec.video.open import (GEOMETRY_HINT, VideoFile, VideoInput, open_input, open_video, parse_raw_name,
                              raw_name_agrees)
from codec.video.pipe import PipeReader, Y4mPipe
from codec.video.reader import VideoReader
from codec.video.samples import SAMPLE_CLIPS, sample_clip
from codec.video.writer import VideoWriter, WriterKind, write_video

__all__ = [
    "DEFAULT_FPS",
    "GEOMETRY_HINT",
    "PipeReader",
    "ReaderKind",
    "SAMPLE_CLIPS",
    "VideoFile",
    "VideoInfo",
    "VideoInput",
    "VideoReader",
    "VideoWriter",
    "WriterKind",
    "Y4mPipe",
    "YUVFrames",
    "i420_frame_bytes",
    "open_input",
    "open_video",
    "parse_raw_name",
    "raw_name_agrees",
    "sample_clip",
    "write_video",
]
