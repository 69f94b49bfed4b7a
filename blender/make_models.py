"""Build the demo catalog's Blender scenes: kino, maru, hako and oto.

Run with the bpy module (Blender as a Python module) or inside Blender:

    .venv/bin/python blender/make_models.py --out catalog/models
    blender -b -P blender/make_models.py -- --out catalog/models

Uses bpy, bmesh, mathutils and the standard library only. Every scene starts
empty and gets: the product objects (exact names, read by the renderer), a
large "Floor" with its own light grey material, two soft area lights and a
grey world, the named cameras (the first one is the scene camera), and Cycles
settings at 480x360. Nothing in the files runs scripts (no drivers, no text).

Geometry notes the renderer can rely on:

* units are metres, Z up, the product stands on the floor at z = 0, centred on
  the origin; the front of the product faces -Y;
* every product object has one material slot holding its own placeholder
  material (named "<model>.<object>"), and a UV map "UVMap";
* UVs are box/cylinder projections in real-world scale: one UV unit is 0.5 m
  on wood, metal and linoleum, 0.25 m on upholstery; wood grain is laid along
  V (the textures' vertical axis), which follows the length of legs, rails,
  slats and boards;
* objects that are alternatives (kino: top vs insert+rim; maru: padend vs
  table) occupy the same place on purpose.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

# isort: off
# bpy must come first: with Blender as a Python module, bmesh and mathutils
# only become importable once bpy is loaded.
import bpy
import bmesh
from mathutils import Matrix, Vector

# isort: on

RES_X, RES_Y = 480, 360
SENSOR_W = 36.0
FILL = 0.70  # share of the picture the product's larger extent takes

WOOD_UV = 0.5  # metres per UV unit
FABRIC_UV = 0.25
SHARP_ANGLE = math.radians(40.0)

P2 = tuple[float, float]


# --------------------------------------------------------------------------- profiles


def fillet(points: Sequence[P2], radii: Sequence[float], steps: int, closed: bool) -> list[P2]:
    """Round the corners of a 2D polyline; radii[i] is the radius at points[i]."""
    out: list[P2] = []
    n = len(points)
    for i, p in enumerate(points):
        r = radii[i]
        if r <= 0 or (not closed and (i == 0 or i == n - 1)):
            out.append(p)
            continue
        pv = Vector(p)
        u = (Vector(points[i - 1]) - pv).normalized()
        w = (Vector(points[(i + 1) % n]) - pv).normalized()
        ang = u.angle(w)
        d = r / math.tan(ang / 2)
        t1 = pv + u * d
        t2 = pv + w * d
        c = pv + (u + w).normalized() * (r / math.sin(ang / 2))
        a1 = math.atan2(t1.y - c.y, t1.x - c.x)
        a2 = math.atan2(t2.y - c.y, t2.x - c.x)
        da = (a2 - a1 + math.pi) % (2 * math.pi) - math.pi
        for k in range(steps + 1):
            a = a1 + da * k / steps
            out.append((c.x + r * math.cos(a), c.y + r * math.sin(a)))
    return out


# --------------------------------------------------------------------------- mesh builder


class Part:
    """Accumulates the pieces of one Blender object in a bmesh, with UVs."""

    def __init__(self) -> None:
        self.bm = bmesh.new()
        self.uv = self.bm.loops.layers.uv.new("UVMap")
        self.count = 0  # pieces added, used to offset UVs so pieces differ

    def _face(self, verts: Sequence[bmesh.types.BMVert], uvs: Sequence[P2]) -> None:
        # Drop collapsed corners (poles) so no face repeats a vertex.
        keep_v: list[bmesh.types.BMVert] = []
        keep_uv: list[P2] = []
        for v, uv in zip(verts, uvs, strict=True):
            if keep_v and keep_v[-1] is v:
                continue
            keep_v.append(v)
            keep_uv.append(uv)
        if len(keep_v) > 1 and keep_v[0] is keep_v[-1]:
            keep_v.pop()
            keep_uv.pop()
        if len(keep_v) < 3:
            return
        f = self.bm.faces.new(keep_v)
        for loop, uv in zip(f.loops, keep_uv, strict=True):
            loop[self.uv].uv = uv

    def _offset(self) -> Vector:
        self.count += 1
        k = self.count
        return Vector(((k * 0.37) % 1.0, (k * 0.61) % 1.0))

    # -- rounded box -----------------------------------------------------------------

    def box(
        self,
        size: Sequence[float],
        center: Sequence[float] = (0, 0, 0),
        radius: float = 0.003,
        grain: int = 0,
        uv_scale: float = WOOD_UV,
        steps: int = 2,
        bulge: float = 0.0,
        cuts: int = 1,
        matrix: Matrix | None = None,
    ) -> None:
        """A box with rounded edges (radius), `steps` segments per 45 degrees.

        grain: the local axis (0 x, 1 y, 2 z) the texture's V follows.
        bulge: raise the middle of the top face by this much (cushions).
        cuts: segments across the flat part of each face.
        """
        h = [s / 2 for s in size]
        r = min(radius, 0.95 * min(h))
        inner = [hh - r for hh in h]

        def samples(a: int) -> list[float]:
            rnd = [
                inner[a] + r * math.tan(math.radians(45.0 * k / steps)) for k in range(1, steps + 1)
            ]
            flat = [-inner[a] + 2 * inner[a] * i / cuts for i in range(cuts + 1)]
            g = min(r * 0.6, inner[a] * 0.3)
            if g > 1e-5:  # keep smooth-shading gradients in a narrow strip
                flat += [-inner[a] + g, inner[a] - g]
            vals = sorted(set(round(v, 7) for v in flat))
            return [-v for v in reversed(rnd)] + vals + rnd

        def shape(p: Vector) -> Vector:
            c = Vector([max(-inner[a], min(inner[a], p[a])) for a in range(3)])
            d = p - c
            q = c + d.normalized() * r if d.length > 1e-9 else p.copy()
            if bulge and q.z > 0:
                fx = math.cos(0.5 * math.pi * max(-1.0, min(1.0, q.x / h[0])))
                fy = math.cos(0.5 * math.pi * max(-1.0, min(1.0, q.y / h[1])))
                q.z += bulge * fx * fy * (q.z / h[2])
            return q

        m = matrix if matrix is not None else Matrix.Identity(4)
        m = Matrix.Translation(Vector(center)) @ m
        off = self._offset()
        new_verts: list[bmesh.types.BMVert] = []
        for a in range(3):
            b, c = (a + 1) % 3, (a + 2) % 3
            if grain == b:
                ua, va = c, b
            elif grain == c:
                ua, va = b, c
            else:
                ua, va = b, c
            sb, sc = samples(b), samples(c)
            for sign in (1, -1):
                grid: list[list[tuple[bmesh.types.BMVert, P2]]] = []
                for vb in sb:
                    row = []
                    for vc in sc:
                        p = Vector((0.0, 0.0, 0.0))
                        p[a] = sign * h[a]
                        p[b] = vb
                        p[c] = vc
                        q = shape(p)
                        v = self.bm.verts.new(m @ q)
                        new_verts.append(v)
                        uv = (q[ua] / uv_scale + off.x, q[va] / uv_scale + off.y)
                        row.append((v, uv))
                    grid.append(row)
                for i in range(len(sb) - 1):
                    for j in range(len(sc) - 1):
                        quad = [grid[i][j], grid[i + 1][j], grid[i + 1][j + 1], grid[i][j + 1]]
                        if sign < 0:
                            quad.reverse()
                        self._face([q[0] for q in quad], [q[1] for q in quad])
        bmesh.ops.remove_doubles(self.bm, verts=[v for v in new_verts if v.is_valid], dist=1e-6)

    # -- surfaces of revolution ----------------------------------------------------

    def revolve(
        self,
        profile: Sequence[P2],
        segments: int = 32,
        matrix: Matrix | None = None,
        closed: bool = False,
        uv_scale: float = WOOD_UV,
        uv: str = "auto",
    ) -> None:
        """Revolve an (r, z) profile about the local Z axis.

        Points with r == 0 become poles. UVs: "around": U around (whole
        repeats, so the seam matches), V along the profile; "auto": the same,
        but faces that look mostly up or down get a planar XY projection;
        "planar": XY projection everywhere (a round board cut from a plank).
        """
        m = matrix if matrix is not None else Matrix.Identity(4)
        off = self._offset()
        rings: list[list[bmesh.types.BMVert]] = []
        local: list[list[Vector]] = []
        for r, z in profile:
            if r < 1e-7:
                p = Vector((0.0, 0.0, z))
                v = self.bm.verts.new(m @ p)
                rings.append([v] * segments)
                local.append([p] * segments)
            else:
                ps = [
                    Vector(
                        (
                            r * math.cos(2 * math.pi * j / segments),
                            r * math.sin(2 * math.pi * j / segments),
                            z,
                        )
                    )
                    for j in range(segments)
                ]
                rings.append([self.bm.verts.new(m @ p) for p in ps])
                local.append(ps)
        arc = [0.0]
        for i in range(1, len(profile)):
            arc.append(arc[-1] + (Vector(profile[i]) - Vector(profile[i - 1])).length)
        rmax = max(r for r, _ in profile)
        reps = max(1, round(2 * math.pi * rmax / uv_scale))
        pairs = [(i, i + 1) for i in range(len(profile) - 1)]
        if closed:
            pairs.append((len(profile) - 1, 0))
            total = arc[-1] + (Vector(profile[0]) - Vector(profile[-1])).length
        for i0, i1 in pairs:
            s0 = arc[i0]
            s1 = arc[i1] if i1 != 0 else total
            dr = profile[i1][0] - profile[i0][0]
            dz = profile[i1][1] - profile[i0][1]
            flat = uv == "planar" or (uv == "auto" and abs(dr) > 0.7 * math.hypot(dr, dz))
            for j in range(segments):
                j1 = j + 1
                corners = [(i0, j, s0), (i0, j1, s0), (i1, j1, s1), (i1, j, s1)]
                verts = [rings[i][jj % segments] for i, jj, _ in corners]
                uvs: list[P2] = []
                for i, jj, s in corners:
                    if flat:
                        p = local[i][jj % segments]
                        uvs.append((p.x / uv_scale + off.x, p.y / uv_scale + off.y))
                    else:
                        uvs.append((jj / segments * reps + off.x, s / uv_scale + off.y))
                self._face(verts, uvs)
        bmesh.ops.remove_doubles(
            self.bm, verts=list({v for ring in rings for v in ring if v.is_valid}), dist=1e-7
        )

    def tube(
        self,
        p0: Sequence[float],
        p1: Sequence[float],
        profile: Callable[[float], Sequence[P2]],
        segments: int = 20,
        uv_scale: float = WOOD_UV,
    ) -> None:
        """Revolve profile(length) along the segment p0 -> p1 (local z = 0 at p0)."""
        a, b = Vector(p0), Vector(p1)
        d = b - a
        rot = Vector((0, 0, 1)).rotation_difference(d.normalized()).to_matrix().to_4x4()
        self.revolve(profile(d.length), segments, Matrix.Translation(a) @ rot, uv_scale=uv_scale)

    # -- finish --------------------------------------------------------------------

    def to_object(
        self, name: str, scene: bpy.types.Scene, material: bpy.types.Material
    ) -> bpy.types.Object:
        bm = self.bm
        bmesh.ops.recalc_face_normals(bm, faces=bm.faces[:])
        for f in bm.faces:
            f.smooth = True
        for e in bm.edges:
            if len(e.link_faces) == 2 and e.calc_face_angle(0.0) > SHARP_ANGLE:
                e.smooth = False
        mesh = bpy.data.meshes.new(name)
        bm.to_mesh(mesh)
        bm.free()
        mesh.materials.append(material)
        obj = bpy.data.objects.new(name, mesh)
        scene.collection.objects.link(obj)
        return obj


def rod(radius: float, round_end: float = 0.0, taper: float = 1.0) -> Callable[[float], list[P2]]:
    """Profile factory for a rod of a given length: radius at z=0, radius*taper at the top."""

    def prof(length: float) -> list[P2]:
        pts = [(0.0, 0.0), (radius, 0.0), (radius * taper, length), (0.0, length)]
        return fillet(pts, [0, round_end, round_end * taper, 0], 3, closed=False)

    return prof


# --------------------------------------------------------------------------- scene


def new_scene() -> bpy.types.Scene:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.unit_settings.system = "METRIC"
    scene.unit_settings.scale_length = 1.0
    r = scene.render
    r.engine = "CYCLES"
    r.resolution_x, r.resolution_y, r.resolution_percentage = RES_X, RES_Y, 100
    r.film_transparent = False
    r.image_settings.file_format = "PNG"
    c = scene.cycles
    c.device = "CPU"
    c.samples = 16
    c.use_adaptive_sampling = False
    c.use_denoising = True
    c.denoiser = "OPENIMAGEDENOISE"
    c.denoising_quality = "HIGH"
    # FAST: trust the albedo and normal passes as they are. As sharp as
    # ACCURATE on these scenes, and about 1 CPU-second cheaper per picture.
    c.denoising_prefilter = "FAST"
    c.use_light_tree = False  # two lights and a plain world: nothing to gain
    c.max_bounces = 3
    c.diffuse_bounces = 1
    c.glossy_bounces = 1
    c.transmission_bounces = 1
    c.transparent_max_bounces = 4
    c.volume_bounces = 0
    c.caustics_reflective = False
    c.caustics_refractive = False
    c.sample_clamp_indirect = 5.0
    # A neutral tone map made for products: base colours come out as picked.
    scene.view_settings.view_transform = "Khronos PBR Neutral"
    scene.view_settings.look = "None"
    return scene


def material(
    name: str, color: Sequence[float], roughness: float = 0.5, metallic: float = 0.0
) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is None:  # older defaults: build the node ourselves
        nt = mat.node_tree
        bsdf = nt.nodes.new("ShaderNodeBsdfPrincipled")
        out = nt.nodes.get("Material Output") or nt.nodes.new("ShaderNodeOutputMaterial")
        nt.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    mat.diffuse_color = (*color, 1.0)
    return mat


def srgb(hexcode: str) -> tuple[float, float, float]:
    """sRGB hex to the linear RGB Blender stores."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    h = hexcode.lstrip("#")
    return tuple(lin(int(h[i : i + 2], 16) / 255) for i in (0, 2, 4))  # type: ignore[return-value]


