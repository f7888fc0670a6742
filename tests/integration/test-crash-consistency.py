#!/usr/bin/python3
# hpmond is SIGKILLed at 200 random moments while the mocked bluetoothd sends bursts of
# changes for several headsets: battery levels, disconnects (Battery1 removed, as real
# bluetoothd does) and reconnects (Battery1 back).  The PRNG is seeded; the seed is
# printed, and HPMON_TEST_SEED=N repeats a run.
#
# Each moment is an event, not a delay: the kill comes after the k-th reply of the mock
# (hpmond is then somewhere behind it), after the j-th PropertiesChanged hpmond sent, or
# while hpmond is still starting (before READY=1).  Everything hpmond sent before it
# died is recorded: the bus delivers a connection's messages before its
# NameOwnerChanged, which the test waits for.
#
# After every restart (READY=1, then the API equals the mock's state):
#   - every change hpmond published (PropertiesChanged: Connected/Percentage with the
#     LastChange they were logged at) is in its device's log, in order — a published
#     change missing from the log is "lost";
#   - no value is logged twice in a row for one event kind ("doubled");
#   - the log ends with '\n' and every line parses (no torn line survives);
#   - every logged level is one the mock really sent for that device;
#   - the API shows the mock's current state, and the fold of the log.
# The figures (kills, lines checked, lost, doubled, ...) are printed at the end.
import os
import random
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

dbus = t.dbus
KILLS = int(os.environ.get('HPMON_TEST_KILLS', '200'))
SEED = int(os.environ.get('HPMON_TEST_SEED') or random.SystemRandom().randrange(1 << 32))
HEADSETS = [('AA:BB:CC:00:00:01', 'WH-1000XM4'), ('AA:BB:CC:00:00:02', 'Jabra Elite 85h'),
            ('AA:BB:CC:00:00:03', 'QC45'), ('AA:BB:CC:00:00:04', 'Momentum 4')]

# Composite moves of the mock, one call each: a headset drops (Connected false, then
# Battery1 removed) or comes back (Connected true, then Battery1 with a level).
DROP = '''
p = str(args[0]); d = objects[p]
d.props["org.bluez.Device1"]["Connected"] = dbus.Boolean(False, variant_level=1)
d.EmitSignal("org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
    ["org.bluez.Device1", {"Connected": dbus.Boolean(False, variant_level=1)}, dbus.Array([], signature="s")])
d.props.pop("org.bluez.Battery1", None)
objects["/"].EmitSignal("org.freedesktop.DBus.ObjectManager", "InterfacesRemoved", "oas",
    [dbus.ObjectPath(p), dbus.Array(["org.bluez.Battery1"], signature="s")])
'''
JOIN = '''
p = str(args[0]); d = objects[p]
d.props["org.bluez.Device1"]["Connected"] = dbus.Boolean(True, variant_level=1)
d.EmitSignal("org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
    ["org.bluez.Device1", {"Connected": dbus.Boolean(True, variant_level=1)}, dbus.Array([], signature="s")])
d.props["org.bluez.Battery1"] = {"Percentage": dbus.Byte(args[1])}
objects["/"].EmitSignal("org.freedesktop.DBus.ObjectManager", "InterfacesAdded", "oa{sa{sv}}",
    [dbus.ObjectPath(p), {"org.bluez.Battery1": {"Percentage": dbus.Byte(args[1])}}])
'''

LINE = re.compile(r'^(\d+)\.(\d{3}),(connected|battery),(\d+)$')


class Model:
    """What the mock says about each headset, and every level it ever sent."""

    def __init__(self):
        self.connected = {}
        self.level = {}
        self.sent = {}


