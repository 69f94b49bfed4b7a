"""Tiny .blend test scenes for the render tests, and what the tests need to know of them.

Importing this module never imports bpy: bpy's state is global, so the scenes are built by
running this file in a subprocess (`build_scenes(folder)`), once per test session.

The scene (`scene.blend`): a large grey floor, a cube "Box" at (-1.3, 0, 1) and a UV
sphere "Ball" at (1.3, 0, 1) (both with UVs and no material of their own that matters),
a sun, a dark world, and two cameras: "main" (the scene camera, in front) and "side".
`pixel()` tells where a world point lands in a picture of either camera.

The crop scene (`crop.blend`): the same scene plus a cube "Far" at FAR, out of the frame
of "main" (in front of it, far to the right) and behind "side": a part layer of it has
nothing to bound on screen.

The hostile scene (`hostile.blend`): the same scene plus a text block registered as a
module (auto-run when scripts are trusted) and a scripted Python driver on Box, each of
which would create a marker file under `<folder>/markers/`.

The spin scene (`spin.blend`, issue 13): the scene with more cameras for a spin of
SPIN_FRAMES frames. "spin" is placed like "main" and not animated; "turned" is "main" turned
180° about the world's Z axis (the same matrix math as the worker's: frame 1 + N/2 of
"spin"). "orbit" is animated: keyframes at 1 and SPIN_FRAMES at ORBIT's two locations;
"orbit3" is a plain camera where that animation puts "orbit" at frame 3. Ball is animated
too, with constant steps: home at frames 1 and 3, lifted by BALL_LIFT at frame 2 (what a
frame change does to the rest of the scene).

The kino model (`kino.blend`): what the small test catalog of conftest.py names, so that
`validate` finds it whole: objects frame, top, insert and rim (cubes), cameras front and
side.

Textures: `checker.png` (blue/yellow, never red), `checker2.png` (another checker),
`normal.png` (flat normal map), `rough.png`.

Run directly: `python tests/blender_scenes.py FOLDER` (with a Python that has bpy).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

SCENE = "scene.blend"
HOSTILE = "hostile.blend"
CROP = "crop.blend"
KINO = "kino.blend"
SPIN = "spin.blend"
SPIN_FRAMES = 4
ORBIT = ((0.0, -9.0, 4.5), (4.0, -8.0, 4.5))  # "orbit" at frames 1 and SPIN_FRAMES
BALL_LIFT = 2.5
MARKERS = ("markers/text-block", "markers/driver")

CAMERAS = {
    "main": ((0.0, -9.0, 4.5), (1.13, 0.0, 0.0)),
    "side": ((9.0, 0.0, 4.5), (1.13, 0.0, math.pi / 2)),
}
BOX = (-1.3, 0.0, 1.0)
BALL = (1.3, 0.0, 1.0)
FLOOR = (0.0, -3.0, 0.0)  # a floor point in front of both objects, seen by "main"
FAR = (30.0, 0.0, 1.0)  # crop.blend's "Far": right of main's frame, behind side


def build_scenes(folder: Path, timeout: float = 300) -> Path:
    """Build every test scene and texture into `folder` (in a subprocess); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([sys.executable, __file__, str(folder)], capture_output=True,
                            text=True, timeout=timeout, check=False)
    if result.returncode != 0 or not (folder / SCENE).is_file():
        raise RuntimeError(f"building the test scenes failed ({result.returncode}):\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return folder


def trusting_open(blend: Path, timeout: float = 120) -> None:
    """Open a .blend in a bpy subprocess that trusts its scripts and evaluates its drivers.

    The positive control of the hostile-file tests: this must create the markers.
    """
    code = (
        "import bpy\n"
        "bpy.context.preferences.filepaths.use_scripts_auto_execute = True\n"
        f"bpy.ops.wm.open_mainfile(filepath={str(blend)!r}, use_scripts=True)\n"
        "bpy.context.scene.frame_set(1)\n"
        "bpy.context.view_layer.update()\n"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=timeout,
                   check=False)


# --- where things land in a picture (pure math, no bpy) --------------------------------
def _euler_xyz(rx: float, ry: float, rz: float) -> list[list[float]]:
    cx, sx, cy, sy, cz, sz = (math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry),
                              math.cos(rz), math.sin(rz))
    return [[cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx],
            [sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx],
            [-sy, cy * sx, cy * cx]]


