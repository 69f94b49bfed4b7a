"""Is a texture file an image Blender can read? Decoded once per content, with Pillow.

Blender reads PNG, JPEG, BMP, Targa, TIFF, WebP, JPEG 2000, DDS, PSD, OpenEXR and Radiance
HDR. Pillow decodes all but the last two, which are recognised by their signature. A file
that fails (text saved as `.png`, a truncated JPEG, a GIF) is refused at load time, so it
never renders magenta and never breaks a swatch.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from sitegen.cache import CheckCache, check_key, file_sha256

# Pillow's format names that Blender's image readers also handle.
BLENDER_FORMATS = {"PNG", "JPEG", "BMP", "TGA", "TIFF", "WEBP", "JPEG2000", "DDS", "PSD",
                   "MPO"}
# Formats Pillow does not decode, by their first bytes.
SIGNATURES = {b"\x76\x2f\x31\x01": "OpenEXR", b"#?RADIANCE": "Radiance HDR",
              b"#?RGBE": "Radiance HDR"}
CHECK_VERSION = 1  # bumped when the check changes: cached answers are then asked again




def _decode(path: Path) -> str | None:
    """Why the file is not an image Blender reads, or None when it is one."""
    from PIL import Image, UnidentifiedImageError

    with open(path, "rb") as f:
        head = f.read(16)
    if not head:
        return "the file is empty"
    for signature in SIGNATURES:
        if head.startswith(signature):
            return None
    Image.MAX_IMAGE_PIXELS = None  # large textures are normal; this is not a web upload
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                kind = image.format or "unknown"
                if kind not in BLENDER_FORMATS:
                    return (f"it is a {kind} image, which Blender does not read (use PNG, "
                            "JPEG, TIFF, WebP, OpenEXR, ...)")
                image.load()
                if image.width == 0 or image.height == 0:
                    return "the image has no pixels"
    except UnidentifiedImageError:
        return "not an image (no known image format)"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"the image cannot be decoded ({exc})"
    return None


def image_problem(path: Path, cache: CheckCache | None = None) -> str | None:
    """Why the texture at `path` cannot be used, or None; answers cached by content."""
    cache = cache or CheckCache("images")
    key = check_key(CHECK_VERSION, file_sha256(path))
    cached = cache.get(key)
    if isinstance(cached, dict) and "problem" in cached:
        return cached["problem"]  # type: ignore[no-any-return]
    problem = _decode(path)
    cache.put(key, {"problem": problem})
    return problem
