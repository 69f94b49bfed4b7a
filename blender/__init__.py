"""Package data (sitegen.blender): scripts that run inside Blender, started as files."""