def pixel(point: tuple[float, float, float], view: str, size: tuple[int, int]
          ) -> tuple[int, int]:
    """The pixel (x, y from the top) where a world point lands, seen by camera `view`.

    Blender's default camera: 50 mm lens, 36 mm sensor, sensor fit AUTO.
    """
    location, rotation = CAMERAS[view]
    w, h = size
    m = _euler_xyz(*rotation)
    d = [point[i] - location[i] for i in range(3)]
    xc = sum(d[i] * m[i][0] for i in range(3))
    yc = sum(d[i] * m[i][1] for i in range(3))
    zc = -sum(d[i] * m[i][2] for i in range(3))
    f = 50.0 / 36.0 * max(w, h)
    return int(round(w / 2 + xc / zc * f)), int(round(h / 2 - yc / zc * f))


def reddish(p: tuple[int, ...]) -> bool:
    return p[0] > 60 and p[0] > 2 * p[1] and p[0] > 2 * p[2]


def greenish(p: tuple[int, ...]) -> bool:
    return p[1] > 40 and p[1] > 1.5 * p[0] and p[1] > 1.5 * p[2]


def greyish(p: tuple[int, ...]) -> bool:
    return max(p[:3]) - min(p[:3]) < 20 and max(p[:3]) > 60


def checker_coloured(p: tuple[int, ...]) -> bool:
    """Blue or yellow (the checker texture), and not red or grey."""
    r, g, b = p[:3]
    blue = b > 40 and b > 1.5 * r
    yellow = r > 40 and g > 40 and g > 0.6 * r and r > 1.8 * b
    return (blue or yellow) and not reddish(p)