WOOD = srgb("#c8a27a")
FABRIC = srgb("#9c9a94")
LINO = srgb("#b5b98a")
METAL = srgb("#2a2a2a")
MDF = srgb("#8a8a86")


def product(
    scene: bpy.types.Scene, model: str, name: str, part: Part, color: Sequence[float], **kw: float
) -> bpy.types.Object:
    return part.to_object(name, scene, material(f"{model}.{name}", color, **kw))


def studio(scene: bpy.types.Scene, size: float) -> None:
    """Floor, world and two big area lights scaled to the product's size."""
    floor = Part()
    half = 20.0
    vs = [
        floor.bm.verts.new((x * half, y * half, 0.0))
        for x, y in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    f = floor.bm.faces.new(vs)
    for loop, uv in zip(f.loops, ((0, 0), (1, 0), (1, 1), (0, 1)), strict=True):
        loop[floor.uv].uv = uv
    floor.to_object("Floor", scene, material("Floor", srgb("#d6d6d3"), roughness=0.75))

    world = bpy.data.worlds.new("World")
    scene.world = world
    bg = world.node_tree.nodes.get("Background")
    bg.inputs["Color"].default_value = (*srgb("#c9cbcf"), 1.0)
    bg.inputs["Strength"].default_value = 0.22

    s = max(size, 0.5)
    target = Vector((0.0, 0.0, 0.3 * s))

    def area(
        name: str, azimuth: float, elevation: float, dist: float, power: float, width: float
    ) -> None:
        az, el = math.radians(azimuth), math.radians(elevation)
        pos = target + dist * Vector(
            (math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el))
        )
        light = bpy.data.lights.new(name, type="AREA")
        light.shape = "DISK"
        light.size = width
        light.energy = power
        obj = bpy.data.objects.new(name, light)
        obj.location = pos
        obj.rotation_euler = (target - pos).to_track_quat("-Z", "Y").to_euler()
        obj.visible_camera = False  # never a bright disk in the picture
        scene.collection.objects.link(obj)

    d = 2.0 * s + 1.5
    # Key: big soft box high at the front right, so the soft shadow falls back
    # and to the left, where the (front-left) cameras see it.
    area("Key", 35.0, 55.0, d, 20.0 * d * d, 0.9 * s + 0.6)
    # Fill: broad and dim from the left, lifts the faces the cameras see. Kept
    # high: a disk light lights nothing behind its own plane, and a low one
    # would draw a hard line across the floor in the side views.
    area("Fill", -60.0, 40.0, d, 6.0 * d * d, 1.5 * s + 1.0)


