"""The application layer: darkroom's use cases, between the edges (`api`, `console`, `cli`)
and the domain parts (`catalog`, `storage`, `imaging`, `transform`, `auth`).

Ingest (`ingest`, `chunks`, `spool`, `sources`, `analysis`), derivatives (`derivatives`,
`eager`, `generation`), auto-upload from upload mappings (`auto_upload`), the per-process caches (`caches`, `lookups`), console operators
(`sessions`) and the services object every use case takes (`services`). Nothing here
speaks HTTP: an edge parses its request, calls a use case and shapes the reply.
"""
