"""The jobs: what time and set-up do on their own — the sweep (``sweep``), the demo clock that
runs it as time moves (``clock``) and the demo world (``seed``). Unlike a service, a job takes an
engine and owns its transactions (``db.transaction``; the sweep one per batch or run of batches);
inside them it calls the services, which never commit."""