def product_points(objs: Iterable[bpy.types.Object]) -> list[Vector]:
    pts: list[Vector] = []
    for o in objs:
        pts.extend(o.matrix_world @ v.co for v in o.data.vertices)
    return pts


def add_camera(
    scene: bpy.types.Scene,
    name: str,
    pts: list[Vector],
    azimuth: float,
    elevation: float,
    lens: float = 70.0,
    fill: float = FILL,
    aspect: float = RES_Y / RES_X,
) -> bpy.types.Object:
    """A camera looking at the product from azimuth/elevation (degrees; azimuth 0 =
    straight from the front (-Y), positive turns towards +X), at the distance where
    the product's larger extent takes `fill` of the frame (height / width = `aspect`),
    shifted so the product sits in the middle of the picture."""
    lo = Vector([min(p[a] for p in pts) for a in range(3)])
    hi = Vector([max(p[a] for p in pts) for a in range(3)])
    target = (lo + hi) / 2
    az, el = math.radians(azimuth), math.radians(elevation)
    direction = Vector((math.sin(az) * math.cos(el), -math.cos(az) * math.cos(el), math.sin(el)))
    rot = (-direction).to_track_quat("-Z", "Y").to_matrix()
    inv = rot.transposed()
    half_w = SENSOR_W / 2 / lens
    half_h = half_w * aspect

    def extents(dist: float) -> tuple[float, float, float, float]:
        pos = target + direction * dist
        xs, ys = [], []
        for p in pts:
            q = inv @ (p - pos)
            xs.append(q.x / -q.z / half_w)
            ys.append(q.y / -q.z / half_h)
        return min(xs), max(xs), min(ys), max(ys)

    near, far = 0.05, 100.0
    for _ in range(60):
        mid = (near + far) / 2
        x0, x1, y0, y1 = extents(mid)
        if max(x1 - x0, y1 - y0) / 2 > fill:
            near = mid
        else:
            far = mid
    dist = far
    x0, x1, y0, y1 = extents(dist)
    cam = bpy.data.cameras.new(name)
    cam.lens = lens
    cam.sensor_fit = "HORIZONTAL"
    cam.sensor_width = SENSOR_W
    cam.clip_start = 0.05
    cam.clip_end = 100.0
    # shift is in units of the frame width (the larger side).
    cam.shift_x = (x0 + x1) / 4
    cam.shift_y = (y0 + y1) / 4 * aspect
    obj = bpy.data.objects.new(name, cam)
    obj.location = target + direction * dist
    obj.rotation_euler = rot.to_euler()
    scene.collection.objects.link(obj)
    return obj


