"""sitegen Blender render worker: JSON lines on stdin, JSON lines on stdout.

Runs either with a Python that has the ``bpy`` module::

    python blender/worker.py [--threads N] [--device auto|cpu]

or inside a Blender executable::

    blender -b --factory-startup --disable-autoexec --python-exit-code 1 \
        --python blender/worker.py -- [--threads N] [--device auto|cpu]

Imports only bpy, bpy_extras, mathutils and the standard library (never sitegen): Blender
runs it with its own Python. See blender/README.md for the protocol.

Layers (a render message's "layer", docs/layers.md): the backdrop renders the present
parts as holdouts with the film opaque (black where a part covers a pixel, the uncovered
share of the floor/world at its edges), so the page adds the part layers' premultiplied
colours to it in linear light. A part layer renders its meshes alone (everything else a
holdout, film transparent) and, unless its "crop" is false, only inside Cycles' render
border around the part's screen bounds (`part_border`): the file keeps the full frame,
transparent outside the border. A layer's bounce image ("bounce" in the layer) holds one
small strip per neighbour: the light it adds white instead of as the message says
(`Worker.bounce_image`). Every render first returns to the state at open (no holdouts but
the file's own, no border, the quality's size and samples).
"""

from __future__ import annotations

import os
import sys

# --- protocol channel ------------------------------------------------------------
# Blender (C code, Cycles, add-ons) prints to fd 1. Keep a private copy of the real
# stdout for the protocol and point fd 1 at stderr *before* bpy is imported, so
# nothing but our JSON lines ever reaches the host's stdout pipe. Nothing is flushed
# before the dup2 on purpose: anything still buffered ends up on stderr.
_PROTO_FD = os.dup(1)
os.dup2(2, 1)
_PROTO = os.fdopen(_PROTO_FD, "w", encoding="utf-8", newline="\n", closefd=True)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any  # noqa: E402

import bpy  # noqa: E402
from bpy_extras.object_utils import world_to_camera_view  # noqa: E402
from mathutils import Matrix, Vector  # noqa: E402

# Engine ids by name, the first that this Blender knows is used: EEVEE is BLENDER_EEVEE
# in Blender 5 and BLENDER_EEVEE_NEXT in 4.2 to 4.5.
ENGINES = {"cycles": ("CYCLES",), "eevee": ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT"),
           "workbench": ("BLENDER_WORKBENCH",)}
FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP", "avif": "AVIF"}
EXTENSIONS = {"PNG": (".png",), "JPEG": (".jpg", ".jpeg"), "WEBP": (".webp",),
              "AVIF": (".avif",)}
# Formats Blender does not write: Blender renders to 8-bit PNG, Pillow (in Blender's
# Python) encodes that (`save_with_pillow`).
PILLOW_ONLY = ("AVIF",)
# Why AVIF is for opaque pictures only (docs/catalog-readings.md, "format: avif").
AVIF_ALPHA = ("AVIF is for opaque pictures: browsers decode its alpha differently from "
              "Pillow (Chromium by up to 20 levels), use png or webp for transparency")
DENOISE_QUALITY = {"fast": "FAST", "balanced": "BALANCED", "high": "HIGH"}
GPU_KINDS = ("OPTIX", "CUDA", "HIP", "ONEAPI")
DEFAULT_ROUGHNESS = 0.5
MATERIAL_PREFIX = "sitegen-finish-"
LIST_LIMIT = 50  # names listed in a `check` answer (the counts say how many there are)
# Object types whose evaluated bound_box holds everything they render (an instancer, a
# particle system or anything else falls back to the whole frame).
BOUNDED_TYPES = ("MESH", "CURVE", "SURFACE", "META", "FONT", "CURVES", "POINTCLOUD",
                 "VOLUME")

# A layer's bounce image ("bounce" in a layer, docs/layers.md "Neighbours' light"): the
# neighbours (each a part's meshes) in strip order, the size divisor and the samples.
Bounce = tuple[tuple[frozenset[str], ...], int, int]
Layer = tuple[str, frozenset[str], bool, Bounce | None]  # kind, a part's meshes, crop, bounce
BOUNCE_WHITE = "white"  # a neighbour's material in its own strip's render
BOUNCE_QUALITY = 75  # WebP quality of bounce images (docs/layers.md: bounce_encodings)
# A bounce image holds the light per unit of coverage; pixels the layer covers less than
# this are filled from their neighbours instead (their quotient is mostly noise).
BOUNCE_MIN_ALPHA = 0.25
BOUNCE_RINGS = 2  # filled around them: what bilinear upsampling reads at a silhouette


class JobError(Exception):
    """An error answered to the host; the worker goes on."""


# Progress lines are written from the thread that calls the render_stats handler (Cycles'
# session thread), answers from the main thread: one line at a time.
_SEND_LOCK = threading.Lock()


def send(msg: dict[str, Any]) -> None:
    line = json.dumps(msg, allow_nan=False) + "\n"
    with _SEND_LOCK:
        _PROTO.write(line)
        _PROTO.flush()


def log(text: str) -> None:
    sys.stderr.write(f"[worker {os.getpid()}] {text}\n")
    sys.stderr.flush()


# --- signals ---------------------------------------------------------------------
# SIGTERM/SIGINT end the worker promptly, also in the middle of a long render. The
# only thing that must not be interrupted is the write phase (save to a temp name,
# hash, rename): it runs under _WRITE_LOCK and cleans its temp file in a finally.
# A Python handler alone would wait for bpy.ops.render.render() to return, so the
# C-level handler's wakeup fd also wakes a watchdog thread; Cycles releases the GIL
# while it renders, so the watchdog can run and exit (after any write in progress).
_WRITE_LOCK = threading.Lock()
_TERM_SIGNAL = 0


def _exit_for_signal(signum: int) -> None:
    with contextlib.suppress(Exception):
        _PROTO.flush()
    os._exit(128 + signum)


def _on_signal(signum: int, _frame: Any) -> None:
    global _TERM_SIGNAL
    _TERM_SIGNAL = signum
    if _WRITE_LOCK.acquire(blocking=False):  # not writing: leave now
        _exit_for_signal(signum)
    # else: the main thread is in the write phase; it exits once its temp file is gone.


def _watchdog(sock: socket.socket) -> None:
    global _TERM_SIGNAL
    while True:
        try:
            data = sock.recv(16)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:  # the write end closed: the worker is exiting
            return
        for signum in data:
            if signum in (signal.SIGTERM, signal.SIGINT):
                _TERM_SIGNAL = signum
                _WRITE_LOCK.acquire()  # waits for a write in progress to finish/clean up
                _exit_for_signal(signum)


def install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    rsock, wsock = socket.socketpair()
    wsock.setblocking(False)
    signal.set_wakeup_fd(wsock.fileno(), warn_on_full_buffer=False)
    t = threading.Thread(target=_watchdog, args=(rsock,), name="sig-watchdog", daemon=True)
    t.start()
    install_signal_handlers.keep = (rsock, wsock, t)  # type: ignore[attr-defined]


