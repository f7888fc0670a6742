#!/usr/bin/python3
# Coalescing (daemon/registry.c, registry_admit()) must keep the latest *values*, field by
# field, not the latest whole report — these were known bugs (each case says "ok" or
# "# BUG"; any bug fails the test):
#   1. a headset past its burst reports a level (held), then disconnects; bluetoothd
#      removes Battery1, so the report that replaces the held one has no level: the
#      headset's last level is never logged, and the API keeps an older one.
#   2. bluetoothd restarts within the hold period of a headset past its burst: the held
#      "connected,0" is replaced by the "connected,1" of the new bluetoothd, so neither
#      is logged — README promises "every headset is marked disconnected (and logged so,
#      once)" when bluetoothd stops.
#   3. Name changes are not rate limited at all: each Alias change appends a "# name="
#      line (one write and fdatasync) and emits PropertiesChanged, so a device flooding
#      its Alias grows the log without bound and delays every other headset (here one
#      second of 2000 aliases gives over a thousand lines).
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpmontest as t  # noqa: E402
from hpmontest import case, note  # noqa: E402

dbus = t.dbus
A = 'AA:BB:CC:DD:EE:01'
B = 'AA:BB:CC:DD:EE:02'
C = 'AA:BB:CC:DD:EE:03'
BURST = 10

ALIASES = r'''
p, n, dest = str(args[0]), int(args[1]), str(args[2])
conn = objects["/"].connection
for k in range(n):
    m = dbus.lowlevel.SignalMessage(p, "org.freedesktop.DBus.Properties", "PropertiesChanged")
    m.set_destination(dest)
    m.append("org.bluez.Device1", dbus.Dictionary({"Alias": dbus.String(f"Chatty {k}", variant_level=1)}, signature="sv"),
             dbus.Array([], signature="s"), signature="sa{sv}as")
    conn.send_message(m)
ret = dbus.UInt32(n)
'''


def test(env):
    env.mock.start()
    env.mock.add_headset(A, 'Buds A', connected=True, percentage=50)
    env.mock.add_headset(B, 'Buds B', connected=True, percentage=50)
    env.mock.add_headset(C, 'Buds C', connected=True, percentage=50)
    env.hpmond.start()
    pa, pb, pc = (env.wait_device(a) for a in (A, B, C))
    for p in (pa, pb, pc):
        env.wait_props(p, Connected=True, Percentage=50)

    # 1. the held level, then a disconnect with Battery1 removed
    for v in range(60, 60 + BURST + 2):
        env.mock.set_percentage(A, v)
    last = 60 + BURST + 1
    env.mock.disconnect(A)
    env.mock.remove_battery(A)
    env.wait_props(pa, Connected=False)
    env.barrier()
    props = env.device_props(pa)
    case(props['Percentage'] == last, f'the last level a headset reported before it disconnected ({last}) is kept',
         f'API shows {props["Percentage"]}')
    case(env.read_log(A).values('battery')[-1:] == [last], 'and logged', env.read_log(A).values('battery')[-3:])

    # 2. bluetoothd back within the hold period
    for v in range(20, 20 + BURST + 2):
        env.mock.set_percentage(B, v)
    n0 = len(env.read_log(B).events)
    lvl = env.mock.get_percentage(B)
    env.mock.kill()
    env.mock.start(preload=[dict(address=a, alias=f'Buds {a[-1]}', connected=True, percentage=lvl if a == B else 50)
                            for a in (B, C)])
    env.wait_props(pb, Connected=True, Percentage=lvl)
    env.barrier()
    got = [(e, v) for _, e, v in env.read_log(B).events][n0:]
    case(('connected', 0) in got and ('connected', 1) in got,
         'bluetoothd restarting within the hold period: connected,0 then connected,1 logged', got)

    # 3. a flood of aliases
    env.mock.add_method('Aliases', 'ous', 'u', ALIASES)
    size = os.path.getsize(env.log_path(C))
    t0 = time.monotonic()
    env.mock.call('/', t.BLUEZ_MOCK_IFACE, 'Aliases', 'ous',
                  (dbus.ObjectPath(env.mock.bluez_path(C)), dbus.UInt32(2000), env.name_owner(t.BUS_NAME)))
    mark = env.mark()
    env.mock.set_percentage(C, 77)
    env.wait_published(pc, 'Percentage', 77, mark)
    took = time.monotonic() - t0
    with open(env.log_path(C)) as f:
        f.seek(size)
        added = f.read().splitlines()
    names = [ln for ln in added if ln.startswith('# name=')]
    note(f'2000 aliases: {len(names)} "# name=" lines logged, {took:.2f}s until a later level was published')
    case(len(names) <= BURST + took + 3, f'a flood of 2000 aliases adds at most burst + 1/s lines to the log ({len(names)})')
    env.hpmond.stop()
    t.check_no_bugs()


t.run(test)
