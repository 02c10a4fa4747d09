"""Leases and fenced checkpoints against the real server: compare-and-set decides."""

from __future__ import annotations

import asyncio

import pytest

from tests.watcher.cluster.harness import stores_for
from tests.watcher.cluster.natsd import NatsServer
from watcher.cluster.checkpoints import ShardCheckpoints
from watcher.cluster.layout import Layout
from watcher.cluster.leases import Lease, LeaseLost, live_keys


async def test_one_holder_at_a_time_and_a_lapsed_lease_cannot_be_renewed(
    nats_server: NatsServer, cluster_name: str
) -> None:
    layout = Layout(name=cluster_name, lease_ttl=1.0)
    nc, stores = await stores_for(nats_server.url, layout)
    now = [0.0]
    try:
        a = Lease(stores.leases, "shard.0", "a", 1.0, clock=lambda: now[0])
        b = Lease(stores.leases, "shard.0", "b", 1.0)
        assert await a.acquire()
        assert not await b.acquire()
        assert a.fresh()
        now[0] = 0.76  # past SAFETY x TTL by a's own clock: it must not act on the lease
        assert not a.fresh()
        await a.release()
        assert await b.acquire()  # released: no need to wait out the TTL
        assert b.epoch is not None
        await asyncio.sleep(1.5)  # the server lets b's lease expire (TTL 1 s)
        with pytest.raises(LeaseLost):
            await b.renew()
        assert await a.acquire()  # an expired key can be taken again
        assert a.epoch is not None
        assert a.epoch > b.epoch
    finally:
        await nc.close()


async def test_the_live_workers_are_listed_once_each_while_their_leases_are_renewed(
    nats_server: NatsServer, cluster_name: str
) -> None:
    """nats-py's `keys()` listed a key renewed during the listing twice or not at all."""
    layout = Layout(name=cluster_name, lease_ttl=5.0)
    nc, stores = await stores_for(nats_server.url, layout)
    js = nc.jetstream()
    leases = [Lease(stores.leases, f"worker.w{n}", f"w{n}", 5.0) for n in range(3)]
    shard = Lease(stores.leases, "shard.0", "w0", 5.0)
    renewing = True

    async def renew() -> None:
        while renewing:
            await asyncio.gather(*(lease.renew() for lease in [*leases, shard]))

    try:
        for lease in [*leases, shard]:
            assert await lease.acquire()
        task = asyncio.ensure_future(renew())
        seen = [
            await live_keys(js, stores.leases, layout.leases_bucket, "worker.") for _ in range(20)
        ]
        renewing = False
        await task
        assert seen == [{"worker.w0", "worker.w1", "worker.w2"}] * 20
        await leases[1].release()  # a delete marker: not a live worker
        live = await live_keys(js, stores.leases, layout.leases_bucket, "worker.")
        assert live == {"worker.w0", "worker.w2"}
    finally:
        await nc.close()


async def test_a_renewal_that_landed_unanswered_does_not_lose_the_lease(
    nats_server: NatsServer, cluster_name: str
) -> None:
    """A renewal cancelled by its timeout after the server applied it leaves a stale revision:
    the next renewal finds our own value in the key and carries on; a taken key still fails."""
    nc, stores = await stores_for(nats_server.url, Layout(name=cluster_name, lease_ttl=5.0))
    try:
        a = Lease(stores.leases, "shard.1", "a", 5.0)
        assert await a.acquire()
        epoch = a.epoch
        await a._update(a.revision or 0)  # lands on the server; the reply never reaches `a`
        await asyncio.gather(a.renew(), a.renew())  # stale revision, and two callers at once
        assert a.held
        assert a.epoch == epoch  # the fencing token is the acquisition's, unchanged
        b = Lease(stores.leases, "shard.1", "b", 5.0)
        assert not await b.acquire()
        await a._update(a.revision or 0)  # landed unanswered again, now before a release
        await a.release()  # still deletes our key, as of the revision the server holds
        assert await b.acquire()  # someone else's now
        with pytest.raises(LeaseLost):
            await a.renew()
    finally:
        await nc.close()


async def test_a_zombies_checkpoint_is_fenced_out(
    nats_server: NatsServer, cluster_name: str
) -> None:
    nc, stores = await stores_for(nats_server.url, Layout(name=cluster_name))
    try:
        old = ShardCheckpoints(stores, 3, "old", epoch=5)
        await old.claim()
        await old.commit(10, b"state at 10")
        new = ShardCheckpoints(stores, 3, "new", epoch=9)
        pointer = await new.claim()  # before it processes anything
        assert (pointer.object, pointer.seq) == ("shard-3-e5-s10", 10)
        assert await new.load() == b"state at 10"
        with pytest.raises(LeaseLost, match="fenced out"):
            await old.commit(20, b"the zombie's state")
        await new.commit(30, b"state at 30")
        again = ShardCheckpoints(stores, 3, "third", epoch=12)
        assert (await again.claim()).seq == 30
        assert await again.load() == b"state at 30"
        with pytest.raises(LeaseLost):  # an older epoch cannot claim it back
            await ShardCheckpoints(stores, 3, "old", epoch=5).claim()
    finally:
        await nc.close()