# --- render statistics (split render into scene sync vs sampling) ------------------
class RenderClock:
    """Collects render_pre/render_stats/render_post times of one render."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.pre: float | None = None
        self.first_sample: float | None = None
        self.finished: float | None = None
        self.post: float | None = None
        self.last_stats = ""

    def on_pre(self, *_args: Any) -> None:
        self.pre = time.perf_counter()

    def on_stats(self, *args: Any) -> None:
        now = time.perf_counter()
        text = str(args[0]) if args else ""
        self.last_stats = text
        # Cycles: "... | Sample 0/16", EEVEE: "Rendering 1 / 64 samples"
        if self.first_sample is None and (
            "| Sample " in text or text.startswith("Sample ") or "Rendering " in text
        ):
            self.first_sample = now
        if text.endswith("Finished"):
            self.finished = now

    def on_post(self, *_args: Any) -> None:
        self.post = time.perf_counter()

    def split(self) -> dict[str, float]:
        if self.pre is None or self.first_sample is None:
            return {}
        end = self.finished or self.post
        if end is None:
            return {}
        out = {
            "scene_sync": round(self.first_sample - self.pre, 4),
            "sampling": round(end - self.first_sample, 4),
        }
        return out


CLOCK = RenderClock()


# --- progress lines (a render message with "progress": true) ------------------------
# The samples done, from the render_stats text. What bpy 5.0.1 sends in background mode:
# Cycles "Mem: 2M | Sample 0/16", "Remaining: 00:00.02 | Mem: 2M | Sample 1/16", then (a
# headless Cycles renders in chunks of about 30 s of sampling) one line per chunk up to
# "Mem: 2M | Sample 16/16", "Mem: 2M | Finished"; EEVEE "Rendering 1 / 4 samples" ...
# "Rendering 4 / 4 samples"; Workbench nothing.
SAMPLES_TEXT = re.compile(r"(?:^|\| )Sample (\d+)/(\d+)|^Rendering (\d+) / (\d+) samples")
PROGRESS_INTERVAL = 0.1  # seconds between two progress lines, at least


def samples_done(text: str) -> float | None:
    """The share of its samples a render has done (0..1), from a render_stats text; None
    when the text does not say."""
    if text.endswith("| Finished") or text == "Finished":
        return 1.0
    m = SAMPLES_TEXT.search(text)
    if m is None:
        return None
    done, total = (int(g) for g in (m.groups()[:2] if m.group(1) else m.groups()[2:]))
    return min(1.0, done / total) if total > 0 else None


class Progress:
    """The progress lines of the render job in hand, when it asked for them: while it
    renders, `{"event": "progress", "id": ..., "fraction": ...}` over the whole job, pass
    k of n (a bounce image's base render, then one per neighbour: all the same size,
    samples and border, so weighing them equally is weighing them by pixels) at
    (k + samples done / samples) / n. At most one line per PROGRESS_INTERVAL, and only
    when the fraction (rounded to 4 places) grew. render_stats may come from Cycles'
    session thread: the state is under a lock, and `send` writes whole lines."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = False
        self.job: Any = None
        self.passes = 1
        self.index = -1  # the pass under way (render_now counts them)
        self.sent = -1.0
        self.sent_at = float("-inf")

    def start(self, job: Any, passes: int) -> None:
        with self.lock:
            self.active, self.job, self.passes = True, job, max(1, passes)
            self.index, self.sent, self.sent_at = -1, -1.0, float("-inf")

    def stop(self) -> None:
        with self.lock:
            self.active = False

    def next_pass(self) -> None:
        with self.lock:
            self.index += 1

    def on_stats(self, text: str) -> None:
        if not self.active:
            return
        done = samples_done(text)
        if done is None:
            return
        with self.lock:
            if not self.active:
                return
            fraction = round(min(1.0, max(0.0, (max(0, self.index) + done) / self.passes)), 4)
            now = time.monotonic()
            if fraction <= self.sent or now - self.sent_at < PROGRESS_INTERVAL:
                return
            self.sent, self.sent_at = fraction, now
            send({"event": "progress", "id": self.job, "fraction": fraction})


PROGRESS = Progress()


@bpy.app.handlers.persistent
def _h_pre(*args: Any) -> None:
    CLOCK.on_pre(*args)


@bpy.app.handlers.persistent
def _h_stats(*args: Any) -> None:
    CLOCK.on_stats(*args)
    PROGRESS.on_stats(str(args[0]) if args else "")


@bpy.app.handlers.persistent
def _h_post(*args: Any) -> None:
    CLOCK.on_post(*args)


def install_render_handlers() -> None:
    for lst, fn in (
        (bpy.app.handlers.render_pre, _h_pre),
        (bpy.app.handlers.render_stats, _h_stats),
        (bpy.app.handlers.render_post, _h_post),
    ):
        while fn in lst:
            lst.remove(fn)
        lst.append(fn)


# --- helpers ---------------------------------------------------------------------
def srgb_to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def parse_color(text: Any) -> tuple[float, float, float, float]:
    if not isinstance(text, str):
        raise JobError(f"colour must be a '#rrggbb' string, got {text!r}")
    h = text.strip().lstrip("#")
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    if len(h) not in (6, 8):
        raise JobError(f"bad colour {text!r} (want #rrggbb)")
    try:
        vals = [int(h[i : i + 2], 16) / 255.0 for i in range(0, len(h), 2)]
    except ValueError:
        raise JobError(f"bad colour {text!r} (want #rrggbb)") from None
    r, g, b = (srgb_to_linear(v) for v in vals[:3])
    a = vals[3] if len(vals) == 4 else 1.0
    return (r, g, b, a)


def load_image(path: Any, what: str, non_color: bool) -> bpy.types.Image:
    if not isinstance(path, str) or not os.path.isabs(path):
        raise JobError(f"{what} map must be an absolute path, got {path!r}")
    if not os.path.isfile(path):
        raise JobError(f"{what} map not found: {path}")
    try:
        img = bpy.data.images.load(path, check_existing=True)
    except RuntimeError as e:
        raise JobError(f"cannot load {what} map {path}: {e}") from None
    # Images load lazily: a file Blender cannot decode (not an image, truncated) still gives
    # an Image, with no pixels, that renders magenta. Reading the size decodes the file.
    if img.size[0] == 0 or img.size[1] == 0:
        bpy.data.images.remove(img)
        raise JobError(f"cannot load {what} map {path}: Blender cannot read it as an image "
                       "(not an image file, or a damaged one)")
    if non_color:
        img.colorspace_settings.name = "Non-Color"
    return img


def strip_metadata(data: bytes, fmt: str) -> bytes:
    """Drops the text metadata Blender writes (Cycles always adds its render and sync
    times), so that identical pixels give identical bytes and sha256. PNG: tEXt/zTXt/
    iTXt/tIME chunks; JPEG: COM segments. WebP and AVIF (Pillow's) carry none. Returns
    ``data`` itself when there is nothing to drop or the file does not parse."""
    try:
        if fmt == "PNG" and data[:8] == b"\x89PNG\r\n\x1a\n":
            out, pos, dropped = [data[:8]], 8, False
            while pos < len(data):
                length = int.from_bytes(data[pos : pos + 4], "big")
                end = pos + 12 + length
                if end > len(data):
                    return data
                if data[pos + 4 : pos + 8] in (b"tEXt", b"zTXt", b"iTXt", b"tIME"):
                    dropped = True
                else:
                    out.append(data[pos:end])
                pos = end
            return b"".join(out) if dropped else data
        if fmt == "JPEG" and data[:2] == b"\xff\xd8":
            out, pos, dropped = [data[:2]], 2, False
            while pos + 4 <= len(data):
                if data[pos] != 0xFF:
                    return data
                marker = data[pos + 1]
                if marker == 0xFF:  # fill byte
                    pos += 1
                    continue
                if marker == 0xDA:  # start of scan: the rest is image data
                    out.append(data[pos:])
                    return b"".join(out) if dropped else data
                length = int.from_bytes(data[pos + 2 : pos + 4], "big")
                end = pos + 2 + length
                if marker == 0xFE:  # COM
                    dropped = True
                else:
                    out.append(data[pos:end])
                pos = end
            return data
    except (IndexError, ValueError):
        return data
    return data


