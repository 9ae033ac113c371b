"""The web console: server-rendered pages and small ES modules, no build step.

`darkroom.console.routes` is the route module the app registers; the drop-in `/widget.js`
and the example app (`/examples/secure-upload`) are served from there too.
"""