def finish(
    scene: bpy.types.Scene, products: list[bpy.types.Object], cameras: list[tuple], path: Path
) -> None:
    pts = product_points(products)
    size = max(max(p[a] for p in pts) - min(p[a] for p in pts) for a in range(3))
    studio(scene, size)
    first = None
    for name, az, el, lens, *fill in cameras:  # (name, azimuth, elevation, lens[, fill])
        cam = add_camera(scene, name, pts, az, el, lens, *fill)
        first = first or cam
    scene.camera = first
    path.parent.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), compress=True)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


# --------------------------------------------------------------------------- models


def build_kino(path: Path) -> None:
    """Kino stool: round seat 35 cm across, 45 cm high, four splayed legs."""
    scene = new_scene()
    seat_z0, seat_z1, seat_r = 0.42, 0.45, 0.175
    objs = []

    legs, rails = Part(), Part()
    top_r, foot_r = 0.112, 0.155

    def leg_axis(k: int, z: float) -> Vector:
        a = math.radians(45 + 90 * k)
        rr = foot_r + (top_r - foot_r) * z / seat_z0
        return Vector((rr * math.cos(a), rr * math.sin(a), z))

    for k in range(4):
        legs.tube(leg_axis(k, 0.0), leg_axis(k, seat_z0 + 0.005), rod(0.0125, 0.004, taper=1.3))
    for k in range(4):
        z = 0.15 if k % 2 == 0 else 0.19  # staggered stretchers
        rails.tube(leg_axis(k, z), leg_axis((k + 1) % 4, z), rod(0.0085), segments=14)
    objs.append(product(scene, "kino", "Legs", legs, WOOD, roughness=0.45))
    objs.append(product(scene, "kino", "Rails", rails, WOOD, roughness=0.45))

    top = Part()
    top.revolve(
        fillet(
            [(0, seat_z0), (seat_r, seat_z0), (seat_r, seat_z1), (0, seat_z1)],
            [0, 0.004, 0.010, 0],
            3,
            False,
        ),
        segments=64,
        uv="planar",
    )
    objs.append(product(scene, "kino", "top", top, WOOD, roughness=0.45))

    rim_in = 0.150
    insert = Part()
    insert.revolve(
        fillet(
            [
                (0, seat_z0 + 0.004),
                (rim_in - 0.0005, seat_z0 + 0.004),
                (rim_in - 0.0005, seat_z1 - 0.005),
                (0, seat_z1 - 0.005),
            ],
            [0, 0, 0.0015, 0],
            2,
            False,
        ),
        segments=64,
    )
    objs.append(product(scene, "kino", "insert", insert, LINO, roughness=0.55))

    rim = Part()
    rim.revolve(
        fillet(
            [(rim_in, seat_z0), (seat_r, seat_z0), (seat_r, seat_z1), (rim_in, seat_z1)],
            [0.002, 0.004, 0.008, 0.003],
            3,
            True,
        ),
        segments=64,
        closed=True,
        uv="planar",
    )
    objs.append(product(scene, "kino", "rim", rim, WOOD, roughness=0.45))

    finish(scene, objs, [("front", -35.0, 24.0, 70.0), ("side", 90.0, 16.0, 70.0)], path)


