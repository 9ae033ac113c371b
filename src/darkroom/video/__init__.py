"""Video and audio: reading what a media file holds (PyAV, in-process)."""

from darkroom.video.probe import AudioStream, VideoInfo, VideoStream, probe_video

__all__ = ["AudioStream", "VideoInfo", "VideoStream", "probe_video"]
