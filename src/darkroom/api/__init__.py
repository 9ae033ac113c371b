"""HTTP: the Upload API, delivery, `/api/sign` and the other endpoints, kept thin."""