def build_maru(path: Path) -> None:
    """Maru bench: 150 x 45 cm, seat 45 cm high, five cross slats with pads."""
    scene = new_scene()
    length, depth = 1.50, 0.45
    slat_z0, slat_t = 0.365, 0.025
    slat_z1 = slat_z0 + slat_t
    objs = []

    legs = Part()
    lx, ly, lw = length / 2 - 0.05, depth / 2 - 0.045, 0.045
    for sx in (-1, 1):
        for sy in (-1, 1):
            legs.box((lw, lw, slat_z0), (sx * lx, sy * ly, slat_z0 / 2), radius=0.004, grain=2)
    apron_h = 0.08
    for sy in (-1, 1):  # long aprons under the slats
        legs.box(
            (2 * lx, 0.022, apron_h), (0, sy * ly, slat_z0 - apron_h / 2), radius=0.003, grain=0
        )
    for sx in (-1, 1):  # short end rails
        legs.box(
            (0.022, 2 * ly, apron_h), (sx * lx, 0, slat_z0 - apron_h / 2), radius=0.003, grain=1
        )
    objs.append(product(scene, "maru", "Legs", legs, WOOD, roughness=0.45))

    slats = Part()
    gap = 0.02
    sw = (length - 4 * gap) / 5
    xs = [-length / 2 + sw / 2 + k * (sw + gap) for k in range(5)]
    for x in xs:
        slats.box((sw, depth, slat_t), (x, 0, slat_z0 + slat_t / 2), radius=0.004, grain=1)
    objs.append(product(scene, "maru", "Slats", slats, WOOD, roughness=0.45))

    pad_t = 0.055

    def pad(x: float) -> Part:
        p = Part()
        p.box(
            (sw - 0.01, depth - 0.02, pad_t),
            (x, 0, slat_z1 + pad_t / 2),
            radius=0.018,
            grain=1,
            uv_scale=FABRIC_UV,
            steps=3,
            bulge=0.012,
            cuts=6,
        )
        return p

    for k in range(4):
        objs.append(product(scene, "maru", f"Pad{k + 1}", pad(xs[k]), FABRIC, roughness=0.9))
    objs.append(product(scene, "maru", "padend", pad(xs[4]), FABRIC, roughness=0.9))

    table = Part()
    runner_h, board_t = 0.03, 0.022
    for sy in (-1, 1):
        table.box(
            (sw - 0.06, 0.025, runner_h),
            (xs[4], sy * (depth / 2 - 0.06), slat_z1 + runner_h / 2),
            radius=0.003,
            grain=0,
        )
    table.box(
        (sw - 0.01, depth - 0.02, board_t),
        (xs[4], 0, slat_z1 + runner_h + board_t / 2),
        radius=0.005,
        grain=1,
    )
    objs.append(product(scene, "maru", "table", table, WOOD, roughness=0.45))

    br, bl = 0.085, depth - 0.03
    for name, sx in (("BolsterLeft", -1), ("BolsterRight", 1)):
        b = Part()
        prof = fillet(
            [(0, -bl / 2), (br, -bl / 2), (br, bl / 2), (0, bl / 2)], [0, 0.03, 0.03, 0], 5, False
        )
        m = Matrix.Translation((sx * (length / 2 - br - 0.015), 0, slat_z1 + pad_t + br - 0.008))
        b.revolve(
            prof, segments=40, matrix=m @ Matrix.Rotation(-math.pi / 2, 4, "X"), uv_scale=FABRIC_UV
        )
        objs.append(product(scene, "maru", name, b, FABRIC, roughness=0.9))

    finish(scene, objs, [("main", -28.0, 22.0, 60.0)], path)