def finish_key(value: Any) -> str:
    return str(value)


def build_material(fid: str, spec: dict[str, Any]) -> bpy.types.Material:
    """One Principled BSDF material per finish (colour or diffuse map; normal and
    roughness maps optional). Texture nodes use the object's active render UV map."""
    if not isinstance(spec, dict):
        raise JobError(f"material {fid}: spec must be an object")
    name = MATERIAL_PREFIX + fid
    old = bpy.data.materials.get(name)
    if old is not None:
        bpy.data.materials.remove(old)
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:  # Blender < 5 creates materials without nodes
        mat.use_nodes = True
    nodes = mat.node_tree.nodes
    links = mat.node_tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    out.location = (400, 0)
    bsdf = nodes.new("ShaderNodeBsdfPrincipled")
    bsdf.location = (100, 0)
    links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])

    color = parse_color(spec.get("color", "#cccccc"))
    bsdf.inputs["Base Color"].default_value = color
    mat.diffuse_color = color  # Workbench / viewport
    if spec.get("diffuse"):
        tex = nodes.new("ShaderNodeTexImage")
        tex.label = "diffuse"
        tex.location = (-400, 300)
        tex.image = load_image(spec["diffuse"], "diffuse", non_color=False)
        links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        nodes.active = tex  # Workbench 'TEXTURE' colour shows the active image node
    if spec.get("roughness"):
        tex = nodes.new("ShaderNodeTexImage")
        tex.label = "roughness"
        tex.location = (-400, 0)
        tex.image = load_image(spec["roughness"], "roughness", non_color=True)
        links.new(tex.outputs["Color"], bsdf.inputs["Roughness"])
    else:
        bsdf.inputs["Roughness"].default_value = DEFAULT_ROUGHNESS
    mat.roughness = DEFAULT_ROUGHNESS
    if spec.get("normal"):
        tex = nodes.new("ShaderNodeTexImage")
        tex.label = "normal"
        tex.location = (-700, -300)
        tex.image = load_image(spec["normal"], "normal", non_color=True)
        nmap = nodes.new("ShaderNodeNormalMap")
        nmap.location = (-200, -300)
        links.new(tex.outputs["Color"], nmap.inputs["Color"])
        links.new(nmap.outputs["Normal"], bsdf.inputs["Normal"])
    mat.use_fake_user = False
    return mat


def pick_device(scene: bpy.types.Scene, want: str) -> str:
    """Cycles device. 'auto': first GPU backend with a device (OPTIX, CUDA, HIP,
    ONEAPI); else CPU. Returns 'CPU' or the backend name."""
    scene.cycles.device = "CPU"
    if want == "cpu":
        return "CPU"
    try:
        prefs = bpy.context.preferences.addons["cycles"].preferences
    except KeyError:
        return "CPU"
    try:
        prefs.refresh_devices()
    except Exception as e:  # driver trouble: fall back to the CPU
        log(f"refresh_devices failed: {e}")
        return "CPU"
    for kind in GPU_KINDS:
        try:
            devices = list(prefs.get_devices_for_type(kind))
        except Exception:
            continue
        gpus = [d for d in devices if d.type == kind]
        if not gpus:
            continue
        try:
            prefs.compute_device_type = kind
        except TypeError:
            continue
        for d in prefs.devices:
            d.use = d.type == kind
        scene.cycles.device = "GPU"
        log(f"using {kind}: {', '.join(d.name for d in gpus)}")
        return kind
    with contextlib.suppress(TypeError):
        prefs.compute_device_type = "NONE"
    return "CPU"


def apply_quality(
    scene: bpy.types.Scene, q: dict[str, Any], threads: int, device_want: str
) -> tuple[str, str]:
    """Returns (device, file_format)."""
    engine_name = str(q.get("engine", "cycles")).lower()
    if engine_name not in ENGINES:
        raise JobError(f"unknown engine {engine_name!r} (want one of {sorted(ENGINES)})")
    r = scene.render
    for engine_id in ENGINES[engine_name]:
        try:
            r.engine = engine_id
            break
        except TypeError:
            continue
    else:
        raise JobError(f"engine {' / '.join(ENGINES[engine_name])} not available in Blender "
                       f"{bpy.app.version_string}")
    res = q.get("resolution", [480, 360])
    try:
        w, h = int(res[0]), int(res[1])
    except (TypeError, ValueError, IndexError):
        raise JobError(f"bad resolution {res!r}") from None
    if w < 1 or h < 1:
        raise JobError(f"bad resolution {res!r}")
    r.resolution_x, r.resolution_y, r.resolution_percentage = w, h, 100
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
    r.use_border = False
    r.use_persistent_data = True
    r.use_sequencer = False  # a model file's strips must not replace the render
    # The compositor is off unless asked for: a model file's File Output node would
    # otherwise write images wherever it points, on every render.
    r.use_compositing = bool(q.get("compositing", False))
    if threads and threads > 0:
        r.threads_mode = "FIXED"
        r.threads = int(threads)
    else:
        r.threads_mode = "AUTO"
    r.film_transparent = bool(q.get("transparent", False))
    # Metadata (date, render time, hostname...) would make identical renders differ.
    for prop in dir(r):
        if prop.startswith("use_stamp"):
            setattr(r, prop, False)

    samples = max(1, int(q.get("samples", 16)))
    device = "CPU"
    if engine_name == "cycles":
        c = scene.cycles
        device = pick_device(scene, device_want)
        c.samples = samples
        c.seed = 0
        c.use_animated_seed = False
        denoise = str(q.get("denoise", "off")).lower()
        if denoise == "off":
            c.use_denoising = False
        elif denoise in DENOISE_QUALITY:
            c.use_denoising = True
            c.denoiser = "OPENIMAGEDENOISE"
            c.denoising_quality = DENOISE_QUALITY[denoise]
            c.denoising_use_gpu = device != "CPU"
            for vl in scene.view_layers:  # per-view-layer switch, on by default
                vl.cycles.use_denoising = True
        else:
            raise JobError(f"unknown denoise {denoise!r} (off/fast/balanced/high)")
    elif engine_name == "eevee":
        scene.eevee.taa_render_samples = samples
        device = "GPU"  # Blender's GPU backend (OpenGL/EGL), not Cycles
    else:  # workbench: nearest anti-aliasing level
        levels = [(1, "OFF"), (5, "5"), (8, "8"), (11, "11"), (16, "16"), (32, "32")]
        scene.display.render_aa = min(levels, key=lambda lv: abs(lv[0] - samples))[1]
        scene.display.shading.color_type = "TEXTURE"
        device = "GPU"

    fmt_name = str(q.get("format", "png")).lower()
    if fmt_name not in FORMATS:
        raise JobError(f"unknown format {fmt_name!r} (png/jpeg/webp/avif)")
    fmt = FORMATS[fmt_name]
    if fmt in PILLOW_ONLY and pillow_image(fmt) is None:
        raise JobError(f"format {fmt_name}: Blender does not write it, and this Blender's "
                       f"Python ({sys.executable}) has no Pillow that does (pip install "
                       "'pillow>=11.3' into it, or use bpy from PyPI in sitegen's venv)")
    if fmt == "AVIF" and r.film_transparent:
        raise JobError(AVIF_ALPHA)
    im = r.image_settings
    if hasattr(im, "media_type"):  # Blender 5
        im.media_type = "IMAGE"
    im.file_format = "PNG" if fmt in PILLOW_ONLY else fmt
    if fmt == "JPEG":
        im.color_mode = "RGB"
    else:
        im.color_mode = "RGBA" if r.film_transparent else "RGB"
    im.color_depth = "8"
    quality = int(q.get("jpeg_quality", 90))
    if fmt in ("JPEG", "WEBP", "AVIF"):  # AVIF: what Pillow is given (`save_with_pillow`)
        im.quality = max(0, min(100, quality))
    if im.file_format == "PNG":
        im.compression = 0 if fmt in PILLOW_ONLY else 15  # AVIF: a temporary file
    return device, fmt


