"""Package data (sitegen.templates): the sketchbook's Jinja2 templates and static files."""