class LogFollower:
    """Reads what was appended to one log since last time, strictly."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.events = []        # (time_ms, kind, value), whole file
        self.last = {}          # kind -> last value, for the doubled check
        self.matched = 0        # log events up to here are matched or skipped
        self.meta_lines = 0

    def read_new(self, figures, doubled):
        with open(self.path, 'rb') as f:
            f.seek(self.offset)
            data = f.read()
        if not data:
            return
        text = data.decode('utf-8')
        if not text.endswith('\n'):
            t.fail(f'{os.path.basename(self.path)} does not end with a newline after the restart',
                   repr(text[-120:]))
        for line in text[:-1].split('\n'):
            figures['lines'] += 1
            if line.startswith('#') or line == 'time,event,value':
                self.meta_lines += 1
                continue
            m = LINE.match(line)
            if not m:
                t.fail(f'{os.path.basename(self.path)}: a line that does not parse survived the restart', repr(line))
            ev = (int(m.group(1)) * 1000 + int(m.group(2)), m.group(3), int(m.group(4)))
            if self.last.get(ev[1]) == ev[2]:
                doubled.append((os.path.basename(self.path), line))
            self.last[ev[1]] = ev[2]
            self.events.append(ev)
        self.offset += len(data)


def published_events(changes):
    """PropertiesChanged of hpmond → [(path, (time_ms, kind, value))] in log order."""
    out = []
    for c in changes:
        if c['iface'] != t.DEVICE_IFACE or not c['path'].startswith(t.DEVICES_PREFIX):
            continue
        ch = c['changed']
        if 'Connected' not in ch and 'Percentage' not in ch:
            continue
        ms = round(ch['LastChange'] * 1000)
        if 'Connected' in ch:
            out.append((c['path'], (ms, 'connected', int(ch['Connected']))))
        if 'Percentage' in ch:
            out.append((c['path'], (ms, 'battery', ch['Percentage'])))
    return out


def test(env):
    note(f'seed {SEED} (HPMON_TEST_SEED={SEED} repeats this run), {KILLS} kills')
    rng = random.Random(SEED)
    model = Model()
    env.mock.start()
    env.mock.add_method('HsDrop', 'o', '', DROP)
    env.mock.add_method('HsJoin', 'oy', '', JOIN)
    for addr, name in HEADSETS:
        lvl = rng.randrange(101)
        env.mock.add_headset(addr, name, connected=True, percentage=lvl)
        model.connected[addr], model.level[addr], model.sent[addr] = True, lvl, {lvl}

    follow = {}
    pending = {t.device_path(a): [] for a, _ in HEADSETS}  # published, not yet matched
    fig = {'kills': 0, 'lines': 0, 'published': 0, 'unpublished': 0, 'torn_after_kill': 0,
           'kill_startup': 0, 'kill_replies': 0, 'kill_published': 0, 'mid_burst': 0}
    doubled, lost = [], []

    def api_matches():
        objs = env.managed_objects()
        for addr, _ in HEADSETS:
            p = objs.get(t.device_path(addr), {}).get(t.DEVICE_IFACE)
            if p is None or p['Connected'] != model.connected[addr]:
                return False
            if model.connected[addr] and p['Percentage'] != model.level[addr]:
                return False
        return objs

    def verify(mark_run):
        """After a restart: the API is the mock's state, and every log is whole and holds
        everything published so far, in order, nothing doubled."""
        objs = env.loop.until(api_matches, "the API to show the mock's state after the restart")
        now = env.mark()
        for c_path, ev in published_events(env.changes[mark_run[0]:now]):
            pending[c_path].append(ev)
        mark_run[0] = now
        for addr, _ in HEADSETS:
            p = t.device_path(addr)
            lf = follow.setdefault(p, LogFollower(env.log_path(addr)))
            lf.read_new(fig, doubled)
            # Greedy in-order match: each published change at the first equal line after
            # the previous match; lines skipped were logged but never published.
            for ev in pending[p]:
                fig['published'] += 1
                try:
                    i = lf.events.index(ev, lf.matched)
                except ValueError:
                    lost.append((addr, ev))
                    continue
                fig['unpublished'] += i - lf.matched
                lf.matched = i + 1
            pending[p] = []
            for _, kind, value in lf.events:
                if kind == 'battery' and value not in model.sent[addr]:
                    t.fail(f'{addr}: logged level {value} was never sent by the mock', repr(sorted(model.sent[addr])))
            want_pct = lf.last.get('battery', -1)
            got = objs[p][t.DEVICE_IFACE]
            if got['Percentage'] != want_pct or got['Connected'] != bool(lf.last.get('connected', 0)):
                t.fail(f'{addr}: the API is not the fold of its log', f'API {got}, log last {lf.last}')
        if lost or doubled:
            t.fail(f'after kill {fig["kills"]}: {len(lost)} published change(s) lost, {len(doubled)} doubled',
                   f'lost {lost[:10]}\ndoubled {doubled[:10]}')

    def make_burst():
        """A random burst: levels, drops and comebacks over random headsets."""
        ops = []
        conn = dict(model.connected)
        for _ in range(rng.randint(3, 30)):
            addr = rng.choice(HEADSETS)[0]
            r = rng.random()
            if conn[addr] and r < 0.8:
                ops.append(('level', addr, rng.randrange(101)))
            elif conn[addr]:
                ops.append(('drop', addr, None))
                conn[addr] = False
            else:
                ops.append(('join', addr, rng.randrange(101)))
                conn[addr] = True
        return ops

    def apply_model(op):
        kind, addr, v = op
        if kind == 'drop':
            model.connected[addr] = False
        else:
            model.connected[addr] = True
            model.level[addr] = v
            model.sent[addr].add(v)

    mark_run = [env.mark()]
    env.hpmond.start()
    for addr, _ in HEADSETS:
        env.wait_device(addr)
    # New devices are published with InterfacesAdded, carrying their first values (sent
    # before the replies that told the test they exist, so here once dispatched).
    env.loop.drain()
    for obj, ifaces in env.added:
        dev = ifaces.get(t.DEVICE_IFACE, {})
        ms = round(dev.get('LastChange', 0) * 1000)
        pending[obj] += [(ms, 'connected', int(dev['Connected'])), (ms, 'battery', dev['Percentage'])]
    verify(mark_run)

    t0 = time.monotonic()
    for kill in range(1, KILLS + 1):
        ops = make_burst()
        state = {'replied': 0, 'errors': []}
        how = rng.random()
        k = rng.randrange(len(ops))   # the kill comes before the last reply: mid-burst

        def done(err, op):
            if err is not None:
                state['errors'].append(f'{op}: {err}')
            state['replied'] += 1

        def send_all():
            for op in ops:
                kind, addr, v = op
                bp = env.mock.bluez_path(addr)
                if kind == 'level':
                    env.mock.call_async(bp, t.PROPS_IFACE, 'Set', 'ssv', (t.BLUEZ_BATTERY, 'Percentage', dbus.Byte(v)),
                                        lambda e, op=op: done(e, op))
                elif kind == 'drop':
                    env.mock.call_async('/', t.BLUEZ_MOCK_IFACE, 'HsDrop', 'o', (dbus.ObjectPath(bp),),
                                        lambda e, op=op: done(e, op))
                else:
                    env.mock.call_async('/', t.BLUEZ_MOCK_IFACE, 'HsJoin', 'oy', (dbus.ObjectPath(bp), dbus.Byte(v)),
                                        lambda e, op=op: done(e, op))
                apply_model(op)

        if how < 0.1:
            # while hpmond starts: its replay, GetManagedObjects and the burst race (the
            # running hpmond, idle, is killed first to make room: not counted)
            fig['kill_startup'] += 1
            env.hpmond.kill()
            env.wait_name(t.BUS_NAME, False)
            env.hpmond.start(wait_ready=False)
            send_all()
            env.loop.until(lambda: state['replied'] >= k, f'{k} replies of the mock (hpmond starting)')
        else:
            send_all()
            if how < 0.55:
                fig['kill_replies'] += 1
                env.loop.until(lambda: state['replied'] >= k, f'{k} replies of the mock')
            else:
                fig['kill_published'] += 1
                j = rng.randrange(len(ops))
                base = len(env.changes)
                env.loop.until(lambda: len(published_events(env.changes[base:])) >= j or state['replied'] == len(ops),
                               f'{j} published changes or the end of the burst')
        if state['replied'] < len(ops):
            fig['mid_burst'] += 1
        env.hpmond.kill()
        fig['kills'] += 1
        env.wait_name(t.BUS_NAME, False)   # after everything hpmond sent
        env.loop.until(lambda: state['replied'] == len(ops), 'the mock to answer the whole burst')
        if state['errors']:
            t.fail('the mock refused a call', '\n'.join(state['errors'][:5]))
        for addr, _ in HEADSETS:
            with open(env.log_path(addr), 'rb') as f:
                if not f.read().endswith(b'\n'):
                    fig['torn_after_kill'] += 1
        check_text = env.hpmond.stderr_text()
        t.check_no_sanitizer_report(check_text, f'hpmond #{env.hpmond.runs}')
        env.hpmond.start()
        verify(mark_run)
        if kill % 50 == 0:
            note(f'{kill} kills in {time.monotonic() - t0:.1f}s: {fig}')

    elapsed = time.monotonic() - t0
    check_equal(fig['kills'], KILLS, 'kills')
    check(fig['mid_burst'] >= KILLS // 3, 'most kills landed while the mock was still sending the burst',
          f'{fig["mid_burst"]} of {KILLS}')
    check(fig['published'] > KILLS, 'hpmond published changes between the kills', repr(fig))
    check_equal(len(lost), 0, 'no published change is missing from its log')
    check_equal(len(doubled), 0, 'no value is logged twice in a row')
    for addr, name in HEADSETS:
        env.read_log(addr).check_well_formed(addr, name)
    print(f'# figures (seed {SEED}): kills {fig["kills"]} (mid-burst {fig["mid_burst"]}, during start-up '
          f'{fig["kill_startup"]}, after k mock replies {fig["kill_replies"]}, after j publications '
          f'{fig["kill_published"]}), lines checked {fig["lines"]}, published changes checked '
          f'{fig["published"]}, lost {len(lost)}, doubled {len(doubled)}, logged but not yet published at a kill '
          f'{fig["unpublished"]}, torn last lines found after a kill {fig["torn_after_kill"]}, '
          f'{elapsed:.1f}s', flush=True)
    env.hpmond.stop()


t.run(test)
