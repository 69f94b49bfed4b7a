// sitegen: defines <sitegen-sketchbook> (docs/embed.md). This file keeps its name and
// is cached briefly; the modules it loads are content-hashed.
import "./static/element-46d4d227bc.js";
