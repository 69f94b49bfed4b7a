"""The JSON Schemas of sitegen's wire formats (`<protocol>.schema.json`; see sitegen.protocol)."""
