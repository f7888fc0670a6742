#!/usr/bin/python3
# 100 headsets; bluetoothd (the mock) is killed and restarted ten times in a row, and
# while it runs devices are removed and added again (Adapter1.RemoveDevice, AddDevice),
# disconnected (Connected false, then Battery1 removed, as real bluetoothd does) and
# reconnected (Battery1 back), and change levels.  Each time it comes back it already
# knows a random selection of them (GetManagedObjects): some gone, some paired but not
# connected, some at new levels.
#
# The test keeps the log each headset must have, event by event, the way hpmond's
# contract says: bluetoothd going away logs "connected,0" once for every connected
# headset; coming back logs "connected,1" once, and a battery line only if the level
# changed.  After every step, hpmond's API (GetManagedObjects, one call) must equal the
# mock exactly — no headset left connected with a stale level — and every log must
# equal its expected events exactly: nothing lost, nothing twice.
#
# Twice hpmond itself is stopped while bluetoothd restarts: when it starts again, the
# headsets its logs call connected but bluetoothd no longer lists are disconnected.
#
# Waits: NameOwnerChanged for org.bluez, PropertiesChanged (Manager.BluezRunning and the
# devices), each re-checked through GetManagedObjects.  Per device hpmond takes a burst
# of 10 changes and then one a second; later steps wait for those, which is why each
# step changes a headset at most once in a way the API shows.
import os
import random
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import check, check_equal, note  # noqa: E402

dbus = t.dbus
N = 100
RESTARTS = 10
SEED = int(os.environ.get('HPMON_TEST_SEED') or random.SystemRandom().randrange(1 << 32))
ADDRS = [f'A0:B1:C2:D3:{i >> 8:02X}:{i & 0xff:02X}' for i in range(N)]
NAMES = {a: f'Headset {i:03d}' for i, a in enumerate(ADDRS)}


class World:
    """The mock's devices, and the events each log must hold."""

    def __init__(self, env, rng):
        self.env = env
        self.rng = rng
        self.present = {a: True for a in ADDRS}
        self.connected = {a: True for a in ADDRS}
        self.level = {a: rng.randrange(101) for a in ADDRS}   # None: no Battery1
        self.logged = {a: {} for a in ADDRS}                   # kind -> last logged value
        self.expect = {a: [] for a in ADDRS}                   # [(kind, value)]
        self.mirror = {}                                       # path -> {iface: props}, from signals
        self.seen_added = self.seen_changes = 0

    def report(self, a, connected, level):
        """hpmond is told a device's state: what its log gains (devstate_diff)."""
        lg = self.logged[a]
        if connected is not None and lg.get('connected') != int(connected):
            self.expect[a].append(('connected', int(connected)))
            lg['connected'] = int(connected)
        if level is not None and lg.get('battery') != level:
            self.expect[a].append(('battery', level))
            lg['battery'] = level

    def new_level(self, a):
        old = self.logged[a].get('battery')
        return self.rng.choice([v for v in range(0, 101, 5) if v != old])

    def preload(self):
        return [dict(address=a, alias=NAMES[a], connected=self.connected[a], percentage=self.level[a])
                for a in ADDRS if self.present[a]]

    def matches(self, objs):
        """hpmond's API equals the mock: connected ones at the mock's level, the rest not
        connected (and at their last logged level: no ghost, no stale value)."""
        for a in ADDRS:
            p = objs.get(t.device_path(a), {}).get(t.DEVICE_IFACE)
            if p is None:
                return False
            live = self.present[a] and self.connected[a]
            if p['Connected'] != live:
                return False
            want = self.level[a] if live else self.logged[a].get('battery', -1)
            if p['Percentage'] != want:
                return False
        return True

    def api_matches(self):
        return self.matches(self.env.managed_objects())

    def signals_match(self):
        """Cheap first: hpmond's state as its signals tell it (InterfacesAdded,
        PropertiesChanged); only when that matches, the API itself is asked."""
        env = self.env
        for obj, ifaces in env.added[self.seen_added:]:
            if t.DEVICE_IFACE in ifaces:
                self.mirror[obj] = {t.DEVICE_IFACE: dict(ifaces[t.DEVICE_IFACE])}
        self.seen_added = len(env.added)
        for c in env.changes[self.seen_changes:]:
            if c['iface'] == t.DEVICE_IFACE and c['path'] in self.mirror:
                self.mirror[c['path']][t.DEVICE_IFACE].update(c['changed'])
        self.seen_changes = len(env.changes)
        return self.matches(self.mirror) and self.api_matches()

    def mismatches(self):
        objs = self.env.managed_objects()
        out = []
        for a in ADDRS:
            p = objs.get(t.device_path(a), {}).get(t.DEVICE_IFACE)
            live = self.present[a] and self.connected[a]
            want = (live, self.level[a] if live else self.logged[a].get('battery', -1))
            got = (p['Connected'], p['Percentage']) if p else None
            if got != want:
                out.append(f'{a}: API {got}, mock {want}')
        return out

    def settle(self, what):
        try:
            self.env.loop.until(self.signals_match, what)
        except t.TestFailure as e:
            t.fail(str(e), '\n'.join(self.mismatches()[:10]))
        self.env.barrier()
        check(self.api_matches(), f'{what}: hpmond shows exactly the mock\'s state (no ghost, no stale level)')
        self.check_logs(what)

    def check_logs(self, what):
        bad = []
        for a in ADDRS:
            log = self.env.read_log(a)
            got = [(e, v) for _, e, v in log.events]
            if got != self.expect[a] or log.torn or log.bad:
                bad.append(f'{a}: logged {got}, want {self.expect[a]}, torn {log.torn}, bad {log.bad}')
        check(not bad, f'{what}: all {N} logs hold exactly the expected events, none twice', '\n'.join(bad[:5]))


