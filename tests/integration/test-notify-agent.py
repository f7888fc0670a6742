#!/usr/bin/python3
# `hpctl notify`, the desktop agent (issue 5): system bus signals → Notify on a
# private session bus, answered by dbusmock's notification_daemon.
#   - an alert raised while it runs is shown once (app "hpmon", the headset's name
#     in the title, urgency byte 1 for a warning);
#   - restarted, it does not show that alert again ($XDG_STATE_HOME/hpmon/notified
#     remembers it), and a later alert still reaches it;
#   - an alert raised while it was away is shown when it starts;
#   - it survives hpmond restarting (stop, start) and shows an alert raised after;
#   - without a session bus it exits 1 with one clear line.
# Each headset gets one alert, so "shown once" is "one Notify with its name";
# the counts are taken from the mock's own record once the agent has exited.
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

HEADSETS = {
    'A': ('AA:BB:CC:DD:EE:A1', 'WH-1000XM4'),       # raised while agent #1 runs
    'B': ('AA:BB:CC:DD:EE:B2', 'Jabra Elite 85h'),  # raised while no agent runs
    'C': ('AA:BB:CC:DD:EE:C3', 'Pixel Buds Pro'),   # raised while agent #2 runs
    'D': ('AA:BB:CC:DD:EE:D4', 'QuietComfort 45'),  # raised after hpmond restarted
    'E': ('AA:BB:CC:DD:EE:E5', 'Galaxy Buds2'),     # the last one, after D
}
KIND = 'low-battery'


def raise_low(env, key):
    """Two reports at or below 20 %: a confirmed low-battery warning."""
    addr, _ = HEADSETS[key]
    mark = env.alert_mark()
    for v in (20, 18):
        pmark = env.mark()
        env.mock.set_percentage(addr, v)
        env.wait_published(t.device_path(addr), 'Percentage', v, pmark)
    return env.wait_alert_signal('AlertRaised', mark, address=addr, kind=KIND)


def wait_shown(notifier, key, since=0):
    name = HEADSETS[key][1]
    return notifier.wait_notify(lambda n: name in n['summary'], f'the alert of {name} ({key})', since)


def start_agent(env, session, state_home):
    """The agent, guarded: if it exits, every wait fails at once."""
    agent = env.spawn_notify(session=session, state_home=state_home)
    env.loop.guards.append((agent, agent.name))
    return agent


def stop_agent(env, agent):
    """Once it has every answer (from hpmond, and Notify's): SIGTERM, exit 0."""
    env.stop_notify(agent)


def shown_counts(notifier):
    calls = notifier.recorded()
    return {k: sum(1 for n in calls if name in n['summary']) for k, (_, name) in HEADSETS.items()}, calls


def test(env):
    env.mock.start()
    for addr, name in HEADSETS.values():
        env.mock.add_headset(addr, name, connected=True, percentage=60)
    session, notifier = env.session()
    env.hpmond.start()
    for addr, _ in HEADSETS.values():
        env.wait_props(env.wait_device(addr), Percentage=60)
    state_home = os.path.join(env.tmp, 'agent-state')

    # -- agent #1 shows A
    agent = start_agent(env, session, state_home)
    a = raise_low(env, 'A')
    n = wait_shown(notifier, 'A')
    note(f'Notify: {n}')
    check_equal(n['app_name'], 'hpmon', 'Notify app_name is "hpmon"')
    check_equal((n['hints'].get('urgency'), n['urgency_type']), (1, 'y'), 'urgency hint: byte 1 for a warning')
    check(n['body'].strip(), 'the notification has a body (evidence)', repr(n))
    env.wait_remembered(agent, [a['id']])
    check(True, f'the agent remembers the alert it showed in {state_home}/hpmon/notified')
    stop_agent(env, agent)

    # -- B is raised while no agent runs; agent #2 shows B on start, not A again
    b = raise_low(env, 'B')
    nmark = notifier.mark()
    agent = start_agent(env, session, state_home)
    wait_shown(notifier, 'B', nmark)
    check(True, f'agent #2 showed at start what was raised while it was away ({b["id"]})')
    raise_low(env, 'C')
    wait_shown(notifier, 'C', nmark)
    check(True, 'agent #2 shows a new alert')

    # -- hpmond restarts under the agent
    env.hpmond.stop()
    check(agent.alive(), 'the agent keeps running while hpmond is away')
    env.hpmond.start()
    for addr, _ in HEADSETS.values():
        env.wait_props(t.device_path(addr), Percentage=env.mock.get_percentage(addr))
    check(agent.alive(), 'the agent keeps running after hpmond came back')
    raise_low(env, 'D')
    wait_shown(notifier, 'D', nmark)
    check(True, 'after hpmond restarted, a new alert is shown')
    e = raise_low(env, 'E')
    wait_shown(notifier, 'E', nmark)
    env.wait_remembered(agent, [e['id']])
    stop_agent(env, agent)

    counts, calls = shown_counts(notifier)
    for c in calls:
        note(f'shown: {c["summary"]!r} / {c["body"]!r} urgency {c["hints"].get("urgency")}')
    check_equal(counts, {k: 1 for k in HEADSETS}, 'each alert shown exactly once, across two agents and a restart')
    check(all(c['app_name'] == 'hpmon' for c in calls), 'every Notify says app "hpmon"')

    # -- no session bus: exit 1, one line
    empty = os.path.join(env.tmp, 'runtime-empty')
    os.mkdir(empty, 0o700)
    environ = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=env.bus.address, XDG_RUNTIME_DIR=empty,
                   XDG_STATE_HOME=state_home, NO_COLOR='1')
    for var in ('DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY'):
        environ.pop(var, None)
    for what, extra in (('no DBUS_SESSION_BUS_ADDRESS and no $XDG_RUNTIME_DIR/bus', {}),
                        ('DBUS_SESSION_BUS_ADDRESS names no bus',
                         {'DBUS_SESSION_BUS_ADDRESS': f'unix:path={os.path.join(empty, "nothing-here")}'})):
        r = t.subprocess.run([t.HPCTL, 'notify'], env=dict(environ, **extra), capture_output=True, text=True,
                             timeout=t.TIMEOUT, stdin=t.subprocess.DEVNULL)
        note(f'$ hpctl notify ({what}) → exit {r.returncode}: {r.stderr.strip()!r}')
        t.check_no_sanitizer_report(r.stderr, 'hpctl notify')
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        check(r.returncode == 1 and len(lines) == 1, f'{what}: hpctl notify exits 1 with one line on stderr',
              f'status {r.returncode}, stderr {r.stderr!r}')
        check('session' in lines[0].lower(), f'{what}: the line says the session bus is missing', lines[0])
    env.hpmond.stop()


t.run(test)