def build_hako(path: Path) -> None:
    """Hako side table: 45 x 45 cm top, 50 cm high, thin steel legs."""
    scene = new_scene()
    top_z, panel_t, side = 0.50, 0.024, 0.444
    band = 0.003
    objs = []

    legs = Part()
    inset = 0.035
    lr = 0.008
    c = side / 2 - inset
    frame_h = 0.018
    under = top_z - panel_t - 0.0005
    for sx in (-1, 1):
        for sy in (-1, 1):
            legs.tube((sx * c, sy * c, 0.0), (sx * c, sy * c, under), rod(lr, 0.002), segments=16)
    for s in (-1, 1):  # flat steel frame under the panel
        legs.box((2 * c, 0.012, frame_h), (0, s * c, under - frame_h / 2), radius=0.0015, grain=0)
        legs.box((0.012, 2 * c, frame_h), (s * c, 0, under - frame_h / 2), radius=0.0015, grain=1)
    objs.append(product(scene, "hako", "legs", legs, METAL, roughness=0.35, metallic=1.0))

    panel = Part()
    panel.box((side, side, panel_t), (0, 0, top_z - panel_t / 2), radius=0.0015, grain=1)
    objs.append(product(scene, "hako", "panel", panel, WOOD, roughness=0.45))

    edge = Part()
    eh = panel_t + 0.001  # 0.5 mm proud above and below
    for s in (-1, 1):
        edge.box(
            (side + 2 * band, band, eh),
            (0, s * (side / 2 + band / 2), top_z - panel_t / 2),
            radius=0.0008,
            grain=0,
        )
        edge.box(
            (band, side, eh),
            (s * (side / 2 + band / 2), 0, top_z - panel_t / 2),
            radius=0.0008,
            grain=1,
        )
    objs.append(product(scene, "hako", "edge", edge, MDF, roughness=0.6))

    # The spin (catalog: {id: spin, frames: 12}) turns this camera about the vertical axis
    # through the origin, where the table stands: a little further off than `main`, so
    # the table's diagonal stays in the picture all round.
    finish(scene, objs, [("main", -32.0, 24.0, 70.0), ("spin", -32.0, 24.0, 70.0, 0.58)], path)