def blend_path(blend: Any) -> str:
    """The `blend` of a message: an absolute path to a file."""
    if not isinstance(blend, str) or not os.path.isabs(blend):
        raise JobError(f"'blend' must be an absolute path, got {blend!r}")
    if not os.path.isfile(blend):
        raise JobError(f"blend file not found: {blend}")
    return blend


def open_model(blend: str) -> None:
    """Open a model file without running any code it carries (auto-run text blocks, Python
    drivers); a file Blender cannot read is a JobError saying why, without the path."""
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False
    try:
        bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False, use_scripts=False)
    except RuntimeError as e:
        # 'Error: File format is not supported in file "/abs/x.blend"\n'
        text = " ".join(str(e).split()).removeprefix("Error: ")
        name = os.path.basename(blend)
        for quoted in (f'"{blend}"', f"'{blend}'", blend):
            text = text.replace(quoted, name)
        raise JobError(text or "Blender cannot read it") from None


def true_displacement(mat: bpy.types.Material | None) -> bool:
    """Whether a material moves geometry at render time (its active Material Output's
    Displacement input linked, displacement method not bump-only)."""
    if mat is None or mat.node_tree is None:
        return False
    method = getattr(mat, "displacement_method", None)
    if method is None:  # Blender < 4.1 keeps it in the Cycles settings
        method = getattr(getattr(mat, "cycles", None), "displacement_method", "BUMP")
    if method == "BUMP":
        return False
    for node in mat.node_tree.nodes:
        if node.type == "OUTPUT_MATERIAL" and node.target in ("ALL", "CYCLES"):
            sock = node.inputs.get("Displacement")
            if sock is not None and sock.is_linked:
                return True
    return False


def part_border(scene: bpy.types.Scene, objs: list[bpy.types.Object]
                ) -> tuple[int, int, int, int] | None:
    """A part layer's render border in pixels, (x0, y0, x1, y1) from the top left, x1 and
    y1 exclusive: the union of the objects' evaluated bounding boxes (modifiers applied)
    projected through the scene camera (shift and sensor fit included), plus
    ceil(filter width) + 1 pixels (at least 2) for the pixel filter, clamped to the frame.
    A part wholly outside the frame gets the 1-pixel border (0, 0, 1, 1) (it cannot show
    there; that pixel comes out as transparent as the rest). None (the whole frame) when
    the bounds cannot be trusted: a corner behind the camera's clip start, a camera that
    is not perspective or orthographic, an object type or instancer whose bound_box does
    not hold what it renders, true displacement, motion blur or depth of field."""
    cam = scene.camera
    r = scene.render
    if cam is None or cam.type != "CAMERA" or cam.data.type not in ("PERSP", "ORTHO"):
        return None
    if r.use_motion_blur or cam.data.dof.use_dof:
        return None
    depsgraph = bpy.context.evaluated_depsgraph_get()
    w, h = r.resolution_x * r.resolution_percentage // 100, \
        r.resolution_y * r.resolution_percentage // 100
    persp = cam.data.type == "PERSP"
    clip = cam.data.clip_start
    lo_x = lo_y = float("inf")
    hi_x = hi_y = float("-inf")
    for obj in objs:
        if obj.hide_render:
            continue
        if (obj.type not in BOUNDED_TYPES or obj.instance_type != "NONE"
                or len(obj.particle_systems) > 0):
            return None
        if any(true_displacement(slot.material) for slot in obj.material_slots):
            return None
        ev = obj.evaluated_get(depsgraph)
        mw = ev.matrix_world
        for corner in ev.bound_box:
            v = world_to_camera_view(scene, cam, mw @ Vector(corner))
            if persp and v.z <= clip:
                return None
            lo_x, hi_x = min(lo_x, v.x), max(hi_x, v.x)
            lo_y, hi_y = min(lo_y, v.y), max(hi_y, v.y)
    if lo_x == float("inf"):  # nothing to bound
        return (0, 0, 1, 1)
    cycles = r.engine == "CYCLES"
    filt = scene.cycles.filter_width if cycles else getattr(r, "filter_size", 1.5)
    margin = max(2, math.ceil(filt) + 1)
    # camera view: (0, 0) bottom left, (1, 1) top right; pixels from the top left
    x0 = max(0, math.floor(lo_x * w) - margin)
    x1 = min(w, math.ceil(hi_x * w) + margin)
    y0 = max(0, math.floor((1 - hi_y) * h) - margin)
    y1 = min(h, math.ceil((1 - lo_y) * h) + margin)
    if x1 <= x0 or y1 <= y0:  # wholly outside the frame
        return (0, 0, 1, 1)
    return (x0, y0, x1, y1)


# --- spins: a camera placed for one frame ------------------------------------------
def has_animation(block: Any) -> bool:
    """Whether an ID (object, camera data, curve...) has an action or NLA strips."""
    data = getattr(block, "animation_data", None)
    return data is not None and (data.action is not None or len(data.nla_tracks) > 0)


def camera_animated(cam: bpy.types.Object) -> bool:
    """Whether a spin's camera moves with the scene frame: the camera object, or an object up
    its parent chain, or one of their data (a zooming lens), or an object their constraints
    target (or its data: a Follow Path curve's animated path), has an action or NLA strips.
    Drivers alone do not count."""
    chain = []
    obj: Any = cam
    while obj is not None:
        chain.append(obj)
        obj = obj.parent
    blocks = [b for o in chain for b in (o, o.data)]
    blocks += [b for o in chain for c in o.constraints
               for b in (getattr(c, "target", None), getattr(getattr(c, "target", None),
                                                              "data", None))]
    return any(has_animation(b) for b in blocks if b is not None)


def parse_frame(msg: dict[str, Any]) -> tuple[int, int] | None:
    """A render's spin frame (`frame` of `frames`), or None for a plain view."""
    frame, frames = msg.get("frame"), msg.get("frames")
    if frame is None and frames is None:
        return None
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (frame, frames)):
        raise JobError(f"'frame' and 'frames' must be integers, given together (got "
                       f"{frame!r} and {frames!r})")
    if not 1 <= frame <= frames:  # type: ignore[operator]
        raise JobError(f"'frame' must be from 1 to 'frames' ({frames}), got {frame}")
    return frame, frames  # type: ignore[return-value]


TRANSFORM = ("location", "rotation_euler", "rotation_quaternion", "rotation_axis_angle",
             "scale")


def transform_of(obj: bpy.types.Object) -> dict[str, tuple[float, ...]]:
    """An object's own transform channels, exactly (to be written back as they were)."""
    return {name: tuple(getattr(obj, name)) for name in TRANSFORM}


def render_now(scene: bpy.types.Scene) -> dict[str, float]:
    """One render of the scene as it is set; returns its timing split."""
    PROGRESS.next_pass()
    CLOCK.reset()
    try:
        result = bpy.ops.render.render(write_still=False)
    except RuntimeError as e:
        raise JobError(f"render failed ({scene.render.engine}): {e}".strip()) from None
    if "FINISHED" not in result:
        raise JobError(f"render {result} ({scene.render.engine}): {CLOCK.last_stats}")
    return CLOCK.split()