def test(env):
    note(f'seed {SEED} (HPMON_TEST_SEED={SEED} repeats this run)')
    rng = random.Random(SEED)
    w = World(env, rng)
    t0 = time.monotonic()
    env.mock.start(preload=w.preload())
    env.hpmond.start()
    for a in ADDRS:
        w.report(a, True, w.level[a])
    w.settle(f'{N} headsets followed at start')
    check_equal(env.manager_props()['BluezRunning'], True, 'Manager.BluezRunning')

    for run in range(1, RESTARTS + 1):
        # bluetoothd dies: every connected headset is marked disconnected, once.  Twice
        # hpmond is stopped first and started only after bluetoothd is back: then its
        # logs say "connected" for headsets bluetoothd may no longer have.
        away = run in (4, 8)
        if away:
            env.hpmond.stop()
            env.mock.kill()
        else:
            mark = env.mark()
            env.mock.kill()
            env.wait_manager_published('BluezRunning', False, mark)
            for a in ADDRS:
                w.report(a, False, None)
            saved = dict(w.connected)
            w.connected = {a: False for a in ADDRS}
            w.settle(f'restart {run}: bluetoothd gone')
            w.connected = saved

        # It comes back knowing a random selection: some removed while it was away,
        # some paired but not connected (no Battery1), some at a new level.
        for a in ADDRS:
            r = rng.random()
            if r < 0.1:
                w.present[a] = not w.present[a]
            elif r < 0.25:
                w.connected[a] = not w.connected[a]
            if not (w.present[a] and w.connected[a]):
                w.level[a] = None
            elif w.level[a] is None or rng.random() < 0.4:
                # back at the level last logged, or at a new one
                w.level[a] = w.logged[a]['battery'] if rng.random() < 0.5 else w.new_level(a)
        mark = env.mark()
        env.mock.start(preload=w.preload())
        if away:
            env.hpmond.start()
            w.mirror, w.seen_added, w.seen_changes = {}, len(env.added), len(env.changes)
            for path, ifaces in env.managed_objects().items():
                w.mirror[path] = ifaces
        else:
            env.wait_manager_published('BluezRunning', True, mark)
        for a in ADDRS:
            if w.present[a]:
                w.report(a, w.connected[a], w.level[a])
            else:
                w.report(a, False, None)
        w.settle(f'restart {run}: bluetoothd back with {sum(w.present.values())} devices, '
                 f'{sum(1 for a in ADDRS if w.present[a] and w.connected[a])} connected')

        # While it runs: devices removed (RemoveDevice), disconnected (Battery1 removed
        # too), levels changed.
        touched = rng.sample(ADDRS, 30)
        removed, dropped = [], []
        for a in touched:
            if not w.present[a]:
                continue
            r = rng.random()
            if r < 0.4:
                env.mock.call(f'/org/bluez/{env.mock.adapter}', 'org.bluez.Adapter1', 'RemoveDevice', 'o',
                              (dbus.ObjectPath(env.mock.bluez_path(a)),))
                w.report(a, False, None)
                w.present[a], w.connected[a], w.level[a] = False, False, None
                removed.append(a)
            elif w.connected[a] and r < 0.7:
                env.mock.disconnect(a)
                env.mock.remove_battery(a)
                w.report(a, False, None)
                w.connected[a], w.level[a] = False, None
                dropped.append(a)
            elif w.connected[a]:
                lvl = w.new_level(a)
                env.mock.set_percentage(a, lvl)
                w.report(a, True, lvl)
                w.level[a] = lvl
        w.settle(f'restart {run}: {len(removed)} removed, {len(dropped)} disconnected while running')

        # ... and added again / reconnected, as real bluetoothd announces them:
        # Device1 first (InterfacesAdded, not connected), then Connected, then Battery1.
        for a in ADDRS:
            if w.present[a] and w.connected[a]:
                continue
            if rng.random() < 0.5:
                continue
            if not w.present[a]:
                env.mock.add_headset(a, NAMES[a], connected=False)
                w.present[a] = True
            lvl = w.new_level(a) if rng.random() < 0.5 else w.logged[a].get('battery', 50)
            env.mock.connect(a)
            env.mock.add_battery(a, lvl)
            w.report(a, True, lvl)
            w.connected[a], w.level[a] = True, lvl
        w.settle(f'restart {run}: devices added again and reconnected')
        note(f'restart {run} done, {time.monotonic() - t0:.1f}s')

    env.read_log(ADDRS[0]).check_well_formed(ADDRS[0], NAMES[ADDRS[0]])
    check(True, f'{sum(len(w.expect[a]) for a in ADDRS)} logged events checked')
    check_equal(len(os.listdir(os.path.join(env.state_dir, 'devices'))), N, 'one log per headset, no other file')
    note(f'{RESTARTS} restarts of bluetoothd with {N} headsets in {time.monotonic() - t0:.1f}s')
    env.hpmond.stop()


t.run(test)