def build_oto(path: Path) -> None:
    """Oto pouf: 46 cm across, 45 cm high, piped edges, on a low steel ring."""
    scene = new_scene()
    base_h = 0.035
    z0, z1 = base_h, 0.45
    R, rc = 0.228, 0.045  # body radius, corner radius
    objs = []

    # Body profile: slightly domed bottom and top, rounded corners, a soft belly.
    prof: list[P2] = [(0.0, z0 + 0.004)]
    prof += [((R - rc) * t, z0 + 0.004 * (1 - t * t)) for t in (0.35, 0.7, 1.0)]
    for k in range(1, 8):  # bottom corner
        a = -math.pi / 2 + (math.pi / 2) * k / 8
        prof.append((R - rc + rc * math.cos(a), z0 + rc + rc * math.sin(a)))
    n_side = 10
    for k in range(n_side + 1):
        t = k / n_side
        z = z0 + rc + (z1 - z0 - 2 * rc) * t
        prof.append((R + 0.008 * math.sin(math.pi * t), z))
    for k in range(1, 8):  # top corner
        a = (math.pi / 2) * k / 8
        prof.append((R - rc + rc * math.cos(a), z1 - rc + rc * math.sin(a)))
    prof += [((R - rc) * t, z1 + 0.008 * (1 - t * t)) for t in (1.0, 0.7, 0.35)]
    prof.append((0.0, z1 + 0.008))
    body = Part()
    body.revolve(prof, segments=64, uv_scale=FABRIC_UV)
    objs.append(product(scene, "oto", "body", body, FABRIC, roughness=0.9))

    piping = Part()
    pr = 0.0055
    a45 = math.radians(45)
    for zc, sgn in ((z1 - rc, 1), (z0 + rc, -1)):
        rr = R - rc + (rc + pr * 0.4) * math.cos(a45)
        zz = zc + sgn * (rc + pr * 0.4) * math.sin(a45)
        ring = [
            (rr + pr * math.cos(2 * math.pi * k / 10), zz + pr * math.sin(2 * math.pi * k / 10))
            for k in range(10)
        ]
        piping.revolve(ring, segments=64, closed=True, uv_scale=FABRIC_UV, uv="around")
    objs.append(product(scene, "oto", "piping", piping, FABRIC, roughness=0.9))

    base = Part()
    base.revolve(
        fillet(
            [(0.165, 0.0), (0.19, 0.0), (0.19, base_h + 0.002), (0.165, base_h + 0.002)],
            [0.002, 0.003, 0.003, 0.002],
            2,
            True,
        ),
        segments=64,
        closed=True,
    )
    objs.append(product(scene, "oto", "base", base, METAL, roughness=0.35, metallic=1.0))

    finish(scene, objs, [("main", -30.0, 22.0, 70.0)], path)


BUILDERS = {"kino": build_kino, "maru": build_maru, "hako": build_hako, "oto": build_oto}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Build the demo .blend models.")
    parser.add_argument("--out", type=Path, default=Path("catalog/models"))
    parser.add_argument(
        "models", nargs="*", help=f"models to build (default: all of {list(BUILDERS)})"
    )
    args = parser.parse_args(argv)
    unknown = set(args.models) - set(BUILDERS)
    if unknown:
        parser.error(f"unknown models: {sorted(unknown)}")
    for name in args.models or list(BUILDERS):
        BUILDERS[name](args.out.resolve() / f"{name}.blend")


if __name__ == "__main__":
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    main(argv)
