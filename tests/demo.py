#!/usr/bin/python3
"""hpmon quick start: hpmond and hpctl at work, with no Bluetooth hardware.

Starts a private system bus that uses the project's own policy file
(dbus/org.hpmon.Monitor1.conf.in), Debian's python3-dbusmock "bluez5" mock as
bluetoothd with one simulated headset, and the freshly built hpmond.  Then it
shows `hpctl status`, runs `hpctl monitor` while the headset drains, drops off,
comes back and charges, and ends with `hpctl status`, `hpctl history` and the
charge log hpmond wrote.  Everything runs in a temporary directory and is
stopped and removed at the end; nothing touches the real system bus.

    ./tests/demo.py [--seconds N] [--json] [--keep]

Needs: a build (`autoreconf -fi && ./configure && make`), dbus-daemon, and
python3-dbus, python3-gi and python3-dbusmock for /usr/bin/python3.
"""

import argparse
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'integration'))
import hpmontest as t  # noqa: E402

ADDRESS = 'AA:BB:CC:DD:EE:FF'
NAME = 'WH-1000XM4'

# What the simulated headset does: (what is said, action, argument).
TIMELINE = [
    ('on the head, draining', 'level', 90),
    ('', 'level', 80),
    ('', 'level', 70),
    ('', 'level', 60),
    ('', 'level', 50),
    ('', 'level', 40),
    ('switched off: bluetoothd drops Battery1, then the connection', 'disconnect', None),
    ('switched on again', 'connect', 35),
    ('draining', 'level', 30),
    ('', 'level', 20),
    ('low! on the charger', 'level', 15),
    ('charging', 'level', 30),
    ('', 'level', 50),
    ('', 'level', 70),
    ('', 'level', 85),
    ('', 'level', 95),
    ('full', 'level', 100),
]

BOLD = '\033[1m' if sys.stdout.isatty() and not os.environ.get('NO_COLOR') else ''
RESET = '\033[0m' if BOLD else ''


def say(msg=''):
    print(msg, flush=True)


def heading(msg):
    say()
    say(f'{BOLD}== {msg}{RESET}')


def show(env, *args):
    """Run hpctl on the demo bus with the terminal as its output."""
    say(f'$ hpctl {" ".join(args)}')
    r = subprocess.run([t.HPCTL, *args], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=env.bus.address),
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise t.TestFailure(f'hpctl {" ".join(args)} exited {r.returncode}')


def step(env, action, arg):
    if action == 'level':
        env.mock.set_percentage(ADDRESS, arg)
    elif action == 'disconnect':
        env.mock.remove_battery(ADDRESS)
        env.mock.disconnect(ADDRESS)
    elif action == 'connect':
        env.mock.connect(ADDRESS)
        env.mock.add_battery(ADDRESS, arg)


def run_timeline(env, seconds, mon):
    interval = max(seconds, 1) / len(TIMELINE)
    start = time.monotonic()
    for i, (text, action, arg) in enumerate(TIMELINE):
        due = start + (i + 1) * interval
        # A paced demo: let the main loop run (and the monitor print) until due.
        env.loop.until(lambda: time.monotonic() >= due, 'the next step of the demo',
                       timeout=interval + 5, poll=0.05)
        what = {'level': f'battery {arg}%', 'disconnect': 'disconnects',
                'connect': f'reconnects at {arg}%'}[action]
        say(f'  [{time.monotonic() - start:5.1f}s] bluetoothd: {NAME} {what}' + (f'  ({text})' if text else ''))
        step(env, action, arg)
    # Wait until hpmond has published the last change and the monitor printed it.
    path = env.get_device(ADDRESS)
    env.wait_props(path, Connected=True, Percentage=TIMELINE[-1][2])
    last = TIMELINE[-1][2]
    env.loop.until(lambda: any(ln.rstrip().endswith(f' {last}%') or f'"value":{last}' in ln.replace(' ', '')
                               for ln in mon.lines.lines), 'hpctl monitor to show the last change', timeout=10)


def demo(env, args):
    heading('1. A private system bus, the project\'s bus policy, and a mocked bluetoothd')
    say(f'bus:    {env.bus.address}')
    say(f'policy: {t.HPMON_POLICY} (@HPMON_USER@ = {env.bus.user})')
    env.mock.start()
    env.mock.add_headset(ADDRESS, NAME, connected=True, percentage=100)
    say(f'bluez5 mock (python3-dbusmock) owns org.bluez with headset {NAME} ({ADDRESS}), connected, 100%')

    heading('2. hpmond starts')
    env.hpmond.start()
    say(f'$ {t.HPMOND} --state-dir {env.state_dir} --log-target stderr   (READY=1 received)')
    path = env.wait_device(ADDRESS)
    env.wait_props(path, Connected=True, Percentage=100)
    show(env, 'status')

    heading(f'3. hpctl monitor{" --json" if args.json else ""}, live, while the headset lives '
            f'{args.seconds:g} s of its day')
    mon = env.spawn_monitor(*(['--json'] if args.json else []), on_line=lambda ln: say(f'  monitor | {ln}'))
    run_timeline(env, args.seconds, mon)
    mon.end(t.signal.SIGINT)

    heading('4. Afterwards')
    show(env, 'status')
    say()
    show(env, 'history', ADDRESS)
    say()
    # the headset fell to 15 % (confirmed by a second low report), then charged: the
    # analyzer raised low-battery and cleared it. The demo's day passes in seconds, so to
    # the analyzer the headset also went from 100 % to 15 % within minutes of a full
    # charge — not-holding-charge, as a battery that dies that fast would be.
    show(env, 'alerts', '--all')
    say()
    say(f'The charge log hpmond wrote ({env.log_path(ADDRESS)}):')
    with open(env.log_path(ADDRESS)) as f:
        for line in f:
            say('  ' + line.rstrip('\n'))

    env.hpmond.unguard()
    env.hpmond.proc.send_signal(t.signal.SIGTERM)
    status = env.hpmond.proc.wait()
    say()
    say(f'hpmond stopped on SIGTERM (exit {status}).')
    if status != 0:
        raise t.TestFailure(f'hpmond exited {status} on SIGTERM')


def main():
    ap = argparse.ArgumentParser(description='Show hpmond and hpctl at work on a simulated headset.')
    ap.add_argument('--seconds', type=float, default=24.0, help='how long the simulated activity lasts (default 24)')
    ap.add_argument('--json', action='store_true', help='run `hpctl monitor --json` instead of the plain one')
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory (logs, charge log)')
    args = ap.parse_args()
    if args.seconds <= 0:
        ap.error('--seconds must be positive')
    t.VERBOSE = False
    if args.keep:
        os.environ['HPMON_TEST_KEEP'] = '1'
    for prog, what in ((t.HPMOND, 'hpmond'), (t.HPCTL, 'hpctl')):
        if not os.access(prog, os.X_OK):
            sys.exit(f'demo: {what} is not built ({prog}); run: autoreconf -fi && ./configure && make')
    try:
        with t.Env('demo') as env:
            demo(env, args)
            if args.keep:
                say(f'Kept {env.tmp}')
    except t.TestSkip as e:
        sys.exit(f'demo: {e}\n      on Debian: apt-get install dbus-daemon python3-dbus python3-gi python3-dbusmock')
    except t.TestFailure as e:
        sys.exit(f'demo: {e}')
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == '__main__':
    main()
