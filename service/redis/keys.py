"""Every Redis key, pub/sub channel and RQ queue name fastscale uses, built in this one module.

All names start with the deployment's prefix (FASTSCALE_KEY_PREFIX), so deployments (and tests,
each under a prefix of its own) can share one Redis. Keeping them here makes the whole data
layout readable in one place, and no request value reaches a key name except through a method
that says which part it fills (ids are validated before they get here).

  <p>:profile:<id>          JSON record of one profile (status, plan, result), written whole
  <p>:progress:<id>         phase of a running job (short-lived, updated often)
  <p>:lease:<id>            held by the worker running the job; expires if the worker dies
  <p>:started               set of ids whose job is running (the reaper checks their leases)
  <p>:changed               channel: the id of every record transition (record cache eviction)
  <p>:stats                 hash of counters (jobs and seconds by outcome, cache hits/misses)
  <p>:points:<sig>          hash id -> {ms, family, arch, terms} of one device signature (prediction)
  <p>:points-version        counter raised whenever any points hash changes (prediction refits)
  <p>:sweep:<id>            JSON record of one sweep (its rows' profile ids)
  <p>:sweep-plot:<id>:<fmt> hash: the sweep's rendered figure and the version of rows it shows
  <p>:recommend:<id>        JSON state of one recommendation
  <p>:recommend-lease:<id>  held while a process drives that recommendation
  <p>:rate:<who>:<minute>   POST count of one client in one minute (rate limit)
  <p>:device_memory         hash device class -> bytes one job may use (published by workers)
  <p>:device_seen           hash device class -> unix time a worker of it was last seen alive
  <p>:implementations       hash worker name -> {"device_class", "implementations": {name: version}}
                            (fastscale, torchvision, timm: what each worker can build)
  <p>:<device class>        the RQ queue of that device class (cpu-..., cuda-...)
  <p>:idx:<kind>:<f>:<v>    sorted set of ids by created time with field f = v (listing; service.listing.indexes)
  <p>:idx:<kind>            sorted set of every indexed id by created time
  <p>:idx-expiry:<kind>     sorted set id -> when its record expires (the index sweep)
  <p>:idx-keys:<kind>       hash id -> the index keys it is in (to remove it from all of them)
  <p>:summary:<kind>:v<n>:<id>  the record's listing line (JSON, format n), expiring with the record
  <p>:subs:<kind>:<id>:<r>  set of callback URLs waiting for run r of a record (service.notify.callbacks)
  <p>:outbox:events         sorted set of final-state events by due time (written with the final state)
  <p>:outbox:event:<eid>    one event: kind, id, event name and the final document
  <p>:outbox:deliveries     sorted set of callback deliveries by due time (retries push it later)
  <p>:outbox:delivery:<did> one delivery: URL, event, body, attempts
  <p>:events:<kind>:<id>    channel: every status change and progress update of one record (SSE)
  <p>:cancel:<kind>:<id>    asks the job or orchestration running that record to stop
  <p>:sweeps-of:<id>        set of sweep ids a profile is a row of (sweep completion)
  <p>:owners:<kind>:<id>    set of key hashes that submitted a record (service.access.tenants)
  <p>:waiters:<kind>:<id>:<r>  set of key hashes still waiting on run r (DELETE withdraws one)
  <p>:session:<digest>      a /ui sign-in: the key hash behind a session token (app.ui.auth)
"""

