"""The soak benchmark's processes (bench/soak.py): the provider fakes, and the Herald fleet — workers and two
schedulers, started as `herald worker` / `herald scheduler` as tests/e2e start them, SIGKILLed and restarted."""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from soak_plan import Plan, provider_plans

BENCH = Path(__file__).resolve().parent
RESTART_AFTER = (0.0, 2.0)  # seconds a killed process stays down, as a supervisor's restart delay
LEADER_SHARE = 2 / 3  # of the scheduler kills, this share hits the leader (the older one), the rest the standby
SCHEDULER_SHARE = 0.3  # of the kills, this share hits a scheduler


class Providers:
    """The fake Twilio and the fake SMTP server, each in its own process (bench/soak_providers.py)."""

    def __init__(self, plan: Plan, args: argparse.Namespace, workdir: Path) -> None:
        plans = provider_plans(plan, seed=args.seed, sms_rate=args.sms_rate, email_rate=args.email_rate,
                               faults=args.faults, timeout=args.timeout)
        self.procs: dict[str, subprocess.Popen] = {}
        self.out = {which: workdir / f"{which}-seen.json" for which in plans}
        self.urls: dict[str, str] = {}
        self.seen: dict[str, dict] | None = None
        for which, spec in plans.items():
            plan_file = workdir / f"{which}-plan.json"
            plan_file.write_text(json.dumps(spec))
            proc = subprocess.Popen([sys.executable, str(BENCH / "soak_providers.py"), which, str(plan_file),
                                     str(self.out[which])], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.procs[which] = proc
            self.urls[which] = proc.stdout.readline().strip()
            if not self.urls[which]:
                raise SystemExit(f"the {which} fake did not start")

    @property
    def sms_url(self) -> str:
        return self.urls["twilio"]

    @property
    def email_url(self) -> str:
        return self.urls["smtp"]

    def calm(self) -> None:
        """No new faults from now on; the allowed rates stay."""
        for proc in self.procs.values():
            proc.stdin.write("calm\n")
            proc.stdin.flush()

    def stop(self) -> dict[str, dict] | None:
        """Stop both; what each saw (None if one died before telling)."""
        if self.seen is None and self.procs:
            for proc in self.procs.values():
                proc.stdin.close()
            for proc in self.procs.values():
                proc.wait(120)
            if all(path.exists() for path in self.out.values()):
                self.seen = {which: json.loads(path.read_text()) for which, path in self.out.items()}
            self.procs = {}
        return self.seen


class Fleet:
    """`herald worker` × N and `herald scheduler` × 2, each in a slot that a kill empties and a restart fills."""

    def __init__(self, env: dict[str, str], workdir: Path, *, workers: int, threads: int) -> None:
        self.env = env
        self.workdir = workdir
        self.commands = {f"worker{n}": ["worker", "--threads", str(threads)] for n in range(workers)}
        self.commands |= {f"scheduler{n}": ["scheduler", "--standby-poll-seconds", "1"] for n in range(2)}
        self.procs: dict[str, subprocess.Popen] = {}
        self.started: dict[str, float] = {}
        self.kills: Counter[str] = Counter()
        self.began = time.monotonic()
        for name in self.commands:
            self.start(name)

    def start(self, name: str) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen([sys.executable, "-m", "web.cli", *self.commands[name]], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self.started[name] = time.monotonic()
        log.close()

    def kill_one(self, rng: random.Random) -> str:
        """SIGKILL one process — a scheduler (mostly the leader: the one running longer) or a worker — and
        restart it after a moment. Returns what was killed."""
        schedulers = sorted((n for n in self.commands if n.startswith("scheduler")), key=self.started.get)
        if rng.random() < SCHEDULER_SHARE:
            leader = rng.random() < LEADER_SHARE
            # The older one usually leads (a restarted scheduler stands by), unless it is still starting up:
            # the leaderships taken, counted from the logs, say how many kills really hit a leader.
            name, what = (schedulers[0], "scheduler (older)") if leader else (schedulers[1], "scheduler (newer)")
        else:
            name, what = rng.choice([n for n in self.commands if n.startswith("worker")]), "worker"
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            self.kills[what] += 1
        else:  # it had died on its own: say so, it is a finding
            self.kills[f"{what} found dead (exit {proc.returncode})"] += 1
        proc.wait(30)
        time.sleep(rng.uniform(*RESTART_AFTER))
        self.start(name)
        return what

    def stop(self) -> None:
        """SIGTERM every process (a worker finishes its task first), SIGKILL what is left after 45 s."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 45
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.procs = {}

    def log_lines(self, needle: str) -> int:
        """How many lines of every process's log contain `needle` (leaderships taken, jobs fenced)."""
        return sum(path.read_text(errors="replace").count(needle) for path in self.workdir.glob("*.log"))
