"""Video and audio: probing (PyAV, in-process) and executing transformations with ffmpeg.

    facts = SourceFacts(1920, 1080, duration=60.0, frame_rate=30, has_video=True, has_audio=True)
    output = choose_output(chain, requested_format="mp4", source_format="mov", is_audio=False)
    plan = plan_transcode(TranscodeRequest(source, facts, chain, output))
    run_ffmpeg(plan.arguments(out), timeout=900)     # blocking: call it in a worker thread

- `probe.py`: what a file holds (upload replies).
- `outputs.py`: what a URL asks for (container, codecs, f_auto by client).
- `geometry.py`, `encoders.py`, `transcode.py`: a chain → one ffmpeg command (`plan_transcode`); streaming
  renditions reuse its plan (`FfmpegPlan.video_label`, `FfmpegPlan.encoder_arguments`).
- `frames.py`: stills, seek-thumbnail sprites and waveforms, finished by `imaging`.
- `ffmpeg.py`: running the wheel's ffmpeg, bounded in time.
"""

from darkroom.video.encoders import choose_codecs, encoder_arguments, muxer_arguments
from darkroom.video.ffmpeg import TranscodeFailed, TranscodeTimedOut, ffmpeg_exe, kill_running, run_ffmpeg
from darkroom.video.frames import SpriteLayout, render_frame, render_sprite, render_waveform, sprite_index, sprite_layout
from darkroom.video.outputs import Output, UnsupportedVideoTransformation, auto_choice, choose_output, content_type_of
from darkroom.video.probe import AudioStream, VideoInfo, VideoStream, probe_video
from darkroom.video.transcode import (
    FfmpegPlan,
    LayerFile,
    SourceFacts,
    TranscodeRequest,
    layer_key,
    plan_transcode,
    scratch_file,
)

__all__ = [
    "AudioStream",
    "FfmpegPlan",
    "LayerFile",
    "Output",
    "SourceFacts",
    "SpriteLayout",
    "TranscodeFailed",
    "TranscodeRequest",
    "TranscodeTimedOut",
    "UnsupportedVideoTransformation",
    "VideoInfo",
    "VideoStream",
    "auto_choice",
    "choose_codecs",
    "choose_output",
    "content_type_of",
    "encoder_arguments",
    "ffmpeg_exe",
    "kill_running",
    "layer_key",
    "muxer_arguments",
    "plan_transcode",
    "probe_video",
    "render_frame",
    "render_sprite",
    "render_waveform",
    "run_ffmpeg",
    "scratch_file",
    "sprite_index",
    "sprite_layout",
]
