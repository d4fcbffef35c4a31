"""Replay benchmark: how fast ``simulate --replay FILE --speed max`` serves.

    .venv/bin/python benchmarks/replay.py [--frames 200000] [--clients 1]

Builds a capture of N simulator frames (200 devices, gzip), serves it with
the replay server in a process of its own at ``--speed max``, and lets
``--clients`` bare clients (processes of their own: websockets, no parsing)
take every frame. Prints frames/s per client and the server's CPU seconds
(frames per CPU second is the server's own rate, whatever else the machine
is doing). Target: 50,000 frames/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEY = "be0c4" * 6 + "be"  # a local key, not a secret


def build_capture(path: Path, frames: int) -> None:
    from ayla_monitor.capture.format import StreamInfo
    from ayla_monitor.capture.writer import CaptureWriter
    from ayla_monitor.simulator.server import Simulator, SimulatorConfig

    sim = Simulator(SimulatorConfig(devices=200, rate=1000, keys={KEY: None}, replay_size=frames))
    sim.prefill(frames)
    buffer = sim._subs[KEY].buffer  # the frames exactly as served
    start = time.time()
    with CaptureWriter(path, [StreamInfo("bench", "be0c…c4be", None, "ws://bench")], start=start, threaded=False) as writer:
        for index, (_seq, frame) in enumerate(buffer):
            writer.add("bench", start + index / 1000, frame)


def child_server(path: str) -> None:
    from ayla_monitor.capture.format import read_capture
    from ayla_monitor.simulator.replay import ReplayConfig, ReplayServer

    async def main() -> None:
        capture = read_capture(path)
        async with ReplayServer(capture, ReplayConfig(speed=None, loop=False), keys=[KEY]) as server:
            print(json.dumps({"url": server.url, "frames": server.total}), flush=True)
            await asyncio.Future()

    asyncio.run(main())


def child_client(url: str, frames: int) -> None:
    from websockets.asyncio.client import connect

    async def main() -> dict[str, float]:
        started = time.perf_counter()
        count = 0
        async with connect(f"{url}?stream_key={KEY}&seq_start=1", compression=None, max_size=2**24,
                           max_queue=4096, ping_interval=None) as ws:
            async for _message in ws:
                count += 1
                if count >= frames:
                    break
        return {"frames": count, "seconds": time.perf_counter() - started}

    print(json.dumps(asyncio.run(main())))


def main() -> int:
    import psutil

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()
    print(f"replay benchmark: {args.frames:,} frames, {args.clients} client(s), {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl.gz"
        started = time.perf_counter()
        build_capture(path, args.frames)
        print(f"capture of {args.frames:,} frames: {path.stat().st_size / 2**20:.1f} MB gzip, "
              f"written in {time.perf_counter() - started:.1f} s")
        server = subprocess.Popen([sys.executable, __file__, "_server", str(path)], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            ready = json.loads(server.stdout.readline())
            process = psutil.Process(server.pid)
            before = sum(process.cpu_times()[:2])
            clients = [
                subprocess.Popen([sys.executable, __file__, "_client", ready["url"], str(ready["frames"])],
                                 stdout=subprocess.PIPE, text=True)
                for _ in range(args.clients)
            ]
            results = [json.loads(c.communicate()[0].strip().splitlines()[-1]) for c in clients]
            cpu = sum(process.cpu_times()[:2]) - before
        finally:
            server.terminate()
            server.wait()
    total = 0
    for number, r in enumerate(results, start=1):
        total += int(r["frames"])
        print(f"client {number}: {int(r['frames']):,} frames in {r['seconds']:.2f} s = "
              f"{r['frames'] / r['seconds']:,.0f} frames/s")
    print(f"server: {cpu:.2f} CPU s for {total:,} frames sent = {total / cpu:,.0f} frames per CPU second")
    return 0 if all(int(r["frames"]) == ready["frames"] for r in results) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_server":
        child_server(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "_client":
        child_client(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(main())