def bounce_size(w: int, h: int, scale: int) -> tuple[int, int]:
    """A bounce image's size: the frame's divided by `scale`, rounded half up, at least 1."""
    return max(1, (2 * w + scale) // (2 * scale)), max(1, (2 * h + scale) // (2 * scale))


@contextlib.contextmanager
def image_settings(scene: bpy.types.Scene, **values: str) -> Any:
    """The scene's output image settings set to `values` (in their order) for the block,
    then back as they were."""
    im = scene.render.image_settings
    saved = {name: getattr(im, name) for name in values}
    try:
        for name, value in values.items():
            setattr(im, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(im, name, value)


def result_pixels(scene: bpy.types.Scene) -> Any:
    """The Render Result as the files hold it (view transform applied, straight alpha),
    16 bits per channel: a float array (rows bottom up, RGBA, 0..1)."""
    import numpy as np

    img = bpy.data.images.get("Render Result")
    if img is None:
        raise JobError("no Render Result after rendering")
    fd, tmp = tempfile.mkstemp(prefix="sitegen-bounce-", suffix=".png")
    os.close(fd)
    try:
        with image_settings(scene, file_format="PNG", color_depth="16", color_mode="RGBA"):
            img.save_render(tmp, scene=scene)
        loaded = bpy.data.images.load(tmp, check_existing=False)
        try:
            loaded.colorspace_settings.name = "Non-Color"
            w, h = loaded.size
            px = np.empty(w * h * 4, np.float32)
            loaded.pixels.foreach_get(px)
        finally:
            bpy.data.images.remove(loaded)
    finally:
        os.unlink(tmp)
    return px.reshape(h, w, 4)


def pad_edges(values: Any, valid: Any, rings: int = BOUNCE_RINGS) -> Any:
    """`values` (h, w, c) with the invalid pixels up to `rings` pixels from a valid one
    filled from their valid neighbours, ring by ring, each the mean of the valid pixels of
    its 3x3 neighbourhood; every other pixel 0. So upsampling never mixes in the empty
    pixels beside a silhouette, and the rest of the image costs next to nothing."""
    import numpy as np

    values = values * valid[..., None]
    valid = valid.astype(np.float32)
    for _ in range(rings):
        if not 0 < valid.sum() < valid.size:
            break
        pv = np.pad(values * valid[..., None], ((1, 1), (1, 1), (0, 0)))
        pw = np.pad(valid, 1)
        h, w = valid.shape
        total = sum(pv[y:y + h, x:x + w] for y in range(3) for x in range(3))
        count = sum(pw[y:y + h, x:x + w] for y in range(3) for x in range(3))
        grow = (valid == 0) & (count > 0)
        values[grow] = total[grow] / count[grow, None]
        valid = np.where(grow, 1.0, valid)
    return values


def pillow_image(fmt: str) -> Any:
    """Pillow's Image module where this Python has Pillow that writes `fmt` (WEBP, AVIF),
    else None."""
    try:
        from PIL import Image, features
    except ImportError:
        return None
    return Image if features.check(fmt.lower()) else None


def pillow_save(picture: Any, path: str, fmt: str, quality: int) -> None:
    """Lossy WebP or AVIF as the host writes a picture's sizes (sitegen/sizes.py `encode`):
    WebP by libwebp's slowest, smallest method 6, alpha lossless (Blender's own WebP writer
    uses method 4: about 15 % heavier at the same quality, docs/layers.md); AVIF by
    libavif's defaults (4:2:0, speed 6), opaque pictures only (`apply_quality`)."""
    if fmt == "AVIF":
        picture.save(path, "AVIF", quality=quality)
    else:
        picture.save(path, "WEBP", quality=quality, method=6, alpha_quality=100)


def save_with_pillow(img: bpy.types.Image, scene: bpy.types.Scene, path: str,
                     fmt: str) -> bool:
    """The Render Result as AVIF, or lossy WebP (quality below 100), through `pillow_save`
    from the 8-bit PNG Blender writes of it. False (nothing written) for other formats, or
    for WebP where this Python has no Pillow with WebP (Blender's own Python): the caller
    then saves with Blender. (`apply_quality` refused AVIF without Pillow.)"""
    im = scene.render.image_settings
    Image = pillow_image(fmt)
    if fmt not in PILLOW_ONLY and (fmt != "WEBP" or im.quality >= 100 or Image is None):
        return False
    quality = im.quality
    png = f"{path}.png"
    try:
        with image_settings(scene, file_format="PNG"):
            img.save_render(png, scene=scene)
        with Image.open(png) as picture:
            picture.load()
            pillow_save(picture, path, fmt, quality)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(png)
    return True


def save_pixels(pixels: Any, path: str, scene: bpy.types.Scene) -> None:
    """Saves an RGB float array (rows bottom up, 0..1) as 8 bits in the scene's file
    format: PNG, or WebP lossy at BOUNCE_QUALITY whatever the quality's `jpeg_quality`,
    through `pillow_save` (Blender's writer without Pillow)."""
    import numpy as np

    Image = pillow_image("WEBP")
    if scene.render.image_settings.file_format == "WEBP" and Image is not None:
        rgb = np.floor(np.clip(pixels, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)[::-1]
        pillow_save(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), path, "WEBP",
                    BOUNCE_QUALITY)
        return
    h, w = pixels.shape[:2]
    img = bpy.data.images.new("sitegen-bounce", w, h, alpha=False)
    try:
        rgba = np.concatenate([pixels, np.ones((h, w, 1), np.float32)], axis=2)
        img.pixels.foreach_set(rgba.astype(np.float32).ravel())
        im = scene.render.image_settings
        img.file_format = im.file_format
        img.save(filepath=path, quality=BOUNCE_QUALITY if im.file_format == "WEBP" else 100)
    finally:
        bpy.data.images.remove(img)


# --- the worker ------------------------------------------------------------------
class Worker:
    def __init__(self, default_threads: int, default_device: str) -> None:
        self.default_threads = default_threads
        self.default_device = default_device
        self.blend: str | None = None
        self.meshes: dict[str, list[bpy.types.Object]] = {}
        self.materials: dict[str, bpy.types.Material] = {}
        self.format = "PNG"
        # Layers (optional "layer" in render): the file's own holdout / camera
        # visibility per object and the quality's film_transparent, as found at open (and
        # no render border, as apply_quality leaves it). Every render (layer or not) first
        # returns to this state, then applies its layer.
        self.layer_base: dict[str, tuple[bool, bool]] = {}
        self.film_transparent = False
        self.resolution = (0, 0)
        self.samples = 0
        # Spins: the scene frame at open, each camera's world matrix there (a turned frame
        # is computed from it, so frames come right in any order) and the transform
        # channels of the camera a render turned (written back before the next render).
        self.base_frame = 1
        self.cameras: dict[str, Any] = {}
        self.turned: dict[str, dict[str, tuple[float, ...]]] = {}

    def forget(self) -> None:
        """Forget the open model (an `open` or a `check` replaces the scene)."""
        self.blend = None
        self.meshes = {}
        self.materials = {}
        self.layer_base = {}
        self.cameras = {}
        self.turned = {}

    # -- check --
    def check(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Whether a model file opens, and which of the named objects and cameras its
        scene lacks (objects: 'missing' or 'not in scene'; views: 'missing' or the type of
        the object that is not a camera)."""
        self.forget()
        blend = blend_path(msg.get("blend"))
        objects, views = msg.get("objects") or [], msg.get("views") or []
        if not all(isinstance(x, list) and all(isinstance(n, str) for n in x)
                   for x in (objects, views)):
            raise JobError("'objects' and 'views' must be lists of names")
        answer: dict[str, Any] = {"event": "checked", "blend": blend,
                                  "blender": bpy.app.version_string, "error": None}
        try:
            open_model(blend)
        except JobError as e:
            answer["error"] = str(e)
            return answer
        scene = bpy.context.scene or bpy.data.scenes[0]
        found = {o.name: o for o in scene.objects}
        cameras = sorted(name for name, o in found.items() if o.type == "CAMERA")
        missing_views = {}
        for view in views:
            obj = found.get(view)
            if obj is None or obj.type != "CAMERA":
                missing_views[view] = "missing" if obj is None else obj.type
        answer.update({
            "scene": scene.name,
            "missing_objects": {name: "not in scene" if name in bpy.data.objects else "missing"
                                for name in objects if name not in found},
            "missing_views": missing_views,
            "objects": sorted(found)[:LIST_LIMIT], "object_count": len(found),
            "cameras": cameras[:LIST_LIMIT], "camera_count": len(cameras),
        })
        return answer

    # -- open --
    def open(self, msg: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        self.forget()
        blend = blend_path(msg.get("blend"))
        meshes = msg.get("meshes") or {}
        materials = msg.get("materials") or {}
        if not isinstance(meshes, dict) or not isinstance(materials, dict):
            raise JobError("'meshes' and 'materials' must be objects")

        try:
            open_model(blend)
        except JobError as e:
            raise JobError(f"cannot open {blend}: {e}") from None
        install_render_handlers()
        scene = bpy.context.scene or bpy.data.scenes[0]

        missing = []
        for mesh, names in meshes.items():
            if isinstance(names, str):
                names = [names]
            objs = []
            for name in names:
                obj = scene.objects.get(name)
                if obj is None:
                    where = "not in scene" if name in bpy.data.objects else "missing"
                    missing.append(f"{mesh}: object {name!r} {where}")
                    continue
                objs.append(obj)
            self.meshes[mesh] = objs
        if missing:
            self.meshes = {}
            raise JobError(f"{os.path.basename(blend)}: " + "; ".join(missing))
        # Per-object material slots, so a mesh datablock shared with another object
        # (or another part) is never recoloured through the data.
        for objs in self.meshes.values():
            for obj in objs:
                data = obj.data
                if data is None or not hasattr(data, "materials"):
                    continue
                if len(obj.material_slots) == 0:
                    data.materials.append(None)
                for slot in obj.material_slots:
                    if slot.link != "OBJECT":
                        slot.link = "OBJECT"

        for fid, spec in materials.items():
            self.materials[finish_key(fid)] = build_material(finish_key(fid), spec)

        quality = msg.get("quality") or {}
        threads = int(msg.get("threads", self.default_threads) or 0)
        device_want = str(msg.get("device", self.default_device)).lower()
        if device_want not in ("auto", "cpu"):
            raise JobError(f"unknown device {device_want!r} (auto/cpu)")
        device, self.format = apply_quality(scene, quality, threads, device_want)
        self.film_transparent = bool(scene.render.film_transparent)
        self.resolution = (scene.render.resolution_x, scene.render.resolution_y)
        self.samples = scene.cycles.samples if scene.render.engine == "CYCLES" else 0
        self.layer_base = {
            o.name: (bool(o.is_holdout), bool(o.visible_camera)) for o in scene.objects
        }
        views = sorted(o.name for o in scene.objects if o.type == "CAMERA")
        bpy.context.view_layer.update()  # world matrices as the file's frame makes them
        self.base_frame = scene.frame_current
        self.cameras = {o.name: o.matrix_world.copy() for o in scene.objects
                        if o.type == "CAMERA"}
        self.turned = {}
        self.blend = blend
        return {
            "event": "opened",
            "blend": blend,
            "seconds": round(time.perf_counter() - t0, 4),
            "device": device,
            "blender": bpy.app.version_string,
            "views": views,
        }

    # -- render --
    def render(self, msg: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        if self.blend is None:
            raise JobError("no model open (send 'open' first)")
        scene = bpy.context.scene
        view = msg.get("view")
        out = msg.get("out")
        values = msg.get("values")
        if not isinstance(out, str) or not os.path.isabs(out):
            raise JobError(f"'out' must be an absolute path, got {out!r}")
        ext = os.path.splitext(out)[1].lower()
        if ext not in EXTENSIONS[self.format]:
            raise JobError(f"'out' extension {ext!r} does not match format {self.format}")
        if not isinstance(values, dict):
            raise JobError("'values' must be an object")
        unknown = sorted(set(values) - set(self.meshes))
        absent = sorted(set(self.meshes) - set(values))
        if unknown or absent:
            raise JobError(f"values: unknown meshes {unknown}, missing meshes {absent}")
        cam = scene.objects.get(view) if isinstance(view, str) else None
        if cam is None or cam.type != "CAMERA":
            views = sorted(o.name for o in scene.objects if o.type == "CAMERA")
            raise JobError(f"no camera {view!r} in the scene (views: {views})")
        plan = []
        for mesh, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise JobError(f"mesh {mesh}: bad value {value!r}")
            if str(value) in ("0", ""):
                plan.append((mesh, None))
                continue
            mat = self.materials.get(finish_key(value))
            if mat is None:
                raise JobError(f"mesh {mesh}: unknown finish {value!r}")
            plan.append((mesh, mat))
        spin = parse_frame(msg)
        layer = self.parse_layer(msg.get("layer"), values)
        progress = msg.get("progress", False)
        if not isinstance(progress, bool):
            raise JobError(f"'progress' must be true or false, got {progress!r}")
        if progress:  # one render, or a bounce image's base and one per neighbour
            PROGRESS.start(msg.get("id"), 1 + (len(layer[3][0]) if layer and layer[3] else 0))

        # sync: the frame and camera first (a frame change re-evaluates the scene's
        # animation, which may key visibility or materials too), then visibility and
        # materials, then the layer, whose border is projected through the placed camera
        # (only touch what changed: with persistent data Cycles then re-syncs as little
        # as possible)
        self.place_camera(scene, cam, spin)
        for mesh, mat in plan:
            for obj in self.meshes[mesh]:
                hide = mat is None
                if obj.hide_render != hide:
                    obj.hide_render = hide
                if mat is None:
                    continue
                for slot in obj.material_slots:
                    if slot.material != mat:
                        slot.material = mat
        if scene.camera != cam:
            scene.camera = cam
        border = self.apply_layer(scene, layer, values)
        t1 = time.perf_counter()

        split = render_now(scene)
        if layer is not None and layer[3] is not None:
            pixels = self.bounce_image(scene, layer, values, split)
            t2 = time.perf_counter()
            size, digest = self.write(scene, out, lambda tmp: save_pixels(pixels, tmp, scene))
        else:
            t2 = time.perf_counter()
            size, digest = self.write(scene, out)
        t3 = time.perf_counter()
        timings = {
            "sync": round(t1 - t0, 4),
            "render": round(t2 - t1, 4),
            "write": round(t3 - t2, 4),
        }
        timings.update(split)
        answer: dict[str, Any] = {
            "event": "rendered",
            "id": msg.get("id"),
            "out": out,
            "seconds": round(t3 - t0, 4),
            "bytes": size,
            "sha256": digest,
            "timings": timings,
        }
        if border is not None:  # a cropped part layer's border, pixels
            answer["border"] = list(border)
        return answer

    def place_camera(self, scene: bpy.types.Scene, cam: bpy.types.Object,
                     spin: tuple[int, int] | None) -> None:
        """Put the scene at the frame and the camera where a render needs them.

        First the camera an earlier render turned gets its own transform back. A plain view,
        or a spin whose camera is not animated, renders at the scene frame of open; a spin
        frame f of N of a camera that is animated (`camera_animated`) renders at scene
        frame f, the whole scene as the file animates it there (`frame_set`); one that is
        not is turned about the world's Z axis through the origin by 360°·(f-1)/N from
        its world matrix at open (frame 1: not touched at all)."""
        moved = False
        for name, channels in self.turned.items():
            obj = scene.objects.get(name)
            for attr, value in channels.items():
                if obj is not None and tuple(getattr(obj, attr)) != value:
                    setattr(obj, attr, value)
                    moved = True
        self.turned = {}
        animated = spin is not None and camera_animated(cam)
        frame = spin[0] if spin is not None and animated else self.base_frame
        if scene.frame_current != frame:
            scene.frame_set(frame)
        if spin is not None and not animated and spin[0] > 1:
            self.turned[cam.name] = transform_of(cam)
            angle = 2 * math.pi * (spin[0] - 1) / spin[1]
            cam.matrix_world = Matrix.Rotation(angle, 4, "Z") @ self.cameras[cam.name]
            moved = True
        if moved:  # world matrices (children, constraints) as the render will see them
            bpy.context.view_layer.update()

    # -- layers --
    def parse_layer(self, layer: Any, values: dict[str, Any]) -> Layer | None:
        """None (a full picture), ("backdrop", {}, False) or ("part", {mesh, ...}, crop)."""
        if layer is None:
            return None
        if not isinstance(layer, dict):
            raise JobError("'layer' must be an object")
        kind = layer.get("kind")
        bounce = self.parse_bounce(layer.get("bounce"), values)
        if kind == "backdrop":
            return ("backdrop", frozenset(), False, bounce)
        if kind != "part":
            raise JobError(f"unknown layer kind {kind!r} (backdrop/part)")
        if self.format == "JPEG":
            raise JobError("a part layer needs an alpha channel: use format png or webp")
        if self.format == "AVIF":
            raise JobError(f"a part layer needs an alpha channel: {AVIF_ALPHA}")
        meshes = layer.get("meshes")
        if (
            not isinstance(meshes, list)
            or not meshes
            or not all(isinstance(m, str) for m in meshes)
        ):
            raise JobError("a part layer needs 'meshes': a non-empty list of mesh names")
        unknown = sorted(set(meshes) - set(self.meshes))
        if unknown:
            raise JobError(f"layer: unknown meshes {unknown}")
        hidden = sorted(m for m in meshes if str(values[m]) in ("0", ""))
        if hidden:
            raise JobError(f"layer: meshes {hidden} have value 0 (not present)")
        crop = layer.get("crop", True)
        if not isinstance(crop, bool):
            raise JobError(f"layer: 'crop' must be true or false, got {crop!r}")
        if bounce is not None and any(n & set(meshes) for n in bounce[0]):
            raise JobError("layer: a bounce neighbour cannot be one of the layer's meshes")
        return ("part", frozenset(meshes), crop, bounce)

    def parse_bounce(self, bounce: Any, values: dict[str, Any]) -> Bounce | None:
        """None, or (the neighbours' meshes, size divisor, samples) of a bounce image."""
        if bounce is None:
            return None
        if not isinstance(bounce, dict):
            raise JobError("layer: 'bounce' must be an object")
        neighbours, scale = bounce.get("neighbours"), bounce.get("scale")
        samples = bounce.get("samples", self.samples)  # default: the quality's
        if (not isinstance(neighbours, list) or not neighbours
                or not all(isinstance(n, list) and n and all(isinstance(m, str) for m in n)
                           for n in neighbours)):
            raise JobError("bounce: 'neighbours' must be a non-empty list of non-empty lists "
                           "of mesh names")
        named = [m for n in neighbours for m in n]
        unknown = sorted(set(named) - set(self.meshes))
        if unknown:
            raise JobError(f"bounce: unknown meshes {unknown}")
        if len(set(named)) != len(named):
            raise JobError("bounce: a mesh in two neighbours")
        absent = sorted(m for m in named if str(values[m]) in ("0", ""))
        if absent:
            raise JobError(f"bounce: meshes {absent} have value 0 (not present)")
        for name, value in (("scale", scale), ("samples", samples)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise JobError(f"bounce: {name!r} must be a positive integer, got {value!r}")
        if BOUNCE_WHITE not in self.materials:
            raise JobError(f"bounce: no material {BOUNCE_WHITE!r} in 'open'")
        return (tuple(frozenset(n) for n in neighbours), scale, samples)

    def apply_layer(
        self,
        scene: bpy.types.Scene,
        layer: Layer | None,
        values: dict[str, Any],
    ) -> tuple[int, int, int, int] | None:
        """Returns every object to its state at open (and the render border off), then
        applies the layer. backdrop: every object of a present mesh a holdout, film opaque
        (RGB): where a part covers a pixel the backdrop is black, at a part's edge it holds
        only the uncovered share of the floor/world, so the page adds the part layers'
        premultiplied colours to it (in linear light) and every edge pixel's coverage is
        partitioned exactly. part: the layer's meshes as they are, every other present
        mesh and every other geometry object (floor...) a holdout, lights invisible to the
        camera, film transparent (RGBA), and (crop, the default) Cycles' render border
        set to the part's screen bounds (`part_border`; the file keeps the full frame,
        transparent outside). Returns the border used, in pixels (x0, y0, x1, y1 from the
        top left, x1/y1 exclusive), or None for the whole frame. Only changed properties
        are written, so persistent data re-syncs as little as possible."""
        want: dict[str, tuple[bool, bool]] = dict(self.layer_base)
        film = self.film_transparent
        bounce = layer[3] if layer is not None else None
        if layer is not None:
            kind, own, _crop, _bounce = layer
            product: dict[str, str] = {}  # object name -> mesh
            for mesh, objs in self.meshes.items():
                for obj in objs:
                    product[obj.name] = mesh
            if kind == "backdrop":
                # (a bounce image needs the coverage: the floor's share of each pixel)
                film = bounce is not None
                for name, mesh in product.items():
                    if str(values[mesh]) not in ("0", ""):
                        want[name] = (True, want[name][1])
            else:
                film = True
                for obj in scene.objects:
                    mesh = product.get(obj.name)
                    if mesh is not None:
                        if mesh not in own:
                            want[obj.name] = (True, want[obj.name][1])
                    elif obj.type == "LIGHT":
                        want[obj.name] = (want[obj.name][0], False)
                    elif obj.type not in ("CAMERA", "EMPTY", "ARMATURE", "LIGHT_PROBE",
                                          "SPEAKER", "LATTICE"):
                        want[obj.name] = (True, want[obj.name][1])
        for obj in scene.objects:
            target = want.get(obj.name)
            if target is None:
                continue
            holdout, camera = target
            if obj.is_holdout != holdout:
                obj.is_holdout = holdout
            if obj.visible_camera != camera:
                obj.visible_camera = camera
        r = scene.render
        # A bounce image renders small, with its own samples; everything else at the
        # quality's size and samples.
        w, h = self.resolution
        samples = self.samples
        if bounce is not None:
            if r.engine != "CYCLES":
                raise JobError("a bounce image needs engine cycles")
            w, h = bounce_size(w, h, bounce[1])
            samples = bounce[2]
        if (r.resolution_x, r.resolution_y) != (w, h):
            r.resolution_x, r.resolution_y = w, h
        if r.engine == "CYCLES" and scene.cycles.samples != samples:
            scene.cycles.samples = samples
        if r.film_transparent != film:
            r.film_transparent = film
        if self.format != "JPEG":
            mode = "RGBA" if film else "RGB"
            if r.image_settings.color_mode != mode:
                r.image_settings.color_mode = mode
        border = None
        if layer is not None and layer[0] == "part" and layer[2]:
            objs = [obj for mesh in sorted(layer[1]) for obj in self.meshes[mesh]]
            border = part_border(scene, objs)
        if border is None:
            if r.use_border:
                r.use_border = False
        else:
            w, h = r.resolution_x, r.resolution_y
            x0, y0, x1, y1 = border
            # Blender's border: fractions of the frame, y from the bottom
            box = (x0 / w, x1 / w, 1 - y1 / h, 1 - y0 / h)
            for prop, value in zip(("border_min_x", "border_max_x", "border_min_y",
                                    "border_max_y"), box, strict=True):
                if getattr(r, prop) != value:
                    setattr(r, prop, value)
            if r.use_crop_to_border:
                r.use_crop_to_border = False
            if not r.use_border:
                r.use_border = True
        return border

    def bounce_image(self, scene: bpy.types.Scene, layer: Layer, values: dict[str, Any],
                     split: dict[str, float]) -> Any:
        """A layer's bounce image, from the render just made (its base: every other
        present part as the values say, the neutral grey) and one render per neighbour,
        that neighbour white: one strip per neighbour, top to bottom, each that render minus
        the base (same size, samples, seed and border, so the two share every path that
        does not reach the neighbour), in premultiplied linear light, divided by the
        layer's coverage (its light per unit of coverage; pixels covered less than
        BOUNCE_MIN_ALPHA filled from their neighbours, `pad_edges`), clamped to 0..1,
        sRGB-encoded. Returns the RGB float array to save (rows bottom up)."""
        import numpy as np

        bounce = layer[3]
        assert bounce is not None
        base = result_pixels(scene)

        def premultiplied_linear(px: Any) -> Any:
            rgb = px[..., :3]
            lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
            return lin * px[..., 3:4]

        alpha = base[..., 3]
        valid = alpha >= BOUNCE_MIN_ALPHA
        start = premultiplied_linear(base)
        strips = []
        for neighbour in bounce[0]:
            self.paint(neighbour, self.materials[BOUNCE_WHITE])
            try:
                for name, seconds in render_now(scene).items():
                    split[name] = round(split.get(name, 0.0) + seconds, 4)
            finally:
                for mesh in neighbour:  # back to what the message gave it
                    self.paint(frozenset([mesh]), self.materials[finish_key(values[mesh])])
            d = premultiplied_linear(result_pixels(scene)) - start
            light = np.zeros(d.shape, np.float32)
            light[valid] = np.clip(d[valid] / alpha[valid, None], 0.0, 1.0)
            light = pad_edges(light, valid)
            strips.append(np.where(light <= 0.0031308, light * 12.92,
                                   1.055 * light ** (1 / 2.4) - 0.055))
        # rows bottom up: the first strip (the top of the file) goes last
        return np.concatenate(strips[::-1], axis=0)

    def paint(self, meshes: frozenset[str], mat: bpy.types.Material) -> None:
        """Give every object of the meshes the material (where it differs)."""
        for mesh in meshes:
            for obj in self.meshes[mesh]:
                for slot in obj.material_slots:
                    if slot.material != mat:
                        slot.material = mat

    def write(self, scene: bpy.types.Scene, out: str,
              save: Any = None) -> tuple[int, str]:
        """Writes the Render Result (or what `save(tmp)` writes) to `out` atomically,
        metadata stripped; returns (bytes, sha256)."""
        img = bpy.data.images.get("Render Result")
        if img is None:
            raise JobError("no Render Result after rendering")
        if save is None:
            def save(tmp: str) -> None:
                if not save_with_pillow(img, scene, tmp, self.format):
                    img.save_render(tmp, scene=scene)
        folder, name = os.path.split(out)
        stem, ext = os.path.splitext(name)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise JobError(f"cannot create {folder}: {e}") from None
        tmp = os.path.join(folder, f".{stem}.tmp-{os.getpid()}{ext}")
        with _WRITE_LOCK:
            if _TERM_SIGNAL:
                _exit_for_signal(_TERM_SIGNAL)
            try:
                try:
                    save(tmp)
                except RuntimeError as e:
                    raise JobError(f"cannot save {out}: {e}") from None
                if not os.path.isfile(tmp) or os.path.getsize(tmp) == 0:
                    raise JobError(f"saving {out} produced no file")
                with open(tmp, "rb") as f:
                    data = f.read()
                clean = strip_metadata(data, self.format)
                if clean is not data:
                    with open(tmp, "wb") as f:
                        f.write(clean)
                size, digest = len(clean), hashlib.sha256(clean).hexdigest()
                os.replace(tmp, out)
            finally:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    log(f"cannot remove {tmp}: {e}")
        if _TERM_SIGNAL:  # a signal arrived during the write: the file is complete
            _exit_for_signal(_TERM_SIGNAL)
        return size, digest

    # -- loop --
    def handle(self, msg: Any) -> bool:
        """Answers one message; False means quit."""
        if not isinstance(msg, dict):
            send({"event": "error", "error": "message must be a JSON object"})
            return True
        op = msg.get("op")
        job_id = msg.get("id")
        try:
            if op == "ping":
                send({"event": "pong"})
            elif op == "quit":
                return False
            elif op == "open":
                send(self.open(msg))
            elif op == "check":
                send(self.check(msg))
            elif op == "render":
                try:
                    answer = self.render(msg)
                finally:
                    PROGRESS.stop()  # no progress line after the job's answer
                send(answer)
            else:
                raise JobError(f"unknown op {op!r}")
        except JobError as e:
            err: dict[str, Any] = {"event": "error", "op": op, "error": str(e)}
            if job_id is not None:
                err["id"] = job_id
            send(err)
        except Exception as e:  # a bug or a Blender surprise: report and go on
            log(traceback.format_exc())
            err = {"event": "error", "op": op, "error": f"{type(e).__name__}: {e}"}
            if job_id is not None:
                err["id"] = job_id
            send(err)
        return True

    def run(self) -> None:
        stdin = open(0, "rb", buffering=0, closefd=False)  # noqa: SIM115
        buf = b""
        while True:
            chunk = stdin.read(65536)
            if not chunk:  # EOF
                if buf.strip():
                    self._dispatch(buf)
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not self._dispatch(line):
                    return

    def _dispatch(self, line: bytes) -> bool:
        text = line.strip()
        if not text:
            return True
        try:
            msg = json.loads(text)
        except ValueError as e:
            send({"event": "error", "error": f"bad JSON: {e}"})
            return True
        return self.handle(msg)


def parse_args() -> argparse.Namespace:
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    p = argparse.ArgumentParser(prog="worker.py", description=__doc__.splitlines()[0])
    p.add_argument(
        "--threads",
        type=int,
        default=0,
        help="render threads when 'open' gives none (0: Blender decides)",
    )
    p.add_argument(
        "--device",
        choices=("auto", "cpu"),
        default="auto",
        help="Cycles device when 'open' gives none",
    )
    return p.parse_args(argv)


def main() -> int:
    args = parse_args()
    install_signal_handlers()
    bpy.context.preferences.filepaths.use_scripts_auto_execute = False
    send({"event": "ready", "pid": os.getpid(), "blender": bpy.app.version_string})
    Worker(args.threads, args.device).run()
    return 0


if __name__ == "__main__":
    status = main()
    # Leave without running C++ exit handlers: bpy 4.5 deadlocks in them once it has saved
    # an image (its delayed-close thread), and a daemon thread blocked in a read keeps it
    # from exiting too. Every file the worker wrote is complete and renamed by now.
    with contextlib.suppress(Exception):
        _PROTO.flush()
        sys.stderr.flush()
    os._exit(status)