# --- the builder (runs in a subprocess with bpy) ----------------------------------------
def _build(out: Path) -> None:  # pragma: no cover - runs in a subprocess
    import bpy
    from PIL import Image

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
    floor = bpy.context.object
    floor.name = "Floor"
    floor_mat = bpy.data.materials.new("FloorMat")
    bsdf = floor_mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (0.8, 0.8, 0.8, 1)
    bsdf.inputs["Roughness"].default_value = 0.9
    floor.data.materials.append(floor_mat)
    bpy.ops.mesh.primitive_cube_add(size=2, location=BOX)  # has UVs
    bpy.context.object.name = "Box"
    bpy.ops.mesh.primitive_uv_sphere_add(radius=1, location=BALL, segments=16, ring_count=8)
    ball = bpy.context.object
    ball.name = "Ball"
    ball.data.materials.append(bpy.data.materials.new("BallOriginal"))
    bpy.ops.object.light_add(type="SUN", location=(0, 0, 10))
    sun = bpy.context.object
    sun.name = "Sun"
    sun.data.energy = 3.0
    sun.rotation_euler = (0.3, 0.2, 0.0)
    for name, (location, rotation) in CAMERAS.items():
        bpy.ops.object.camera_add(location=location, rotation=rotation)
        bpy.context.object.name = name
    scene.camera = bpy.data.objects["main"]
    world = bpy.data.worlds.new("World")
    world.color = (0.05, 0.05, 0.05)
    scene.world = world
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.05, 0.05, 0.05, 1)
    bpy.ops.wm.save_as_mainfile(filepath=str(out / SCENE))

    # Crop: one more cube, off screen.
    bpy.ops.mesh.primitive_cube_add(size=2, location=FAR)
    far = bpy.context.object
    far.name = "Far"
    bpy.ops.wm.save_as_mainfile(filepath=str(out / CROP))
    bpy.data.objects.remove(far)

    # Hostile: code that would run if the file's scripts were trusted.
    (out / "markers").mkdir(exist_ok=True)
    text_marker, driver_marker = (str(out / m) for m in MARKERS)
    text = bpy.data.texts.new("evil.py")
    text.write(f"import pathlib\npathlib.Path({text_marker!r}).touch()\n")
    text.use_module = True
    curve = bpy.data.objects["Box"].driver_add("location", 2)
    curve.driver.type = "SCRIPTED"
    curve.driver.use_self = False
    curve.driver.expression = f"__import__('pathlib').Path({driver_marker!r}).touch() or 1"
    bpy.ops.wm.save_as_mainfile(filepath=str(out / HOSTILE))
    _build_spin(out)

    # Kino: conftest.BASE's model, objects and views only.
    bpy.ops.wm.read_factory_settings(use_empty=True)
    for n, name in enumerate(("frame", "top", "insert", "rim")):
        bpy.ops.mesh.primitive_cube_add(size=0.5, location=(n, 0, 0))
        bpy.context.object.name = name
    for name, (location, rotation) in CAMERAS.items():
        bpy.ops.object.camera_add(location=location, rotation=rotation)
        bpy.context.object.name = {"main": "front"}.get(name, name)
    bpy.ops.wm.save_as_mainfile(filepath=str(out / KINO))

    def checker(path: Path, a: tuple[int, int, int], b: tuple[int, int, int]) -> None:
        img = Image.new("RGB", (64, 64))
        px = img.load()
        for y in range(64):
            for x in range(64):
                px[x, y] = a if ((x // 8) + (y // 8)) % 2 else b
        img.save(path)

    checker(out / "checker.png", (20, 60, 230), (230, 210, 20))
    checker(out / "checker2.png", (230, 210, 20), (20, 60, 230))
    Image.new("RGB", (16, 16), (128, 128, 255)).save(out / "normal.png")
    Image.new("L", (16, 16), 200).save(out / "rough.png")


def _build_spin(out: Path) -> None:  # pragma: no cover - runs in a subprocess
    """spin.blend from the saved scene.blend (see the module's docstring)."""
    import bpy
    from mathutils import Matrix

    bpy.ops.wm.open_mainfile(filepath=str(out / SCENE))
    scene = bpy.context.scene
    main = bpy.data.objects["main"]
    location, rotation = CAMERAS["main"]

    def camera(name: str) -> bpy.types.Object:
        bpy.ops.object.camera_add(location=location, rotation=rotation)
        obj = bpy.context.object
        obj.name = name
        return obj

    camera("spin")
    bpy.context.view_layer.update()
    turned = camera("turned")
    turned.matrix_world = Matrix.Rotation(math.pi, 4, "Z") @ main.matrix_world
    orbit = camera("orbit")
    for frame, where in zip((1, SPIN_FRAMES), ORBIT, strict=True):
        orbit.location = where
        orbit.keyframe_insert("location", frame=frame)
    ball = bpy.data.objects["Ball"]
    for frame, lift in ((1, 0.0), (2, BALL_LIFT), (3, 0.0)):
        ball.location = (BALL[0], BALL[1], BALL[2] + lift)
        ball.keyframe_insert("location", frame=frame)
    for fcurve in _fcurves(ball):
        for point in fcurve.keyframe_points:
            point.interpolation = "CONSTANT"
    scene.frame_set(3)
    at3 = camera("orbit3")
    at3.location = orbit.location.copy()
    at3.rotation_euler = orbit.rotation_euler.copy()
    scene.frame_set(1)
    scene.camera = main
    bpy.ops.wm.save_as_mainfile(filepath=str(out / SPIN))


def _fcurves(obj: object) -> list[object]:  # pragma: no cover - runs in a subprocess
    """An object's F-curves: the action's (4.x), or its slot's channelbag's (5.x)."""
    action = obj.animation_data.action  # type: ignore[attr-defined]
    if hasattr(action, "fcurves"):
        return list(action.fcurves)
    slot = obj.animation_data.action_slot  # type: ignore[attr-defined]
    return [fc for layer in action.layers for strip in layer.strips
            for fc in strip.channelbag(slot).fcurves]


if __name__ == "__main__":  # pragma: no cover
    target = Path(sys.argv[1]).resolve()
    target.mkdir(parents=True, exist_ok=True)
    os.chdir(target)
    _build(target)
    print("built", target)