from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class Keys:
    prefix: str = "fastscale"

    # ------------------------------------------------------------------ profiles
    def profile(self, pid: str) -> str:
        return f"{self.prefix}:profile:{pid}"

    @property
    def profile_pattern(self) -> str:
        return f"{self.prefix}:profile:*"

    def progress(self, pid: str) -> str:
        return f"{self.prefix}:progress:{pid}"

    def lease(self, pid: str) -> str:
        return f"{self.prefix}:lease:{pid}"

    @property
    def started(self) -> str:
        return f"{self.prefix}:started"

    @property
    def changed(self) -> str:
        return f"{self.prefix}:changed"

    @property
    def stats(self) -> str:
        return f"{self.prefix}:stats"

    # ------------------------------------------------------------------ runtime points
    def points(self, device_class: str, dtype: str, batch_size: int, mode: str) -> str:
        return f"{self.prefix}:points:{device_class}:{dtype}:{batch_size}:{mode}"

    @property
    def points_version(self) -> str:
        """Counter raised with every change of any signature's points (predictors refit on change)."""
        return f"{self.prefix}:points-version"

    @property
    def points_pattern(self) -> str:
        return f"{self.prefix}:points:*"

    def point_signature(self, key: str) -> dict:
        """The device signature a points key was built from (inverse of ``points``)."""
        device_class, dtype, batch, mode = key[len(f"{self.prefix}:points:"):].rsplit(":", 3)
        return {"device_class": device_class, "dtype": dtype, "batch_size": int(batch), "mode": mode}

    # ------------------------------------------------------------------ sweeps and recommendations
    def sweep(self, sid: str) -> str:
        return f"{self.prefix}:sweep:{sid}"

    def sweep_plot(self, sid: str, fmt: str) -> str:
        return f"{self.prefix}:sweep-plot:{sid}:{fmt}"

    def recommendation(self, rid: str) -> str:
        return f"{self.prefix}:recommend:{rid}"

    def recommendation_lease(self, rid: str) -> str:
        return f"{self.prefix}:recommend-lease:{rid}"

    # ------------------------------------------------------------------ front door and workers
    def rate(self, identity: str, window: int) -> str:
        return f"{self.prefix}:rate:{identity}:{window}"

    @property
    def device_memory(self) -> str:
        return f"{self.prefix}:device_memory"

    @property
    def device_seen(self) -> str:
        return f"{self.prefix}:device_seen"

    @property
    def implementations(self) -> str:
        return f"{self.prefix}:implementations"

    def queue(self, device_class: str) -> str:
        return f"{self.prefix}:{device_class}"

    def device_class_of_queue(self, name: str) -> str | None:
        """The device class a queue name serves, or None for another deployment's queue."""
        return name[len(self.prefix) + 1:] if name.startswith(self.prefix + ":") else None

    # ------------------------------------------------------------------ listing indexes
    def index(self, kind: str, field: str | None = None, value: str | None = None) -> str:
        return f"{self.prefix}:idx:{kind}" + (f":{field}:{value}" if field else "")

    def index_expiry(self, kind: str) -> str:
        return f"{self.prefix}:idx-expiry:{kind}"

    def index_keys(self, kind: str) -> str:
        return f"{self.prefix}:idx-keys:{kind}"

    def summary(self, kind: str, version: int, rid: str = "") -> str:
        """Without ``rid``: the prefix the listing's search script completes with each id."""
        return f"{self.prefix}:summary:{kind}:v{version}:{rid}"

    # ------------------------------------------------------------------ callbacks, events, cancel
    def subscribers(self, kind: str, rid: str, run: int) -> str:
        return f"{self.prefix}:subs:{kind}:{rid}:{run}"

    @property
    def outbox_events(self) -> str:
        return f"{self.prefix}:outbox:events"

    def outbox_event(self, eid: str) -> str:
        return f"{self.prefix}:outbox:event:{eid}"

    @property
    def outbox_deliveries(self) -> str:
        return f"{self.prefix}:outbox:deliveries"

    def outbox_delivery(self, did: str) -> str:
        return f"{self.prefix}:outbox:delivery:{did}"

    def events(self, kind: str, rid: str) -> str:
        return f"{self.prefix}:events:{kind}:{rid}"

    def cancel(self, kind: str, rid: str) -> str:
        return f"{self.prefix}:cancel:{kind}:{rid}"

    def sweeps_of(self, pid: str) -> str:
        return f"{self.prefix}:sweeps-of:{pid}"

    # ------------------------------------------------------------------ tenants, sessions
    def owners(self, kind: str, rid: str) -> str:
        return f"{self.prefix}:owners:{kind}:{rid}"

    def waiters(self, kind: str, rid: str, run: int) -> str:
        return f"{self.prefix}:waiters:{kind}:{rid}:{run}"

    def session(self, token_digest: str) -> str:
        return f"{self.prefix}:session:{token_digest}"
