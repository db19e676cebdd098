"""IVR decisions per second: the pure state machine walking the shipped 12345 menu.

    .venv/bin/python -m bench.ivr_steps [--calls 20000]

Each simulated call walks a path drawn from a fixed seed (language, main menu, FAQ, ticket
status, timeouts, invalid keys); the table gives machine steps per second and the cost per
step. The real-path cost (FastAGI round trips and Asterisk) is in bench.call_path.
"""
from __future__ import annotations

import argparse
import random
import time

from core import settings
from ivr import loader, machine

PATHS = [["1", "2"], ["2", "3"], ["3", "7", "1", "6"], ["", "", "0"], ["9", "1", "8", "12345#"],
         ["1", "*", "#", "5"], ["2", "9"], ["1", "7", "*", "4"]]


def run(calls: int, seed: int = 7) -> tuple[int, float]:
    menu, _ = loader.load_all(loader.FLOWS, settings.load_centre(settings.DEMO_CONFIG))
    rng = random.Random(seed)
    steps, t0 = 0, time.perf_counter()
    for i in range(calls):
        state, cmds = machine.start(menu, machine.Started("12345", 0.0))
        for t, key in enumerate(rng.choice(PATHS), 1):
            if state.finished:
                break
            if state.waiting == "played":
                state, cmds = machine.step(menu, state, machine.Played(t))
                steps += 1
            if state.waiting == "kb":
                state, cmds = machine.step(menu, state, machine.KbLooked(state.pending.key, 1, "办事时间", t))
                steps += 1
                state, cmds = machine.step(menu, state, machine.Played(t))
                steps += 1
            if state.waiting == "lookup":
                state, cmds = machine.step(menu, state, machine.Looked(key, "已受理", "", t))
                steps += 1
                continue
            state, cmds = machine.step(menu, state, machine.Input(key, float(t)))
            steps += 1
    return steps, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=20000)
    args = ap.parse_args()
    steps, seconds = run(args.calls)
    print("| calls | machine steps | seconds | steps/s | µs/step |")
    print("|---|---|---|---|---|")
    print(f"| {args.calls} | {steps} | {seconds:.2f} | {steps / seconds:,.0f} | {seconds / steps * 1e6:.1f} |")


if __name__ == "__main__":
    main()
